//! The farmers table: one row per registered PlotNFT launcher.

use redb::{
    ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction,
};

use super::records::{decode, decode_all, encode, FarmerRecord};
use super::StoreError;

pub(super) const FARMERS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("farmers");

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(FARMERS)?;
    Ok(())
}

pub fn get(
    txn: &ReadTransaction,
    launcher_id: &[u8; 32],
) -> Result<Option<FarmerRecord>, StoreError> {
    let table = txn.open_table(FARMERS)?;
    let row = table.get(launcher_id)?;
    row.map(|v| decode(v.value())).transpose()
}

/// Reads a farmer inside a write transaction (sees the batch's earlier writes).
pub fn get_for_update(
    txn: &WriteTransaction,
    launcher_id: &[u8; 32],
) -> Result<Option<FarmerRecord>, StoreError> {
    let table = txn.open_table(FARMERS)?;
    let row = table.get(launcher_id)?;
    row.map(|v| decode(v.value())).transpose()
}

pub fn put(txn: &WriteTransaction, farmer: &FarmerRecord) -> Result<(), StoreError> {
    let bytes = encode(farmer)?;
    let mut table = txn.open_table(FARMERS)?;
    table.insert(&farmer.launcher_id, bytes.as_slice())?;
    Ok(())
}

/// Every farmer, in launcher id order.
pub fn all(txn: &ReadTransaction) -> Result<Vec<FarmerRecord>, StoreError> {
    let table = txn.open_table(FARMERS)?;
    decode_all(&table)
}

pub fn count(txn: &ReadTransaction) -> Result<u64, StoreError> {
    let table = txn.open_table(FARMERS)?;
    Ok(table.len()?)
}

/// Every farmer, read inside a write transaction (sees the batch's earlier writes).
pub fn all_for_update(txn: &WriteTransaction) -> Result<Vec<FarmerRecord>, StoreError> {
    let table = txn.open_table(FARMERS)?;
    decode_all(&table)
}

/// (launcher id ‖ change time in unix ms, big-endian) → payout instruction change: a farmer's history stays
/// together and in time order.
pub(super) const PAYOUT_CHANGES: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("payout_changes");

/// A change of a farmer's payout instructions (a stolen token could redirect payouts: the trail shows it).
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct PayoutChange {
    pub launcher_id: [u8; 32],
    pub old_puzzle_hash: [u8; 32],
    pub new_puzzle_hash: [u8; 32],
    /// Unix milliseconds.
    pub at_ms: u64,
}

pub(super) fn create_change_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(PAYOUT_CHANGES)?;
    Ok(())
}

pub fn record_payout_change(
    txn: &WriteTransaction,
    change: &PayoutChange,
) -> Result<(), StoreError> {
    let mut table = txn.open_table(PAYOUT_CHANGES)?;
    let mut key = change.launcher_id.to_vec();
    key.extend_from_slice(&change.at_ms.to_be_bytes());
    // Two changes in the same millisecond keep both: the later one takes the next free key.
    while table.get(key.as_slice())?.is_some() {
        let at = u64::from_be_bytes(key[32..40].try_into().unwrap_or_default()).saturating_add(1);
        key.truncate(32);
        key.extend_from_slice(&at.to_be_bytes());
    }
    let bytes = encode(change)?;
    table.insert(key.as_slice(), bytes.as_slice())?;
    Ok(())
}

/// Every payout instruction change, grouped by farmer, oldest first.
pub fn payout_changes(txn: &ReadTransaction) -> Result<Vec<PayoutChange>, StoreError> {
    let table = txn.open_table(PAYOUT_CHANGES)?;
    decode_all(&table)
}

/// What `register` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// A new member, or one coming back: stored.
    Stored(Box<FarmerRecord>),
    /// The launcher is already a member: nothing changed.
    AlreadyKnown,
}

/// Stores a registration unless the launcher is already a member, deciding inside the write transaction so that
/// of concurrent registrations exactly one wins. A farmer coming back (it had left) keeps the points it earned
/// and has not been paid yet.
pub fn register(
    txn: &WriteTransaction,
    mut farmer: FarmerRecord,
) -> Result<Registered, StoreError> {
    if let Some(existing) = get_for_update(txn, &farmer.launcher_id)? {
        if existing.membership != super::Membership::Left {
            return Ok(Registered::AlreadyKnown);
        }
        farmer.points = existing.points;
        farmer.carried = existing.carried;
        farmer.lifetime_points = existing.lifetime_points;
    }
    put(txn, &farmer)?;
    Ok(Registered::Stored(Box::new(farmer)))
}
