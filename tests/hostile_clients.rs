//! The real binary against hostile clients over raw sockets: idle, slow and HTTP/2 connections are closed
//! within their deadlines, one address holding many connections cannot lock others out, a request flood on
//! kept-alive connections is budgeted, chunked bodies are read within the limit, and a farmer is served all
//! the while.
//!
//! Longer than 400 lines on purpose: each attack is a short test over the same raw-socket helpers.

mod common;
mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use chia_bls::SecretKey;
use chia_protocol::Bytes32;
use support::pool_process::PoolProcess;
use support::FakeChain;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const TARGET: [u8; 32] = [0x4d; 32];
/// The other client address on loopback (Linux routes all of 127/8 to lo).
const OTHER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

fn address(pool: &PoolProcess) -> SocketAddr {
    pool.base_url
        .trim_start_matches("http://")
        .parse()
        .expect("pool address")
}

async fn connect_from(source: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    socket.connect(to).await
}

/// Reads until the server closes; the time it took, or None if it was still open after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.checked_sub(start.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

/// One request on a new connection from `source`; the response head and body as text.
async fn request_from(source: Ipv4Addr, to: SocketAddr, raw: &str) -> String {
    let mut stream = connect_from(source, to).await.expect("connect");
    stream.write_all(raw.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn get_pool_info() -> &'static str {
    "GET /v2/pool_info HTTP/1.1\r\nHost: pool\r\nConnection: close\r\n\r\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_slow_and_http2_clients_are_closed_while_a_farmer_is_served() {
    let chain = FakeChain::start().await;
    let pool_lines = format!("reward_address = \"{}\"", hex::encode(TARGET));
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_server(
            &chain,
            &pool_lines,
            "header_timeout_secs = 2\nidle_timeout_secs = 2\nbody_timeout_secs = 2\n",
        )
    });
    let addr = address(&pool);
    // Generous: the deadline is 2 s, the machine may be loaded.
    let limit = Duration::from_secs(15);

    let mut idle = connect_from(Ipv4Addr::LOCALHOST, addr).await.unwrap();
    let mut slow_headers = connect_from(Ipv4Addr::LOCALHOST, addr).await.unwrap();
    let mut slow_body = connect_from(Ipv4Addr::LOCALHOST, addr).await.unwrap();
    let mut kept_alive = connect_from(Ipv4Addr::LOCALHOST, addr).await.unwrap();
    let mut http2 = connect_from(Ipv4Addr::LOCALHOST, addr).await.unwrap();
    http2
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    kept_alive
        .write_all(b"GET /v2/pool_info HTTP/1.1\r\nHost: pool\r\n\r\n")
        .await
        .unwrap();
    slow_body
        .write_all(b"POST /v2/partial HTTP/1.1\r\nHost: pool\r\nContent-Length: 4000\r\n\r\n{")
        .await
        .unwrap();
    // Trickle: a byte of headers or body every half second, never finishing.
    let trickle = tokio::spawn(async move {
        let start = Instant::now();
        let mut headers_open = slow_headers
            .write_all(b"GET /v2/pool_info HTTP/1.1\r\n")
            .await
            .is_ok();
        let mut body_open = true;
        let (mut headers_closed, mut body_closed) = (None, None);
        while (headers_open || body_open) && start.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if headers_open && slow_headers.write_all(b"X").await.is_err() {
                headers_open = false;
                headers_closed = Some(start.elapsed());
            }
            if body_open && slow_body.write_all(b" ").await.is_err() {
                body_open = false;
                body_closed = Some(start.elapsed());
            }
        }
        (headers_closed, body_closed)
    });

    // Meanwhile a farmer from another address is served, several times.
    for _ in 0..5 {
        let answer = request_from(OTHER, addr, get_pool_info()).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let took = closed_within(&mut idle, limit).await;
    assert!(took.is_some(), "a connection that sends nothing is closed");
    let took = closed_within(&mut kept_alive, limit).await;
    assert!(
        took.is_some(),
        "a kept-alive connection left idle is closed"
    );
    let took = closed_within(&mut http2, limit).await;
    assert!(took.is_some(), "an HTTP/2 preface is refused");
    let (headers_closed, body_closed) = trickle.await.unwrap();
    assert!(
        headers_closed.is_some_and(|t| t < limit + Duration::from_secs(2)),
        "headers sent byte by byte are cut: {headers_closed:?}"
    );
    assert!(
        body_closed.is_some_and(|t| t < limit + Duration::from_secs(2)),
        "a body sent byte by byte is cut: {body_closed:?}"
    );
    let answer = request_from(OTHER, addr, get_pool_info()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holding_many_connections_cannot_lock_others_out() {
    let chain = FakeChain::start().await;
    let pool_lines = format!("reward_address = \"{}\"", hex::encode(TARGET));
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_server(
            &chain,
            &pool_lines,
            "max_connections = 40\nmax_connections_per_ip = 8\nconnections_per_ip_per_sec = 1000\n",
        )
    });
    let addr = address(&pool);
    // 60 connections from one address, all held open (TLS-less, sending nothing).
    let mut held = Vec::new();
    for _ in 0..60 {
        if let Ok(s) = connect_from(Ipv4Addr::LOCALHOST, addr).await {
            held.push(s);
        }
    }
    // Those past the cap are closed at once; the first eight stay (until their deadline).
    let mut closed = 0;
    for s in held.iter_mut() {
        if closed_within(s, Duration::from_millis(300)).await.is_some() {
            closed += 1;
        }
    }
    assert!(
        closed >= 60 - 8,
        "connections past the per-address cap are shed: {closed} of 60 closed"
    );
    // Another address is served at once, repeatedly.
    for _ in 0..10 {
        let answer = request_from(OTHER, addr, get_pool_info()).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_floods_on_kept_alive_connections_are_budgeted() {
    let chain = FakeChain::start().await;
    let pool_lines = format!("reward_address = \"{}\"", hex::encode(TARGET));
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_server(&chain, &pool_lines, "requests_per_ip_per_sec = 5\n")
    });
    let addr = address(&pool);
    let base = pool.base_url.clone();
    // An honest farmer on another address joins first.
    let auth_sk = SecretKey::from_seed(&[31; 32]);
    let launcher = Bytes32::new([31; 32]);
    // The farmer is on 127.0.0.1 (ureq's), the flood comes from 127.0.0.2.
    let token = tokio::task::block_in_place(|| {
        support::farmer::join_pool(
            &chain,
            &ureq::agent(),
            &base,
            launcher,
            &auth_sk,
            Bytes32::new(TARGET),
        )
    });
    let cpu_before = pool.cpu_time();
    let flood_start = Instant::now();
    // The flood: GET /v2/auth with valid-looking but wrong signatures over 4 kept-alive connections.
    let auth = format!(
        "GET /v2/auth?launcher_id=0x{}&timestamp={}&signature=0x{} HTTP/1.1\r\nHost: pool\r\n\r\n",
        hex::encode(launcher),
        chia_pool::pool::unix_now(),
        hex::encode(chia_bls::sign(&auth_sk, b"not the message").to_bytes())
    );
    let per_connection = 100;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = connect_from(OTHER, addr).await.expect("connect");
            let mut counts = (0u32, 0u32);
            let mut buf = vec![0u8; 8192];
            for _ in 0..per_connection {
                if s.write_all(auth.as_bytes()).await.is_err() {
                    break;
                }
                let n = match tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf)).await
                {
                    Ok(Ok(n)) if n > 0 => n,
                    _ => break,
                };
                let text = String::from_utf8_lossy(&buf[..n]);
                if text.starts_with("HTTP/1.1 429") {
                    counts.1 += 1;
                } else if text.starts_with("HTTP/1.1 200") {
                    counts.0 += 1;
                }
            }
            counts
        }));
    }
    let mut served = 0;
    let mut refused = 0;
    for t in tasks {
        let (s, r) = t.await.unwrap();
        served += s;
        refused += r;
    }
    let elapsed = flood_start.elapsed().as_secs_f64();
    let cpu = pool.cpu_time().zip(cpu_before).map(|(a, b)| a - b);
    eprintln!(
        "flood: {served} answered, {refused} refused with 429 of {} requests; pool CPU {cpu:?}",
        4 * per_connection
    );
    assert!(
        served + refused >= 300,
        "every request got an answer: {served} + {refused}"
    );
    let budget = 50.0 + 5.0 * elapsed + 5.0;
    assert!(
        f64::from(served) <= budget,
        "the budget (burst 50, then 5/s over {elapsed:.1} s) held: {served} answered"
    );
    // The honest farmer, on its own address, is still served.
    let url = format!(
        "{base}/v2/farmer?authentication_token=0&launcher_id=0x{}&authentication_token_v2={token}",
        hex::encode(launcher)
    );
    let text =
        tokio::task::block_in_place(|| ureq::get(&url).call().unwrap().into_string().unwrap());
    assert!(text.contains("current_difficulty"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_are_read_within_the_limit() {
    let chain = FakeChain::start().await;
    let pool_lines = format!("reward_address = \"{}\"", hex::encode(TARGET));
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_server(&chain, &pool_lines, "max_body_bytes = 8192\n")
    });
    let addr = address(&pool);
    let small = "{\"payload\": 1}";
    let raw = format!(
        "POST /v2/farmer HTTP/1.1\r\nHost: pool\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {:x}\r\n{small}\r\n0\r\n\r\n",
        small.len()
    );
    let answer = request_from(Ipv4Addr::LOCALHOST, addr, &raw).await;
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "a chunked body is read: {answer}"
    );
    assert!(
        answer.contains("\"error_code\":16"),
        "and parsed as JSON: {answer}"
    );
    let chunk = "x".repeat(4000);
    let mut big = String::from(
        "POST /v2/farmer HTTP/1.1\r\nHost: pool\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    );
    for _ in 0..4 {
        big.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    big.push_str("0\r\n\r\n");
    let answer = request_from(Ipv4Addr::LOCALHOST, addr, &big).await;
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "over the limit: {answer}"
    );
    let declared = "POST /v2/farmer HTTP/1.1\r\nHost: pool\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n";
    let answer = request_from(Ipv4Addr::LOCALHOST, addr, declared).await;
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "declared over the limit: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_behind_a_trusted_proxy_have_their_own_budgets() {
    let chain = FakeChain::start().await;
    let pool_lines = format!("reward_address = \"{}\"", hex::encode(TARGET));
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_server(
            &chain,
            &pool_lines,
            "requests_per_ip_per_sec = 2\ntrusted_proxies = [\"127.0.0.1\"]\n",
        )
    });
    let addr = address(&pool);
    let via = |source: Ipv4Addr, client: &str| {
        let raw = format!(
            "GET /v2/pool_info HTTP/1.1\r\nHost: pool\r\nX-Forwarded-For: {client}\r\nConnection: close\r\n\r\n"
        );
        async move { request_from(source, addr, &raw).await }
    };
    // One client behind the proxy uses up its budget (a burst of 20)...
    let mut limited = 0;
    for _ in 0..40 {
        if via(Ipv4Addr::LOCALHOST, "203.0.113.1")
            .await
            .starts_with("HTTP/1.1 429")
        {
            limited += 1;
        }
    }
    assert!(
        limited >= 10,
        "the client behind the proxy is budgeted: {limited} of 40 refused"
    );
    // ...another client behind the same proxy is not affected.
    let answer = via(Ipv4Addr::LOCALHOST, "203.0.113.2").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // An address that is not a trusted proxy cannot escape its budget by claiming others.
    let mut limited = 0;
    for i in 0..40 {
        if via(OTHER, &format!("198.51.100.{i}"))
            .await
            .starts_with("HTTP/1.1 429")
        {
            limited += 1;
        }
    }
    assert!(
        limited >= 10,
        "forwarded headers from strangers are ignored: {limited} of 40 refused"
    );
}

