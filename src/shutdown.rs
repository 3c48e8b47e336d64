//! The process's stop: one switch that a signal, Ctrl-C, a service manager or a part of the pool that cannot
//! go on may throw, from any thread. `serve` waits on it, stops accepting, drains requests in flight, lets the
//! store writer commit, and exits: 0 for a requested stop, non-zero after `fail`.

use std::sync::{LazyLock, Mutex};

static STOP: LazyLock<tokio::sync::watch::Sender<bool>> =
    LazyLock::new(|| tokio::sync::watch::Sender::new(false));
static FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// Asks the running pool to stop cleanly (exit code 0). Callable from any thread, any number of times.
pub fn request() {
    STOP.send_replace(true);
}

/// Stops the pool because something it needs cannot go on; the process exits non-zero with `reason`.
pub fn fail(reason: impl Into<String>) {
    let reason = reason.into();
    tracing::error!("stopping: {reason}");
    if let Ok(mut f) = FAILURE.lock() {
        f.get_or_insert(reason);
    }
    request();
}

/// Why the pool was stopped by `fail`, if it was.
pub fn failure() -> Option<String> {
    FAILURE.lock().ok().and_then(|f| f.clone())
}

/// Turns SIGINT/Ctrl-C and SIGTERM into `request`, from now on. Call early, inside the runtime; later calls
/// do nothing.
pub fn listen_for_signals() {
    // `demo` listens before the world starts and `run` again: one listener is enough.
    static LISTENING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if LISTENING.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    tokio::spawn(async {
        signal().await;
        tracing::info!("stop signal received");
        request();
    });
}

/// Resolves once a stop was requested (by `request`, `fail`, or a signal after `listen_for_signals`).
pub async fn requested() {
    let mut rx = STOP.subscribe();
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn signal() {
    crate::platform::stop_signal().await;
}
