//! `chia-pool serve`: wire config, store, chain client and pool together and serve the farmer API.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use chia_protocol::Bytes32;

use crate::chain::ChainClient;
use crate::chia::puzzles::PoolConfig as PlotNftPoolConfig;
use crate::config::Config;
use crate::http::server::{self, ServeOptions};
use crate::pool::difficulty::DifficultyPolicy;
use crate::pool::verifier::SignatureVerifier;
use crate::pool::{jobs, tokens, Pool, PoolSettings};
use crate::store::{self, Store};

use super::{chain_config, load_config};

pub fn serve(path: &Path) -> anyhow::Result<ExitCode> {
    let (config, from_file) = load_config(path)?;
    init_logging(&config.logging.level);
    if !from_file {
        tracing::warn!(
            "{} not found: running on built-in defaults (`chia-pool init` writes a pool.toml)",
            path.display()
        );
        tokens::create_key_file(&config.auth.token_key_file, false)?;
    }
    run_until_stopped(run(config))
}

/// Runs `pool` (serve's or demo's) on the pool's runtime until it stops, then says how it ended.
pub(super) fn run_until_stopped(
    pool: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("pool")
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(pool);
    // Jobs still running (a chain call, a payout step) get a moment; every durable step is atomic anyway.
    runtime.shutdown_timeout(Duration::from_secs(5));
    result?;
    if let Some(reason) = crate::shutdown::failure() {
        bail!("{reason}");
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

pub(super) fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // stdout carries only the "listening on" line that scripts read.
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Everything `serve` runs, until a stop is requested; `demo` runs exactly this too.
pub(super) async fn run(config: Config) -> anyhow::Result<()> {
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "chia-pool starting");
    crate::shutdown::listen_for_signals();
    // Everything that can be checked without the node is checked before waiting for it.
    // Before opening anything: every connection, the database and node connections are descriptors.
    let open_files = crate::http::fdlimit::raise_open_file_limit();
    let mut https = super::https::prepare(&config)?;
    let token_key = tokens::load_key_file(&config.auth.token_key_file)?;
    super::preflight::check(&config)?;
    let store = Store::open_with(
        &config.store.path,
        true,
        Duration::from_secs(config.store.max_unwritable_secs),
    )?;
    let chain = ChainClient::new(chain_config(&config)).context("connecting to the chia node")?;
    let poller = chain
        .start_background()
        .context("starting the node poller")?;
    watch_poller(chain.clone(), poller);
    let watched = store.clone();
    tokio::spawn(async move {
        let reason = watched.fatal().await;
        crate::shutdown::fail(reason);
    });

    let (network, constants) = tokio::select! {
        ready = wait_for_node(&chain) => ready,
        _ = crate::shutdown::requested() => return Ok(()),
    };
    tracing::info!(network = %network.network_name, "node ready");
    let target = match config.reward_puzzle_hash()? {
        Some(ph) => ph,
        None => reward_from_wallet(&chain, &store, &network.network_prefix).await?,
    };
    guard_identity(&store, target, &config).await?;

    let settings = pool_settings(&config, &network, target)?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let verifier =
        SignatureVerifier::start(threads).context("starting signature verification threads")?;
    let pool = Pool::new(settings, constants, store, chain, &token_key, verifier);
    // Background work takes the narrow handles, not the whole pool.
    jobs::spawn(pool.handles(), pool.stats());
    crate::rewards::spawn(pool.handles(), pool.stats());
    crate::stats::spawn(&pool);

    let secure_cookies = config.server.tls_cert.is_some();
    let routes = {
        use warp::Filter;
        crate::http::routes::api(
            pool.clone(),
            crate::http::routes::BodyLimits {
                max_bytes: config.server.max_body_bytes,
                deadline: Duration::from_secs(config.server.body_timeout_secs),
            },
        )
        .or(crate::http::status::public(pool.clone(), secure_cookies))
        .unify()
        .recover(crate::http::routes::rejection)
        .with(warp::log::custom(observe_request))
    };
    let options = ServeOptions {
        listen: config.server.listen,
        tls: https.tls.clone(),
        max_connections: crate::http::fdlimit::connection_budget(
            config.server.max_connections,
            open_files,
        ),
        header_timeout: Duration::from_secs(config.server.header_timeout_secs),
        idle_timeout: Duration::from_secs(config.server.idle_timeout_secs),
        connections_per_ip_per_sec: config.server.connections_per_ip_per_sec,
        max_connections_per_ip: config.server.max_connections_per_ip,
        requests_per_ip_per_sec: config.server.requests_per_ip_per_sec,
        trusted_proxies: config.server.trusted_proxies.clone(),
    };
    https.bind(&config).await?;
    let listener = server::bind(&options).await?;
    let admin_options = ServeOptions {
        listen: config.status.admin_listen,
        tls: None,
        max_connections: 64,
        ..options.clone()
    };
    let admin_listener = server::bind(&admin_options)
        .await
        .context("[status] admin_listen")?;
    tracing::info!(listen = %admin_listener.local_addr, "serving the operator view and /metrics");
    println!("operator view on http://{}", admin_listener.local_addr);
    let admin_routes = {
        use warp::Filter;
        crate::http::status::admin::routes(pool.clone())
            .recover(crate::http::routes::rejection)
            .with(warp::log::custom(observe_request))
    };
    tokio::spawn(async move {
        server::serve(
            admin_listener,
            admin_routes,
            &admin_options,
            crate::shutdown::requested(),
        )
        .await;
    });
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(listen = %listener.local_addr, scheme, "serving the farmer API");
    // Scripts and tests read the actual address (the configured port may be 0) from this line.
    println!("listening on {scheme}://{}", listener.local_addr);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    https.start(stopped);
    server::serve(listener, routes, &options, crate::shutdown::requested()).await;
    let _ = stop.send(true);
    // Requests in flight have been answered; let the writer commit what is queued.
    match tokio::time::timeout(Duration::from_secs(30), pool.store().shut_down()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("last database writes failed: {e}"),
        Err(_) => tracing::warn!("the database writer did not finish within 30 s"),
    }
    Ok(())
}

/// The node poller keeps the peak and signage points fresh: if it ever dies, it is started again.
fn watch_poller(chain: ChainClient, mut poller: crate::chain::peak::BackgroundTask) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            if !poller.is_finished() {
                continue;
            }
            tracing::error!("the node poller stopped; restarting it");
            match chain.start_background() {
                Ok(p) => poller = p,
                Err(e) => {
                    crate::shutdown::fail(format!("cannot restart the node poller: {e}"));
                    return;
                }
            }
        }
    });
}

