//! The payout ledger: one row per payout with its shares and its transactions, each transaction recorded
//! before the wallet is asked to send it.

use bincode::{Decode, Encode};
use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use super::records::{decode, decode_all, encode};
use super::StoreError;

/// payout id (1, 2, …) → payout.
pub(super) const PAYOUTS: TableDefinition<u64, &[u8]> = TableDefinition::new("payouts");

/// Where one payout transaction stands. It moves forward only; a crash at any point resumes from the
/// recorded state and never signs a second transaction for the same batch once one was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum BatchState {
    /// Planned; no transaction recorded yet.
    Planned,
    /// The wallet signed it (TransactionRecord JSON as the wallet returned it); maybe not sent yet.
    Signed { tx_name: [u8; 32], tx_json: String },
    /// Handed to the wallet to broadcast.
    Pushed { tx_name: [u8; 32], tx_json: String },
    /// Confirmed on chain.
    Confirmed { tx_name: [u8; 32], height: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Batch {
    /// (payee puzzle hash, mojo)
    pub additions: Vec<([u8; 32], u64)>,
    pub state: BatchState,
}

/// One farmer's line in a payout.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PayoutLine {
    pub launcher_id: [u8; 32],
    pub points: u64,
    pub share: u64,
    pub paid: u64,
    pub carried: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PayoutRecord {
    pub id: u64,
    pub created_at: u64,
    /// Forwarded rewards shared in this payout (sum of `reward_coins`' amounts).
    pub rewards: u64,
    pub fee: u64,
    pub reward_coins: Vec<[u8; 32]>,
    pub lines: Vec<PayoutLine>,
    pub batches: Vec<Batch>,
}

impl PayoutRecord {
    pub fn finished(&self) -> bool {
        self.batches
            .iter()
            .all(|b| matches!(b.state, BatchState::Confirmed { .. }))
    }
}

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(PAYOUTS)?;
    Ok(())
}

pub fn put(txn: &WriteTransaction, payout: &PayoutRecord) -> Result<(), StoreError> {
    let bytes = encode(payout)?;
    txn.open_table(PAYOUTS)?
        .insert(payout.id, bytes.as_slice())?;
    Ok(())
}

pub fn get_for_update(txn: &WriteTransaction, id: u64) -> Result<Option<PayoutRecord>, StoreError> {
    let table = txn.open_table(PAYOUTS)?;
    let row = table.get(id)?;
    row.map(|v| decode(v.value())).transpose()
}

/// The id the next payout gets.
pub fn next_id(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let table = txn.open_table(PAYOUTS)?;
    let last = table.last()?.map(|(k, _)| k.value());
    Ok(last.map_or(1, |id| id + 1))
}

/// Every payout, oldest first.
pub fn all(txn: &ReadTransaction) -> Result<Vec<PayoutRecord>, StoreError> {
    let table = txn.open_table(PAYOUTS)?;
    decode_all(&table)
}
