//! Whether a signage point or end of sub-slot is still on the chain, decided from block records alone: a pure
//! function of the block window and the point, with the node's `reverted` flag only a hint.
//!
//! chia-blockchain 2.7.5's `get_recent_signage_point_or_eos` answers `reverted: true` for every signage point
//! that has left its short-term store and whose reward chain challenge is the end of a sub-slot (it compares
//! with `finished_challenge_slot_hashes` instead of `finished_reward_slot_hashes`), so trusting the flag throws
//! away honest farmers' points. Here a point is reverted only when the chain shows it.

use chia_protocol::Bytes32;

use crate::chain::blocks::{Anchor, RecentBlocks};
use crate::chain::signage::SpInfo;
use crate::store::rejections::RejectReason;

/// A window reaching a transaction block this much older than a partial certainly covers its signage point
/// (which was at most `time_limit` old when the partial came, and block timestamps are the farmers' clocks).
const COVER_MARGIN_MS: u64 = 10 * 60_000;

/// What the chain says about a signage point or end of sub-slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    OnChain,
    Reverted(RejectReason),
    /// The block records held do not reach back far enough to tell: the partial stands.
    Unknown,
}

/// What is checked for a partial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A signage point: its reward chain challenge and its iterations into the sub-slot.
    SignagePoint {
        rc_challenge: Bytes32,
        cc_iterations: u64,
    },
    /// An end of sub-slot by its challenge chain hash (also the fallback for a signage point whose reward
    /// chain challenge is no longer known: the end of sub-slot that opened its slot).
    SubSlot(Bytes32),
}

/// The iterations rule of 2.7.5's node, with the sub-slot case done right: a signage point whose reward chain
/// challenge is a block's infusion stands unless the next block of the chain was infused before it; one whose
/// challenge is a finished sub-slot stands unless the first block after that sub-slot, infused in the same
/// sub-slot, came before it.
pub fn judge(
    blocks: &RecentBlocks,
    num_sps_sub_slot: u8,
    genesis_challenge: Bytes32,
    target: Target,
    arrived_ms: u64,
) -> Verdict {
    let not_found = |reason| {
        let covered = blocks.lowest().is_some_and(|b| b.height == 0)
            || blocks.oldest_timestamp().is_some_and(|t| {
                t.saturating_mul(1000).saturating_add(COVER_MARGIN_MS) < arrived_ms
            });
        if covered {
            Verdict::Reverted(reason)
        } else {
            Verdict::Unknown
        }
    };
    match target {
        Target::SignagePoint {
            rc_challenge,
            cc_iterations,
        } => match blocks.reward_anchor(&rc_challenge) {
            Some(Anchor::Infusion { height }) => {
                let (Some(block), next) = (blocks.get(height), blocks.get(height + 1)) else {
                    return Verdict::Unknown;
                };
                let sp_total =
                    block.ip_sub_slot_total_iters(num_sps_sub_slot) + u128::from(cc_iterations);
                match next {
                    Some(next) if sp_total > next.total_iters => {
                        Verdict::Reverted(RejectReason::BlockReplaced)
                    }
                    _ => Verdict::OnChain,
                }
            }
            Some(Anchor::FinishedSlot { height, last: true }) => {
                let Some(block) = blocks.get(height) else {
                    return Verdict::Unknown;
                };
                let sp_total =
                    block.ip_sub_slot_total_iters(num_sps_sub_slot) + u128::from(cc_iterations);
                if sp_total > block.total_iters {
                    Verdict::Reverted(RejectReason::BlockReplaced)
                } else {
                    Verdict::OnChain
                }
            }
            // A sub-slot that no block was infused in: nothing before the signage point can have changed.
            Some(Anchor::FinishedSlot { last: false, .. }) => Verdict::OnChain,
            // The chain's first sub-slot, which starts at 0: only the first block can have come before it.
            None if rc_challenge == genesis_challenge => match blocks.get(0) {
                Some(first)
                    if first
                        .finished_reward_slot_hashes
                        .as_ref()
                        .is_none_or(Vec::is_empty)
                        && u128::from(cc_iterations) > first.total_iters =>
                {
                    Verdict::Reverted(RejectReason::BlockReplaced)
                }
                Some(_) => Verdict::OnChain,
                None => Verdict::Unknown,
            },
            None => not_found(RejectReason::SignagePointNotOnChain),
        },
        Target::SubSlot(hash) => {
            if hash == genesis_challenge || blocks.challenge_slot(&hash).is_some() {
                Verdict::OnChain
            } else {
                not_found(RejectReason::SubSlotNotOnChain)
            }
        }
    }
}

/// What to look for: a signage point by its reward chain challenge, an end of sub-slot by its hash.
pub(super) fn target_of(sp: &SpInfo, eos: bool) -> Option<Target> {
    match sp.rc_challenge {
        Some(rc_challenge) if !eos => Some(Target::SignagePoint {
            rc_challenge,
            cc_iterations: sp.cc_iterations,
        }),
        _ if eos => Some(Target::SubSlot(sp.sp_hash)),
        _ => None,
    }
}

/// The chain's verdict tempered by the node's hint: a node that still holds the point in its store of the
/// current chain (`reverted: false`) knows of blocks after it that we may not (a chain without a block since).
pub fn with_hint(verdict: Verdict, node_says_reverted: Option<bool>) -> Verdict {
    match (verdict, node_says_reverted) {
        (Verdict::Reverted(_), Some(false)) => Verdict::OnChain,
        (v, _) => v,
    }
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "verdict_chain_tests.rs"]
mod chain_tests;
