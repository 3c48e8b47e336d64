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
