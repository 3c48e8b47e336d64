//! Chain client figures against the fake node on loopback, over real mutual TLS:
//! round-trip time of a call, and node calls per partial check (the goal in steady state is zero).
//!
//!     cargo bench --bench chain

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chia_pool::chain::ChainClient;
use support::FakeChain;
use tokio::task::JoinSet;

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Mean, median and 99th percentile of `n` sequential awaits of `call`, in µs.
async fn time_calls<F, Fut, T, E>(n: usize, mut call: F) -> (f64, f64, f64)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Debug,
{
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        call().await.expect("call");
        samples.push(start.elapsed());
    }
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / n as u32;
    (
        micros(mean),
        micros(samples[n / 2]),
        micros(samples[n * 99 / 100]),
    )
}

async fn run() {
    let chain = FakeChain::start().await;
    let client = chain.client();

    println!("chain client over mutual TLS (TLS 1.3, client certificate) on 127.0.0.1");
    let (mean, p50, p99) = time_calls(2000, || client.network_info()).await;
    println!("  round trip, get_network_info (kept-alive connection): mean {mean:.0} µs, p50 {p50:.0} µs, p99 {p99:.0} µs");
    let (mean, p50, p99) = time_calls(2000, || client.blockchain_state()).await;
    println!("  round trip, get_blockchain_state (parsed):           mean {mean:.0} µs, p50 {p50:.0} µs, p99 {p99:.0} µs");

    let config = chain.config();
    let (mean, p50, p99) = time_calls(100, || {
        let config = config.clone();
        async move {
            let fresh = ChainClient::new(config)?;
            fresh.network_info().await
        }
    })
    .await;
    println!("  first call of a new client (read certificates, TCP + TLS handshake): mean {mean:.0} µs, p50 {p50:.0} µs, p99 {p99:.0} µs");

    // One slot with 64 signage points, farmers' partials spread over them.
    let sps: Vec<_> = {
        let mut node = chain.node_state();
        node.new_slot(None);
        node.new_slot(None);
        (1..64).map(|i| node.add_signage_point(i)).collect()
    };
    let _poller = client.start_background().expect("poller");
    let cache = client.signage_points();
    let before = client.stats().node_requests;
    let partials = 10_000;
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..partials {
        let cache = cache.clone();
        let sp = sps[i % sps.len()];
        tasks.spawn(async move { cache.lookup(sp, false).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task").expect("lookup").expect("known");
    }
    let cold = client.stats().node_requests - before;
    println!(
        "  {partials} partials over {} fresh signage points (concurrent): {cold} node calls \
         ({:.4} per partial; one per signage point plus its slot's end-of-slot lookups), {:.0} µs total per partial",
        sps.len(),
        cold as f64 / partials as f64,
        micros(start.elapsed()) / partials as f64
    );

    let before = client.stats().node_requests;
    let before_fake = chain.node.request_count("get_recent_signage_point_or_eos");
    let partials = 100_000;
    let start = Instant::now();
    for i in 0..partials {
        cache
            .lookup(sps[i % sps.len()], false)
            .await
            .expect("lookup")
            .expect("known");
    }
    let elapsed = start.elapsed();
    let steady = client.stats().node_requests - before;
    let seen = chain.node.request_count("get_recent_signage_point_or_eos") - before_fake;
    println!(
        "  steady state: {partials} partial checks made {steady} node calls (node saw {seen} lookups) = {:.4} per partial; {:.2} µs per check",
        steady as f64 / partials as f64,
        micros(elapsed) / partials as f64
    );
    let peak = client.peak().expect("peak");
    println!(
        "  peak from the cache: height {}, prev_tx_height {}, synced {} (no node call)",
        peak.height, peak.prev_tx_height, peak.synced
    );
}

fn main() {
    // `cargo test --benches` runs this with `--test`: keep that quick.
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run());
}
