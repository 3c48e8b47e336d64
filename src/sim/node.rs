//! The fake full node's chain and its RPC answers (the JSON shapes of chia-blockchain 2.7.5).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::server::{Handler, RpcFailure};

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

    pub(super) fn block_json(&self, block: &FakeBlock) -> Value {
        let zero = hex32(&Bytes32::default());
        let finished = |which: usize| -> Value {
            if block.finished_slots.is_empty() {
                return Value::Null;
            }
            block
                .finished_slots
                .iter()
                .map(|(cc, rc)| Value::String(hex32(if which == 0 { cc } else { rc })))
                .collect()
        };
        let output = json!({"data": format!("0x08{}", "00".repeat(99))});
        json!({
            "header_hash": hex32(&block.header_hash),
            "prev_hash": hex32(&block.prev_hash),
            "height": block.height,
            "weight": 170_141_183_460_469_231_731_687_303_715_884_105_727u128 - u128::from(self.peak().height - block.height),
            "total_iters": block.total_iters,
            "signage_point_index": block.signage_point_index,
            "challenge_vdf_output": output,
            "infused_challenge_vdf_output": null,
            "reward_infusion_new_challenge": hex32(&block.reward_infusion_new_challenge),
            "challenge_block_info_hash": zero,
            "sub_slot_iters": block.sub_slot_iters,
            "pool_puzzle_hash": zero,
            "farmer_puzzle_hash": zero,
            "required_iters": block.required_iters,
            "deficit": 16,
            "overflow": block.overflow,
            "prev_transaction_block_height": block.prev_tx_height,
            "timestamp": block.timestamp,
            "prev_transaction_block_hash": block.timestamp.map(|_| zero.clone()),
            "fees": block.timestamp.map(|_| 0),
            "reward_claims_incorporated": block.timestamp.map(|_| Vec::<Value>::new()),
            "finished_challenge_slot_hashes": finished(0),
            "finished_infused_challenge_slot_hashes": null,
            "finished_reward_slot_hashes": finished(1),
            "sub_epoch_summary_included": null,
        })
    }

    fn blockchain_state(&self) -> Value {
        let peak = self.peak();
        json!({"blockchain_state": {
            "peak": self.block_json(peak),
            "genesis_challenge_initialized": true,
            "sync": {
                "sync_mode": !self.synced,
                "synced": self.synced,
                "sync_tip_height": if self.synced { peak.height } else { peak.height + 1000 },
                "sync_progress_height": peak.height,
            },
            "difficulty": self.difficulty,
            "sub_slot_iters": self.sub_slot_iters,
            "space": 21_000_000_000_000_000_000_000u128,
            "average_block_time": 18,
            "mempool_size": self.mempool.len(),
            "mempool_cost": 0,
            "mempool_fees": 0,
            "mempool_min_fees": {"cost_5000000": 0},
            "mempool_max_total_cost": 550_000_000_000u64,
            "block_max_cost": 11_000_000_000u64,
            "node_id": hex32(&peak.header_hash),
        }})
    }

    fn signage_point_or_eos(&self, body: &Value) -> Result<Value, RpcFailure> {
        if let Some(sp_hash) = body.get("sp_hash").and_then(parse32) {
            let Some(sp) = self.signage_points.get(&sp_hash) else {
                return Err(RpcFailure::new(
                    "SP_NOT_IN_CACHE",
                    format!("Did not find sp {} in cache", hex::encode(sp_hash)),
                ));
            };
            let rc = vdf_info_to_json(&VDFInfo::new(
                sp.rc_challenge,
                sp.cc_vdf.number_of_iterations,
                sp.cc_vdf.output,
            ));
            let reverted = self.sp_reverted_2_7_5(sp);
            let proof =
                json!({"witness_type": 0, "witness": "0x", "normalized_to_identity": false});
            return Ok(json!({
                "signage_point": {"cc_vdf": vdf_info_to_json(&sp.cc_vdf), "cc_proof": proof, "rc_vdf": rc, "rc_proof": proof},
                "time_received": sp.time_received,
                "reverted": reverted,
            }));
        }
        let challenge = body
            .get("challenge_hash")
            .and_then(parse32)
            .ok_or_else(|| RpcFailure::new("UNKNOWN", "'challenge_hash'"))?;
        let Some(eos) = self.end_of_slots.get(&challenge) else {
            return Err(RpcFailure::new(
                "EOS_NOT_IN_CACHE",
                format!("Did not find eos {} in cache", hex::encode(challenge)),
            ));
        };
        let vdf = vdf_info_to_json(&eos.challenge_chain.challenge_chain_end_of_slot_vdf);
        let proof = json!({"witness_type": 0, "witness": "0x", "normalized_to_identity": false});
        Ok(json!({
            "eos": {
                "challenge_chain": challenge_chain_sub_slot_to_json(&eos.challenge_chain),
                "infused_challenge_chain": null,
                "reward_chain": {"end_of_slot_vdf": vdf, "challenge_chain_sub_slot_hash": hex32(&challenge),
                                 "infused_challenge_chain_sub_slot_hash": null, "deficit": 16},
                "proofs": {"challenge_chain_slot_proof": proof, "infused_challenge_chain_slot_proof": null,
                           "reward_chain_slot_proof": proof},
            },
            "time_received": eos.time_received,
            "reverted": self.eos_reverted_2_7_5(eos),
        }))
    }

    fn coin_query(&self, body: &Value, matches: impl Fn(&CoinRecord) -> bool) -> Value {
        let include_spent = body
            .get("include_spent_coins")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let start = body
            .get("start_height")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let end = body
            .get("end_height")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX);
        let records: Vec<Value> = self
            .coins
            .values()
            .filter(|r| include_spent || r.spent_block_index == 0)
            .filter(|r| (start..end).contains(&u64::from(r.confirmed_block_index)))
            .filter(|r| matches(r))
            .map(coin_record_to_json)
            .collect();
        json!({"coin_records": records})
    }

    fn push_tx(&mut self, body: &Value) -> Result<Value, RpcFailure> {
        let raw = body.get("spend_bundle").cloned().unwrap_or(Value::Null);
        if !programs_have_0x(&raw) {
            return Err(RpcFailure::new(
                "UNKNOWN",
                "non-hexadecimal number found in fromhex() arg",
            ));
        }
        let bundle = spend_bundle_from_json(&raw, "spend_bundle")
            .map_err(|e| RpcFailure::new("VALIDATION_ERROR", e.to_string()))?;
        if let Some(error) = &self.push_tx_error {
            let mut failure = RpcFailure::new(
                "TRANSACTION_FAILED",
                format!(
                    "Failed to include transaction {}, error {error}",
                    bundle.name()
                ),
            );
            failure.data = json!({"error": error});
            return Err(failure);
        }
        if !self.mempool.iter().any(|b| b.name() == bundle.name()) {
            self.mempool.push(bundle);
        }
        Ok(json!({"status": "SUCCESS"}))
    }

    pub fn handle(&mut self, endpoint: &str, body: &Value) -> Option<Result<Value, RpcFailure>> {
        let names = |key: &str| -> Vec<Bytes32> {
            body.get(key)
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(parse32).collect())
                .unwrap_or_default()
        };
        let one = |key: &str| body.get(key).and_then(parse32).unwrap_or_default();
        Some(match endpoint {
            "get_blockchain_state" => Ok(self.blockchain_state()),
            "get_network_info" => Ok(json!({
                "network_name": self.network_name,
                "network_prefix": self.network_prefix,
                "genesis_challenge": hex::encode(self.genesis_challenge()),
            })),
            "get_constants" => Ok(json!({"constants": self.constants})),
            "get_recent_signage_point_or_eos" => self.signage_point_or_eos(body),
            "get_coin_records_by_puzzle_hashes" => {
                let wanted: std::collections::HashSet<Bytes32> =
                    names("puzzle_hashes").into_iter().collect();
                Ok(self.coin_query(body, |r| wanted.contains(&r.coin.puzzle_hash)))
            }
            "get_coin_records_by_puzzle_hash" => {
                let wanted = one("puzzle_hash");
                Ok(self.coin_query(body, |r| r.coin.puzzle_hash == wanted))
            }
            "get_coin_records_by_names" => {
                let wanted: std::collections::HashSet<Bytes32> =
                    names("names").into_iter().collect();
                Ok(self.coin_query(body, |r| wanted.contains(&r.coin.coin_id())))
            }
            "get_coin_records_by_parent_ids" => {
                let wanted: std::collections::HashSet<Bytes32> =
                    names("parent_ids").into_iter().collect();
                Ok(self.coin_query(body, |r| wanted.contains(&r.coin.parent_coin_info)))
            }
            "get_coin_records_by_hint" => {
                let hint = one("hint");
                let ids: Vec<Bytes32> = self
                    .hints
                    .iter()
                    .filter(|(h, _)| *h == hint)
                    .map(|(_, id)| *id)
                    .collect();
                Ok(self.coin_query(body, |r| ids.contains(&r.coin.coin_id())))
            }
            "get_coin_record_by_name" => {
                let name = one("name");
                match self.coins.get(&name) {
                    Some(r) => Ok(json!({"coin_record": coin_record_to_json(r)})),
                    None => Err(RpcFailure::new(
                        "COIN_RECORD_NOT_FOUND",
                        format!("Coin record 0x{} not found", hex::encode(name)),
                    )),
                }
            }
            "get_puzzle_and_solution" => {
                let coin_id = one("coin_id");
                let height = body.get("height").and_then(Value::as_u64).unwrap_or(0);
                match self.spends.get(&coin_id) {
                    Some((h, spend)) if u64::from(*h) == height => {
                        Ok(json!({"coin_solution": coin_spend_to_json(spend)}))
                    }
                    _ => Err(RpcFailure::new(
                        "INVALID_HEIGHT_FOR_COIN",
                        format!("Invalid height {height}. coin record"),
                    )),
                }
            }
            "push_tx" => self.push_tx(body),
            "get_block_records" => Ok(self.block_records(body)),
            "get_block_record_by_height" => {
                let height = body
                    .get("height")
                    .and_then(Value::as_u64)
                    .unwrap_or(u64::MAX);
                match self.blocks.get(height as usize) {
                    Some(b) => Ok(json!({"block_record": self.block_json(b)})),
                    None => Err(RpcFailure::new(
                        "BLOCK_HEIGHT_NOT_FOUND",
                        format!("Block height {height} not found in chain"),
                    )),
                }
            }
            "get_block_record" => {
                let hash = one("header_hash");
                match self.blocks.iter().find(|b| b.header_hash == hash) {
                    Some(b) => Ok(json!({"block_record": self.block_json(b)})),
                    None => Err(RpcFailure::new(
                        "BLOCK_DOES_NOT_EXIST",
                        format!("Block {} does not exist", hex32(&hash)),
                    )),
                }
            }
            "get_additions_and_removals" => {
                let hash = one("header_hash");
                let Some(height) = self
                    .blocks
                    .iter()
                    .find(|b| b.header_hash == hash)
                    .map(|b| b.height)
                else {
                    return Some(Err(RpcFailure::new("BLOCK_NOT_FOUND", "Block not found")));
                };
                let additions: Vec<Value> = self
                    .coins
                    .values()
                    .filter(|r| r.confirmed_block_index == height)
                    .map(coin_record_to_json)
                    .collect();
                let removals: Vec<Value> = self
                    .coins
                    .values()
                    .filter(|r| r.spent_block_index == height)
                    .map(coin_record_to_json)
                    .collect();
                Ok(json!({"additions": additions, "removals": removals}))
            }
            _ => return None,
        })
    }
}

