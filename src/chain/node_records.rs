//! The node's answers as the pool reads them: record types and their JSON parsers
//! (shapes of chia-blockchain 2.7.5). `node.rs` names the endpoints that return them.

use chia_protocol::{Bytes32, ChallengeChainSubSlot, Coin, CoinRecord, VDFInfo};
use chia_traits::Streamable;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::json::{
    challenge_chain_sub_slot_from_json, coin_from_json, coin_record_from_json, f64_field, field,
    list, object, optional, optional_list, u128_field, vdf_info_from_json, Object,
};
use crate::chia::wire::{FieldError, WireValue};

/// Hashes per coin-record request: 10 000 × 69 bytes of JSON ≈ 690 KB, well under the node's 1 MiB limit.
pub const COIN_QUERY_CHUNK: usize = 10_000;

/// What `get_blockchain_state` says.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockchainState {
    pub peak: Option<BlockInfo>,
    pub synced: bool,
    pub sync_mode: bool,
    pub sync_tip_height: u32,
    pub sync_progress_height: u32,
    pub difficulty: u64,
    pub sub_slot_iters: u64,
    pub space: u128,
    pub mempool_size: u64,
    pub genesis_challenge_initialized: bool,
}

/// The parts of a node `BlockRecord` the pool reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    pub header_hash: Bytes32,
    pub prev_hash: Bytes32,
    pub height: u32,
    pub weight: u128,
    pub total_iters: u128,
    pub signage_point_index: u8,
    pub sub_slot_iters: u64,
    pub deficit: u8,
    pub overflow: bool,
    pub farmer_puzzle_hash: Bytes32,
    pub pool_puzzle_hash: Bytes32,
    /// Present only on transaction blocks.
    pub timestamp: Option<u64>,
    /// For a transaction block: the previous transaction block's height.
    pub prev_transaction_block_height: u32,
    pub prev_transaction_block_hash: Option<Bytes32>,
    pub fees: Option<u64>,
    pub reward_claims_incorporated: Option<Vec<Coin>>,
    pub finished_challenge_slot_hashes: Option<Vec<Bytes32>>,
    /// Iterations the proof needed (with the signage point index, where in its sub-slot the block was infused).
    pub required_iters: u64,
    /// The reward chain challenge this block starts: signage points after it (in its sub-slot) use it.
    pub reward_infusion_new_challenge: Bytes32,
    /// Reward chain hashes of the sub-slots finished since the previous block (oldest first).
    pub finished_reward_slot_hashes: Option<Vec<Bytes32>>,
}

impl BlockInfo {
    pub fn is_transaction_block(&self) -> bool {
        self.timestamp.is_some()
    }

    /// Height of the latest transaction block at or below this block, as the farmer computes it
    /// (pool-protocol §8.2.3): this block's own height if it is a transaction block.
    pub fn last_tx_height(&self) -> u32 {
        if self.is_transaction_block() {
            self.height
        } else {
            self.prev_transaction_block_height
        }
    }

    pub(crate) fn from_json(value: &Value, p: &str) -> Result<Self, FieldError> {
        let o = crate::chia::wire::expect_object(value, p)?;
        Ok(Self {
            header_hash: field(o, p, "header_hash")?,
            prev_hash: field(o, p, "prev_hash")?,
            height: field(o, p, "height")?,
            weight: u128_field(o, p, "weight")?,
            total_iters: u128_field(o, p, "total_iters")?,
            signage_point_index: field(o, p, "signage_point_index")?,
            sub_slot_iters: field(o, p, "sub_slot_iters")?,
            deficit: field(o, p, "deficit")?,
            overflow: field(o, p, "overflow")?,
            farmer_puzzle_hash: field(o, p, "farmer_puzzle_hash")?,
            pool_puzzle_hash: field(o, p, "pool_puzzle_hash")?,
            timestamp: optional(o, p, "timestamp")?,
            prev_transaction_block_height: field(o, p, "prev_transaction_block_height")?,
            prev_transaction_block_hash: optional(o, p, "prev_transaction_block_hash")?,
            fees: optional(o, p, "fees")?,
            reward_claims_incorporated: optional_list(
                o,
                p,
                "reward_claims_incorporated",
                coin_from_json,
            )?,
            finished_challenge_slot_hashes: optional_list(
                o,
                p,
                "finished_challenge_slot_hashes",
                Bytes32::from_json,
            )?,
            required_iters: field(o, p, "required_iters")?,
            reward_infusion_new_challenge: field(o, p, "reward_infusion_new_challenge")?,
            finished_reward_slot_hashes: optional_list(
                o,
                p,
                "finished_reward_slot_hashes",
                Bytes32::from_json,
            )?,
        })
    }
}

impl BlockchainState {
    pub(super) fn from_answer(answer: &Object) -> Result<Self, FieldError> {
        let state = object(answer, "", "blockchain_state")?;
        let p = "blockchain_state";
        let sync = object(state, p, "sync")?;
        let sp = "blockchain_state.sync";
        let peak = match state.get("peak") {
            None | Some(Value::Null) => None,
            Some(v) => Some(BlockInfo::from_json(v, "blockchain_state.peak")?),
        };
        Ok(Self {
            peak,
            synced: field(sync, sp, "synced")?,
            sync_mode: field(sync, sp, "sync_mode")?,
            sync_tip_height: optional(sync, sp, "sync_tip_height")?.unwrap_or(0),
            sync_progress_height: optional(sync, sp, "sync_progress_height")?.unwrap_or(0),
            difficulty: field(state, p, "difficulty")?,
            sub_slot_iters: field(state, p, "sub_slot_iters")?,
            space: u128_field(state, p, "space")?,
            mempool_size: optional(state, p, "mempool_size")?.unwrap_or(0),
            genesis_challenge_initialized: optional(state, p, "genesis_challenge_initialized")?
                .unwrap_or(true),
        })
    }
}

