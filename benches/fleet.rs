//! The demo's farmer fleet as a load generator: the real `chia-pool serve` binary over HTTPS against the
//! simulated node and wallet (src/sim), FARMERS simulated farmers (1 to 3 k=18 plots each, joined over the
//! farmer API) sending PARTIALS signed partials, each on a new TLS connection, from CLIENTS threads on the
//! same machine. Prints accepted partials per second, p50/p99 latency, the server's CPU time per accepted
//! partial, node RPC calls per accepted partial (counted by the simulated node; the bench FAILS above 0.01 in
//! the steady state, after the first fifth of the partials), the server's RSS, and store growth per day at
//! 10 000 and 100 000 members sending 300 partials a day each.
//!
//!     FARMERS=150 PARTIALS=4000 cargo bench --bench fleet
//!
//! Plots are kept in target/bench-fleet-plots for the next run. The world's plot filter is 0 bits so that
//! every plot answers every signage point (as ~16 times more plots would), and partials are signed up front
//! with a long time limit, so the run measures the pool rather than the harvesters.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chia_pool::chia::messages::PostPartialRequest;
use chia_pool::chia::puzzles::PoolConfig;
use chia_pool::sim::fleet::{plots_of, Fleet, SimFarmer};
use chia_pool::sim::world::World;

const MAX_RPC_PER_PARTIAL: f64 = 0.01;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (user + system CPU time, resident set size in bytes) of a process, from /proc (Linux).
fn usage(pid: u32) -> (Duration, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0);
    (
        Duration::from_millis((ticks(11) + ticks(12)) * 10),
        rss_kb * 1024,
    )
}

