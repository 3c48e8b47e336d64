//! The rows the store keeps, encoded with bincode. Fields are plain bytes and integers so that the encoding is
//! stable and independent of crate versions.

use bincode::{Decode, Encode};

use super::StoreError;

/// Where a member's PlotNFT stands with respect to this pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum Membership {
    /// Pooling to us: partials are credited.
    Pooling,
    /// In the waiting room, leaving: partials are not credited, pending rewards are forwarded first.
    Leaving,
    /// The PlotNFT left (self-pooling, another pool, melted) or cannot be found.
    Left,
}

/// The PlotNFT singleton as last seen on chain.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SingletonRecord {
    /// The current (latest known, unspent) singleton coin.
    pub coin_id: [u8; 32],
    pub parent_coin_id: [u8; 32],
    pub puzzle_hash: [u8; 32],
    /// Height the current coin was created at.
    pub created_height: u32,
    /// Height at which the farmer may finish leaving (waiting room coin's height + heightlock).
    pub exit_height: Option<u32>,
}

/// A registered farmer (one PlotNFT launcher).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct FarmerRecord {
    pub launcher_id: [u8; 32],
    /// The PlotNFT's synthetic key; partials are signed by it and auth by its 12381 child.
    pub authentication_public_key: [u8; 48],
    /// As the farmer sent it (returned verbatim by GET /farmer, which the farmer compares with its own).
    pub payout_instructions: String,
    /// The puzzle hash payouts go to, decoded from `payout_instructions` when they were accepted.
    pub payout_puzzle_hash: [u8; 32],
    pub difficulty: u64,
    /// The member's RewardPuzzle hash: the pool contract hash its plots commit to.
    pub reward_puzzle_hash: [u8; 32],
    pub membership: Membership,
    pub singleton: Option<SingletonRecord>,
    /// Unix seconds of registration.
    pub joined_at: u64,
    /// The newest accepted partials (unix ms, difficulty), newest last; the difficulty controller's input.
    pub recent_partials: Vec<(u64, u64)>,
    /// Confirmed points not yet paid out.
    pub points: u64,
    /// Mojo owed from payouts whose share stayed under the minimum payout.
    pub carried: u64,
    /// Confirmed points credited over the farmer's lifetime (statistics).
    pub lifetime_points: u64,
}

/// Where a partial is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum PartialState {
    /// Accepted, waiting for the confirmation delay.
    Pending,
    /// Its signage point was still on chain after the delay: its points were credited.
    Confirmed,
    /// Its signage point was reverted or vanished: no points.
    Rejected,
}

/// An accepted partial.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PartialRecord {
    pub launcher_id: [u8; 32],
    pub difficulty: u64,
    pub sp_hash: [u8; 32],
    /// The slot challenge the signage point belongs to (not the sp hash, which the reference stored here).
    pub challenge_hash: [u8; 32],
    pub end_of_sub_slot: bool,
    pub harvester_id: [u8; 32],
    pub plot_version: u8,
    pub state: PartialState,
}

const CONFIG: bincode::config::Configuration = bincode::config::standard();

pub fn encode<T: Encode>(value: &T) -> Result<Vec<u8>, StoreError> {
    bincode::encode_to_vec(value, CONFIG)
        .map_err(|e| StoreError::Corrupt(format!("encoding a row: {e}")))
}

pub fn decode<T: Decode<()>>(bytes: &[u8]) -> Result<T, StoreError> {
    let (value, used) = bincode::decode_from_slice(bytes, CONFIG)
        .map_err(|e| StoreError::Corrupt(format!("decoding a row: {e}")))?;
    if used != bytes.len() {
        return Err(StoreError::Corrupt("a row has trailing bytes".into()));
    }
    Ok(value)
}

/// Decodes every row of a table of encoded values, in key order.
pub fn decode_all<K, T>(
    table: &impl redb::ReadableTable<K, &'static [u8]>,
) -> Result<Vec<T>, StoreError>
where
    K: redb::Key + 'static,
    T: Decode<()>,
{
    let mut out = Vec::new();
    for row in table.iter()? {
        let (_, v) = row?;
        out.push(decode(v.value())?);
    }
    Ok(out)
}
