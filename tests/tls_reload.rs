//! `[server] tls_cert` / `tls_key` replaced while the real binary runs: picked up at SIGHUP within 5 s and by
//! modification time without a signal; a mismatched pair refused with a log line naming the file, the old pair
//! kept; a keep-alive connection opened before the reloads keeps working.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use support::pool_process::PoolProcess;
use support::FakeChain;

struct Pair {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

fn pair() -> Pair {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    Pair {
        cert_pem: c.cert.pem(),
        key_pem: c.signing_key.serialize_pem(),
        der: c.cert.der().clone(),
    }
}

/// Replaces a file the way certbot does (write beside, rename over).
fn replace(path: &Path, text: &str) {
    let temp = path.with_extension("new");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A TLS connection to localhost:`port` trusting every pair given.
fn connect(port: u16, trusted: &[&Pair]) -> Tls {
    let mut roots = rustls::RootCertStore::empty();
    for p in trusted {
        roots.add(p.der.clone()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

/// One keep-alive GET /v2/pool_info on `tls`; returns the status.
fn get(tls: &mut Tls) -> std::io::Result<u16> {
    tls.write_all(b"GET /v2/pool_info HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
    let mut reader = BufReader::new(tls);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// The leaf a new connection is served.
fn served(port: u16, trusted: &[&Pair]) -> CertificateDer<'static> {
    let mut tls = connect(port, trusted);
    assert_eq!(get(&mut tls).expect("request on a new connection"), 200);
    tls.conn.peer_certificates().unwrap()[0]
        .clone()
        .into_owned()
}

/// Waits for new connections to get `want`, using `open` meanwhile (the server closes keep-alive
/// connections idle for longer than its header timeout, reload or not).
fn wait_served(
    port: u16,
    trusted: &[&Pair],
    want: &Pair,
    within: Duration,
    what: &str,
    open: &mut Tls,
) -> Duration {
    let start = Instant::now();
    while served(port, trusted) != want.der {
        assert!(
            start.elapsed() < within,
            "{what}: the new certificate is not served after {within:?}"
        );
        assert_eq!(
            get(open).expect("the open connection keeps working while waiting"),
            200
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    start.elapsed()
}

fn hangup(pool: &PoolProcess) {
    let pid = pool.pid().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_pair_is_served_without_restart() {
    let chain = FakeChain::start().await;
    tokio::task::block_in_place(|| {
        let (a, b, c, d) = (pair(), pair(), pair(), pair());
        let port = support::pebble::free_port();
        let mut pool = PoolProcess::create(
            &chain,
            &format!("127.0.0.1:{port}"),
            &format!("reward_address = \"{}\"", hex::encode([3u8; 32])),
            "tls_cert = \"tls.crt\"\ntls_key = \"tls.key\"",
            "",
        );
        let cert = pool.dir.join("tls.crt");
        let key = pool.dir.join("tls.key");
        std::fs::write(&cert, &a.cert_pem).unwrap();
        std::fs::write(&key, &a.key_pem).unwrap();
        pool.log = Some(pool.dir.join("pool.log"));
        pool.restart();
        let all = [&a, &b, &c, &d];
        assert_eq!(served(port, &all), a.der);

        // A keep-alive connection opened on the first certificate.
        let mut open = connect(port, &all);
        assert_eq!(get(&mut open).unwrap(), 200);

        // SIGHUP: the new pair within 5 s.
        replace(&key, &b.key_pem);
        replace(&cert, &b.cert_pem);
        hangup(&pool);
        wait_served(
            port,
            &all,
            &b,
            Duration::from_secs(5),
            "after SIGHUP",
            &mut open,
        );
        assert_eq!(
            get(&mut open).expect("the open connection survives a reload"),
            200
        );

        // A certificate with a key that is not its own: refused, named, the previous pair kept.
        replace(&cert, &c.cert_pem);
        hangup(&pool);
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(get(&mut open).unwrap(), 200);
        assert_eq!(served(port, &all), b.der, "the previous pair stays in use");
        let log = pool.log_text();
        let refusals: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("reload refused"))
            .collect();
        assert_eq!(refusals.len(), 1, "{log}");
        assert!(
            refusals[0].contains("tls.key") && refusals[0].contains("does not match"),
            "{log}"
        );
        assert!(
            pool.pid().is_some() && !pool.wait_exit(Duration::from_millis(100)),
            "still running"
        );

        // Completed without a signal (Windows has none): picked up by modification time within 90 s.
        replace(&key, &d.key_pem);
        replace(&cert, &d.cert_pem);
        let took = wait_served(
            port,
            &all,
            &d,
            Duration::from_secs(90),
            "by modification time",
            &mut open,
        );
        eprintln!("picked up by modification time after {took:?}");
        assert_eq!(
            get(&mut open).expect("the open connection survives both reloads"),
            200
        );
    });
}
