//! A certificate chain and its key: parsed from PEM, checked to belong together, and described (names, issuer,
//! validity) for the operator.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("{0}")]
    Pair(String),
}

/// Details of a certificate shown by `check`, the operator view and the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// DNS names (subject alternative names, else the common name).
    pub names: Vec<String>,
    pub issuer: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// Hex serial number: tells one issuance from the next.
    pub serial: String,
}

impl CertInfo {
    pub fn days_left(&self) -> i64 {
        (self.not_after - unix_now()).div_euclid(86_400)
    }
}

/// A chain and key ready to serve.
#[derive(Debug, Clone)]
pub struct LoadedCert {
    pub key: Arc<CertifiedKey>,
    pub info: CertInfo,
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Reads a PEM chain and a PEM key from files; errors name the file and what is wrong with it.
pub fn load_files(cert: &Path, key: &Path) -> Result<LoadedCert, CertError> {
    let cert_pem = std::fs::read(cert).map_err(|e| file_err(cert, e.to_string()))?;
    let key_pem = std::fs::read(key).map_err(|e| file_err(key, e.to_string()))?;
    let chain = parse_chain(&cert_pem).map_err(|reason| file_err(cert, reason))?;
    let key_der = parse_key(&key_pem).map_err(|reason| file_err(key, reason))?;
    pair(chain, key_der).map_err(|e| match e {
        CertError::Pair(reason) => file_err(key, reason),
        other => other,
    })
}

/// Parses a chain and key held in memory (as ACME stores them).
pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<LoadedCert, CertError> {
    let chain = parse_chain(cert_pem).map_err(CertError::Pair)?;
    let key = parse_key(key_pem).map_err(CertError::Pair)?;
    pair(chain, key)
}

fn file_err(path: &Path, reason: String) -> CertError {
    CertError::File {
        path: path.to_path_buf(),
        reason,
    }
}

fn parse_chain(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not a PEM certificate chain: {e}"))?;
    if chain.is_empty() {
        return Err("no PEM certificate in the file".into());
    }
    Ok(chain)
}

fn parse_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("no usable PEM private key: {e}"))
}

/// Builds the served key, refusing a key that does not belong to the chain's first certificate.
pub fn pair(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<LoadedCert, CertError> {
    let info = describe(&chain[0]).map_err(CertError::Pair)?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| CertError::Pair(format!("unsupported private key: {e}")))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| {
        CertError::Pair(format!(
            "the private key does not match the certificate ({e})"
        ))
    })?;
    Ok(LoadedCert {
        key: Arc::new(certified),
        info,
    })
}

/// Names, issuer and validity of a DER certificate.
pub fn describe(der: &CertificateDer<'_>) -> Result<CertInfo, String> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der.as_ref())
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let mut names: Vec<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_string()),
                    GeneralName::IPAddress(ip) => Some(format!("{ip:?}")),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        names.extend(
            cert.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok().map(str::to_string)),
        );
    }
    Ok(CertInfo {
        names,
        issuer: cert.issuer().to_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        serial: cert.raw_serial_as_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem_pair(name: &str) -> (String, String) {
        let c = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
        (c.cert.pem(), c.signing_key.serialize_pem())
    }

    #[test]
    fn describes_and_publishes_expiry() {
        let (cert, key) = pem_pair("pool.example.com");
        let loaded = from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        assert_eq!(loaded.info.names, vec!["pool.example.com"]);
        assert!(loaded.info.not_after > unix_now());
        let resolver = crate::tls::CertResolver::new();
        assert!(!resolver.has_certificate());
        resolver.install(loaded.clone());
        assert!(resolver.has_certificate());
        let left = crate::tls::seconds_until_expiry().unwrap();
        assert!(
            (left - (loaded.info.not_after - unix_now())).abs() <= 1,
            "{left}"
        );
    }

    #[test]
    fn refuses_a_key_of_another_certificate() {
        let (cert, _) = pem_pair("a.example.com");
        let (_, other_key) = pem_pair("b.example.com");
        let err = from_pem(cert.as_bytes(), other_key.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        let err = from_pem(b"garbage", other_key.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }
}
