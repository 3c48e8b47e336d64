//! The members who pool with a PlotNFT v1: their own table, so that the jobs written for v2 members (reward
//! forwarding, PlotNFT tracking, payouts) never meet a v1 record they would misread.

use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use super::records::{decode, decode_all, encode, Membership};
use super::StoreError;

pub(super) const FARMERS_V1: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("farmers_v1");

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(FARMERS_V1)?;
    Ok(())
}

/// The v1 singleton's current coin and the `PoolState` it is in, as last read from the chain.
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct SingletonV1Record {
    pub parent_coin_id: [u8; 32],
    pub puzzle_hash: [u8; 32],
    pub amount: u64,
    /// Height the coin was created at.
    pub created_height: u32,
    /// The `PoolState`'s Streamable bytes.
    pub pool_state: Vec<u8>,
    /// The p2_singleton's escape delay and puzzle hash (launcher extra data): fixed for the PlotNFT.
    pub delay_time: u64,
    pub delay_puzzle_hash: [u8; 32],
}

/// A registered v1 member (one PlotNFT v1 launcher).
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct FarmerV1Record {
    pub launcher_id: [u8; 32],
    /// The `PoolState`'s owner key: signs POST and PUT /farmer.
    pub owner_public_key: [u8; 48],
    /// The key the farmer registered: signs GET /farmer, login links and (with the plot key) partials.
    pub authentication_public_key: [u8; 48],
    /// As the farmer sent it (GET /farmer returns it verbatim).
    pub payout_instructions: String,
    pub payout_puzzle_hash: [u8; 32],
    pub difficulty: u64,
    /// The plots' pool contract puzzle hash, where pool rewards of this PlotNFT land.
    pub p2_singleton_puzzle_hash: [u8; 32],
    pub membership: Membership,
    pub singleton: SingletonV1Record,
    /// Unix seconds of registration.
    pub joined_at: u64,
    /// The newest accepted partials (unix ms, difficulty), newest last; the difficulty controller's input.
    pub recent_partials: Vec<(u64, u64)>,
    /// Confirmed points not yet paid out.
    pub points: u64,
    pub lifetime_points: u64,
}

pub fn get(
    txn: &ReadTransaction,
    launcher_id: &[u8; 32],
) -> Result<Option<FarmerV1Record>, StoreError> {
    let table = txn.open_table(FARMERS_V1)?;
    let row = table.get(launcher_id)?;
    row.map(|v| decode(v.value())).transpose()
}

/// Reads a v1 member inside a write transaction (sees the batch's earlier writes).
pub fn get_for_update(
    txn: &WriteTransaction,
    launcher_id: &[u8; 32],
) -> Result<Option<FarmerV1Record>, StoreError> {
    let table = txn.open_table(FARMERS_V1)?;
    let row = table.get(launcher_id)?;
    row.map(|v| decode(v.value())).transpose()
}

pub fn put(txn: &WriteTransaction, farmer: &FarmerV1Record) -> Result<(), StoreError> {
    let bytes = encode(farmer)?;
    txn.open_table(FARMERS_V1)?
        .insert(&farmer.launcher_id, bytes.as_slice())?;
    Ok(())
}

/// Every v1 member, in launcher id order.
pub fn all(txn: &ReadTransaction) -> Result<Vec<FarmerV1Record>, StoreError> {
    decode_all(&txn.open_table(FARMERS_V1)?)
}

/// Stores a registration unless the launcher is already a member, deciding inside the write transaction so
/// that of concurrent registrations exactly one wins (`true`). A member coming back keeps its unpaid points.
pub fn register(txn: &WriteTransaction, mut farmer: FarmerV1Record) -> Result<bool, StoreError> {
    if let Some(existing) = get_for_update(txn, &farmer.launcher_id)? {
        if existing.membership != Membership::Left {
            return Ok(false);
        }
        farmer.points = existing.points;
        farmer.lifetime_points = existing.lifetime_points;
    }
    put(txn, &farmer)?;
    Ok(true)
}
