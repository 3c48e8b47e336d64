//! Paying farmers exactly once.
//!
//! A payout is planned in one write: the forwarded rewards not yet shared, every farmer's confirmed points
//! and carried balance go in; the shares, the points consumed, the new carried balances and the payout's
//! transactions ("batches", one output per payout puzzle hash) come out, all in the same commit. Each batch
//! then moves on by itself (`batches.rs`): one batch that cannot move never holds up the others, nor later
//! payouts.

use crate::pool::Handles;
use crate::store::payouts::{Batch, PayoutLine, PayoutRecord};
use crate::store::{self, rewards::ForwardState};

use super::batches::settle;
use super::crash_point;
use super::error::RewardsError;
use super::ledger::{self, Scope};
use super::shares::{plan, Entitlement};

/// How many recent payouts the chain side of the ledger check covers after each run.
const CHECKED_PAYOUTS: usize = 10;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PayoutRun {
    pub planned: Option<u64>,
    pub signed: usize,
    pub pushed: usize,
    pub confirmed: usize,
    pub abandoned: usize,
    pub waiting: usize,
}

/// Checks the ledger, moves every open payout on, plans a new one when the interval has passed, and checks
/// the ledger again. A ledger mismatch stops everything here (payouts paused) with the difference named.
pub async fn run(pool: &Handles) -> Result<PayoutRun, RewardsError> {
    let mut stats = PayoutRun::default();
    let payouts = {
        let txn = pool.store().read()?;
        let rewards = store::rewards::all(&txn)?;
        let payouts = store::payouts::all(&txn)?;
        ledger::check_balances(&rewards, &payouts, ledger::carried_balances(&txn)?)?;
        payouts
    };
    for open in payouts.iter().filter(|p| !p.finished()) {
        for index in 0..open.batches.len() {
            if let Err(e) = settle(pool, open.id, index, &mut stats).await {
                stats.waiting += 1;
                tracing::warn!(
                    payout = open.id,
                    batch = index,
                    "payout transaction waits (other payouts go on): {e}"
                );
            }
        }
    }
    let last = payouts.last().map_or(0, |p| p.created_at);
    if pool.now() >= last.saturating_add(pool.config().payouts.interval_secs) {
        let peak = pool.chain().synced_peak()?;
        stats.planned = plan_payout(pool, peak.height).await?;
        if stats.planned.is_some() {
            crash_point("payout-planned");
        }
    }
    let l = ledger::check(pool.store(), pool.chain(), Scope::Latest(CHECKED_PAYOUTS)).await?;
    tracing::debug!("ledger balances: {l}");
    Ok(stats)
}

/// Writes the next payout; None when there is nothing to pay.
async fn plan_payout(pool: &Handles, peak_height: u32) -> Result<Option<u64>, RewardsError> {
    let c = pool.config();
    let depth = c.payouts.confirmation_depth;
    let (fee_bp, minimum, per_batch) = (
        c.pool.fee_basis_points,
        c.payouts.minimum_payout_mojos,
        c.payouts.max_additions_per_transaction as usize,
    );
    // Validated at startup; an unreadable value here keeps the fee in the wallet rather than guessing.
    let fee_to = c.fee_puzzle_hash().ok().flatten().map(|ph| ph.to_bytes());
    let name = c.pool.name.clone();
    let now = pool.now();
    let planned = pool
        .store()
        .write(move |txn| {
            // Read inside the write: points credited meanwhile cannot slip between the plan and its update.
            let read_farmers = store::farmers::all_for_update(txn)?;
            // v1 members' points are points: one plan over both tables, v2 members first.
            let read_v1 = store::farmers_v1::all_for_update(txn)?;
            let rewards: Vec<_> = store::rewards::all_for_update(txn)?
                .into_iter()
                // Only verified forwards buried `confirmation_depth` deep: a reorg can no longer undo them.
                .filter(|r| {
                    matches!(r.state, ForwardState::Forwarded { spent_height }
                        if spent_height.saturating_add(depth) <= peak_height)
                        && r.payout_id.is_none()
                })
                .collect();
            let total: u64 = rewards
                .iter()
                .map(|r| r.amount)
                .fold(0u64, u64::saturating_add);
            let entitlements: Vec<Entitlement> = read_farmers
                .iter()
                .map(entitlement)
                .chain(read_v1.iter().map(entitlement_v1))
                .collect();
            let p = plan(total, fee_bp, minimum, &entitlements);
            let id = store::payouts::next_id(txn)?;
            let memo = format!("{name} payout {id}");
            let batches: Vec<Batch> = p
                .batches(per_batch, fee_to)
                .into_iter()
                .map(|additions| Batch::new(additions, memo.clone()))
                .collect();
            if batches.is_empty() && p.rewards == 0 {
                return Ok(None);
            }
            let (v2_shares, v1_shares) = p.shares.split_at(read_farmers.len().min(p.shares.len()));
            for (farmer, share) in read_farmers.iter().zip(v2_shares) {
                let mut f = farmer.clone();
                f.points = f.points.saturating_sub(share.points);
                f.carried = share.carried;
                store::farmers::put(txn, &f)?;
            }
            for (farmer, share) in read_v1.iter().zip(v1_shares) {
                let mut f = farmer.clone();
                f.points = f.points.saturating_sub(share.points);
                f.carried = share.carried;
                store::farmers_v1::put(txn, &f)?;
            }
            let mut coins = Vec::new();
            if p.rewards > 0 {
                for mut r in rewards {
                    r.payout_id = Some(id);
                    coins.push(r.coin_id);
                    store::rewards::put(txn, &r)?;
                }
            }
            let record = PayoutRecord {
                id,
                created_at: now,
                rewards: p.rewards,
                fee: p.fee,
                fee_puzzle_hash: fee_to.filter(|_| p.fee > 0),
                reward_coins: coins,
                lines: p
                    .shares
                    .iter()
                    .filter(|s| s.points > 0 || s.paid > 0 || s.carried > 0)
                    .map(|s| PayoutLine {
                        launcher_id: s.launcher_id,
                        payout_puzzle_hash: s.payout_puzzle_hash,
                        points: s.points,
                        share: s.share,
                        paid: s.paid,
                        carried: s.carried,
                    })
                    .collect(),
                batches,
            };
            store::payouts::put(txn, &record)?;
            Ok(Some(id))
        })
        .await?;
    Ok(planned)
}

/// What a farmer is owed going into a payout.
pub fn entitlement_v1(f: &store::farmers_v1::FarmerV1Record) -> Entitlement {
    Entitlement {
        launcher_id: f.launcher_id,
        payout_puzzle_hash: f.payout_puzzle_hash,
        points: f.points,
        carried: f.carried,
    }
}

pub fn entitlement(f: &store::FarmerRecord) -> Entitlement {
    Entitlement {
        launcher_id: f.launcher_id,
        payout_puzzle_hash: f.payout_puzzle_hash,
        points: f.points,
        carried: f.carried,
    }
}
