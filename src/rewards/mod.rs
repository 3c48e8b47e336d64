//! Rewards and payouts: discovering pool rewards, forwarding them to the pool wallet, and paying farmers by
//! points exactly once.
pub mod forwarding;
pub mod payout;

use std::time::Duration;

use crate::pool::Pool;

/// Starts the reward jobs on the current tokio runtime: forwarding runs at each new peak.
pub fn spawn(pool: &Pool) {
    let p = pool.clone();
    tokio::spawn(async move {
        let mut peaks = p.chain().subscribe_peak();
        loop {
            match forwarding::run(&p).await {
                Ok(run) if run != forwarding::ForwardRun::default() => {
                    tracing::info!(?run, "reward forwarding")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("reward forwarding paused: {e}"),
            }
            let _ = tokio::time::timeout(Duration::from_secs(60), peaks.changed()).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}