/// A TLS client to the pool trusting `der`, offering `alpn`; the stream after the handshake, or the error.
fn tls_connect(
    addr: SocketAddr,
    der: &[u8],
    alpn: &[&[u8]],
) -> Result<rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>, String> {
    use std::sync::Arc;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(der.to_vec()))
        .map_err(|e| e.to_string())?;
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let name = rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let tcp = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(|e| e.to_string())?;
    }
    Ok(stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_clients_that_stay_silent_or_want_http2_are_refused() {
    use std::io::Read;
    let chain = FakeChain::start().await;
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = std::env::temp_dir().join(format!("chia-pool-hostile-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let der = certified.cert.der().to_vec();
    let server_lines = format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"\nheader_timeout_secs = 2\n",
        cert.display(),
        key.display()
    );
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_server(
            &chain,
            &format!("reward_address = \"{}\"", hex::encode(TARGET)),
            &server_lines,
        )
    });
    let addr: SocketAddr = pool
        .base_url
        .trim_start_matches("https://")
        .parse()
        .unwrap();
    tokio::task::block_in_place(|| {
        // HTTP/2 only: refused in the handshake.
        assert!(
            tls_connect(addr, &der, &[b"h2"]).is_err(),
            "an h2-only client is refused"
        );
        // HTTP/2 or HTTP/1.1: HTTP/1.1 is chosen.
        let both = tls_connect(addr, &der, &[b"h2", b"http/1.1"]).expect("handshake");
        assert_eq!(both.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
        // Handshake done, then silence: closed at the first-request deadline.
        let mut silent = tls_connect(addr, &der, &[]).expect("handshake");
        let start = std::time::Instant::now();
        let mut buf = [0u8; 64];
        let n = silent.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "nothing but the close");
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "closed after {:?}",
            start.elapsed()
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_server_makes_room_by_closing_quiet_connections() {
    let chain = FakeChain::start().await;
    let pool_lines = format!("reward_address = \"{}\"", hex::encode(TARGET));
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_server(
            &chain,
            &pool_lines,
            "max_connections = 20\nmax_connections_per_ip = 4\nheader_timeout_secs = 60\n",
        )
    });
    let addr = address(&pool);
    // Ten addresses hold four silent connections each: twice what the server holds, each within its share.
    let mut held = Vec::new();
    for host in 10..20u8 {
        for _ in 0..4 {
            held.push(
                connect_from(Ipv4Addr::new(127, 0, 3, host), addr)
                    .await
                    .unwrap(),
            );
        }
    }
    // A farmer is answered at once, not after the silent ones' 60 s deadline.
    for _ in 0..5 {
        let started = Instant::now();
        let answer = request_from(OTHER, addr, get_pool_info()).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
    }
    drop(held);
}
