//! The fake wallet: keys, sync state, balance and the transactions it built or was given.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::chain::json::{coin_to_json, spend_bundle_from_json};
use chia_protocol::{Bytes32, Coin};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::node::parse32;
use super::server::{Handler, RpcFailure};

pub struct WalletState {
    pub fingerprints: Vec<u32>,
    pub logged_in: Option<u32>,
    pub synced: bool,
    pub height: u32,
    pub spendable: u64,
    pub genesis_challenge: Bytes32,
    pub network_name: String,
    /// What `get_next_address` answers (the logged-in key's receive address).
    pub address: String,
    /// Transaction records by name, as the wallet would answer them.
    pub transactions: BTreeMap<Bytes32, Value>,
    /// Transactions broadcast (pushed), in order.
    pub broadcast: Vec<Bytes32>,
    /// Every transaction the wallet built (signed), pushed or not, in order.
    pub signed: Vec<Bytes32>,
    /// Payees the wallet refuses to pay (`create_signed_transaction` fails naming them).
    pub refuse_puzzle_hashes: Vec<Bytes32>,
    /// When set, `push_transactions` fails with this message (the wallet or its peers refuse).
    pub push_error: Option<String>,
    counter: u64,
}

fn hex32(b: &Bytes32) -> String {
    format!("0x{}", hex::encode(b))
}

impl WalletState {
    pub fn new(genesis_challenge: Bytes32) -> Self {
        Self {
            fingerprints: vec![1_234_567_890],
            logged_in: Some(1_234_567_890),
            synced: true,
            height: 0,
            spendable: 10_000_000_000_000,
            genesis_challenge,
            network_name: "mainnet".into(),
            address: crate::chia::address::encode_puzzle_hash(&Bytes32::new([0x77; 32]), "xch"),
            transactions: BTreeMap::new(),
            broadcast: Vec::new(),
            signed: Vec::new(),
            refuse_puzzle_hashes: Vec::new(),
            push_error: None,
            counter: 0,
        }
    }

    /// How many unique hashes were made (saved with the wallet so that a restored one makes new ones).
    pub fn counter(&self) -> u64 {
        self.counter
    }

    pub fn set_counter(&mut self, counter: u64) {
        self.counter = counter;
    }

    fn fresh(&mut self) -> Bytes32 {
        self.counter += 1;
        Bytes32::new(
            Sha256::digest([b"fake wallet".as_slice(), &self.counter.to_be_bytes()].concat())
                .into(),
        )
    }

    /// Marks a recorded transaction confirmed at `height`.
    pub fn confirm(&mut self, name: &Bytes32, height: u32) {
        if let Some(tx) = self.transactions.get_mut(name) {
            tx["confirmed"] = json!(true);
            tx["confirmed_at_height"] = json!(height);
        }
    }

