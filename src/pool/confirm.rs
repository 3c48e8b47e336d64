//! Confirming partials after the delay: each partial's signage point (or end of sub-slot) is judged from the
//! chain's block records (`verdict.rs`; the node's `reverted` flag is only a hint), then its points are
//! credited once or the rejection and its reason recorded, and a rising share of rejections is warned about.

use std::collections::{HashMap, VecDeque};

use chia_protocol::Bytes32;

use crate::chain::blocks::RecentBlocks;
use crate::chain::error::ChainError;
use crate::chain::signage::SpInfo;
use crate::store::rejections::{self, Rejection};
use crate::store::{self, PartialRecord, StoreError};

use super::verdict::{judge, target_of, with_hint, Target, Verdict};
use super::Handles;

/// Partials settled per write.
const CONFIRM_BATCH: usize = 1000;
/// Settled partials are kept this long for duplicate detection and statistics.
const PARTIAL_RETENTION_MS: u64 = 24 * 3_600_000;
/// Block records looked at: enough for partials this old (mainnet makes a block every ~18.75 s; twice that
/// many plus a margin), at least `MIN_DEPTH`, at most `MAX_DEPTH` (a day).
const MIN_DEPTH: u32 = 128;
const MAX_DEPTH: u32 = 4608;
/// Settled partials the rejection share is taken over, and the share (per mille) that earns a warning.
const SHARE_WINDOW: usize = 1000;
const SHARE_MIN_SAMPLE: usize = 50;
const WARN_PER_MILLE: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("{0}")]
    Chain(#[from] ChainError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// Counts of one run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub confirmed: u64,
    pub rejected: u64,
    /// Confirmed although the chain could not tell (older than the block records held).
    pub undecided: u64,
    pub node_calls: u32,
}

/// The confirmation job's state between runs: the block records and the recent outcomes.
#[derive(Default)]
pub struct Confirmer {
    outcomes: VecDeque<bool>,
    warned_at: Option<usize>,
}

impl Confirmer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Settles partials older than the confirmation delay: confirmed (points credited) unless the chain shows
    /// their signage point reverted.
    pub async fn run(&mut self, pool: &Handles) -> Result<Settled, ConfirmError> {
        let delay_ms = pool
            .config()
            .partials
            .confirmation_delay_secs
            .saturating_mul(1000);
        let now = pool.now_ms();
        let cutoff = now.saturating_sub(delay_ms);
        let mut settled = Settled::default();
        let mut refreshed = false;
        loop {
            let pending = {
                let txn = pool.store().read()?;
                store::partials::pending_before(&txn, cutoff, CONFIRM_BATCH)?
            };
            let Some(((oldest_ms, _), _)) = pending.first() else {
                break;
            };
            let mut blocks = pool.recent_blocks().lock().await;
            if !refreshed {
                settled.node_calls +=
                    refresh(pool, &mut blocks, now.saturating_sub(*oldest_ms)).await?;
                refreshed = true;
            }
            let mut verdicts: HashMap<([u8; 32], bool), Verdict> = HashMap::new();
            let mut decided = Vec::with_capacity(pending.len());
            for (key, partial) in &pending {
                let id = (partial.sp_hash, partial.end_of_sub_slot);
                let verdict = match verdicts.get(&id) {
                    Some(v) => *v,
                    None => {
                        let (v, calls) = verdict(pool, &blocks, partial, key.0).await?;
                        settled.node_calls += calls;
                        verdicts.insert(id, v);
                        v
                    }
                };
                if verdict == Verdict::Unknown {
                    settled.undecided += 1;
                }
                let rejection = match verdict {
                    Verdict::Reverted(reason) => Some(Rejection {
                        arrived_ms: key.0,
                        sp_hash: partial.sp_hash,
                        end_of_sub_slot: partial.end_of_sub_slot,
                        difficulty: partial.difficulty,
                        reason,
                    }),
                    _ => None,
                };
                if let Some(r) = &rejection {
                    tracing::info!(
                        launcher_id = %hex::encode(partial.launcher_id),
                        sp_hash = %hex::encode(partial.sp_hash),
                        "partial rejected at confirmation: {}",
                        r.reason
                    );
                }
                decided.push((*key, partial.launcher_id, rejection));
            }
            drop(blocks);
            let count = decided.len();
            let outcomes = pool
                .store()
                .write(move |txn| {
                    let mut outcomes = Vec::new();
                    for (key, launcher_id, rejection) in decided {
                        let ok = rejection.is_none();
                        if store::partials::settle(txn, key, ok)? {
                            rejections::note(txn, launcher_id, rejection)?;
                            outcomes.push(ok);
                        }
                    }
                    Ok(outcomes)
                })
                .await?;
            for ok in outcomes {
                if ok {
                    settled.confirmed += 1;
                } else {
                    settled.rejected += 1;
                }
                self.outcomes.push_back(ok);
            }
            if count < CONFIRM_BATCH {
                break;
            }
        }
        let excess = self.outcomes.len().saturating_sub(SHARE_WINDOW);
        self.outcomes.drain(..excess);
        let _ = self.warn_if_rising();
        let prune_before = pool.now_ms().saturating_sub(PARTIAL_RETENTION_MS);
        pool.store()
            .write(move |txn| store::partials::prune_before(txn, prune_before, 10_000))
            .await?;
        Ok(settled)
    }

    /// Warns when the share of partials rejected at confirmation crosses the threshold or keeps rising (by
    /// half again since the last warning). Returns the share warned about, per mille.
    fn warn_if_rising(&mut self) -> Option<usize> {
        let n = self.outcomes.len();
        if n < SHARE_MIN_SAMPLE {
            return None;
        }
        let rejected = self.outcomes.iter().filter(|ok| !**ok).count();
        let per_mille = rejected * 1000 / n;
        if per_mille < WARN_PER_MILLE {
            self.warned_at = None;
            return None;
        }
        if self.warned_at.is_none_or(|w| per_mille >= w + w / 2) {
            tracing::warn!(
                rejected,
                settled = n,
                "{}.{}% of the latest partials were rejected at confirmation (reorgs): see `chia-pool partials`",
                per_mille / 10,
                per_mille % 10
            );
            self.warned_at = Some(per_mille);
            return Some(per_mille);
        }
        None
    }
}

