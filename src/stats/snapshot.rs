//! The status snapshot: what the pages show, built from the store and the chain client's caches by a job,
//! so that a page load costs a lock and a clone of an `Arc`, never a store scan or an RPC.
//!
//! New figures go into `Snapshot` (or one of its parts) and are filled in `build`.

use std::collections::HashMap;

use crate::store::payouts::{BatchState, PayoutRecord};
use crate::store::rewards::{ForwardState, RewardRecord};
use crate::store::{self, FarmerRecord, Membership, PartialState, StoreError};

/// The window partial figures cover.
pub const WINDOW_SECS: u64 = 24 * 3600;
/// Width of one bar of the pool's partials chart.
pub const POOL_BUCKET_SECS: u64 = 15 * 60;
/// Width of one bar of a farmer's partials chart.
pub const FARMER_BUCKET_SECS: u64 = 3600;

/// Accepted partials in one time slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Accepted {
    pub partials: u64,
    pub points_v1: u64,
    pub points_v2: u64,
}

impl Accepted {
    fn add(&mut self, version: u8, difficulty: u64) {
        self.partials += 1;
        if version == 0 {
            self.points_v1 = self.points_v1.saturating_add(difficulty);
        } else {
            self.points_v2 = self.points_v2.saturating_add(difficulty);
        }
    }
    pub fn points(&self) -> u64 {
        self.points_v1.saturating_add(self.points_v2)
    }
}

/// One member as the pages show it.
#[derive(Debug, Clone)]
pub struct FarmerView {
    /// A v1 member's record is shown in v2's shape (its p2_singleton as the reward puzzle hash).
    pub record: FarmerRecord,
    /// 1 or 2: the member's PlotNFT version.
    pub plotnft_version: u8,
    /// Accepted partials not yet confirmed, and their points.
    pub pending_partials: u64,
    pub pending_points: u64,
    /// Partials refused at confirmation (their signage point was reverted) in the window.
    pub rejected_at_confirmation: u64,
    /// Accepted in the window, and per hour (oldest first).
    pub day: Accepted,
    pub hourly: Vec<Accepted>,
    pub last_partial_ms: Option<u64>,
    /// (payout id, created at, line) of payouts that included this farmer, newest first.
    pub payouts: Vec<(u64, u64, store::payouts::PayoutLine)>,
}

/// A pool reward coin: one block won by a member.
#[derive(Debug, Clone)]
pub struct BlockView {
    pub reward: RewardRecord,
    /// Points accepted since the previous block over the points a block is expected to cost; known only for
    /// blocks found while this process ran.
    pub effort: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct RewardTotals {
    pub found: u64,
    pub submitted: u64,
    pub forwarded: u64,
    pub forwarded_mojos: u64,
    /// Rewards spent without paying the pool (a member that left claimed it): never pool income.
    pub claimed_elsewhere: u64,
    pub claimed_elsewhere_mojos: u64,
    /// Forwarded and not yet shared in a payout.
    pub unpaid_mojos: u64,
    /// Paid to farmers by payouts whose transactions all confirmed.
    pub paid_out_mojos: u64,
    pub fees_mojos: u64,
    pub carried_mojos: u64,
}

/// Everything the pages read. Immutable once built.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub built_at: u64,
    pub farmers: Vec<FarmerView>,
    pub by_launcher: HashMap<[u8; 32], usize>,
    pub pool_day: Accepted,
    pub pool_buckets: Vec<Accepted>,
    pub pending_partials: u64,
    pub rejected_at_confirmation: u64,
    pub blocks: Vec<BlockView>,
    pub rewards: RewardTotals,
    pub payouts: Vec<PayoutRecord>,
    pub payout_batches: HashMap<&'static str, u64>,
}

impl Snapshot {
    pub fn farmer(&self, launcher_id: &[u8; 32]) -> Option<&FarmerView> {
        self.by_launcher
            .get(launcher_id)
            .and_then(|&i| self.farmers.get(i))
    }

    pub fn members(&self, membership: Membership) -> usize {
        self.farmers
            .iter()
            .filter(|f| f.record.membership == membership)
            .count()
    }

    /// Members that sent an accepted partial in the window.
    pub fn active_members(&self) -> usize {
        self.farmers.iter().filter(|f| f.day.partials > 0).count()
    }
}

pub fn batch_state_name(state: &BatchState) -> &'static str {
    match state {
        BatchState::Planned => "planned",
        BatchState::Signed { .. } => "signed",
        BatchState::Pushed { .. } => "pushed",
        BatchState::Confirmed { .. } => "confirmed",
    }
}

pub fn forward_state_name(state: &ForwardState) -> &'static str {
    match state {
        ForwardState::Found => "found",
        ForwardState::Submitted { .. } => "submitted",
        ForwardState::Forwarded { .. } => "forwarded",
        ForwardState::ClaimedElsewhere { .. } => "claimed elsewhere",
    }
}

/// A v1 member in the shape the pages read.
fn v1_as_record(f: store::farmers_v1::FarmerV1Record) -> FarmerRecord {
    FarmerRecord {
        launcher_id: f.launcher_id,
        authentication_public_key: f.authentication_public_key,
        payout_instructions: f.payout_instructions,
        payout_puzzle_hash: f.payout_puzzle_hash,
        difficulty: f.difficulty,
        reward_puzzle_hash: f.p2_singleton_puzzle_hash,
        membership: f.membership,
        singleton: None,
        joined_at: f.joined_at,
        recent_partials: f.recent_partials,
        points: f.points,
        carried: f.carried,
        lifetime_points: f.lifetime_points,
    }
}