/// Request latency by route, for /metrics.
fn observe_request(info: warp::log::Info<'_>) {
    crate::metrics::global()
        .request_seconds
        .get_or_create(&vec![(
            "route",
            crate::http::status::route_label(info.path()).to_string(),
        )])
        .observe(info.elapsed().as_secs_f64());
}

/// With no `[pool] reward_address`, a pool beside its own wallet pays to that wallet: the address the database
/// was created with if there is one, else the wallet's current receive address, which is then kept.
async fn reward_from_wallet(
    chain: &ChainClient,
    store: &Store,
    prefix: &str,
) -> anyhow::Result<Bytes32> {
    if let Some(existing) = stored_target(store)? {
        return Ok(existing);
    }
    let address = chain.current_address().await.map_err(|e| {
        anyhow::anyhow!(
            "[pool] reward_address is not set and the wallet could not give one ({e}); set reward_address to the pool \
             wallet's {prefix}1… address"
        )
    })?;
    let ph = crate::chia::address::decode_puzzle_hash(&address)
        .map_err(|e| anyhow::anyhow!("the wallet's address {address} does not decode: {e}"))?;
    tracing::warn!(
        "[pool] reward_address is not set: using the wallet's address {address}. Members' PlotNFTs will commit to it; \
         write it into pool.toml to make it explicit"
    );
    Ok(ph)
}

fn stored_target(store: &Store) -> anyhow::Result<Option<Bytes32>> {
    let txn = store.read()?;
    let table = txn.open_table(store::META)?;
    let value = table.get(TARGET_KEY)?.map(|v| v.value().to_vec());
    Ok(value
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .map(Bytes32::new))
}

const TARGET_KEY: &str = "pool_target_puzzle_hash";

/// Retries until the node answers: a pool started before its node simply waits for it.
/// What the pool is, from its configuration and the node's network.
pub(crate) fn pool_settings(
    config: &Config,
    network: &crate::chain::node::NetworkInfo,
    target: chia_protocol::Bytes32,
) -> anyhow::Result<PoolSettings> {
    Ok(PoolSettings {
        genesis_challenge: network.genesis_challenge,
        address_prefix: network.network_prefix.clone(),
        plotnft_pool: PlotNftPoolConfig {
            pool_puzzle_hash: target,
            heightlock: config.pool.relative_lock_height,
            pool_memoization: config.pool_memoization()?,
        },
        difficulty: DifficultyPolicy {
            min_difficulty: config.pool.min_difficulty,
            target_partials: config.partials.partials_target,
            time_target_secs: config.partials.time_target_secs,
            max_step: config.partials.max_difficulty_step,
            max_difficulty: config.pool.max_difficulty,
        },
        config: config.clone(),
    })
}

pub(crate) async fn wait_for_node(
    chain: &ChainClient,
) -> (
    crate::chain::node::NetworkInfo,
    Arc<crate::chia::constants::ConsensusConstants>,
) {
    let mut pause = Duration::from_secs(1);
    loop {
        // The first peak too: the background jobs start right after and need one (a node without blocks is
        // reported here, once per try, not as a false alarm from every job).
        match tokio::try_join!(
            chain.network_info(),
            chain.constants(),
            chain.peak_or_fetch()
        ) {
            Ok((network, constants, _)) => return (network, constants),
            Err(e) => {
                tracing::error!("waiting for the chia node: {e}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Members' PlotNFTs commit to the pool's target puzzle hash: refuse to start with a different one than the
/// database was created with, which would strand every member.
async fn guard_identity(store: &Store, target: Bytes32, config: &Config) -> anyhow::Result<()> {
    match stored_target(store)? {
        Some(existing) if existing == target => Ok(()),
        Some(existing) => bail!(
            "[pool] reward_address {} differs from the one this database was created with (puzzle hash 0x{}); \
             members' PlotNFTs point to the old one. Restore it, or use a new [store] path for a new pool",
            config.pool.reward_address,
            hex::encode(existing)
        ),
        None => {
            store
                .write(move |txn| {
                    txn.open_table(store::META)?.insert(TARGET_KEY, target.to_bytes().as_slice())?;
                    Ok(())
                })
                .await?;
            Ok(())
        }
    }
}