/// Brings the block records up to the peak, deep enough for partials `age_ms` old.
async fn refresh(
    pool: &Handles,
    blocks: &mut RecentBlocks,
    age_ms: u64,
) -> Result<u32, ConfirmError> {
    let peak = pool.chain().synced_peak()?;
    let wanted = age_ms / 1000 * 2 / 18 + 64;
    let depth = u32::try_from(wanted)
        .unwrap_or(MAX_DEPTH)
        .clamp(MIN_DEPTH, MAX_DEPTH);
    Ok(blocks
        .refresh(pool.chain(), peak.height, peak.header_hash, depth)
        .await?)
}

/// The verdict for one signage point or end of sub-slot, and the node calls it took. What the cache learned
/// when the partial came is judged first (no node call); only a revert is checked with the node, whose
/// current record may follow a newer fork and whose `reverted: false` means it is on its chain.
async fn verdict(
    pool: &Handles,
    blocks: &RecentBlocks,
    partial: &PartialRecord,
    arrived_ms: u64,
) -> Result<(Verdict, u32), ConfirmError> {
    let cache = pool.chain().signage_points();
    let sp_hash = Bytes32::new(partial.sp_hash);
    let eos = partial.end_of_sub_slot;
    if let Some(target) = cache.cached(sp_hash, eos).and_then(|s| target_of(&s, eos)) {
        let verdict = judge_with(pool, blocks, target, arrived_ms);
        if !matches!(verdict, Verdict::Reverted(_)) {
            return Ok((verdict, 0));
        }
    }
    let mut calls = 1;
    let fresh = cache.recheck(sp_hash, eos).await?;
    let hint = fresh.as_ref().map(|s| s.reverted);
    let known = fresh.or_else(|| cache.cached(sp_hash, eos));
    let (target, hint) = match known.and_then(|s| target_of(&s, eos)) {
        Some(target) => (target, hint),
        None => {
            // Forgotten by both: the end of sub-slot that opened its slot.
            calls += 1;
            let slot = Bytes32::new(partial.challenge_hash);
            let slot_hint = cache.recheck(slot, true).await?.map(|s| s.reverted);
            (Target::SubSlot(slot), slot_hint)
        }
    };
    Ok((
        with_hint(judge_with(pool, blocks, target, arrived_ms), hint),
        calls,
    ))
}

fn judge_with(pool: &Handles, blocks: &RecentBlocks, target: Target, arrived_ms: u64) -> Verdict {
    let constants = pool.constants();
    judge(
        blocks,
        constants.num_sps_sub_slot,
        constants.genesis_challenge,
        target,
        arrived_ms,
    )
}

/// For a partial whose signage point the node calls reverted when it arrives: whether the chain shows it.
/// 2.7.5 says "reverted" for on-chain signage points that follow an end of sub-slot once they leave its store
/// (on a chain with few blocks, soon after they came).
pub async fn reverted_on_chain(pool: &Handles, sp: &SpInfo) -> Result<bool, ConfirmError> {
    let Some(target) = target_of(sp, sp.end_of_sub_slot) else {
        return Ok(true);
    };
    let mut blocks = pool.recent_blocks().lock().await;
    // The node's peak now, not the poller's: the block that took the point out of the node's store is new.
    let Some(peak) = pool.chain().refresh_peak().await? else {
        return Ok(true);
    };
    let depth = u32::try_from(blocks.len())
        .unwrap_or(MAX_DEPTH)
        .clamp(MIN_DEPTH, MAX_DEPTH);
    blocks
        .refresh(pool.chain(), peak.height, peak.header_hash, depth)
        .await?;
    Ok(matches!(
        judge_with(pool, &blocks, target, pool.now_ms()),
        Verdict::Reverted(_)
    ))
}

#[cfg(test)]
#[path = "confirm_tests.rs"]
mod tests;
