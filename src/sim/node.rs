//! The fake full node's chain and its RPC answers (the JSON shapes of chia-blockchain 2.7.5).

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::chain::json::{
    challenge_chain_sub_slot_to_json, coin_record_to_json, coin_spend_to_json,
    spend_bundle_from_json, vdf_info_to_json,
};
use crate::chia::constants::ConsensusConstants;
use crate::chia::wire::decode_hex_array;
use chia_protocol::{
    Bytes100, Bytes32, ChallengeChainSubSlot, ClassgroupElement, Coin, CoinRecord, CoinSpend,
    Program, SpendBundle, VDFInfo,
};
use chia_traits::Streamable;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::server::RpcFailure;

mod rpc;
pub use rpc::{coin_from_json, parse32, NodeHandler};

#[derive(Debug, Clone)]
pub struct FakeBlock {
    pub header_hash: Bytes32,
    pub prev_hash: Bytes32,
    pub height: u32,
    /// Present on transaction blocks.
    pub timestamp: Option<u64>,
    /// For a transaction block the previous transaction block; else the latest one before it.
    pub prev_tx_height: u32,
    /// Where it was infused (see `node_2_7_5` for how these make a block record).
    pub total_iters: u128,
    pub signage_point_index: u8,
    pub required_iters: u64,
    pub sub_slot_iters: u64,
    pub overflow: bool,
    pub reward_infusion_new_challenge: Bytes32,
    /// Challenge and reward chain hashes of the sub-slots finished since the previous block.
    pub finished_slots: Vec<(Bytes32, Bytes32)>,
    /// Index of the sub-slot it was infused in.
    pub slot_index: u64,
}

#[derive(Debug, Clone)]
pub struct FakeSignagePoint {
    pub cc_vdf: VDFInfo,
    /// The reward chain challenge it follows: the last block infused before it in its sub-slot, else the
    /// sub-slot's end of slot.
    pub rc_challenge: Bytes32,
    pub slot_index: u64,
    pub time_received: f64,
    /// Dropped from the node's short-term store by a reorg (the answer's `reverted` is worked out as 2.7.5
    /// does, see `node_2_7_5`).
    pub reverted: bool,
    /// Peak height when it arrived (a reorg below it reverts it).
    pub arrived_at: u32,
}

#[derive(Debug, Clone)]
pub struct FakeEndOfSlot {
    pub challenge_chain: ChallengeChainSubSlot,
    /// Its reward chain hash (what signage points of the slot it opens follow until a block is infused).
    pub reward_hash: Bytes32,
    /// Index of the sub-slot it opens.
    pub opens_slot: u64,
    pub time_received: f64,
    /// Dropped from the node's store by a reorg (see `FakeSignagePoint::reverted`).
    pub reverted: bool,
    pub arrived_at: u32,
}

/// Everything the fake node knows. Tests drive it through these methods (via `FakeChain::node_state`).
pub struct NodeState {
    pub blocks: Vec<FakeBlock>,
    pub synced: bool,
    pub sub_slot_iters: u64,
    pub difficulty: u64,
    /// Challenge of the slot new signage points go into.
    pub current_challenge: Bytes32,
    pub signage_points: HashMap<Bytes32, FakeSignagePoint>,
    pub end_of_slots: HashMap<Bytes32, FakeEndOfSlot>,
    pub coins: HashMap<Bytes32, CoinRecord>,
    pub hints: Vec<(Bytes32, Bytes32)>,
    pub spends: HashMap<Bytes32, (u32, CoinSpend)>,
    pub mempool: Vec<SpendBundle>,
    /// When set, `push_tx` fails with this mempool error name (e.g. `DOUBLE_SPEND`).
    pub push_tx_error: Option<String>,
    pub network_name: String,
    pub network_prefix: String,
    pub constants: Value,
    counter: u64,
    /// The simulated timeline (see `node_2_7_5`): total iterations at the current sub-slot's start, its index,
    /// iterations into it of the latest event, the reward chain challenge new signage points follow, the
    /// current sub-slot's own reward hash, and sub-slots finished since the last block.
    pub slot_start_iters: u128,
    pub slot_index: u64,
    pub slot_pos: u64,
    pub current_rc: Bytes32,
    pub slot_rc: Bytes32,
    pub pending_slots: Vec<(Bytes32, Bytes32)>,
    /// Each `get_blockchain_state` answer waits this long first (other endpoints are not held up).
    pub blockchain_state_delay: Option<std::time::Duration>,
    /// Each signage point or end-of-slot lookup waits this long first, so that requests overlap.
    pub signage_point_delay: Option<std::time::Duration>,
}

pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn hex32(b: &Bytes32) -> String {
    format!("0x{}", hex::encode(b))
}

impl NodeState {
    /// A synced mainnet-like node with a genesis transaction block and one open slot.
    pub fn new() -> Self {
        let built_in: Value = serde_json::from_str(ConsensusConstants::mainnet_json())
            .expect("built-in mainnet constants");
        let constants = built_in.get("constants").cloned().unwrap_or(built_in);
        let mut state = Self {
            blocks: Vec::new(),
            synced: true,
            sub_slot_iters: 37_748_736,
            difficulty: 1024,
            current_challenge: Bytes32::default(),
            signage_points: HashMap::new(),
            end_of_slots: HashMap::new(),
            coins: HashMap::new(),
            hints: Vec::new(),
            spends: HashMap::new(),
            mempool: Vec::new(),
            push_tx_error: None,
            network_name: "mainnet".into(),
            network_prefix: "xch".into(),
            constants,
            counter: 0,
            slot_start_iters: 0,
            slot_index: 0,
            slot_pos: 0,
            current_rc: Bytes32::default(),
            slot_rc: Bytes32::default(),
            pending_slots: Vec::new(),
            blockchain_state_delay: None,
            signage_point_delay: None,
        };
        state.current_challenge = state.fresh();
        state.slot_rc = state.fresh();
        state.current_rc = state.slot_rc;
        state.push_block(true, None);
        state
    }

    /// How many unique hashes were made (saved with the chain so that a restored one makes new ones).
    pub fn counter(&self) -> u64 {
        self.counter
    }

    pub fn set_counter(&mut self, counter: u64) {
        self.counter = counter;
    }

    /// A new unique hash.
    pub fn fresh(&mut self) -> Bytes32 {
        self.counter += 1;
        let mut hasher = Sha256::new();
        hasher.update(b"fake chain");
        hasher.update(self.counter.to_be_bytes());
        Bytes32::new(hasher.finalize().into())
    }

    fn fresh_output(&mut self) -> ClassgroupElement {
        let mut data = [0u8; 100];
        for chunk in data.chunks_mut(32) {
            let h = self.fresh();
            chunk.copy_from_slice(&h.as_ref()[..chunk.len()]);
        }
        ClassgroupElement::new(Bytes100::new(data))
    }

    pub fn peak(&self) -> &FakeBlock {
        self.blocks
            .last()
            .expect("the fake chain always has genesis")
    }

    pub fn genesis_challenge(&self) -> Bytes32 {
        let text = self.constants["GENESIS_CHALLENGE"]
            .as_str()
            .unwrap_or_default();
        Bytes32::new(decode_hex_array::<32>(text).expect("genesis challenge"))
    }

    /// Adds a block on top of the peak, infused after everything so far in the current sub-slot; returns its
    /// height.
    pub fn add_block(&mut self, transaction_block: bool) -> u32 {
        self.push_block(transaction_block, None)
    }

    /// Ends the current slot (optionally changing the sub-slot iterations); returns the new slot's challenge.
    pub fn new_slot(&mut self, new_sub_slot_iters: Option<u64>) -> Bytes32 {
        let output = self.fresh_output();
        let cc = ChallengeChainSubSlot::new(
            VDFInfo::new(self.current_challenge, self.sub_slot_iters, output),
            None,
            None,
            new_sub_slot_iters,
            new_sub_slot_iters.map(|_| self.difficulty),
        );
        let challenge = Bytes32::new(cc.hash());
        let reward_hash = self.fresh();
        self.slot_start_iters += u128::from(self.sub_slot_iters);
        self.slot_index += 1;
        self.slot_pos = 0;
        self.slot_rc = reward_hash;
        self.current_rc = reward_hash;
        self.pending_slots.push((challenge, reward_hash));
        self.end_of_slots.insert(
            challenge,
            FakeEndOfSlot {
                challenge_chain: cc,
                reward_hash,
                opens_slot: self.slot_index,
                time_received: now_secs(),
                reverted: false,
                arrived_at: self.peak().height,
            },
        );
        if let Some(ssi) = new_sub_slot_iters {
            self.sub_slot_iters = ssi;
        }
        self.current_challenge = challenge;
        challenge
    }

