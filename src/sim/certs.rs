//! Certificates made in the test, laid out as `chia init` lays them out under a CHIA_ROOT:
//! `config/ssl/ca/private_ca.crt` / `.key` and `config/ssl/daemon/private_daemon.crt` / `.key`, the leaf
//! issued to `chia.net` by the private CA. (ECDSA P-256 instead of chia's RSA-2048: rcgen with ring cannot
//! make RSA keys, and nothing in the client depends on the key type.)

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A temporary CHIA_ROOT holding a fresh private CA and a daemon certificate signed by it; removed on drop.
pub struct ChiaRoot {
    pub path: PathBuf,
    pub ca_cert_pem: String,
    pub daemon_cert_pem: String,
    pub daemon_key_pem: String,
    /// A temporary root is removed on drop; a root opened in a chosen directory stays.
    temporary: bool,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "chia-pool-{tag}-{}-{n}-{nanos}",
        std::process::id()
    ))
}

impl ChiaRoot {
    /// A fresh temporary root.
    pub fn create() -> Self {
        Self::generate(temp_dir("root"), true)
    }

    /// The root in `dir`, made there the first time (a CA and daemon certificate), kept afterwards.
    pub fn open_or_create(dir: &Path) -> Self {
        let ssl = dir.join("config/ssl");
        let read = |p: &str| std::fs::read_to_string(ssl.join(p)).ok();
        if let (Some(ca), Some(cert), Some(key)) = (
            read("ca/private_ca.crt"),
            read("daemon/private_daemon.crt"),
            read("daemon/private_daemon.key"),
        ) {
            return Self {
                path: dir.to_path_buf(),
                ca_cert_pem: ca,
                daemon_cert_pem: cert,
                daemon_key_pem: key,
                temporary: false,
            };
        }
        Self::generate(dir.to_path_buf(), false)
    }

    fn generate(path: PathBuf, temporary: bool) -> Self {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "Chia");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Chia CA");
        ca_params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, "Organic Farming Division");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, &ca_key);

        let leaf_key = KeyPair::generate().expect("leaf key");
        let mut leaf_params =
            CertificateParams::new(vec!["chia.net".to_string()]).expect("leaf params");
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "Chia");
        leaf_params
            .distinguished_name
            .push(DnType::OrganizationName, "Chia");
        let leaf_cert = leaf_params
            .signed_by(&leaf_key, &issuer)
            .expect("leaf certificate");

        let root = Self {
            path,
            ca_cert_pem: ca_cert.pem(),
            daemon_cert_pem: leaf_cert.pem(),
            daemon_key_pem: leaf_key.serialize_pem(),
            temporary,
        };
        let ssl = root.path.join("config/ssl");
        write(&ssl.join("ca/private_ca.crt"), &root.ca_cert_pem);
        write(&ssl.join("ca/private_ca.key"), &ca_key.serialize_pem());
        write(
            &ssl.join("daemon/private_daemon.crt"),
            &root.daemon_cert_pem,
        );
        write(&ssl.join("daemon/private_daemon.key"), &root.daemon_key_pem);
        root
    }

    pub fn ca_cert_path(&self) -> PathBuf {
        self.path.join("config/ssl/ca/private_ca.crt")
    }

    pub fn daemon_cert_path(&self) -> PathBuf {
        self.path.join("config/ssl/daemon/private_daemon.crt")
    }

    pub fn daemon_key_path(&self) -> PathBuf {
        self.path.join("config/ssl/daemon/private_daemon.key")
    }

    /// A server configuration like chia's RPC servers: TLS 1.3 only, client certificate from the private CA
    /// required, the daemon certificate presented.
    pub fn server_tls(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.ca_cert_pem.as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("CA root");
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .expect("client verifier");
        let chain = CertificateDer::pem_slice_iter(self.daemon_cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("daemon PEM");
        let key =
            PrivateKeyDer::from_pem_slice(self.daemon_key_pem.as_bytes()).expect("daemon key");
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("TLS 1.3")
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .expect("server certificate");
        Arc::new(config)
    }
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create ssl dir");
    }
    std::fs::write(path, text).expect("write certificate file");
}

impl Drop for ChiaRoot {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
