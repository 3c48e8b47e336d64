//! The simulated world of `chia-pool demo`: the chain and wallet (restored from the demo directory when a
//! previous run saved them), the fleet's plots (made there once, with a progress line), and the farming loop
//! that starts once the pool answers. The pool itself is started by the CLI, exactly as `serve` starts it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::fleet::{plots_of, Fleet, FleetError, SimFarmer};
use super::store_file::{self, StoreFileError};
use super::world::{World, WorldError};
use crate::chia::puzzles::PoolConfig;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    World(#[from] WorldError),
    #[error(transparent)]
    StoreFile(#[from] StoreFileError),
    #[error(transparent)]
    Fleet(#[from] FleetError),
    #[error("making plots stopped: {0}")]
    Interrupted(String),
}

pub struct Demo {
    pub world: Arc<World>,
    farmers: Vec<SimFarmer>,
    state_file: PathBuf,
}

impl Demo {
    /// The world in `dir` (`dir/chia` holds its CHIA_ROOT, `dir/plots` the plots, `dir/chain.json` the
    /// saved chain) with `farmers` farmers.
    pub async fn start(dir: &Path, farmers: u32) -> Result<Self, DemoError> {
        let state_file = dir.join("chain.json");
        let saved = store_file::load(&state_file)?;
        if saved.is_some() {
            tracing::info!("simulated chain restored from {}", state_file.display());
        }
        let world = World::start(&dir.join("chia"), saved).await?;
        let plot_dir = dir.join("plots");
        let farmers = tokio::task::spawn_blocking(move || make_farmers(&plot_dir, farmers))
            .await
            .map_err(|e| DemoError::Interrupted(e.to_string()))??;
        Ok(Self {
            world,
            farmers,
            state_file,
        })
    }

    /// Runs the chain's clock at `speed`, waits for the pool at `base_url`, joins the fleet to it and farms
    /// until `stop` resolves; the chain is saved every 30 seconds and at the end.
    pub async fn run(
        self,
        base_url: String,
        pool: PoolConfig,
        speed: f64,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), DemoError> {
        let (stopped_tx, stopped) = tokio::sync::watch::channel(false);
        let stop_signal = || {
            let mut rx = stopped.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let world = Arc::clone(&self.world);
        let clock = tokio::spawn(Arc::clone(&world).run_clock(speed, stop_signal()));
        let fleet = Arc::new(Fleet::new(self.farmers, &base_url, pool, None));
        let farming = {
            let (fleet, world) = (Arc::clone(&fleet), Arc::clone(&world));
            let stop = stop_signal();
            tokio::spawn(async move {
                tokio::select! {
                    _ = farm(fleet, world, base_url) => {}
                    _ = stop => {}
                }
            })
        };
        let saver = {
            let (world, file) = (Arc::clone(&world), self.state_file.clone());
            let stop = stop_signal();
            tokio::spawn(async move {
                tokio::pin!(stop);
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                        _ = &mut stop => return,
                    }
                    if let Err(e) = world.with_states(|n, w| store_file::save(&file, n, w)) {
                        tracing::warn!("saving the simulated chain: {e}");
                    }
                }
            })
        };
        stop.await;
        let _ = stopped_tx.send(true);
        let _ = tokio::join!(clock, farming, saver);
        world.with_states(|n, w| store_file::save(&self.state_file, n, w))?;
        Ok(())
    }
}

/// Joins the fleet to the pool once it answers, then farms (until the task is dropped).
async fn farm(fleet: Arc<Fleet>, world: Arc<World>, base_url: String) {
    wait_for_pool(&base_url).await;
    let joining = {
        let (fleet, world) = (Arc::clone(&fleet), Arc::clone(&world));
        tokio::task::spawn_blocking(move || fleet.join_all(&world))
    };
    match joining.await {
        Ok(Ok(())) => tracing::info!(
            farmers = fleet.farmers.len(),
            "the simulated farmers joined the pool"
        ),
        Ok(Err(e)) => tracing::warn!("a simulated farmer could not join: {e}"),
        Err(e) => tracing::warn!("joining stopped: {e}"),
    }
    fleet.run(world, std::future::pending()).await;
}

/// Makes (or opens) every farmer's plots, showing progress on stderr.
fn make_farmers(plot_dir: &Path, farmers: u32) -> Result<Vec<SimFarmer>, DemoError> {
    let total: u32 = (0..farmers).map(|i| u32::from(plots_of(i))).sum();
    let done = AtomicU32::new(0);
    let fresh = !plot_dir.exists();
    let progress = || {
        if !fresh {
            return;
        }
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        let width = 30;
        let filled = (n * width / total.max(1)) as usize;
        eprint!(
            "\rplots (k=18, made once in {}): [{}{}] {n}/{total}",
            plot_dir.display(),
            "#".repeat(filled),
            " ".repeat(width as usize - filled)
        );
        let _ = std::io::stderr().flush();
    };
    if fresh {
        eprintln!("making the simulated farmers' plots (first run only)");
    }
    let out = (0..farmers)
        .map(|i| SimFarmer::open(i, plot_dir, &progress).map_err(DemoError::from))
        .collect::<Result<Vec<_>, _>>();
    if fresh {
        eprintln!();
    }
    out
}

/// Waits until the pool answers `GET /v2/pool_info`.
async fn wait_for_pool(base_url: &str) {
    let url = format!("{base_url}/v2/pool_info");
    loop {
        let u = url.clone();
        let up = tokio::task::spawn_blocking(move || ureq::get(&u).call().is_ok())
            .await
            .unwrap_or(false);
        if up {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
