//! Pool reward coins found at members' RewardPuzzle hashes and where their forwarding stands.

use bincode::{Decode, Encode};
use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use super::records::{decode, decode_all, encode};
use super::StoreError;

/// reward coin id → reward.
pub(super) const REWARDS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("rewards");

/// Where a reward's forward to the pool's puzzle hash stands.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum ForwardState {
    /// Found and buried deep enough; not forwarded yet (or the last attempt failed and will be rebuilt).
    Found,
    /// A forward bundle was accepted by the node's mempool at this peak height.
    Submitted {
        bundle_name: [u8; 32],
        at_height: u32,
    },
    /// The reward coin's spend at this height created a coin of the whole reward at the pool's puzzle hash:
    /// the pool received it.
    Forwarded { spent_height: u32 },
    /// The reward coin was spent at this height without paying the pool the whole reward (a member that left
    /// claimed it, or a reorg replaced the forward): never pool income, never paid out. `destinations` are
    /// the spend's children (puzzle hash, mojo) as far as the chain shows them.
    ClaimedElsewhere {
        spent_height: u32,
        destinations: Vec<([u8; 32], u64)>,
    },
}

impl ForwardState {
    /// The height the reward coin was spent at, once it was.
    pub fn spent_height(&self) -> Option<u32> {
        match self {
            ForwardState::Forwarded { spent_height }
            | ForwardState::ClaimedElsewhere { spent_height, .. } => Some(*spent_height),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct RewardRecord {
    pub coin_id: [u8; 32],
    pub parent_coin_id: [u8; 32],
    pub puzzle_hash: [u8; 32],
    pub amount: u64,
    pub launcher_id: [u8; 32],
    pub confirmed_height: u32,
    pub state: ForwardState,
    /// Forward attempts the node refused (for the operator's view).
    pub failed_attempts: u32,
    /// The payout this forwarded reward was shared in, once it was.
    pub payout_id: Option<u64>,
}

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(REWARDS)?;
    Ok(())
}

/// Stores a newly found reward; a reward already known keeps its state. Returns whether it was new.
pub fn insert_if_absent(txn: &WriteTransaction, reward: &RewardRecord) -> Result<bool, StoreError> {
    let mut table = txn.open_table(REWARDS)?;
    if table.get(&reward.coin_id)?.is_some() {
        return Ok(false);
    }
    let bytes = encode(reward)?;
    table.insert(&reward.coin_id, bytes.as_slice())?;
    Ok(true)
}

pub fn put(txn: &WriteTransaction, reward: &RewardRecord) -> Result<(), StoreError> {
    let bytes = encode(reward)?;
    txn.open_table(REWARDS)?
        .insert(&reward.coin_id, bytes.as_slice())?;
    Ok(())
}

pub fn get_for_update(
    txn: &WriteTransaction,
    coin_id: &[u8; 32],
) -> Result<Option<RewardRecord>, StoreError> {
    let table = txn.open_table(REWARDS)?;
    let row = table.get(coin_id)?;
    row.map(|v| decode(v.value())).transpose()
}

/// Every reward, in coin id order.
pub fn all(txn: &ReadTransaction) -> Result<Vec<RewardRecord>, StoreError> {
    let table = txn.open_table(REWARDS)?;
    decode_all(&table)
}

/// Every reward, read inside a write transaction.
pub fn all_for_update(txn: &WriteTransaction) -> Result<Vec<RewardRecord>, StoreError> {
    let table = txn.open_table(REWARDS)?;
    decode_all(&table)
}
