//! `chia-pool service` under the Windows service manager: the control dispatcher that reports Running, turns
//! Stop and system Shutdown into `crate::shutdown::request()`, and reports Stopped with the pool's exit code.

use std::ffi::OsString;
use std::sync::OnceLock;
use std::time::Duration;

use windows_service::service::{
    ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::{define_windows_service, service_dispatcher};

/// The service's name, as the .msi's ServiceInstall registers it.
pub const NAME: &str = "chia-pool";

type Body = Box<dyn Fn() -> u32 + Send + Sync>;

/// What the service runs (the pool); set once before the dispatcher starts.
static BODY: OnceLock<Body> = OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

/// Hands this process to the service manager and runs `body` as the service; returns once it stopped.
/// Fails at once (error 1063) when the process was not started by the service manager.
pub fn run(body: impl Fn() -> u32 + Send + Sync + 'static) -> windows_service::Result<()> {
    let _ = BODY.set(Box::new(body));
    service_dispatcher::start(NAME, ffi_service_main)
}

fn status(state: ServiceState, exit: u32, wait: Duration) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: if state == ServiceState::Running {
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
        } else {
            ServiceControlAccept::empty()
        },
        exit_code: ServiceExitCode::Win32(exit),
        checkpoint: 0,
        wait_hint: wait,
        process_id: None,
    }
}

fn service_main(_arguments: Vec<OsString>) {
    let handler = |event| match event {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            crate::shutdown::request();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let handle = match service_control_handler::register(NAME, handler) {
        Ok(handle) => handle,
        Err(e) => {
            tracing::error!("cannot register with the service manager: {e}");
            return;
        }
    };
    let _ = handle.set_service_status(status(ServiceState::Running, 0, Duration::ZERO));
    let code = BODY.get().map(|body| body()).unwrap_or(1);
    let _ = handle.set_service_status(status(ServiceState::Stopped, code, Duration::ZERO));
}
