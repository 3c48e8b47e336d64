//! The node's RPC answers: chia-blockchain 2.7.5's JSON for each endpoint the pool calls, read off the
//! simulated chain in `NodeState`, and the handler the HTTPS server calls.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::*;
use crate::sim::server::Handler;

impl NodeState {
    pub(crate) fn block_json(&self, block: &FakeBlock) -> Value {
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
