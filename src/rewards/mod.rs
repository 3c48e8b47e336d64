//! Rewards and payouts: discovering pool rewards, forwarding them to the pool wallet, and paying farmers by
//! points exactly once.
pub mod forwarding;
pub mod payout;
pub mod payouts;

use std::time::Duration;

use crate::pool::Pool;

/// Fault injection for the crash tests: with `CHIA_POOL_CRASH_AT=<step>` the process aborts right after that
/// step of the money path, as a power cut would.
pub(crate) fn crash_point(step: &str) {
    if std::env::var("CHIA_POOL_CRASH_AT").is_ok_and(|s| s == step) {
        eprintln!("crash injected after {step}");
        std::process::abort();
    }
}

/// Starts the reward jobs on the current tokio runtime: forwarding and payouts run at each new peak.
pub fn spawn(pool: &Pool) {
    let p = pool.clone();
    tokio::spawn(async move {
        let mut peaks = p.chain().subscribe_peak();
        loop {
            let result = forwarding::run(&p).await;
            match &result {
                Ok(run) if *run != forwarding::ForwardRun::default() => {
                    tracing::info!(?run, "reward forwarding")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("reward forwarding paused: {e}"),
            }
            p.stats().job_done(
                "forward_rewards",
                result.as_ref().map(|_| ()).map_err(|e| e.as_str()),
            );
            let result = payouts::run(&p).await;
            match &result {
                Ok(run) if *run != payouts::PayoutRun::default() => tracing::info!(?run, "payouts"),
                Ok(_) => {}
                Err(e) => tracing::warn!("payouts paused: {e}"),
            }
            p.stats().job_done(
                "payouts",
                result.as_ref().map(|_| ()).map_err(|e| e.as_str()),
            );
            let _ = tokio::time::timeout(Duration::from_secs(60), peaks.changed()).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}
