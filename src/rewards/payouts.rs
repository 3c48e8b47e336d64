//! Paying farmers exactly once.
//!
//! A payout is planned in one write: the forwarded rewards not yet shared, every farmer's confirmed points
//! and carried balance go in; the shares, the points consumed, the new carried balances and the payout's
//! transactions ("batches") come out, all in the same commit. Each batch then moves forward through recorded
//! states: the wallet signs it (recorded), the recorded transaction is pushed (recorded), its confirmation is
//! recorded. After a crash anywhere, a batch resumes from its record: a signed transaction is pushed again as
//! the same transaction (it spends the same coins, so it can only pay once), and nothing is signed twice for
//! one batch once a signature was recorded.

use chia_protocol::Bytes32;

use crate::chain::wallet::{Addition, TransactionRequest};
use crate::pool::{unix_now, Pool};
use crate::store::payouts::{Batch, BatchState, PayoutLine, PayoutRecord};
use crate::store::{self, rewards::ForwardState};

use super::crash_point;
use super::payout::{plan, Entitlement};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PayoutRun {
    pub planned: Option<u64>,
    pub signed: usize,
    pub pushed: usize,
    pub confirmed: usize,
}

/// Finishes the open payout, or plans a new one when the interval has passed.
pub async fn run(pool: &Pool) -> Result<PayoutRun, String> {
    let mut stats = PayoutRun::default();
    let payouts = {
        let txn = pool.store().read().map_err(|e| e.to_string())?;
        store::payouts::all(&txn).map_err(|e| e.to_string())?
    };
    if let Some(open) = payouts.iter().find(|p| !p.finished()) {
        settle(pool, open, &mut stats).await?;
        return Ok(stats);
    }
    let last = payouts.last().map_or(0, |p| p.created_at);
    if unix_now() < last.saturating_add(pool.config().payouts.interval_secs) {
        return Ok(stats);
    }
    let peak = pool.chain().synced_peak().map_err(|e| e.to_string())?;
    stats.planned = plan_payout(pool, peak.height).await?;
    if stats.planned.is_some() {
        crash_point("payout-planned");
    }
    Ok(stats)
}

