//! Unit tests of the verdicts: the iterations rule on synthetic block records, and the node's hint.

use super::*;
use crate::chain::node::BlockInfo;

/// 64 signage points of 1000 iterations per sub-slot.
const SSI: u64 = 64_000;
const GENESIS: Bytes32 = Bytes32::new([0xee; 32]);

fn h(n: u8) -> Bytes32 {
    Bytes32::new([n; 32])
}

/// A block infused `ip` iterations into the sub-slot starting at `slot_start`, with reward challenge
/// `h(rc)` and the sub-slots (challenge, reward) it finished.
fn block(height: u32, slot_start: u128, ip: u64, rc: u8, finished: &[(u8, u8)]) -> BlockInfo {
    let interval = SSI / 64;
    let (index, overflow) = if ip < 3 * interval {
        (ip / interval + 61, true)
    } else {
        (ip / interval - 3, false)
    };
    let hashes = |pick: fn(&(u8, u8)) -> u8| {
        (!finished.is_empty()).then(|| finished.iter().map(|f| h(pick(f))).collect())
    };
    BlockInfo {
        header_hash: h(200 + height as u8),
        prev_hash: h(199 + height as u8),
        height,
        weight: u128::from(height),
        total_iters: slot_start + u128::from(ip),
        signage_point_index: index as u8,
        sub_slot_iters: SSI,
        deficit: 16,
        overflow,
        farmer_puzzle_hash: h(0),
        pool_puzzle_hash: h(0),
        timestamp: Some(1_000 + u64::from(height)),
        prev_transaction_block_height: height.saturating_sub(1),
        prev_transaction_block_hash: None,
        fees: None,
        reward_claims_incorporated: None,
        finished_challenge_slot_hashes: hashes(|f| f.0),
        required_iters: ip % interval,
        reward_infusion_new_challenge: h(rc),
        finished_reward_slot_hashes: hashes(|f| f.1),
    }
}

/// Slot 0 from 0: genesis at 500, block 1 at 10 500. Slot 1 from 64 000 (challenge 11, reward 21) and
/// slot 2 from 128 000 (12, 22): block 2 at 2 500 into slot 2 (an overflow block), block 3 at 40 500.
fn chain() -> RecentBlocks {
    RecentBlocks::from_blocks([
        block(0, 0, 500, 1, &[]),
        block(1, 0, 10_500, 2, &[]),
        block(2, 128_000, 2_500, 3, &[(11, 21), (12, 22)]),
        block(3, 128_000, 40_500, 4, &[]),
    ])
}

fn sp(rc: u8, cc_iterations: u64) -> Target {
    Target::SignagePoint {
        rc_challenge: h(rc),
        cc_iterations,
    }
}

fn judged(blocks: &RecentBlocks, target: Target) -> Verdict {
    judge(blocks, 64, GENESIS, target, 2_000_000)
}

#[test]
fn signage_points_after_a_block() {
    let c = chain();
    // After block 1 in slot 0 (next block, 2, is in slot 2): on chain.
    assert_eq!(judged(&c, sp(2, 30_000)), Verdict::OnChain);
    // After block 2, before block 3; at block 3's iterations still on chain; after it, block 3 came first.
    assert_eq!(judged(&c, sp(3, 20_000)), Verdict::OnChain);
    assert_eq!(judged(&c, sp(3, 40_500)), Verdict::OnChain);
    assert_eq!(
        judged(&c, sp(3, 41_000)),
        Verdict::Reverted(RejectReason::BlockReplaced)
    );
    // After the peak: nothing after it.
    assert_eq!(judged(&c, sp(4, 60_000)), Verdict::OnChain);
}

#[test]
fn signage_points_after_an_end_of_sub_slot() {
    let c = chain();
    // Slot 1 had no block: nothing can have come before its signage points.
    assert_eq!(judged(&c, sp(21, 63_000)), Verdict::OnChain);
    // Slot 2 before its first block (the overflow block 2 at 2 500): on chain; after it: reverted.
    assert_eq!(judged(&c, sp(22, 2_000)), Verdict::OnChain);
    assert_eq!(
        judged(&c, sp(22, 3_000)),
        Verdict::Reverted(RejectReason::BlockReplaced)
    );
}

#[test]
fn signage_points_of_the_chains_first_sub_slot() {
    // They follow the genesis challenge. Here block 0 was infused in slot 0 at 500: before it on chain,
    // after it replaced.
    let c = chain();
    assert_eq!(judged(&c, sp(0xee, 250)), Verdict::OnChain);
    assert_eq!(
        judged(&c, sp(0xee, 1_000)),
        Verdict::Reverted(RejectReason::BlockReplaced)
    );
    // When block 0 finished slot 0 first (as on 2.7.5's test chains), the whole slot is on chain.
    let late_genesis = RecentBlocks::from_blocks([
        block(0, 64_000, 500, 1, &[(11, 21)]),
        block(1, 64_000, 10_500, 2, &[]),
    ]);
    assert_eq!(judged(&late_genesis, sp(0xee, 63_000)), Verdict::OnChain);
    // Without block 0 in the window nothing can be said.
    let recent = RecentBlocks::from_blocks([block(3, 128_000, 40_500, 4, &[])]);
    assert_eq!(judged(&recent, sp(0xee, 1_000)), Verdict::Unknown);
}

#[test]
fn unknown_anchors_are_reverted_only_when_the_window_covers_them() {
    let c = chain();
    assert_eq!(
        judged(&c, sp(99, 1_000)),
        Verdict::Reverted(RejectReason::SignagePointNotOnChain)
    );
    // Without genesis, and with no block old enough: cannot tell.
    let recent = RecentBlocks::from_blocks([
        block(2, 128_000, 2_500, 3, &[(11, 21), (12, 22)]),
        block(3, 128_000, 40_500, 4, &[]),
    ]);
    // (The oldest block held, 2, has timestamp 1 002 s.)
    assert_eq!(
        judge(
            &recent,
            64,
            GENESIS,
            sp(99, 1_000),
            1_002_000 + COVER_MARGIN_MS
        ),
        Verdict::Unknown
    );
    // A block more than the margin older than the partial: covered.
    assert_eq!(
        judge(
            &recent,
            64,
            GENESIS,
            sp(99, 1_000),
            1_002_001 + COVER_MARGIN_MS
        ),
        Verdict::Reverted(RejectReason::SignagePointNotOnChain)
    );
}

#[test]
fn end_of_sub_slots() {
    let c = chain();
    assert_eq!(judged(&c, Target::SubSlot(h(11))), Verdict::OnChain);
    assert_eq!(judged(&c, Target::SubSlot(h(12))), Verdict::OnChain);
    assert_eq!(judged(&c, Target::SubSlot(GENESIS)), Verdict::OnChain);
    assert_eq!(
        judged(&c, Target::SubSlot(h(13))),
        Verdict::Reverted(RejectReason::SubSlotNotOnChain)
    );
}

#[test]
fn the_node_still_holding_a_point_outweighs_a_revert() {
    let reverted = Verdict::Reverted(RejectReason::BlockReplaced);
    assert_eq!(with_hint(reverted, Some(false)), Verdict::OnChain);
    assert_eq!(with_hint(reverted, Some(true)), reverted);
    assert_eq!(with_hint(reverted, None), reverted);
    assert_eq!(with_hint(Verdict::OnChain, Some(true)), Verdict::OnChain);
}
