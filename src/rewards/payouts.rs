//! Paying farmers exactly once.
//!
//! A payout is planned in one write: the forwarded rewards not yet shared, every farmer's confirmed points
//! and carried balance go in; the shares, the points consumed, the new carried balances and the payout's
//! transactions ("batches", one output per payout puzzle hash) come out, all in the same commit. Each batch
//! then moves forward through recorded states: the wallet signs it (recorded with its inputs and outputs),
//! the recorded transaction is pushed (recorded), and it is confirmed when the chain shows its outputs buried.
//! After a crash anywhere a batch resumes from its record: a recorded transaction is only ever pushed again as
//! the same transaction. A transaction is abandoned, and its payees paid by a new one, only when the chain
//! proves it dead: none of its outputs exist and one of its inputs was spent by another transaction, buried.
//! One batch that cannot move never holds up the others, nor later payouts.

use std::collections::HashSet;

use chia_protocol::Bytes32;

use crate::chain::node::CoinQuery;
use crate::chain::wallet::{Addition, TransactionInfo, TransactionRequest};
use crate::chain::{ChainError, Service};
use crate::pool::{unix_now, Pool};
use crate::store::payouts::{Batch, BatchState, PayoutLine, PayoutRecord, SignedTx};
use crate::store::{self, rewards::ForwardState};

use super::crash_point;
use super::error::RewardsError;
use super::ledger::{self, Scope};
use super::payout::{plan, Entitlement};

