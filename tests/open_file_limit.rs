//! The binary under a small open-file limit (set on this test process, inherited by the pool): it sizes
//! `max_connections` to fit with a warning, and a flood of connections from many addresses is shed at once
//! while a farmer is still served — it never freezes on "too many open files".
#![cfg(target_os = "linux")]

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use support::pool_process::PoolProcess;
use support::FakeChain;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The hard limit the pool inherits: the default max_connections (4096) does not fit in it.
const LIMIT: u64 = 400;

async fn connect_from(source: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    socket.connect(to).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_open_file_limit_is_fitted_and_floods_are_shed() {
    // Only this test runs in this binary, so lowering the limit here affects nothing else. The soft limit
    // stays below the hard one, so the pool has something to raise.
    rlimit::setrlimit(rlimit::Resource::NOFILE, LIMIT / 2, LIMIT).expect("lower the limit");
    let chain = FakeChain::start().await;
    let mut pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_server(
            &chain,
            &format!("reward_address = \"{}\"", hex::encode([0x4d; 32])),
            "max_connections_per_ip = 8\n",
        )
    });
    let log = pool.dir().join("stderr.log");
    pool.kill();
    pool.log = Some(log.clone());
    tokio::task::block_in_place(|| pool.restart());
    let addr: SocketAddr = pool.base_url.trim_start_matches("http://").parse().unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("max_connections = 4096 but the open-file limit is 400"),
        "the pool warns that max_connections does not fit: {text}"
    );

    // Up to 1 000 connections from 20 addresses, held open: more than the pool has descriptors for. Each
    // address gets its share (8), the rest are closed at once (this process keeps what it could open).
    let mut held = Vec::new();
    'outer: for host in 10..30u8 {
        for _ in 0..50 {
            match connect_from(Ipv4Addr::new(127, 0, 1, host), addr).await {
                Ok(s) => held.push(s),
                Err(_) => break 'outer,
            }
        }
    }
    assert!(
        held.len() > 100,
        "the flood opened {} connections",
        held.len()
    );
    // Free a few of this process's descriptors for the farmer's requests.
    held.truncate(held.len() - 20);
    // A farmer on its own address is still answered, promptly and repeatedly.
    for _ in 0..5 {
        let mut s = connect_from(Ipv4Addr::new(127, 0, 2, 1), addr)
            .await
            .expect("connect");
        s.write_all(b"GET /v2/pool_info HTTP/1.1\r\nHost: pool\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await;
        let out = String::from_utf8_lossy(&out);
        assert!(
            out.starts_with("HTTP/1.1 200"),
            "farmer during the flood: {out:?}"
        );
    }
    drop(held);
    assert!(!pool.wait_exit(Duration::from_millis(100)), "still running");
}