fn tls_client(der: &[u8]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(der.to_vec()))
        .expect("root");
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn main() -> ExitCode {
    let farmers_n = env("FARMERS", 150) as u32;
    let partials_n = env("PARTIALS", 4000);
    let clients = env("CLIENTS", 32);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("chia-pool-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let world = rt
        .block_on(World::start_with(
            &dir.join("chia"),
            None,
            &serde_json::json!({"NUMBER_ZERO_BITS_PLOT_FILTER_V2": 0}),
        ))
        .expect("world");

    // The pool, as `serve` runs it, over HTTPS.
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    std::fs::write(dir.join("tls.crt"), certified.cert.pem()).expect("cert");
    std::fs::write(dir.join("tls.key"), certified.signing_key.serialize_pem()).expect("key");
    chia_pool::pool::tokens::create_key_file(&dir.join("token.key"), false).expect("token key");
    let d = dir.display();
    let config = format!(
        r#"[server]
listen = "127.0.0.1:0"
tls_cert = "{d}/tls.crt"
tls_key = "{d}/tls.key"
connections_per_ip_per_sec = 1000000
requests_per_ip_per_sec = 1000000
max_connections_per_ip = 100000
[chia]
root = "{d}/chia"
node_url = "{node}"
wallet_url = "{wallet}"
[store]
path = "{d}/pool.redb"
[pool]
reward_address = "{reward}"
relative_lock_height = 100
pool_memoization = "80"
[partials]
time_limit_secs = 100000
partials_target = 4000000
time_target_secs = 3600
[auth]
token_key_file = "{d}/token.key"
[status]
admin_listen = "127.0.0.1:0"
[logging]
level = "warn"
"#,
        node = world.node.url(),
        wallet = world.wallet.url(),
        reward = hex::encode(world.wallet_puzzle_hash()),
    );
    std::fs::write(dir.join("pool.toml"), config).expect("pool.toml");
    let mut server = Command::new(env!("CARGO_BIN_EXE_chia-pool"))
        .arg("serve")
        .arg("--config")
        .arg(dir.join("pool.toml"))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("pool.log")).expect("log"))
        .spawn()
        .expect("start chia-pool serve");
    let pid = server.id();
    let base = BufReader::new(server.stdout.take().expect("stdout"))
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on ").map(str::to_string))
        .expect("the pool's URL")
        .replace("127.0.0.1", "localhost");

    let plot_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-fleet-plots");
    let total_plots: u32 = (0..farmers_n).map(|i| u32::from(plots_of(i))).sum();
    println!(
        "pool at {base}; {farmers_n} farmers with {total_plots} k=18 plots (made once into {})",
        plot_dir.display()
    );
    let started = Instant::now();
    let farmers: Vec<SimFarmer> = (0..farmers_n)
        .map(|i| SimFarmer::open(i, &plot_dir, &|| {}).expect("farmer"))
        .collect();
    let pool = PoolConfig {
        pool_puzzle_hash: world.wallet_puzzle_hash(),
        heightlock: 100,
        pool_memoization: vec![0x80],
    };
    let fleet = Arc::new(Fleet::new(
        farmers,
        &base,
        pool,
        Some(tls_client(certified.cert.der())),
    ));
    fleet.join_all(&world).expect("the fleet joins");
    println!(
        "plots opened and farmers joined in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Partials as the farmers find them, signage point after signage point, signed up front.
    let started = Instant::now();
    let mut requests: Vec<(usize, PostPartialRequest)> = Vec::with_capacity(partials_n);
    while requests.len() < partials_n {
        let Some(sp) = world.tick() else { continue };
        let found = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for part in 0..2 {
                let (fleet, sp, found, world) = (&fleet, &sp, &found, &world);
                s.spawn(move || {
                    for (i, f) in fleet.farmers.iter().enumerate().skip(part).step_by(2) {
                        let p = f.partials(&world.constants, sp);
                        found
                            .lock()
                            .expect("found")
                            .extend(p.into_iter().map(|r| (i, r)));
                    }
                });
            }
        });
        requests.extend(found.into_inner().expect("found"));
    }
    requests.truncate(partials_n);
    let sps = world.node_state().signage_points.len();
    println!(
        "signed {} partials over {sps} signage points in {:.1} s",
        requests.len(),
        started.elapsed().as_secs_f64()
    );
    // Sent in the order found: one signage point after another, as the chain makes them.
    requests.reverse();

    let store = dir.join("pool.redb");
    let store_before = file_size(&store);
    let (cpu_before, _) = usage(pid);
    let rpc_before = world.node.requests_served();
    let queue = Mutex::new(requests);
    let warm = partials_n / 5;
    let warm_mark = Mutex::new(None);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| loop {
                let Some((i, r)) = queue.lock().expect("queue").pop() else {
                    break;
                };
                fleet.send(i, &r);
                let sent = fleet.stats.sent.load(Ordering::Relaxed) as usize;
                if sent == warm {
                    *warm_mark.lock().expect("mark") = Some((
                        world.node.requests_served(),
                        fleet.stats.accepted.load(Ordering::Relaxed),
                    ));
                }
            });
        }
    });
    let elapsed = start.elapsed();
    let (cpu_after, rss) = usage(pid);
    let rpc_after = world.node.requests_served();
    let accepted = fleet.stats.accepted.load(Ordering::Relaxed);
    let refused = fleet.stats.refused.load(Ordering::Relaxed);
    let failed = fleet.stats.failed.load(Ordering::Relaxed);
    // Let the writer's last group commit reach the file.
    std::thread::sleep(Duration::from_secs(2));
    let store_growth = file_size(&store).saturating_sub(store_before);

    let mut l = fleet.stats.latencies_us.lock().expect("latencies").clone();
    l.sort_unstable();
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default() as f64
            / 1000.0
    };
    let (rpc_warm, accepted_warm) = warm_mark.lock().expect("mark").unwrap_or((rpc_before, 0));
    let steady_rpc = (rpc_after - rpc_warm) as f64 / (accepted - accepted_warm).max(1) as f64;
    let cpu_per = (cpu_after - cpu_before).as_secs_f64() * 1000.0 / accepted.max(1) as f64;
    let bytes_per = store_growth as f64 / accepted.max(1) as f64;
    println!("clients: {clients} threads on this machine, a new TLS connection per partial");
    println!(
        "accepted {accepted} of {partials_n} partials ({refused} refused, {failed} failed) in {:.2} s: {:.0} partials/s",
        elapsed.as_secs_f64(),
        accepted as f64 / elapsed.as_secs_f64()
    );
    for (code, n) in fleet.stats.refused_by_code.lock().expect("codes").iter() {
        println!("  refused with error code {code}: {n}");
    }
    println!("latency ms: p50 {:.1}  p99 {:.1}", pct(0.50), pct(0.99));
    println!("server CPU per accepted partial: {cpu_per:.3} ms");
    println!(
        "node RPC calls per accepted partial: {:.4} overall, {steady_rpc:.4} in the steady state (limit {MAX_RPC_PER_PARTIAL})",
        (rpc_after - rpc_before) as f64 / accepted.max(1) as f64
    );
    println!("server RSS: {:.1} MB", rss as f64 / 1e6);
    println!("store growth: {bytes_per:.0} B per accepted partial");
    for members in [10_000u64, 100_000] {
        println!(
            "  at {members} members x 300 partials/day: {:.1} MB/day",
            bytes_per * (members * 300) as f64 / 1e6
        );
    }
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    if accepted == 0 {
        println!("FAIL: no partial was accepted");
        return ExitCode::FAILURE;
    }
    if steady_rpc > MAX_RPC_PER_PARTIAL {
        println!("FAIL: {steady_rpc:.4} node RPC calls per accepted partial in the steady state");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
