//! The farmer API over HTTPS from the real binary: a certificate made in the test, a client that trusts only
//! that certificate and opens a new TLS connection per request (as the 2.7.5 farmer does), plain HTTP and a
//! silent client refused.

mod support;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::pool_process::PoolProcess;
use support::FakeChain;

/// A self-signed certificate for localhost, written as PEM files; returns (cert path, key path, cert DER).
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let cert = dir.join("tls.crt");
    let key = dir.join("tls.key");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (cert, key, certified.cert.der().to_vec())
}

fn client(ca_der: &[u8]) -> ureq::Agent {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(ca_der.to_vec()))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    ureq::AgentBuilder::new()
        .tls_config(Arc::new(config))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn farmer_api_over_https() {
    let chain = FakeChain::start().await;
    let dir = std::env::temp_dir().join(format!("chia-pool-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key, der) = certificate(&dir);
    let extra = format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"\nheader_timeout_secs = 1\n",
        cert.display(),
        key.display()
    );
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_server(
            &chain,
            &format!("reward_address = \"{}\"", hex::encode([3u8; 32])),
            &extra,
        )
    });
    assert!(pool.base_url.starts_with("https://"), "{}", pool.base_url);
    let url = pool.base_url.replace("127.0.0.1", "localhost");

    // Several requests, each on a new agent (a new TLS connection), as the farmer sends partials.
    for _ in 0..5 {
        let body = tokio::task::block_in_place(|| {
            client(&der)
                .get(&format!("{url}/v2/pool_info"))
                .call()
                .unwrap()
                .into_string()
                .unwrap()
        });
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["protocol_version"], 2);
    }

    let addr = pool.base_url.trim_start_matches("https://").to_string();
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain_ok = tokio::task::block_in_place(|| {
        ureq::get(&format!("http://{addr}/v2/pool_info"))
            .call()
            .is_ok()
    });
    assert!(!plain_ok, "plain HTTP must not be answered on the TLS port");
    // A client that connects and says nothing is dropped after the handshake deadline.
    let closed_after = tokio::task::block_in_place(|| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 16];
        let n = s.read(&mut buf).unwrap_or(0);
        let _ = s.write_all(b"x");
        (n, start.elapsed())
    });
    assert_eq!(closed_after.0, 0, "the server closed the silent connection");
    assert!(
        closed_after.1 < Duration::from_secs(15),
        "closed after {:?}",
        closed_after.1
    );
    let _ = std::fs::remove_dir_all(&dir);
}
