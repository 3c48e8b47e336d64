//! Debian's `pebble` (an RFC 8555 test CA) and `pebble-challtestsrv` (its DNS, answering 127.0.0.1 for every
//! name) on loopback, with pebble's default behaviour (rejected nonces, authorization reuse) but no validation
//! sleeps. Pebble's own HTTPS certificate is made here, so its CA file is what `[acme] directory_ca` names.
//!
//! Without the binaries the tests are skipped with a message, except under CI=true where they fail.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};

/// A TCP port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// True when pebble can run; false (after saying why) when the test should be skipped.
pub fn available() -> bool {
    let found = ["pebble", "pebble-challtestsrv"].iter().all(|b| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {b}"))
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !found {
        let message = "pebble is not installed (apt-get install -y pebble): ACME tests cannot run";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("SKIPPED: {message}");
    }
    found
}

pub struct Pebble {
    pub dir: PathBuf,
    /// PEM of the CA that signed pebble's HTTPS certificate (for `[acme] directory_ca`).
    pub https_ca: PathBuf,
    https_ca_der: CertificateDer<'static>,
    pub directory: String,
    acme_port: u16,
    management_port: u16,
    dns_port: u16,
    http_port: u16,
    tls_port: u16,
    pebble: Option<Child>,
    dns: Option<Child>,
}

impl Pebble {
    /// Prepares pebble to validate tls-alpn-01 on `tls_port` and http-01 on `http_port`; `start` runs it.
    pub fn new(dir: &Path, tls_port: u16, http_port: u16) -> Self {
        std::fs::create_dir_all(dir).expect("pebble dir");
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "pebble test HTTPS CA");
        let ca = ca_params.self_signed(&ca_key).expect("ca");
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
        let issuer = rcgen::Issuer::new(ca_params, &ca_key);
        let leaf = params.signed_by(&key, &issuer).expect("leaf");
        let https_ca = dir.join("pebble-ca.pem");
        std::fs::write(&https_ca, ca.pem()).unwrap();
        std::fs::write(dir.join("pebble-cert.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.join("pebble-key.pem"), key.serialize_pem()).unwrap();
        let acme_port = free_port();
        Self {
            dir: dir.to_path_buf(),
            https_ca,
            https_ca_der: ca.der().clone(),
            directory: format!("https://127.0.0.1:{acme_port}/dir"),
            acme_port,
            management_port: free_port(),
            dns_port: free_port(),
            http_port,
            tls_port,
            pebble: None,
            dns: None,
        }
    }

    /// Starts the DNS server and pebble, and waits until the directory answers.
    pub fn start(&mut self) {
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{}", self.acme_port),
                "managementListenAddress": format!("127.0.0.1:{}", self.management_port),
                "certificate": self.dir.join("pebble-cert.pem"),
                "privateKey": self.dir.join("pebble-key.pem"),
                "httpPort": self.http_port,
                "tlsPort": self.tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
            }
        });
        let config_path = self.dir.join("pebble.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        if self.dns.is_none() {
            let dns = Command::new("pebble-challtestsrv")
                .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
                .args(["-dns01", &format!("127.0.0.1:{}", self.dns_port)])
                .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
                .args(["-management", &format!("127.0.0.1:{}", free_port())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start pebble-challtestsrv");
            self.dns = Some(dns);
        }
        let log = std::fs::File::create(self.dir.join("pebble.log")).unwrap();
        let pebble = Command::new("pebble")
            .arg("-config")
            .arg(&config_path)
            .args(["-dnsserver", &format!("127.0.0.1:{}", self.dns_port)])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start pebble");
        self.pebble = Some(pebble);
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.root_pem().is_none() {
            assert!(
                Instant::now() < deadline,
                "pebble did not start; see {}",
                self.dir.join("pebble.log").display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut p) = self.pebble.take() {
            let _ = p.kill();
            let _ = p.wait();
        }
    }

    /// The root that signs the certificates pebble issues (new at every pebble start).
    pub fn root_pem(&self) -> Option<String> {
        let (status, body, _) = https_get(
            self.management_port,
            "localhost",
            std::slice::from_ref(&self.https_ca_der),
            "/roots/0",
        )
        .ok()?;
        (status == 200).then_some(body)
    }

    pub fn root_der(&self) -> CertificateDer<'static> {
        use rustls::pki_types::pem::PemObject;
        let pem = self.root_pem().expect("pebble's root");
        CertificateDer::from_pem_slice(pem.as_bytes()).expect("root PEM")
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
        if let Some(mut d) = self.dns.take() {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

/// One HTTPS GET to 127.0.0.1:`port` for the name `sni`, verifying the chain against `roots` only; returns
/// status, body and the served leaf certificate.
pub fn https_get(
    port: u16,
    sni: &str,
    roots: &[CertificateDer<'static>],
    path: &str,
) -> Result<(u16, String, CertificateDer<'static>), String> {
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store.add(r.clone()).map_err(|e| e.to_string())?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(store)
    .with_no_client_auth();
    let name = ServerName::try_from(sni.to_string()).map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    let read = tls.read_to_end(&mut response);
    if response.is_empty() {
        return Err(format!("no response: {read:?}"));
    }
    let leaf = tls
        .conn
        .peer_certificates()
        .and_then(|c| c.first().cloned())
        .ok_or("no peer certificate")?
        .into_owned();
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not HTTP: {text}"))?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Ok((status, body, leaf))
}