impl Default for NodeState {
    fn default() -> Self {
        Self::new()
    }
}

/// A coin from its JSON (`parent_coin_info`, `puzzle_hash`, `amount`).
pub fn coin_from_json(value: &Value) -> Option<Coin> {
    Some(Coin::new(
        parse32(value.get("parent_coin_info")?)?,
        parse32(value.get("puzzle_hash")?)?,
        value.get("amount")?.as_u64()?,
    ))
}

/// Hex with or without `0x`, as the node's handlers accept.
pub fn parse32(value: &Value) -> Option<Bytes32> {
    value
        .as_str()
        .and_then(|s| decode_hex_array::<32>(s).ok())
        .map(Bytes32::new)
}

/// chia_rs requires `0x` on every byte field of a spend bundle except the signature.
fn programs_have_0x(bundle: &Value) -> bool {
    let Some(spends) = bundle.get("coin_spends").and_then(Value::as_array) else {
        return false;
    };
    spends.iter().all(|s| {
        ["puzzle_reveal", "solution"].iter().all(|k| {
            s.get(*k)
                .and_then(Value::as_str)
                .is_some_and(|t| t.starts_with("0x"))
        }) && ["parent_coin_info", "puzzle_hash"].iter().all(|k| {
            s["coin"]
                .get(*k)
                .and_then(Value::as_str)
                .is_some_and(|t| t.starts_with("0x"))
        })
    })
}

pub struct NodeHandler(pub Arc<Mutex<NodeState>>);

impl Handler for NodeHandler {
    fn handle(&self, endpoint: &str, body: &Value) -> Option<Result<Value, RpcFailure>> {
        // A slow `get_blockchain_state` (as a busy node's) delays only itself.
        let (state_delay, sp_delay) = {
            let node = self.0.lock().ok()?;
            (node.blockchain_state_delay, node.signage_point_delay)
        };
        match (endpoint, state_delay, sp_delay) {
            ("get_blockchain_state", Some(delay), _) => std::thread::sleep(delay),
            ("get_recent_signage_point_or_eos", _, Some(delay)) => std::thread::sleep(delay),
            _ => {}
        }
        self.0.lock().ok()?.handle(endpoint, body)
    }
}