/// Writes the next payout; None when there is nothing to pay.
async fn plan_payout(pool: &Pool, peak_height: u32) -> Result<Option<u64>, String> {
    let c = pool.config();
    let depth = c.payouts.confirmation_depth;
    let (fee_bp, minimum, per_batch) = (
        c.pool.fee_basis_points,
        c.payouts.minimum_payout_mojos,
        c.payouts.max_additions_per_transaction as usize,
    );
    pool.store()
        .write(move |txn| {
            // Read inside the write: points credited meanwhile cannot slip between the plan and its update.
            let read_farmers = store::farmers::all_for_update(txn)?;
            let rewards: Vec<_> = store::rewards::all_for_update(txn)?
                .into_iter()
                // Only forwards buried `confirmation_depth` deep: a reorg can no longer take them back.
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
            let entitlements: Vec<Entitlement> = read_farmers.iter().map(entitlement).collect();
            let p = plan(total, fee_bp, minimum, &entitlements);
            let batches: Vec<Batch> = p
                .batches(per_batch)
                .into_iter()
                .map(|b| Batch {
                    additions: b.into_iter().map(|(ph, amount)| (*ph, amount)).collect(),
                    state: BatchState::Planned,
                })
                .collect();
            if batches.is_empty() && p.rewards == 0 {
                return Ok(None);
            }
            let id = store::payouts::next_id(txn)?;
            for (farmer, share) in read_farmers.iter().zip(&p.shares) {
                let mut f = farmer.clone();
                f.points = f.points.saturating_sub(share.points);
                f.carried = share.carried;
                store::farmers::put(txn, &f)?;
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
                created_at: unix_now(),
                rewards: p.rewards,
                fee: p.fee,
                reward_coins: coins,
                lines: p
                    .shares
                    .iter()
                    .filter(|s| s.points > 0 || s.paid > 0 || s.carried > 0)
                    .map(|s| PayoutLine {
                        launcher_id: s.launcher_id,
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
        .await
        .map_err(|e| e.to_string())
}

/// What a farmer is owed going into a payout.
pub fn entitlement(f: &store::FarmerRecord) -> Entitlement {
    Entitlement {
        launcher_id: f.launcher_id,
        payout_puzzle_hash: f.payout_puzzle_hash,
        points: f.points,
        carried: f.carried,
    }
}

/// Moves every batch of an open payout as far as it goes now.
async fn settle(pool: &Pool, payout: &PayoutRecord, stats: &mut PayoutRun) -> Result<(), String> {
    let fee = pool.config().payouts.transaction_fee_mojos;
    for (index, batch) in payout.batches.iter().enumerate() {
        let mut state = batch.state.clone();
        if state == BatchState::Planned {
            let request = TransactionRequest {
                additions: batch
                    .additions
                    .iter()
                    .map(|(ph, amount)| Addition {
                        puzzle_hash: Bytes32::new(*ph),
                        amount: *amount,
                        memos: Vec::new(),
                    })
                    .collect(),
                fee,
                wallet_id: 1,
                excluded_coin_ids: Vec::new(),
            };
            let (name, tx) = pool
                .chain()
                .sign_transaction(&request)
                .await
                .map_err(|e| e.to_string())?;
            state = BatchState::Signed {
                tx_name: name.to_bytes(),
                tx_json: tx.to_string(),
            };
            record(pool, payout.id, index, state.clone()).await?;
            stats.signed += 1;
            crash_point("payout-signed");
        }
        if let BatchState::Signed { tx_name, tx_json } | BatchState::Pushed { tx_name, tx_json } =
            &state
        {
            let confirmed = pool
                .chain()
                .get_transaction(Bytes32::new(*tx_name))
                .await
                .map_err(|e| e.to_string())?
                .filter(|t| t.confirmed);
            // A confirmation is final once buried; a shallower one may still be reorged away.
            let peak_height = pool.chain().peak().map_or(0, |p| p.height);
            let depth = pool.config().payouts.confirmation_depth;
            let confirmed =
                confirmed.filter(|t| t.confirmed_at_height.saturating_add(depth) <= peak_height);
            if let Some(t) = confirmed {
                record(
                    pool,
                    payout.id,
                    index,
                    BatchState::Confirmed {
                        tx_name: *tx_name,
                        height: t.confirmed_at_height,
                    },
                )
                .await?;
                stats.confirmed += 1;
                continue;
            }
            // Pushing the recorded transaction again is harmless: it is the same transaction.
            let tx: serde_json::Value = serde_json::from_str(tx_json).map_err(|e| e.to_string())?;
            pool.chain()
                .push_transactions(vec![tx], 0)
                .await
                .map_err(|e| e.to_string())?;
            if matches!(state, BatchState::Signed { .. }) {
                record(
                    pool,
                    payout.id,
                    index,
                    BatchState::Pushed {
                        tx_name: *tx_name,
                        tx_json: tx_json.clone(),
                    },
                )
                .await?;
                stats.pushed += 1;
                crash_point("payout-pushed");
            }
        }
    }
    Ok(())
}

/// Records a batch's new state, only forward (a stale writer cannot move a batch back).
async fn record(pool: &Pool, id: u64, index: usize, state: BatchState) -> Result<(), String> {
    pool.store()
        .write(move |txn| {
            let Some(mut payout) = store::payouts::get_for_update(txn, id)? else {
                return Ok(());
            };
            let Some(batch) = payout.batches.get_mut(index) else {
                return Ok(());
            };
            let rank = |s: &BatchState| match s {
                BatchState::Planned => 0,
                BatchState::Signed { .. } => 1,
                BatchState::Pushed { .. } => 2,
                BatchState::Confirmed { .. } => 3,
            };
            if rank(&state) > rank(&batch.state) {
                batch.state = state;
                store::payouts::put(txn, &payout)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())
}
