//! Status page cost on loopback, with the real `chia-pool` binary: how long the overview, a farmer page, the
//! JSON and /metrics take to serve (rendered from the in-memory snapshot), and whether 50 page loads per
//! second change partial throughput (real v2 partials, a new TLS connection each, as the 2.7.5 farmer sends).
//!
//!     cargo bench --bench status            (FARMERS, PARTIALS, CLIENTS, PAGES_PER_SEC adjust it)

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chia_bls::SecretKey;
use chia_pool::chia::constants::ConsensusConstants;
use chia_pool::chia::messages::*;
use chia_pool::chia::puzzles::reward_puzzle_hash;
use chia_protocol::Bytes32;
use support::plots::{signed_partial, TestPlot};
use support::pool_process::PoolProcess;
use support::FakeChain;

const TARGET: [u8; 32] = [0x7e; 32];

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn agent(der: &[u8]) -> ureq::Agent {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(der.to_vec()))
        .expect("root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    ureq::AgentBuilder::new()
        .tls_config(Arc::new(config))
        .build()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median and p99 of `n` sequential GETs of `url` on one keep-alive connection, and the body size.
fn time_gets(agent: &ureq::Agent, url: &str, n: usize) -> (Duration, Duration, usize) {
    let mut times = Vec::with_capacity(n);
    let mut size = 0;
    for _ in 0..n {
        let t = Instant::now();
        let body = agent
            .get(url)
            .call()
            .expect("GET")
            .into_string()
            .expect("body");
        times.push(t.elapsed());
        size = body.len();
    }
    times.sort();
    (times[n / 2], times[(n * 99 / 100).min(n - 1)], size)
}

/// Sends every request, each on a new TLS connection, from `clients` threads; returns (accepted, seconds).
fn send_all(requests: Vec<String>, url: &str, der: &[u8], clients: usize) -> (usize, f64) {
    let queue = Arc::new(Mutex::new(requests));
    let accepted = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (queue, accepted, url, der) = (
                queue.clone(),
                accepted.clone(),
                url.to_string(),
                der.to_vec(),
            );
            std::thread::spawn(move || loop {
                let Some(body) = queue.lock().expect("queue").pop() else {
                    break;
                };
                let answer = agent(&der)
                    .post(&url)
                    .set("Content-Type", "application/json")
                    .send_string(&body)
                    .ok()
                    .and_then(|r| r.into_string().ok());
                if answer.is_some_and(|t| t.contains("new_difficulty")) {
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    (
        accepted.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64(),
    )
}

fn main() {
    let farmers_n = env("FARMERS", 8);
    let partials_n = env("PARTIALS", 1500);
    let clients = env("CLIENTS", 16);
    let pages_per_sec = env("PAGES_PER_SEC", 50);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let chain = rt.block_on(FakeChain::start());
    {
        let mut node = chain.node_state();
        node.constants["DIFFICULTY_CONSTANT_FACTOR"] = 33554432.into();
        node.constants["HARD_FORK2_HEIGHT"] = 0.into();
        node.constants["PLOT_SIZE_V2"] = 18.into();
        node.constants["TESTNET"] = true.into();
        node.constants["NUMBER_ZERO_BITS_PLOT_FILTER_V2"] = 0.into();
    }
    let constants = ConsensusConstants::from_value(
        serde_json::json!({"constants": chain.node_state().constants.clone()}),
    )
    .expect("constants");
    let dir = std::env::temp_dir().join(format!("chia-pool-status-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    std::fs::write(dir.join("tls.crt"), certified.cert.pem()).expect("cert");
    std::fs::write(dir.join("tls.key"), certified.signing_key.serialize_pem()).expect("key");
    let der = certified.cert.der().to_vec();
    let server_lines = format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"\nconnections_per_ip_per_sec = 1000000",
        dir.join("tls.crt").display(),
        dir.join("tls.key").display()
    );
    let pool = PoolProcess::start_with_status(
        &chain,
        &format!("reward_address = \"{}\"", hex::encode(TARGET)),
        &server_lines,
        "refresh_secs = 5",
        "[partials]\ntime_limit_secs = 100000\npartials_target = 4000000\ntime_target_secs = 3600\n",
    );
    let base = pool.base_url.replace("127.0.0.1", "localhost");
    let admin = pool.admin_url.clone();
    println!("pool at {base}; {farmers_n} farmers with one k=18 plot each");

    let mut farmers = Vec::new();
    for i in 0..farmers_n {
        let auth_sk = SecretKey::from_seed(&[i as u8 + 150; 32]);
        let launcher = Bytes32::new([i as u8 + 150; 32]);
        let token = support::farmer::join_pool(
            &chain,
            &agent(&der),
            &base,
            launcher,
            &auth_sk,
            Bytes32::new(TARGET),
        );
        let plot = TestPlot::create(reward_puzzle_hash(launcher), i as u16);
        farmers.push((launcher, auth_sk, token, plot));
    }
    let prev_tx = chain.node_state().peak().height;
    let _ = prev_tx;
    chain.node_state().new_slot(None);
    chain.node_state().new_slot(None);
    let mut requests: Vec<String> = Vec::with_capacity(2 * partials_n);
    'outer: while requests.len() < 2 * partials_n {
        let challenge = chain.node_state().new_slot(None);
        for index in 1..64u8 {
            let sp_hash = chain.node_state().add_signage_point(index);
            for (launcher, auth_sk, token, plot) in &farmers {
                let _ = &constants;
                for pos in plot.proofs(&challenge, &sp_hash) {
                    let r = signed_partial(*launcher, sp_hash, pos, &plot.plot_sk, auth_sk, token);
                    requests.push(r.to_json_string());
                    if requests.len() >= 2 * partials_n {
                        break 'outer;
                    }
                }
            }
        }
    }
    let second = requests.split_off(partials_n);
    let url = format!("{base}/v2/partial");

    // Warm the pool with the first half (also gives the pages something to show) and let the figures refresh.
    let (ok1, secs1) = send_all(requests, &url, &der, clients);
    std::thread::sleep(Duration::from_secs(6));
    let farmer_url = format!("{base}/farmer/{}", hex::encode(farmers[0].0));
    let pages = [
        ("overview /", format!("{base}/")),
        ("farmer page", farmer_url.clone()),
        ("/api/pool", format!("{base}/api/pool")),
        ("/metrics", format!("{admin}/metrics")),
    ];
    let keep_alive = agent(&der);
    println!("serving cost, 200 sequential requests each on one keep-alive connection:");
    for (name, url) in &pages {
        let (p50, p99, size) = time_gets(&keep_alive, url, 200);
        println!(
            "  {name:<12} p50 {:.2} ms  p99 {:.2} ms  ({size} bytes)",
            ms(p50),
            ms(p99)
        );
    }

    // The second half with pages loading in the background.
    let stop = Arc::new(AtomicBool::new(false));
    let loads = Arc::new(AtomicUsize::new(0));
    let loader = {
        let (stop, loads, der) = (stop.clone(), loads.clone(), der.clone());
        let urls: Vec<String> = pages.iter().map(|p| p.1.clone()).collect();
        std::thread::spawn(move || {
            let every = Duration::from_secs_f64(1.0 / pages_per_sec.max(1) as f64);
            let mut next = Instant::now();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                // A browser opens a connection per visit: a new one each time.
                let _ = agent(&der)
                    .get(&urls[i % urls.len()])
                    .call()
                    .map(|r| r.into_string());
                loads.fetch_add(1, Ordering::Relaxed);
                i += 1;
                next += every;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
        })
    };
    let (ok2, secs2) = send_all(second, &url, &der, clients);
    stop.store(true, Ordering::Relaxed);
    let _ = loader.join();
    let rate1 = ok1 as f64 / secs1;
    let rate2 = ok2 as f64 / secs2;
    println!("partials without page loads: {ok1} accepted in {secs1:.2} s = {rate1:.0}/s");
    println!(
        "partials with {:.0} page loads/s: {ok2} accepted in {secs2:.2} s = {rate2:.0}/s ({:+.1} %)",
        loads.load(Ordering::Relaxed) as f64 / secs2,
        (rate2 / rate1 - 1.0) * 100.0
    );
    drop(pool);
    let _ = std::fs::remove_dir_all(&dir);
}
