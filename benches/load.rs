//! Farmer-fleet load on loopback: the real `chia-pool` binary over HTTPS against the fake node, and many farmer
//! clients sending real v2 partials, each on a new TLS connection as the 2.7.5 farmer does. Prints accepted
//! partials per second and latency percentiles. The load generator shares the machine's cores with the pool.
//!
//!     cargo bench --bench load            (FARMERS, PARTIALS, CLIENTS environment variables adjust it)

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
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

const TARGET: [u8; 32] = [0x6e; 32];

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An agent that trusts only the test certificate; one per request means one TLS handshake per request.
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

struct Farmer {
    launcher: Bytes32,
    auth_sk: SecretKey,
    token: String,
    plot: TestPlot,
}

fn main() {
    let farmers_n = env("FARMERS", 8);
    let partials_n = env("PARTIALS", 3000);
    let clients = env("CLIENTS", 32);
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
        // Every signage point passes the plot filter, so proofs are quick to find for the load.
        node.constants["NUMBER_ZERO_BITS_PLOT_FILTER_V2"] = 0.into();
    }
    let constants = ConsensusConstants::from_value(
        serde_json::json!({"constants": chain.node_state().constants.clone()}),
    )
    .expect("constants");
    let dir = std::env::temp_dir().join(format!("chia-pool-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    std::fs::write(dir.join("tls.crt"), certified.cert.pem()).expect("cert");
    std::fs::write(dir.join("tls.key"), certified.signing_key.serialize_pem()).expect("key");
    let der = certified.cert.der().to_vec();
    let server_lines = format!(
        // The whole fleet connects from 127.0.0.1 here.
        "tls_cert = \"{}\"\ntls_key = \"{}\"\nconnections_per_ip_per_sec = 1000000\nrequests_per_ip_per_sec = 1000000\nmax_connections_per_ip = 100000",
        dir.join("tls.crt").display(),
        dir.join("tls.key").display()
    );
    let pool = PoolProcess::start_full(
        &chain,
        &format!("reward_address = \"{}\"", hex::encode(TARGET)),
        &server_lines,
        // Late partials are fine here (they were signed up front), and the difficulty target is set to this
        // fleet's rate so that difficulty stays put during the run.
        "[partials]\ntime_limit_secs = 100000\npartials_target = 4000000\ntime_target_secs = 3600\n",
    );
    let base = pool.base_url.replace("127.0.0.1", "localhost");
    println!("pool at {base}; preparing {farmers_n} farmers with one k=18 plot each");

    let mut farmers = Vec::new();
    for i in 0..farmers_n {
        let auth_sk = SecretKey::from_seed(&[i as u8 + 100; 32]);
        let launcher = Bytes32::new([i as u8 + 100; 32]);
        let token = support::farmer::join_pool(
            &chain,
            &agent(&der),
            &base,
            launcher,
            &auth_sk,
            Bytes32::new(TARGET),
        );
        let plot = TestPlot::create(reward_puzzle_hash(launcher), i as u16);
        farmers.push(Farmer {
            launcher,
            auth_sk,
            token,
            plot,
        });
    }

    // Partials as harvesters would find them, over as many signage points as needed.
    let started = Instant::now();
    let mut requests: Vec<String> = Vec::with_capacity(partials_n);
    let prev_tx = chain.node_state().peak().height;
    // Two finished slots first: a v2 filter challenge reaches two slots back.
    chain.node_state().new_slot(None);
    chain.node_state().new_slot(None);
    'outer: while requests.len() < partials_n {
        let challenge = chain.node_state().new_slot(None);
        for index in 1..64u8 {
            let sp_hash = chain.node_state().add_signage_point(index);
            for f in &farmers {
                debug_assert!(f.plot.passes_filter(&constants, prev_tx, index, &challenge));
                for pos in f.plot.proofs(&challenge, &sp_hash) {
                    let request = signed_partial(
                        f.launcher,
                        sp_hash,
                        pos,
                        &f.plot.plot_sk,
                        &f.auth_sk,
                        &f.token,
                    );
                    requests.push(request.to_json_string());
                    if requests.len() >= partials_n {
                        break 'outer;
                    }
                }
            }
        }
    }
    println!(
        "prepared {} signed partials in {:.1} s",
        requests.len(),
        started.elapsed().as_secs_f64()
    );

    // The load: `clients` threads, each request on a new TLS connection.
    let queue = Arc::new(Mutex::new(requests));
    let accepted = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(Mutex::new(
        std::collections::BTreeMap::<String, usize>::new(),
    ));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let url = format!("{base}/v2/partial");
    let start = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (queue, accepted, refused, latencies, url, der) = (
                queue.clone(),
                accepted.clone(),
                refused.clone(),
                latencies.clone(),
                url.clone(),
                der.clone(),
            );
            std::thread::spawn(move || loop {
                let Some(body) = queue.lock().expect("queue").pop() else {
                    break;
                };
                let t = Instant::now();
                let answer = agent(&der)
                    .post(&url)
                    .set("Content-Type", "application/json")
                    .set("User-Agent", "Chia Blockchain v.2.7.5")
                    .send_string(&body)
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.into_string().map_err(|e| e.to_string()));
                latencies.lock().expect("latencies").push(t.elapsed());
                match answer {
                    Ok(text) if text.contains("new_difficulty") => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(text) => {
                        *refused
                            .lock()
                            .expect("refused")
                            .entry(text.chars().take(60).collect())
                            .or_default() += 1
                    }
                    Err(e) => *refused.lock().expect("refused").entry(e).or_default() += 1,
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let elapsed = start.elapsed();
    let mut l = latencies.lock().expect("latencies").clone();
    l.sort();
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let ok = accepted.load(Ordering::Relaxed);
    println!("clients: {clients} threads, a new TLS connection per partial");
    println!(
        "accepted {ok} of {} partials in {:.2} s: {:.0} partials/s",
        l.len(),
        elapsed.as_secs_f64(),
        ok as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(pct(1.0))
    );
    for (what, n) in refused.lock().expect("refused").iter() {
        println!("refused {n}: {what}");
    }
    drop(pool);
    let _ = std::fs::remove_dir_all(&dir);
}
