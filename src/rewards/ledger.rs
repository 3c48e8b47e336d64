//! The ledger check: every mojo of forwarded income is accounted for, and every payout recorded as confirmed
//! exists on chain.
//!
//! `forwarded = waiting + fee + paid + in flight + carried`, to the mojo, where `waiting` is forwarded income
//! not yet shared, `paid` the payees' part of confirmed payout transactions, `in flight` that of the others,
//! and `carried` the balances owed to farmers under the minimum. Each payout must also add up on its own. Any
//! difference pauses payouts (an error naming it) until an operator explains it.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use chia_protocol::Bytes32;

use crate::chain::node::CoinQuery;
use crate::chain::ChainClient;
use crate::store::payouts::{BatchState, PayoutRecord};
use crate::store::rewards::{ForwardState, RewardRecord};
use crate::store::{self, FarmerRecord, Store};

use super::error::RewardsError;

/// The ledger's totals, in mojo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    pub forwarded: u128,
    pub waiting: u128,
    pub fee: u128,
    pub paid: u128,
    pub in_flight: u128,
    pub carried: u128,
    /// Rewards claimed elsewhere (never income; shown for the operator).
    pub claimed_elsewhere: u128,
    /// Confirmed payout outputs found on chain by the last chain check.
    pub outputs_on_chain: usize,
}

impl fmt::Display for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "forwarded {} = waiting {} + fee {} + paid {} + in flight {} + carried {} mojo",
            self.forwarded, self.waiting, self.fee, self.paid, self.in_flight, self.carried
        )
    }
}

/// Everything that does not add up, each naming the difference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("; "))]
pub struct LedgerMismatch {
    pub problems: Vec<String>,
}

/// The store side: totals and every per-payout identity.
pub fn check_records(
    rewards: &[RewardRecord],
    payouts: &[PayoutRecord],
    farmers: &[FarmerRecord],
) -> Result<Ledger, LedgerMismatch> {
    check_balances(rewards, payouts, farmers.iter().map(|f| f.carried))
}

/// The carried balances of every member, v2 and v1: one ledger.
pub fn carried_balances(txn: &store::ReadTxn) -> Result<Vec<u64>, store::StoreError> {
    let v2 = store::farmers::all(txn)?.into_iter().map(|f| f.carried);
    let v1 = store::farmers_v1::all(txn)?.into_iter().map(|f| f.carried);
    Ok(v2.chain(v1).collect())
}

/// `check_records` over the members' carried balances.
pub fn check_balances(
    rewards: &[RewardRecord],
    payouts: &[PayoutRecord],
    carried: impl IntoIterator<Item = u64>,
) -> Result<Ledger, LedgerMismatch> {
    let mut problems = Vec::new();
    let mut l = Ledger::default();
    let mut by_payout: HashMap<u64, (u128, BTreeSet<[u8; 32]>)> = HashMap::new();
    for r in rewards {
        match (&r.state, r.payout_id) {
            (ForwardState::Forwarded { .. }, payout) => {
                l.forwarded += u128::from(r.amount);
                match payout {
                    None => l.waiting += u128::from(r.amount),
                    Some(id) => {
                        let e = by_payout.entry(id).or_default();
                        e.0 += u128::from(r.amount);
                        e.1.insert(r.coin_id);
                    }
                }
            }
            (ForwardState::ClaimedElsewhere { .. }, _) => {
                l.claimed_elsewhere += u128::from(r.amount);
                if let Some(id) = r.payout_id {
                    problems.push(format!(
                        "reward 0x{} ({} mojo) was shared in payout {id} but was claimed elsewhere",
                        hex::encode(r.coin_id),
                        r.amount
                    ));
                }
            }
            (_, Some(id)) => problems.push(format!(
                "reward 0x{} is shared in payout {id} but was never seen forwarded",
                hex::encode(r.coin_id)
            )),
            (_, None) => {}
        }
    }
    for p in payouts {
        let (from_rewards, coins) = by_payout.remove(&p.id).unwrap_or_default();
        let listed: BTreeSet<[u8; 32]> = p.reward_coins.iter().copied().collect();
        if from_rewards != u128::from(p.rewards) || coins != listed {
            problems.push(format!(
                "payout {}: shares {} mojo of rewards but its reward coins add up to {from_rewards} (difference {})",
                p.id,
                p.rewards,
                i128::try_from(from_rewards).unwrap_or(i128::MAX) - i128::from(p.rewards)
            ));
        }
        let shares: u128 = p.lines.iter().map(|l| u128::from(l.share)).sum();
        if p.rewards > 0 && u128::from(p.fee) + shares != u128::from(p.rewards) {
            problems.push(format!(
                "payout {}: fee {} + shares {shares} != rewards {} (difference {})",
                p.id,
                p.fee,
                p.rewards,
                signed(u128::from(p.fee) + shares, u128::from(p.rewards))
            ));
        }
        let lines_paid: u128 = p.lines.iter().map(|l| u128::from(l.paid)).sum();
        let fee_sent = if p.fee_puzzle_hash.is_some() {
            u128::from(p.fee)
        } else {
            0
        };
        let outputs: u128 = p.batches.iter().map(|b| u128::from(b.total())).sum();
        if outputs != lines_paid + fee_sent {
            problems.push(format!(
                "payout {}: its transactions pay {outputs} mojo but its lines say {lines_paid} paid + {fee_sent} fee sent (difference {})",
                p.id,
                signed(outputs, lines_paid + fee_sent)
            ));
        }
        l.fee += u128::from(p.fee);
        // The payees' part of each batch: a batch holding the fee output pays the rest to payees.
        let mut fee_left = fee_sent;
        for b in &p.batches {
            let fee_here = match p.fee_puzzle_hash {
                Some(ph) => b
                    .additions
                    .iter()
                    .filter(|(o, _)| *o == ph)
                    .map(|(_, a)| u128::from(*a))
                    .sum::<u128>()
                    .min(fee_left),
                None => 0,
            };
            fee_left -= fee_here;
            let payees = u128::from(b.total()) - fee_here.min(u128::from(b.total()));
            if matches!(b.state, BatchState::Confirmed { .. }) {
                l.paid += payees;
            } else {
                l.in_flight += payees;
            }
        }
    }
    for (id, (amount, _)) in by_payout {
        problems.push(format!(
            "{amount} mojo of rewards are marked shared in payout {id}, which does not exist"
        ));
    }
    l.carried = carried.into_iter().map(u128::from).sum();
    let accounted = l.waiting + l.fee + l.paid + l.in_flight + l.carried;
    if accounted != l.forwarded {
        problems.push(format!(
            "{l}: off by {} mojo",
            signed(accounted, l.forwarded)
        ));
    }
    if problems.is_empty() {
        Ok(l)
    } else {
        Err(LedgerMismatch { problems })
    }
}