    /// A signage point of the current slot; returns its `sp_hash`.
    pub fn add_signage_point(&mut self, index: u8) -> Bytes32 {
        let output = self.fresh_output();
        let sp_hash = Bytes32::new(Sha256::digest(output.data).into());
        let iterations = u64::from(index) * (self.sub_slot_iters / 64);
        self.slot_pos = self.slot_pos.max(iterations);
        self.signage_points.insert(
            sp_hash,
            FakeSignagePoint {
                cc_vdf: VDFInfo::new(self.current_challenge, iterations, output),
                rc_challenge: self.current_rc,
                slot_index: self.slot_index,
                time_received: now_secs(),
                reverted: false,
                arrived_at: self.peak().height,
            },
        );
        sp_hash
    }

    /// Replaces the top `depth` blocks with other ones; signage points and end of slots that arrived above
    /// the fork point are reported reverted from now on.
    pub fn reorg(&mut self, depth: u32) {
        let replaced = self.rollback(depth);
        for i in 0..replaced {
            self.add_block(i % 2 == 0);
        }
    }

    /// Drops a signage point from the node's cache (as when 500 newer ones arrived).
    pub fn forget_signage_point(&mut self, sp_hash: &Bytes32) {
        self.signage_points.remove(sp_hash);
    }

    /// Creates an unspent coin confirmed at `height`.
    pub fn add_coin(&mut self, puzzle_hash: Bytes32, amount: u64, height: u32) -> CoinRecord {
        let coin = Coin::new(self.fresh(), puzzle_hash, amount);
        let record = CoinRecord::new(coin, height, 0, false, 1_700_000_000 + u64::from(height));
        self.coins.insert(coin.coin_id(), record);
        record
    }

    pub fn add_coin_record(&mut self, record: CoinRecord) {
        self.coins.insert(record.coin.coin_id(), record);
    }

    pub fn add_hint(&mut self, hint: Bytes32, coin_id: Bytes32) {
        self.hints.push((hint, coin_id));
    }

    /// Marks a coin spent at `height` with this puzzle and solution.
    pub fn spend_coin(
        &mut self,
        coin_id: Bytes32,
        height: u32,
        puzzle_reveal: Program,
        solution: Program,
    ) {
        if let Some(record) = self.coins.get_mut(&coin_id) {
            record.spent_block_index = height;
            let spend = CoinSpend::new(record.coin, puzzle_reveal, solution);
            self.spends.insert(coin_id, (height, spend));
        }
    }

    /// Spends a coin at `height` creating `children` (puzzle hash, amount), as a real spend's additions.
    pub fn spend_coin_to(&mut self, coin_id: Bytes32, height: u32, children: &[(Bytes32, u64)]) {
        self.spend_coin(coin_id, height, Program::default(), Program::default());
        for (ph, amount) in children {
            let coin = Coin::new(coin_id, *ph, *amount);
            self.add_coin_record(CoinRecord::new(
                coin,
                height,
                0,
                false,
                1_700_000_000 + u64::from(height),
            ));
        }
    }

    /// Undoes the spend of a coin and removes its children (a reorg that drops the spending block).
    pub fn unspend_coin(&mut self, coin_id: Bytes32) {
        if let Some(r) = self.coins.get_mut(&coin_id) {
            r.spent_block_index = 0;
        }
        self.spends.remove(&coin_id);
        self.coins.retain(|_, r| r.coin.parent_coin_info != coin_id);
    }
}

impl Default for NodeState {
    fn default() -> Self {
        Self::new()
    }
}
