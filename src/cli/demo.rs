//! `chia-pool demo`: the pool as `serve` runs it (the same `run`, nothing left out) against a simulated
//! chain and a fleet of simulated farmers in one process, on 127.0.0.1, so that a fresh machine without a
//! chia node shows members, partials, blocks found, forwards and payouts within minutes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::chia::puzzles::PoolConfig as PlotNftPoolConfig;
use crate::config::Config;
use crate::pool::tokens;
use crate::sim::demo::Demo;
use crate::store;

pub struct DemoOptions {
    pub dir: PathBuf,
    pub farmers: u32,
    pub speed: f64,
    /// 0 = any free port.
    pub port: u16,
}

/// Relative lock height of the simulated farmers' PlotNFTs (the pool's config says the same).
const LOCK_HEIGHT: u32 = 100;

pub fn demo(mut opts: DemoOptions) -> anyhow::Result<ExitCode> {
    super::serve::init_logging("info");
    if !(opts.speed > 0.0 && opts.speed.is_finite()) {
        bail!("--speed must be a positive number");
    }
    if !opts.dir.exists() {
        store::create_private_dir(&opts.dir)
            .with_context(|| format!("creating {}", opts.dir.display()))?;
    }
    // pool.toml's relative paths are read relative to pool.toml itself: write absolute ones.
    opts.dir = std::path::absolute(&opts.dir)
        .with_context(|| format!("resolving {}", opts.dir.display()))?;
    super::serve::run_until_stopped(run(opts))
}

async fn run(opts: DemoOptions) -> anyhow::Result<()> {
    crate::shutdown::listen_for_signals();
    let sim = tokio::select! {
        sim = Demo::start(&opts.dir, opts.farmers) => sim.context("starting the simulated world")?,
        _ = crate::shutdown::requested() => return Ok(()),
    };
    let port = match opts.port {
        0 => free_port()?,
        p => p,
    };
    let config_path = opts.dir.join("pool.toml");
    std::fs::write(&config_path, config_text(&opts.dir, &sim, port))
        .with_context(|| format!("writing {}", config_path.display()))?;
    let config = Config::load(&config_path)?;
    tokens::create_key_file(&config.auth.token_key_file, false)?;
    let base_url = format!("http://{}", config.server.listen);
    let plotnft_pool = PlotNftPoolConfig {
        pool_puzzle_hash: sim.world.wallet_puzzle_hash(),
        heightlock: LOCK_HEIGHT,
        pool_memoization: config.pool_memoization()?,
    };
    println!(
        "chia-pool demo: {} simulated farmers, chain at {}x mainnet speed; status page: {base_url}/ (Ctrl-C stops)",
        opts.farmers, opts.speed
    );
    let world = tokio::spawn(sim.run(
        base_url,
        plotnft_pool,
        opts.speed,
        crate::shutdown::requested(),
    ));
    let served = super::serve::run(config).await;
    // The pool stopped (asked to, or failed): the world stops with it and saves its chain.
    crate::shutdown::request();
    match world.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("the simulated world: {e}"),
        Err(e) => tracing::warn!("the simulated world: {e}"),
    }
    served
}

/// A free port on 127.0.0.1, for `--port 0`.
fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// The pool's configuration for the demo: a normal pool.toml (written into the demo directory for the
/// curious) whose [chia] section points at the simulated node and wallet and their CHIA_ROOT, with short
/// confirmation delays so that the whole reward path shows within minutes.
fn config_text(dir: &Path, sim: &Demo, port: u16) -> String {
    let dir = dir.display().to_string().replace('\\', "/");
    format!(
        r#"# Written by `chia-pool demo` at each start: a pool against a simulated chain.
[server]
listen = "127.0.0.1:{port}"

[chia]
root = "{dir}/chia"
node_url = "{node}"
wallet_url = "{wallet}"

[store]
path = "{dir}/pool.redb"

[pool]
name = "chia-pool demo"
description = "A pool on a simulated chain, with simulated farmers"
reward_address = "{reward}"
relative_lock_height = {LOCK_HEIGHT}
pool_memoization = "80"
min_difficulty = 1
default_difficulty = 1

[partials]
confirmation_delay_secs = 20

[payouts]
interval_secs = 60
minimum_payout_mojos = 0
confirmation_depth = 2

[auth]
token_key_file = "{dir}/token.key"

[status]
admin_listen = "127.0.0.1:0"
refresh_secs = 5
"#,
        node = sim.world.node.url(),
        wallet = sim.world.wallet.url(),
        reward = hex::encode(sim.world.wallet_puzzle_hash()),
    )
}
