//! Checks of everything the config names that can be checked without the node: the TLS certificate and key
//! (readable, and the key belongs to the certificate) and the listen address, so that a mistake is reported at
//! once rather than after the node is ready.

use std::net::TcpListener;
use std::path::Path;

use anyhow::{bail, Context};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::Config;

/// Every check; the first failure is returned with what to fix.
pub fn check(config: &Config) -> anyhow::Result<()> {
    check_tls_files(config)?;
    check_listen(config)
}

/// The TLS pair, if the config sets one.
pub fn check_tls_files(config: &Config) -> anyhow::Result<()> {
    match (&config.server.tls_cert, &config.server.tls_key) {
        (Some(cert), Some(key)) => check_tls(cert, key),
        _ => Ok(()),
    }
}

/// The certificate chain and key parse, and the key is the certificate's.
pub fn check_tls(cert: &Path, key: &Path) -> anyhow::Result<()> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| pem_error(e, cert))
        .with_context(|| {
            format!(
                "cannot read the TLS certificate {} ([server] tls_cert)",
                cert.display()
            )
        })?;
    if chain.is_empty() {
        bail!(
            "the TLS certificate {} holds no PEM certificate ([server] tls_cert)",
            cert.display()
        );
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| pem_error(e, key))
        .with_context(|| {
            format!(
                "cannot read the TLS key {} ([server] tls_key)",
                key.display()
            )
        })?;
    let provider = rustls::crypto::ring::default_provider();
    rustls::sign::CertifiedKey::from_der(chain, key_der, &provider).map_err(|e| {
        anyhow::anyhow!(
            "the TLS key {} does not go with the certificate {} ({e}); set [server] tls_cert and tls_key to a \
             matching pair",
            key.display(),
            cert.display()
        )
    })?;
    Ok(())
}

fn pem_error(e: rustls::pki_types::pem::Error, path: &Path) -> anyhow::Error {
    match e {
        rustls::pki_types::pem::Error::Io(io) => anyhow::anyhow!("{io}"),
        rustls::pki_types::pem::Error::NoItemsFound => {
            anyhow::anyhow!("{} holds no PEM item of the expected kind", path.display())
        }
        other => anyhow::anyhow!("{other:?}"),
    }
}

/// The listen address can be bound now (it is bound for good once the node is ready).
pub fn check_listen(config: &Config) -> anyhow::Result<()> {
    let addr = config.server.listen;
    if addr.port() == 0 {
        return Ok(());
    }
    TcpListener::bind(addr).map(drop).with_context(|| {
        format!("cannot listen on {addr}; is another process using the port? ([server] listen)")
    })
}