/// A pushed transaction not on chain after this many blocks gets an operator message.
const STUCK_AFTER_BLOCKS: u32 = 20;
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
pub async fn run(pool: &Pool) -> Result<PayoutRun, RewardsError> {
    let mut stats = PayoutRun::default();
    let payouts = {
        let txn = pool.store().read()?;
        let rewards = store::rewards::all(&txn)?;
        let payouts = store::payouts::all(&txn)?;
        let farmers = store::farmers::all(&txn)?;
        ledger::check_records(&rewards, &payouts, &farmers)?;
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
    if unix_now() >= last.saturating_add(pool.config().payouts.interval_secs) {
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
async fn plan_payout(pool: &Pool, peak_height: u32) -> Result<Option<u64>, RewardsError> {
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
    let planned = pool
        .store()
        .write(move |txn| {
            // Read inside the write: points credited meanwhile cannot slip between the plan and its update.
            let read_farmers = store::farmers::all_for_update(txn)?;
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
            let entitlements: Vec<Entitlement> = read_farmers.iter().map(entitlement).collect();
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
pub fn entitlement(f: &store::FarmerRecord) -> Entitlement {
    Entitlement {
        launcher_id: f.launcher_id,
        payout_puzzle_hash: f.payout_puzzle_hash,
        points: f.points,
        carried: f.carried,
    }
}

/// Reads one batch as recorded now.
fn current(pool: &Pool, id: u64, index: usize) -> Result<Option<Batch>, RewardsError> {
    let txn = pool.store().read()?;
    Ok(store::payouts::all(&txn)?
        .into_iter()
        .find(|p| p.id == id)
        .and_then(|p| p.batches.into_iter().nth(index)))
}

/// Moves one batch as far as it goes now.
async fn settle(
    pool: &Pool,
    id: u64,
    index: usize,
    stats: &mut PayoutRun,
) -> Result<(), RewardsError> {
    let Some(batch) = current(pool, id, index)? else {
        return Ok(());
    };
    let tx = match &batch.state {
        BatchState::Confirmed { .. } => return Ok(()),
        BatchState::Planned => match sign(pool, id, index, &batch).await? {
            Some(tx) => {
                stats.signed += 1;
                tx
            }
            None => return Ok(()),
        },
        BatchState::Signed(tx) | BatchState::Pushed(tx) => tx.clone(),
    };
    let peak = pool.chain().synced_peak()?;
    let depth = pool.config().payouts.confirmation_depth;
    let chain = pool.chain();
    let outputs: Vec<Bytes32> = tx.outputs.iter().map(|o| Bytes32::new(*o)).collect();
    crash_point("payout-check-before");
    let landed = chain
        .coin_records_by_names(&outputs, CoinQuery::all())
        .await?;
    crash_point("payout-check-returned");
    if !landed.is_empty() {
        let height = landed
            .iter()
            .map(|r| r.confirmed_block_index)
            .max()
            .unwrap_or(0);
        if landed.len() == outputs.len() && height.saturating_add(depth) <= peak.height {
            let state = BatchState::Confirmed {
                tx_name: tx.tx_name,
                height,
                outputs: tx.outputs.clone(),
            };
            record(pool, id, index, Some(tx.tx_name), state, None).await?;
            crash_point("payout-confirmed");
            stats.confirmed += 1;
        }
        // On chain, not buried yet: nothing to push.
        return Ok(());
    }
    // None of its outputs exist. Dead if another transaction spent one of its inputs, buried.
    let inputs: Vec<Bytes32> = tx.inputs.iter().map(|i| Bytes32::new(*i)).collect();
    let spent_elsewhere = chain
        .coin_records_by_names(&inputs, CoinQuery::all())
        .await?
        .into_iter()
        .find(|r| {
            r.spent_block_index > 0 && r.spent_block_index.saturating_add(depth) <= peak.height
        });
    if let Some(input) = spent_elsewhere {
        let state = BatchState::Planned;
        record(
            pool,
            id,
            index,
            Some(tx.tx_name),
            state,
            Some(String::new()),
        )
        .await?;
        crash_point("payout-abandoned");
        stats.abandoned += 1;
        tracing::warn!(
            payout = id,
            batch = index,
            tx = %hex::encode(tx.tx_name),
            input = %hex::encode(input.coin.coin_id()),
            spent_height = input.spent_block_index,
            "payout transaction abandoned: none of its outputs are on chain and its input was spent by another \
             transaction; its payees are paid by a new transaction"
        );
        return Ok(());
    }
    // It can still land: push it (again, the same transaction).
    let json: serde_json::Value =
        serde_json::from_str(&tx.tx_json).map_err(|e| RewardsError::BadTransaction {
            payout: id,
            batch: index,
            reason: e.to_string(),
        })?;
    crash_point("payout-push-before");
    if let Err(e) = chain.push_transactions(vec![json], 0).await {
        let note = format!(
            "the wallet refused transaction 0x{} ({e}); it is pushed again each block until the chain shows it \
             landed or dead",
            hex::encode(tx.tx_name)
        );
        note_waiting(pool, id, index, note).await?;
        return Err(e.into());
    }
    crash_point("payout-push-returned");
    if matches!(batch.state, BatchState::Signed(_) | BatchState::Planned) {
        record(
            pool,
            id,
            index,
            Some(tx.tx_name),
            BatchState::Pushed(tx.clone()),
            None,
        )
        .await?;
        crash_point("payout-pushed");
        stats.pushed += 1;
    }
    if peak.height >= tx.signed_at.saturating_add(STUCK_AFTER_BLOCKS) {
        let note = format!(
            "transaction 0x{} is not on chain {} blocks after it was signed, and its inputs {} are unspent, so it \
             can still land: it waits, and its payees are not paid twice. To release it, spend one of those coins \
             from the pool wallet (e.g. send it to yourself): once that is buried, the payees are paid by a new \
             transaction",
            hex::encode(tx.tx_name),
            peak.height.saturating_sub(tx.signed_at),
            tx.inputs.iter().map(|i| format!("0x{}", hex::encode(i))).collect::<Vec<_>>().join(", ")
        );
        note_waiting(pool, id, index, note.clone()).await?;
        tracing::warn!(payout = id, batch = index, "{note}");
        stats.waiting += 1;
    }
    Ok(())
}

/// Has the wallet sign a planned batch and records the transaction; None when the wallet refused (the batch
/// is then split so that the refused payee cannot hold up the others, or waits with a message).
async fn sign(
    pool: &Pool,
    id: u64,
    index: usize,
    batch: &Batch,
) -> Result<Option<SignedTx>, RewardsError> {
    let excluded = pending_inputs(pool)?;
    let request = TransactionRequest {
        additions: batch
            .additions
            .iter()
            .map(|(ph, amount)| Addition {
                puzzle_hash: Bytes32::new(*ph),
                amount: *amount,
                memos: vec![batch.memo.clone()],
            })
            .collect(),
        fee: pool.config().payouts.transaction_fee_mojos,
        wallet_id: 1,
        // Coins a recorded, still pending payout transaction spends: a new one must not conflict with it.
        excluded_coin_ids: excluded,
    };
    let peak = pool.chain().synced_peak()?;
    crash_point("payout-sign-before");
    let signed = pool.chain().sign_transaction(&request).await;
    let (name, json) = match signed {
        Ok(v) => v,
        Err(ChainError::Rpc {
            service: Service::Wallet,
            message,
            ..
        }) if !message.contains("sync") => {
            refused(pool, id, index, batch, &message).await?;
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    crash_point("payout-sign-returned");
    let bad = |reason: String| RewardsError::BadTransaction {
        payout: id,
        batch: index,
        reason,
    };
    let info =
        TransactionInfo::from_json(&json, "signed_txs[0]").map_err(|e| bad(e.to_string()))?;
    let mut outputs = Vec::with_capacity(batch.additions.len());
    for (ph, amount) in &batch.additions {
        let coin = info
            .additions
            .iter()
            .find(|c| c.puzzle_hash.to_bytes() == *ph && c.amount == *amount)
            .ok_or_else(|| {
                bad(format!(
                    "the wallet's transaction has no output of {amount} mojo to 0x{}",
                    hex::encode(ph)
                ))
            })?;
        outputs.push(coin.coin_id().to_bytes());
    }
    let tx = SignedTx {
        tx_name: name.to_bytes(),
        tx_json: json.to_string(),
        outputs,
        inputs: info
            .removals
            .iter()
            .map(|c| c.coin_id().to_bytes())
            .collect(),
        signed_at: peak.height,
    };
    record(pool, id, index, None, BatchState::Signed(tx.clone()), None).await?;
    crash_point("payout-signed");
    Ok(Some(tx))
}

/// The inputs of every recorded payout transaction that is not confirmed yet.
fn pending_inputs(pool: &Pool) -> Result<Vec<Bytes32>, RewardsError> {
    let txn = pool.store().read()?;
    let mut seen = HashSet::new();
    Ok(store::payouts::all(&txn)?
        .iter()
        .flat_map(|p| p.batches.iter())
        .filter_map(|b| b.state.pending())
        .flat_map(|t| t.inputs.iter())
        .filter(|i| seen.insert(**i))
        .map(|i| Bytes32::new(*i))
        .collect())
}

/// The wallet refused to build a batch: split it into one batch per payee, so that only the payee the wallet
/// refuses waits; a single-payee batch waits with the wallet's reason.
async fn refused(
    pool: &Pool,
    id: u64,
    index: usize,
    batch: &Batch,
    message: &str,
) -> Result<(), RewardsError> {
    let additions = batch.additions.clone();
    let note = if additions.len() == 1 {
        format!(
            "the wallet refuses to pay {} mojo to 0x{}: {message}; this payee waits, the others are paid",
            additions[0].1,
            hex::encode(additions[0].0)
        )
    } else {
        format!("the wallet refused a transaction of {} payees ({message}); split into one transaction per payee", additions.len())
    };
    tracing::warn!(payout = id, batch = index, "{note}");
    pool.store()
        .write(move |txn| {
            let Some(mut payout) = store::payouts::get_for_update(txn, id)? else {
                return Ok(());
            };
            let Some(b) = payout.batches.get_mut(index) else {
                return Ok(());
            };
            // Only a batch still planned with the same payees (a stale writer changes nothing).
            if b.state != BatchState::Planned || b.additions != additions {
                return Ok(());
            }
            b.waiting = note;
            if additions.len() > 1 {
                let memo = b.memo.clone();
                b.additions = vec![additions[0]];
                for a in &additions[1..] {
                    payout.batches.push(Batch::new(vec![*a], memo.clone()));
                }
            }
            store::payouts::put(txn, &payout)
        })
        .await?;
    Ok(())
}

async fn note_waiting(
    pool: &Pool,
    id: u64,
    index: usize,
    note: String,
) -> Result<(), RewardsError> {
    pool.store()
        .write(move |txn| {
            if let Some(mut payout) = store::payouts::get_for_update(txn, id)? {
                if let Some(b) = payout.batches.get_mut(index) {
                    if b.waiting != note {
                        b.waiting = note;
                        store::payouts::put(txn, &payout)?;
                    }
                }
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// Records a batch's new state. Forward only, and only for the transaction it was decided for (`of`): a
/// stale writer cannot move a batch back or act on a replaced transaction. Going back to `Planned` is the one
/// exception: it abandons `of`, proven dead.
async fn record(
    pool: &Pool,
    id: u64,
    index: usize,
    of: Option<[u8; 32]>,
    state: BatchState,
    waiting: Option<String>,
) -> Result<(), RewardsError> {
    pool.store()
        .write(move |txn| {
            let Some(mut payout) = store::payouts::get_for_update(txn, id)? else {
                return Ok(());
            };
            let Some(batch) = payout.batches.get_mut(index) else {
                return Ok(());
            };
            let pending = batch.state.pending().map(|t| t.tx_name);
            if of.is_some() && pending != of {
                return Ok(());
            }
            if state == BatchState::Planned {
                if let Some(dead) = of {
                    batch.abandoned.push(dead);
                    batch.state = state;
                }
            } else if state.rank() > batch.state.rank() {
                batch.state = state;
            } else {
                return Ok(());
            }
            if let Some(w) = waiting {
                batch.waiting = w;
            } else if matches!(batch.state, BatchState::Confirmed { .. }) {
                batch.waiting.clear();
            }
            store::payouts::put(txn, &payout)
        })
        .await?;
    Ok(())
}
