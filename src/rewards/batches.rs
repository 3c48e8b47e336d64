//! Moving one payout transaction ("batch") on: the wallet signs it (recorded with its inputs and outputs),
//! the recorded transaction is pushed (recorded), and it is confirmed when the chain shows its outputs buried.
//! After a crash anywhere a batch resumes from its record: a recorded transaction is only ever pushed again as
//! the same transaction. It is abandoned, and its payees paid by a new one, only when the chain proves it
//! dead: none of its outputs exist and one of its inputs was spent by another transaction, buried. A payee
//! the wallet refuses is split off into its own batch, so it holds up no one else.

use std::collections::HashSet;

use chia_protocol::Bytes32;

use crate::chain::node::CoinQuery;
use crate::chain::wallet::{Addition, TransactionInfo, TransactionRequest};
use crate::chain::{ChainError, Service};
use crate::pool::Handles;
use crate::store;
use crate::store::payouts::{Batch, BatchState, SignedTx};

use super::crash_point;
use super::error::RewardsError;
use super::payouts::PayoutRun;

/// A pushed transaction not on chain after this many blocks gets an operator message.
const STUCK_AFTER_BLOCKS: u32 = 20;

/// Reads one batch as recorded now.
fn current(pool: &Handles, id: u64, index: usize) -> Result<Option<Batch>, RewardsError> {
    let txn = pool.store().read()?;
    Ok(store::payouts::all(&txn)?
        .into_iter()
        .find(|p| p.id == id)
        .and_then(|p| p.batches.into_iter().nth(index)))
}

/// Moves one batch as far as it goes now.
pub(super) async fn settle(
    pool: &Handles,
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
    pool: &Handles,
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
fn pending_inputs(pool: &Handles) -> Result<Vec<Bytes32>, RewardsError> {
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
    pool: &Handles,
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
    pool: &Handles,
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
    pool: &Handles,
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
