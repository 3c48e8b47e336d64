//! `[server] tls_cert` / `tls_key` reloaded without a restart: at SIGHUP (Unix) and whenever the files'
//! modification time or size changes (checked every `POLL`), so a certificate renewed by certbot reaches new
//! connections. A pair that fails to load (half replaced, broken, mismatched) leaves the old one in use; it is
//! retried at every check and logged once per distinct failure.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{cert, update_status, CertError, CertResolver};

/// How often the files' modification times are compared (the promise to operators is 90 s).
pub const POLL: Duration = Duration::from_secs(20);

/// What identifies one version of a file without reading it.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Loads the pair once and installs it; the error (naming the file and reason) stops the start.
pub fn load(resolver: &CertResolver, cert: &Path, key: &Path) -> Result<(), CertError> {
    let loaded = cert::load_files(cert, key)?;
    resolver.install(loaded);
    Ok(())
}

/// Watches the pair for the life of the process.
pub fn spawn_reloader(resolver: Arc<CertResolver>, cert: PathBuf, key: PathBuf) {
    let mut hangup = hangup_signal();
    tokio::spawn(async move {
        let mut seen = (stamp(&cert), stamp(&key));
        let mut last_failure: Option<String> = None;
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let signalled = tokio::select! {
                _ = tick.tick() => false,
                _ = next_hangup(&mut hangup) => true,
            };
            let now = (stamp(&cert), stamp(&key));
            if !signalled && now == seen && last_failure.is_none() {
                continue;
            }
            let why = if signalled { "SIGHUP" } else { "files changed" };
            match cert::load_files(&cert, &key) {
                Ok(loaded) => {
                    tracing::info!(
                        names = ?loaded.info.names,
                        days_left = loaded.info.days_left(),
                        "TLS certificate reloaded ({why}) from {}",
                        cert.display()
                    );
                    resolver.install(loaded);
                    update_status(|s| s.last_error = None);
                    last_failure = None;
                    seen = now;
                }
                Err(e) => {
                    let message = e.to_string();
                    if last_failure.as_deref() != Some(message.as_str()) || signalled {
                        tracing::error!(
                            "TLS certificate reload refused, still serving the previous one: {message}"
                        );
                    }
                    update_status(|s| s.last_error = Some(message.clone()));
                    last_failure = Some(message);
                    seen = now;
                }
            }
        }
    });
}

#[cfg(unix)]
pub(crate) type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
pub(crate) type Hangup = ();

#[cfg(unix)]
pub(crate) fn hangup_signal() -> Hangup {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("cannot listen for SIGHUP ({e}); certificate files are still checked every {POLL:?}");
            None
        }
    }
}

#[cfg(not(unix))]
pub(crate) fn hangup_signal() -> Hangup {}

#[cfg(unix)]
pub(crate) async fn next_hangup(hangup: &mut Hangup) {
    match hangup {
        Some(s) => {
            if s.recv().await.is_none() {
                std::future::pending::<()>().await
            }
        }
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
pub(crate) async fn next_hangup(_: &mut Hangup) {
    std::future::pending().await
}
