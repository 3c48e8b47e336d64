//! Rewards and payouts: discovering pool rewards, verifying that they reached the pool, and paying farmers
//! by points exactly once, with a ledger that must balance to the mojo.
mod absorb_v1;
mod batches;
pub mod error;
pub mod forwarding;
pub mod ledger;
pub mod payouts;
pub mod shares;

use std::time::Duration;

use crate::pool::Handles;
use crate::stats::Stats;

pub use error::RewardsError;

/// Fault injection for the crash tests: with `CHIA_POOL_CRASH_AT=<step>` the process aborts at that step of
/// the money path, as a power cut would. Steps come in threes around each wallet or node call: `…-before`
/// the call, `…-returned`/`…-pushed` after it but before its record, and the recorded step after the record.
/// With `CHIA_POOL_CRASH_MARK=<file>` the step is written there first, so a test can tell where it died.
pub(crate) fn crash_point(step: &str) {
    if std::env::var("CHIA_POOL_CRASH_AT").is_ok_and(|s| s == step) {
        if let Ok(mark) = std::env::var("CHIA_POOL_CRASH_MARK") {
            let _ = std::fs::write(mark, step);
        }
        eprintln!("crash injected at {step}");
        std::process::abort();
    }
}

/// Starts the reward jobs on the current tokio runtime: forwarding and payouts run at each new peak.
/// They take the pool's narrow handles and report to its figures; nothing else of the pool.
pub fn spawn(handles: &Handles, stats: &Stats) {
    let (p, stats) = (handles.clone(), stats.clone());
    crate::pool::supervisor::spawn("rewards", move || {
        let (p, stats) = (p.clone(), stats.clone());
        async move { reward_loop(p, stats).await }
    });
}

async fn reward_loop(p: Handles, stats: Stats) {
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
        let error = result.as_ref().err().map(|e| e.to_string());
        stats.job_done("forward_rewards", error.as_deref().map_or(Ok(()), Err));
        let result = payouts::run(&p).await;
        match &result {
            Ok(run) if *run != payouts::PayoutRun::default() => tracing::info!(?run, "payouts"),
            Ok(_) => {}
            Err(e @ RewardsError::Ledger(_)) => tracing::error!("PAYOUTS PAUSED: {e}"),
            Err(e) => tracing::warn!("payouts paused: {e}"),
        }
        let error = result.as_ref().err().map(|e| e.to_string());
        stats.job_done("payouts", error.as_deref().map_or(Ok(()), Err));
        let _ = tokio::time::timeout(Duration::from_secs(60), peaks.changed()).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
