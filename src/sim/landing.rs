//! What a new block does to the simulated chain: spend bundles in the mempool are run (their CREATE_COIN
//! conditions become the block's additions, their spends are recorded for `get_puzzle_and_solution`), the
//! wallet's pending transactions confirm, and coins paid to the wallet's puzzle hash add to its balance.

use chia_protocol::{Bytes32, Coin, CoinRecord, CoinSpend};
use clvmr::serde::node_from_bytes;
use clvmr::Allocator;
use serde_json::{json, Value};

use super::node::{coin_from_json, NodeState};
use super::wallet::WalletState;
use crate::chia::conditions::{atom_u64, spend_conditions, CREATE_COIN};

/// The wallet's receive puzzle hash (what `get_next_address` answers).
pub const WALLET_PUZZLE_HASH: Bytes32 = Bytes32::new([0x77; 32]);

/// Applies the mempool and the wallet's unconfirmed transactions to the block at `height`.
pub fn land(node: &mut NodeState, wallet: &mut WalletState, height: u32) {
    let timestamp = node.peak().timestamp.unwrap_or(0);
    for bundle in std::mem::take(&mut node.mempool) {
        let spends = &bundle.coin_spends;
        let unspendable = spends.iter().any(|s| {
            node.coins
                .get(&s.coin.coin_id())
                .is_none_or(|r| r.spent_block_index > 0)
        });
        if unspendable {
            tracing::debug!("simulated mempool: dropped a bundle spending unknown or spent coins");
            continue;
        }
        let Ok(additions) = spends.iter().map(additions).collect::<Result<Vec<_>, _>>() else {
            tracing::debug!("simulated mempool: dropped a bundle whose puzzle failed");
            continue;
        };
        for (spend, children) in spends.iter().zip(additions) {
            node.spend_coin(
                spend.coin.coin_id(),
                height,
                spend.puzzle_reveal.clone(),
                spend.solution.clone(),
            );
            for coin in children {
                credit(wallet, &coin);
                node.add_coin_record(CoinRecord::new(coin, height, 0, false, timestamp));
            }
        }
    }
    let pending: Vec<(Bytes32, Value)> = wallet
        .transactions
        .iter()
        .filter(|(_, tx)| tx["confirmed"] != json!(true))
        .map(|(name, tx)| (*name, tx.clone()))
        .collect();
    for (name, tx) in pending {
        let coins = |key: &str| -> Vec<Coin> {
            tx[key]
                .as_array()
                .map(|a| a.iter().filter_map(coin_from_json).collect())
                .unwrap_or_default()
        };
        for c in coins("removals") {
            node.coins.entry(c.coin_id()).or_insert_with(|| {
                CoinRecord::new(c, height.saturating_sub(1), 0, false, timestamp)
            });
            if let Some(r) = node.coins.get_mut(&c.coin_id()) {
                r.spent_block_index = height;
            }
        }
        for c in coins("additions") {
            node.add_coin_record(CoinRecord::new(c, height, 0, false, timestamp));
        }
        wallet.confirm(&name, height);
    }
    wallet.height = height;
}

fn credit(wallet: &mut WalletState, coin: &Coin) {
    if coin.puzzle_hash == WALLET_PUZZLE_HASH {
        wallet.spendable = wallet.spendable.saturating_add(coin.amount);
    }
}

/// The coins a spend creates.
fn additions(spend: &CoinSpend) -> Result<Vec<Coin>, crate::chia::conditions::SpendError> {
    let parent = spend.coin.coin_id();
    let mut out = Vec::new();
    for condition in spend_conditions(spend)? {
        if condition.opcode != CREATE_COIN || condition.args.len() < 2 {
            continue;
        }
        let mut a = Allocator::new();
        let (Ok(ph), Ok(amount)) = (
            node_from_bytes(&mut a, &condition.args[0]),
            node_from_bytes(&mut a, &condition.args[1]),
        ) else {
            continue;
        };
        let ph = a.atom(ph);
        let (Ok(ph), Some(amount)) = (<[u8; 32]>::try_from(ph.as_ref()), atom_u64(&a, amount))
        else {
            continue;
        };
        out.push(Coin::new(parent, Bytes32::new(ph), amount));
    }
    Ok(out)
}
