//! `chia-pool service`: what the Windows service manager starts (the .msi registers it). Serves the pool from
//! `%ProgramData%\chia-pool\pool.toml`, logging to `chia-pool.log` beside it, until the manager says stop.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::platform::service as windows_service;
use crate::pool::tokens;

/// Runs the pool as the Windows service; `config` defaults to `%ProgramData%\chia-pool\pool.toml`.
pub fn service(config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = config
        .map(Path::to_path_buf)
        .unwrap_or_else(|| crate::platform::default_data_dir().join("pool.toml"));
    let dir = config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    if !dir.exists() {
        crate::store::create_private_dir(&dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    init_file_logging(&dir.join("chia-pool.log"))?;
    // The first start after installing: the token key, owned by (and readable only by) the service account.
    let (settings, _) = super::load_config(&config)?;
    tokens::create_key_file(&settings.auth.token_key_file, false)?;
    windows_service::run(move || match super::serve(&config) {
        Ok(code) if code == ExitCode::SUCCESS => 0,
        Ok(_) => 1,
        Err(e) => {
            tracing::error!("{e:#}");
            1
        }
    })
    .context(
        "`chia-pool service` is started by the Windows service manager (`sc start chia-pool`); \
         in a console run `chia-pool serve`",
    )?;
    Ok(ExitCode::SUCCESS)
}

/// A service has no console: logs go to a file (appended), at the level `RUST_LOG` asks for or info.
fn init_file_logging(path: &Path) -> anyhow::Result<()> {
    // Logs name members and addresses: made owner-only like the database beside them.
    if !path.exists() {
        crate::store::create_owner_only(path)
            .with_context(|| format!("creating {}", path.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Ok(())
}