fn signed(a: u128, b: u128) -> i128 {
    i128::try_from(a).unwrap_or(i128::MAX) - i128::try_from(b).unwrap_or(i128::MAX)
}

/// Which confirmed payouts the chain check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The latest `n` payouts (after each payout run).
    Latest(usize),
    /// Every payout (`chia-pool rewards --verify`).
    All,
}

/// The whole check: the records, then the chain for confirmed payout transactions in `scope`.
pub async fn check(
    store: &Store,
    chain: &ChainClient,
    scope: Scope,
) -> Result<Ledger, RewardsError> {
    let (rewards, payouts, carried) = {
        let txn = store.read()?;
        (
            store::rewards::all(&txn)?,
            store::payouts::all(&txn)?,
            carried_balances(&txn)?,
        )
    };
    let mut ledger = check_balances(&rewards, &payouts, carried)?;
    let skip = match scope {
        Scope::All => 0,
        Scope::Latest(n) => payouts.len().saturating_sub(n),
    };
    let mut expected: Vec<(u64, [u8; 32], Bytes32)> = Vec::new();
    for p in payouts.iter().skip(skip) {
        for b in &p.batches {
            if let BatchState::Confirmed {
                tx_name, outputs, ..
            } = &b.state
            {
                if outputs.len() != b.additions.len() {
                    return Err(LedgerMismatch {
                        problems: vec![format!(
                            "payout {}: confirmed transaction 0x{} records {} outputs for {} payees",
                            p.id,
                            hex::encode(tx_name),
                            outputs.len(),
                            b.additions.len()
                        )],
                    }
                    .into());
                }
                expected.extend(outputs.iter().map(|o| (p.id, *tx_name, Bytes32::new(*o))));
            }
        }
    }
    if expected.is_empty() {
        return Ok(ledger);
    }
    let ids: Vec<Bytes32> = expected.iter().map(|e| e.2).collect();
    let found: BTreeSet<Bytes32> = chain
        .coin_records_by_names(&ids, CoinQuery::all())
        .await?
        .into_iter()
        .map(|r| r.coin.coin_id())
        .collect();
    let missing: Vec<String> = expected
        .iter()
        .filter(|e| !found.contains(&e.2))
        .map(|(id, tx, coin)| {
            format!(
                "payout {id}: transaction 0x{} is recorded as confirmed but its output 0x{} is not on chain",
                hex::encode(tx),
                hex::encode(coin)
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(LedgerMismatch { problems: missing }.into());
    }
    ledger.outputs_on_chain = found.len();
    Ok(ledger)
}
