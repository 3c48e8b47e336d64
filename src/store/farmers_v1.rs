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
    /// Confirmed points not yet paid out: they share the same payouts as v2 members' points.
    pub points: u64,
    /// Mojo owed from payouts whose share stayed under the minimum payout.
    pub carried: u64,
    pub lifetime_points: u64,
}

pub fn get(
    txn: &ReadTransaction,
    launcher_id: &[u8; 32],
) -> Result<Option<FarmerV1Record>, StoreError> {
    row(&txn.open_table(FARMERS_V1)?, launcher_id)
}

/// Reads a v1 member inside a write transaction (sees the batch's earlier writes).
pub fn get_for_update(
    txn: &WriteTransaction,
    launcher_id: &[u8; 32],
) -> Result<Option<FarmerV1Record>, StoreError> {
    row(&txn.open_table(FARMERS_V1)?, launcher_id)
}

fn row(
    table: &impl ReadableTable<[u8; 32], &'static [u8]>,
    launcher_id: &[u8; 32],
) -> Result<Option<FarmerV1Record>, StoreError> {
    table
        .get(launcher_id)?
        .map(|v| decode(v.value()))
        .transpose()
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

/// Every v1 member, read inside a write transaction (sees the batch's earlier writes).
pub fn all_for_update(txn: &WriteTransaction) -> Result<Vec<FarmerV1Record>, StoreError> {
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
        farmer.carried = existing.carried;
        farmer.lifetime_points = existing.lifetime_points;
    }
    put(txn, &farmer)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{farmers, partials, PartialRecord, PartialState, Store};

    fn member(launcher: u8) -> FarmerV1Record {
        FarmerV1Record {
            launcher_id: [launcher; 32],
            owner_public_key: [1; 48],
            authentication_public_key: [2; 48],
            payout_instructions: "08".repeat(32),
            payout_puzzle_hash: [8; 32],
            difficulty: 3,
            p2_singleton_puzzle_hash: [4; 32],
            membership: Membership::Pooling,
            singleton: SingletonV1Record {
                parent_coin_id: [5; 32],
                puzzle_hash: [6; 32],
                amount: 1,
                created_height: 10,
                pool_state: vec![1, 3],
                delay_time: 604_800,
                delay_puzzle_hash: [7; 32],
            },
            joined_at: 1,
            recent_partials: Vec::new(),
            points: 0,
            carried: 0,
            lifetime_points: 0,
        }
    }

    #[test]
    fn v1_members_are_apart_from_v2_and_their_confirmed_partials_are_points() {
        let dir = std::env::temp_dir().join(format!("chia-pool-v1-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir.join("pool.redb")).unwrap();
        let first = store
            .write_blocking(|txn| register(txn, member(9)))
            .unwrap();
        let again = store
            .write_blocking(|txn| register(txn, member(9)))
            .unwrap();
        assert_eq!((first, again), (true, false), "a member registers once");

        let partial = PartialRecord {
            launcher_id: [9; 32],
            difficulty: 3,
            sp_hash: [1; 32],
            challenge_hash: [2; 32],
            end_of_sub_slot: false,
            harvester_id: [3; 32],
            plot_version: 1,
            state: PartialState::Pending,
        };
        let outcome = store
            .write_blocking(move |txn| {
                partials::record(txn, 1000, [7; 32], &partial, |d| {
                    d.recent_partials.push((1000, d.difficulty));
                    d.difficulty = 5;
                })
            })
            .unwrap();
        assert!(
            matches!(&outcome, partials::RecordOutcome::Recorded(d) if d.difficulty == 5),
            "{outcome:?}"
        );
        store
            .write_blocking(|txn| partials::settle(txn, (1000, [7; 32]), true))
            .unwrap();

        let txn = store.read().unwrap();
        let stored = get(&txn, &[9; 32]).unwrap().unwrap();
        assert_eq!(
            (stored.difficulty, stored.points, stored.lifetime_points),
            (5, 3, 3)
        );
        assert_eq!(stored.recent_partials, vec![(1000, 3)]);
        assert!(
            farmers::all(&txn).unwrap().is_empty(),
            "v2 jobs never see v1 members"
        );
        drop(txn);
        store.close();
        // Backups carry the v1 table.
        let copy = dir.join("copy.redb");
        crate::store::backup::backup(&dir.join("pool.redb"), &copy).unwrap();
        let summary = crate::store::backup::check_file(&copy).unwrap();
        assert_eq!(summary.farmers, 1, "{summary:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
