//! The HTTPS certificate the API listener serves, and where it comes from: PEM files reloaded when they change
//! (`files.rs`) or ACME (`acme/`). The listener asks a `CertResolver` for the certificate at every handshake,
//! so a renewed or reloaded certificate reaches new connections while open ones keep theirs.

pub mod acme;
pub mod cert;
pub mod files;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

pub use cert::{CertError, CertInfo, LoadedCert};

/// The ALPN protocol of the tls-alpn-01 challenge (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The certificate in use, swappable at run time, plus tls-alpn-01 challenge certificates by name.
#[derive(Debug, Default)]
pub struct CertResolver {
    current: RwLock<Option<Arc<CertifiedKey>>>,
    challenges: RwLock<HashMap<String, Arc<CertifiedKey>>>,
}

impl CertResolver {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Serves `cert` to every new handshake from now on and publishes its details (see `status`).
    pub fn install(&self, cert: LoadedCert) {
        set_cert_info(Some(cert.info.clone()));
        *write(&self.current) = Some(cert.key);
    }

    pub fn has_certificate(&self) -> bool {
        read(&self.current).is_some()
    }

    /// Answers tls-alpn-01 handshakes for `name` with `cert` until `remove_challenge`.
    pub fn add_challenge(&self, name: &str, cert: Arc<CertifiedKey>) {
        write(&self.challenges).insert(name.to_ascii_lowercase(), cert);
    }

    pub fn remove_challenge(&self, name: &str) {
        write(&self.challenges).remove(&name.to_ascii_lowercase());
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let acme = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if acme {
            let name = hello.server_name()?.to_ascii_lowercase();
            return read(&self.challenges).get(&name).cloned();
        }
        let current = read(&self.current).clone();
        if current.is_none() {
            tracing::debug!("TLS handshake refused: no certificate yet");
        }
        current
    }
}

/// What the operator and the metrics see of the HTTPS certificate.
#[derive(Debug, Clone, Default)]
pub struct TlsStatus {
    pub cert: Option<CertInfo>,
    /// ACME account URL, when ACME is on.
    pub acme_account: Option<String>,
    /// Unix time of the next planned renewal, when ACME is on.
    pub next_renewal: Option<i64>,
    /// The last ACME or reload failure, cleared by the next success.
    pub last_error: Option<String>,
}

impl TlsStatus {
    /// Seconds until the certificate in use expires (negative once expired); None without a certificate.
    pub fn seconds_until_expiry(&self) -> Option<i64> {
        self.cert.as_ref().map(|c| c.not_after - cert::unix_now())
    }
}

static STATUS: RwLock<Option<TlsStatus>> = RwLock::new(None);

/// The process's HTTPS certificate status (all empty for plain HTTP), for the operator view and metrics.
pub fn status() -> TlsStatus {
    read(&STATUS).clone().unwrap_or_default()
}

/// Seconds until the served certificate expires; None when none is served.
pub fn seconds_until_expiry() -> Option<i64> {
    status().seconds_until_expiry()
}

pub(crate) fn update_status(change: impl FnOnce(&mut TlsStatus)) {
    let mut guard = write(&STATUS);
    change(guard.get_or_insert_with(TlsStatus::default));
}

fn set_cert_info(info: Option<CertInfo>) {
    update_status(|s| s.cert = info);
}

// A poisoned lock only means a panic elsewhere while holding it; the data (an Arc swap) is still whole.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}