/// `get_network_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInfo {
    pub network_name: String,
    /// Address prefix: `xch` on mainnet, `txch` on testnets.
    pub network_prefix: String,
    pub genesis_challenge: Bytes32,
}

/// Options shared by the coin record queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CoinQuery {
    pub include_spent_coins: bool,
    pub start_height: Option<u32>,
    pub end_height: Option<u32>,
}

impl CoinQuery {
    pub fn unspent() -> Self {
        Self::default()
    }

    pub fn all() -> Self {
        Self {
            include_spent_coins: true,
            ..Self::default()
        }
    }

    pub(super) fn body(&self, key: &str, values: Value) -> Value {
        let mut body = Map::new();
        body.insert(key.to_string(), values);
        body.insert(
            "include_spent_coins".into(),
            self.include_spent_coins.into(),
        );
        if let Some(h) = self.start_height {
            body.insert("start_height".into(), h.into());
        }
        if let Some(h) = self.end_height {
            body.insert("end_height".into(), h.into());
        }
        Value::Object(body)
    }
}

/// Outcome of an accepted `push_tx`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushTxStatus {
    /// In the mempool (also when it already was).
    Success,
    /// Waiting for a time lock or conflict resolution.
    Pending,
    Other(String),
}

/// A signage point as the node cached it (`get_recent_signage_point_or_eos` by `sp_hash`).
#[derive(Debug, Clone, PartialEq)]
pub struct SignagePointRecord {
    pub sp_hash: Bytes32,
    pub cc_vdf: VDFInfo,
    /// The reward chain challenge it follows (the last block infused before it, or its sub-slot's start), as
    /// the node last received it.
    pub rc_challenge: Bytes32,
    /// Node clock, unix seconds.
    pub time_received: f64,
    pub reverted: bool,
}

/// An end of sub-slot as the node cached it (by `challenge_hash` = hash of its challenge chain sub-slot).
#[derive(Debug, Clone, PartialEq)]
pub struct EndOfSlotRecord {
    pub challenge_hash: Bytes32,
    pub challenge_chain: ChallengeChainSubSlot,
    pub time_received: f64,
    pub reverted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdditionsAndRemovals {
    pub additions: Vec<CoinRecord>,
    pub removals: Vec<CoinRecord>,
}

pub(super) fn hex(hash: &Bytes32) -> Value {
    hash.to_json()
}

pub(super) fn coin_records(answer: Object) -> Result<Vec<CoinRecord>, FieldError> {
    list(&answer, "", "coin_records", coin_record_from_json)
}

pub(super) fn block_record(answer: Object) -> Result<BlockInfo, FieldError> {
    let record = answer.get("block_record").unwrap_or(&Value::Null);
    BlockInfo::from_json(record, "block_record")
}

pub(super) fn signage_point_record(a: Object) -> Result<SignagePointRecord, FieldError> {
    let sp = object(&a, "", "signage_point")?;
    let cc_vdf = vdf_info_from_json(
        sp.get("cc_vdf").unwrap_or(&Value::Null),
        "signage_point.cc_vdf",
    )?;
    let rc_vdf = vdf_info_from_json(
        sp.get("rc_vdf").unwrap_or(&Value::Null),
        "signage_point.rc_vdf",
    )?;
    Ok(SignagePointRecord {
        // The node keys signage points by the hash of the VDF output.
        sp_hash: Bytes32::new(Sha256::digest(cc_vdf.output.data).into()),
        cc_vdf,
        rc_challenge: rc_vdf.challenge,
        time_received: f64_field(&a, "", "time_received")?,
        reverted: field(&a, "", "reverted")?,
    })
}

pub(super) fn end_of_slot_record(a: Object) -> Result<EndOfSlotRecord, FieldError> {
    let eos = object(&a, "", "eos")?;
    let challenge_chain = challenge_chain_sub_slot_from_json(
        eos.get("challenge_chain").unwrap_or(&Value::Null),
        "eos.challenge_chain",
    )?;
    Ok(EndOfSlotRecord {
        challenge_hash: Bytes32::new(challenge_chain.hash()),
        challenge_chain,
        time_received: f64_field(&a, "", "time_received")?,
        reverted: field(&a, "", "reverted")?,
    })
}

pub(super) fn push_tx_status(a: Object) -> Result<PushTxStatus, FieldError> {
    let status: String = field(&a, "", "status")?;
    Ok(match status.as_str() {
        "SUCCESS" => PushTxStatus::Success,
        "PENDING" => PushTxStatus::Pending,
        _ => PushTxStatus::Other(status),
    })
}

pub(crate) fn network_info_from_answer(a: &Object) -> Result<NetworkInfo, FieldError> {
    Ok(NetworkInfo {
        network_name: field(a, "", "network_name")?,
        network_prefix: field(a, "", "network_prefix")?,
        genesis_challenge: field(a, "", "genesis_challenge")?,
    })
}