/// Reads the store once and builds a snapshot as of `now_ms`. `efforts` carries the efforts of blocks already
/// seen (by reward coin id), which the store does not keep.
pub fn build(
    txn: &store::ReadTxn,
    now_ms: u64,
    efforts: &HashMap<[u8; 32], f64>,
) -> Result<Snapshot, StoreError> {
    let window_start_ms = now_ms.saturating_sub(WINDOW_SECS * 1000);
    let pool_slots = (WINDOW_SECS / POOL_BUCKET_SECS) as usize;
    let farmer_slots = (WINDOW_SECS / FARMER_BUCKET_SECS) as usize;
    let slot = |arrived_ms: u64, width: u64, slots: usize| -> Option<usize> {
        let age = now_ms.saturating_sub(arrived_ms) / 1000 / width;
        (age < slots as u64).then(|| slots - 1 - age as usize)
    };

    let mut snap = Snapshot {
        built_at: now_ms / 1000,
        pool_buckets: vec![Accepted::default(); pool_slots],
        ..Snapshot::default()
    };
    let v2 = store::farmers::all(txn)?.into_iter().map(|r| (r, 2));
    let v1 = store::farmers_v1::all(txn)?
        .into_iter()
        .map(|r| (v1_as_record(r), 1));
    for (record, plotnft_version) in v2.chain(v1) {
        snap.by_launcher
            .insert(record.launcher_id, snap.farmers.len());
        let last_partial_ms = record.recent_partials.last().map(|p| p.0);
        snap.farmers.push(FarmerView {
            record,
            plotnft_version,
            pending_partials: 0,
            pending_points: 0,
            rejected_at_confirmation: 0,
            day: Accepted::default(),
            hourly: vec![Accepted::default(); farmer_slots],
            last_partial_ms,
            payouts: Vec::new(),
        });
    }

    store::partials::for_each_since(txn, window_start_ms, |arrived_ms, p| {
        let farmer = snap
            .by_launcher
            .get(&p.launcher_id)
            .and_then(|&i| snap.farmers.get_mut(i));
        if p.state == PartialState::Rejected {
            snap.rejected_at_confirmation += 1;
            if let Some(f) = farmer {
                f.rejected_at_confirmation += 1;
            }
            return;
        }
        if p.state == PartialState::Pending {
            snap.pending_partials += 1;
        }
        snap.pool_day.add(p.plot_version, p.difficulty);
        if let Some(i) = slot(arrived_ms, POOL_BUCKET_SECS, pool_slots) {
            snap.pool_buckets[i].add(p.plot_version, p.difficulty);
        }
        if let Some(f) = farmer {
            if p.state == PartialState::Pending {
                f.pending_partials += 1;
                f.pending_points = f.pending_points.saturating_add(p.difficulty);
            }
            f.day.add(p.plot_version, p.difficulty);
            if let Some(i) = slot(arrived_ms, FARMER_BUCKET_SECS, farmer_slots) {
                f.hourly[i].add(p.plot_version, p.difficulty);
            }
            f.last_partial_ms = Some(f.last_partial_ms.unwrap_or(0).max(arrived_ms));
        }
    })?;

    let mut rewards = store::rewards::all(txn)?;
    rewards.sort_by_key(|r| std::cmp::Reverse(r.confirmed_height));
    for r in &rewards {
        let t = &mut snap.rewards;
        match r.state {
            ForwardState::Found => t.found += 1,
            ForwardState::Submitted { .. } => t.submitted += 1,
            ForwardState::Forwarded { .. } => {
                t.forwarded += 1;
                t.forwarded_mojos = t.forwarded_mojos.saturating_add(r.amount);
                if r.payout_id.is_none() {
                    t.unpaid_mojos = t.unpaid_mojos.saturating_add(r.amount);
                }
            }
            ForwardState::ClaimedElsewhere { .. } => {
                t.claimed_elsewhere += 1;
                t.claimed_elsewhere_mojos = t.claimed_elsewhere_mojos.saturating_add(r.amount);
            }
        }
    }
    snap.blocks = rewards
        .into_iter()
        .map(|reward| BlockView {
            effort: efforts
                .get(&reward.coin_id)
                .copied()
                .filter(|e| e.is_finite()),
            reward,
        })
        .collect();

    let mut payouts = store::payouts::all(txn)?;
    payouts.sort_by_key(|p| std::cmp::Reverse(p.id));
    for p in &payouts {
        snap.rewards.fees_mojos = snap.rewards.fees_mojos.saturating_add(p.fee);
        for b in &p.batches {
            *snap
                .payout_batches
                .entry(batch_state_name(&b.state))
                .or_default() += 1;
        }
        for line in &p.lines {
            if p.finished() {
                snap.rewards.paid_out_mojos = snap.rewards.paid_out_mojos.saturating_add(line.paid);
            }
            if let Some(f) = snap
                .by_launcher
                .get(&line.launcher_id)
                .and_then(|&i| snap.farmers.get_mut(i))
            {
                f.payouts.push((p.id, p.created_at, line.clone()));
            }
        }
    }
    snap.rewards.carried_mojos = snap.farmers.iter().map(|f| f.record.carried).sum();
    snap.payouts = payouts;
    Ok(snap)
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