    /// Builds a TransactionRecord paying every addition from one wallet coin.
    fn build(&mut self, body: &Value) -> Result<Value, RpcFailure> {
        if self.logged_in.is_none() {
            return Err(RpcFailure::new("UNKNOWN", "No wallet is logged in"));
        }
        if !self.synced
            && !body
                .get("allow_unsynced")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        {
            return Err(RpcFailure::new(
                "UNKNOWN",
                "Wallet needs to be fully synced before making transactions.",
            ));
        }
        let additions = body
            .get("additions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if additions.is_empty() {
            return Err(RpcFailure::new(
                "VALIDATION_ERROR",
                "Must have at least one addition",
            ));
        }
        let fee = body.get("fee").and_then(Value::as_u64).unwrap_or(0);
        let mut total = 0u64;
        let parent = self.fresh();
        let removal = Coin::new(self.fresh(), self.fresh(), self.spendable);
        let mut coins = Vec::new();
        let mut memos = serde_json::Map::new();
        for addition in &additions {
            let (Some(puzzle_hash), Some(amount)) = (
                addition.get("puzzle_hash").and_then(parse32),
                addition.get("amount").and_then(Value::as_u64),
            ) else {
                return Err(RpcFailure::new("VALIDATION_ERROR", "bad addition"));
            };
            if self.refuse_puzzle_hashes.contains(&puzzle_hash) {
                return Err(RpcFailure::new(
                    "VALIDATION_ERROR",
                    format!("refusing to pay 0x{}", hex::encode(puzzle_hash)),
                ));
            }
            total += amount;
            let coin = Coin::new(parent, puzzle_hash, amount);
            if let Some(texts) = addition.get("memos").and_then(Value::as_array) {
                let hexes: Vec<Value> = texts
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|t| json!(format!("0x{}", hex::encode(t.as_bytes()))))
                    .collect();
                memos.insert(hex32(&coin.coin_id()), Value::Array(hexes));
            }
            coins.push(coin_to_json(&coin));
        }
        if total + fee > self.spendable {
            return Err(RpcFailure::new(
                "UNKNOWN",
                format!(
                    "Can't send more than {} mojos in a single transaction",
                    self.spendable
                ),
            ));
        }
        let name = self.fresh();
        self.signed.push(name);
        let first_ph = additions[0]
            .get("puzzle_hash")
            .cloned()
            .unwrap_or(Value::Null);
        let push = body.get("push").and_then(Value::as_bool).unwrap_or(false);
        let tx = json!({
            "confirmed_at_height": 0, "created_at_time": 1_700_000_000u64, "to_puzzle_hash": first_ph,
            "amount": total, "fee_amount": fee, "confirmed": false, "sent": u32::from(push),
            "spend_bundle": null, "additions": coins, "removals": [coin_to_json(&removal)],
            "wallet_id": body.get("wallet_id").cloned().unwrap_or(json!(1)),
            "sent_to": if push { json!([["peer0", 1, null]]) } else { json!([]) },
            "trade_id": null, "type": 1, "name": hex32(&name), "memos": memos,
            "valid_times": {"min_time": null, "min_height": null, "max_time": null, "max_height": null,
                            "min_secs_since_created": null, "min_blocks_since_created": null,
                            "max_secs_after_created": null, "max_blocks_after_created": null},
            "to_address": "xch1fake",
        });
        if push {
            self.spendable -= total + fee;
            self.transactions.insert(name, tx.clone());
            self.broadcast.push(name);
        }
        Ok(tx)
    }

    pub fn handle(&mut self, endpoint: &str, body: &Value) -> Option<Result<Value, RpcFailure>> {
        Some(match endpoint {
            "log_in" => {
                let fingerprint =
                    body.get("fingerprint").and_then(Value::as_u64).unwrap_or(0) as u32;
                if self.fingerprints.contains(&fingerprint) {
                    self.logged_in = Some(fingerprint);
                    Ok(json!({"fingerprint": fingerprint}))
                } else {
                    Err(RpcFailure::new(
                        "UNKNOWN",
                        format!("Unknown fingerprint {fingerprint}"),
                    ))
                }
            }
            "get_logged_in_fingerprint" => Ok(json!({"fingerprint": self.logged_in})),
            "get_sync_status" => Ok(
                json!({"synced": self.synced, "syncing": !self.synced, "genesis_initialized": true}),
            ),
            "get_height_info" => Ok(json!({"height": self.height})),
            "get_network_info" => Ok(json!({
                "network_name": self.network_name, "network_prefix": "xch",
                "genesis_challenge": hex::encode(self.genesis_challenge),
            })),
            "get_next_address" => Ok(json!({"wallet_id": 1, "address": self.address})),
            "get_wallet_balance" => Ok(json!({"wallet_balance": {
                "confirmed_wallet_balance": self.spendable, "unconfirmed_wallet_balance": self.spendable,
                "spendable_balance": self.spendable, "pending_change": 0, "max_send_amount": self.spendable,
                "unspent_coin_count": 3, "pending_coin_removal_count": 0,
                "wallet_id": body.get("wallet_id").cloned().unwrap_or(json!(1)), "wallet_type": 0,
                "fingerprint": self.logged_in, "asset_id": null, "pending_approval_balance": 0,
            }})),
            "create_signed_transaction" => self.build(body).map(|tx| {
                json!({"signed_txs": [tx.clone()], "signed_tx": tx.clone(), "transactions": [tx],
                       "unsigned_transactions": [], "sync_status": 0})
            }),
            "send_transaction_multi" => {
                let mut body = body.clone();
                body["push"] = body.get("push").cloned().unwrap_or(json!(true));
                self.build(&body).map(|tx| {
                    json!({"transaction": tx.clone(), "transaction_id": tx["name"].clone(), "transactions": [tx],
                           "unsigned_transactions": [], "sync_status": 0})
                })
            }
            "push_transactions" if self.push_error.is_some() => Err(RpcFailure::new(
                "UNKNOWN",
                self.push_error.clone().unwrap_or_default(),
            )),
            "push_transactions" => {
                let txs = body
                    .get("transactions")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for tx in &txs {
                    if let Some(name) = tx.get("name").and_then(parse32) {
                        self.transactions.insert(name, tx.clone());
                        self.broadcast.push(name);
                    }
                }
                Ok(json!({"transactions": txs, "unsigned_transactions": [], "sync_status": 0}))
            }
            "push_tx" => match spend_bundle_from_json(
                body.get("spend_bundle").unwrap_or(&Value::Null),
                "spend_bundle",
            ) {
                Ok(_) => Ok(json!({})),
                Err(e) => Err(RpcFailure::new("VALIDATION_ERROR", e.to_string())),
            },
            "get_transaction" => {
                let id = body
                    .get("transaction_id")
                    .and_then(parse32)
                    .unwrap_or_default();
                match self.transactions.get(&id) {
                    Some(tx) => Ok(json!({"transaction": tx, "transaction_id": hex32(&id)})),
                    None => Err(RpcFailure::new(
                        "UNKNOWN",
                        format!("Transaction 0x{} not found", hex::encode(id)),
                    )),
                }
            }
            _ => return None,
        })
    }
}

pub struct WalletHandler(pub Arc<Mutex<WalletState>>);

impl Handler for WalletHandler {
    fn handle(&self, endpoint: &str, body: &Value) -> Option<Result<Value, RpcFailure>> {
        self.0.lock().ok()?.handle(endpoint, body)
    }
}
