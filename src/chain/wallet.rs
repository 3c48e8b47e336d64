//! Wallet endpoints the pool uses (shapes of chia-blockchain 2.7.5).
//!
//! Calls that move money (`create_signed_transaction` with push, `send_transaction_multi`,
//! `push_transactions`) are never retried once the request may have reached the wallet: a second attempt
//! could pay twice. Callers reconcile with `get_transaction` instead.

use chia_protocol::{Bytes, Bytes32, Coin, SpendBundle};
use serde_json::{json, Value};

use super::endpoint::Endpoint;
use super::error::ChainError;
use super::json::{
    bundle_body, coin_from_json, field, list, optional, spend_bundle_from_json, u128_field, Object,
};
use super::node::{network_info_from_answer, NetworkInfo};
use super::ChainClient;
use crate::chia::wire::{expect_object, FieldError, WireValue};

/// `get_sync_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletSyncStatus {
    pub synced: bool,
    pub syncing: bool,
    pub genesis_initialized: bool,
}

/// `get_wallet_balance` (mojos).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletBalance {
    pub wallet_id: u32,
    pub confirmed: u128,
    pub unconfirmed: u128,
    pub spendable: u128,
    pub pending_change: u128,
    pub max_send_amount: u128,
    pub unspent_coin_count: u32,
    pub pending_coin_removal_count: u32,
    pub fingerprint: Option<u32>,
}

/// One payment: `memos` are UTF-8 texts (the wallet turns each into the bytes of the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addition {
    pub puzzle_hash: Bytes32,
    pub amount: u64,
    pub memos: Vec<String>,
}

/// A transaction to build from the wallet's coins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRequest {
    pub additions: Vec<Addition>,
    pub fee: u64,
    /// 1 = the main XCH wallet.
    pub wallet_id: u32,
    /// Coins the wallet must not spend (e.g. ones already used by a pending payout).
    pub excluded_coin_ids: Vec<Bytes32>,
}

impl TransactionRequest {
    pub fn new(additions: Vec<Addition>, fee: u64) -> Self {
        Self {
            additions,
            fee,
            wallet_id: 1,
            excluded_coin_ids: Vec::new(),
        }
    }

    fn body(&self, push: bool) -> Value {
        let additions: Vec<Value> = self
            .additions
            .iter()
            .map(|a| {
                json!({
                    "amount": a.amount,
                    "puzzle_hash": a.puzzle_hash.to_json(),
                    "memos": if a.memos.is_empty() { Value::Null } else { json!(a.memos) },
                })
            })
            .collect();
        json!({
            "additions": additions,
            "fee": self.fee,
            "wallet_id": self.wallet_id,
            "push": push,
            "excluded_coin_ids": self.excluded_coin_ids.iter().map(WireValue::to_json).collect::<Vec<_>>(),
        })
    }
}

/// One peer's verdict on a sent transaction: status 1 SUCCESS, 2 PENDING, 3 FAILED (with the error name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentTo {
    pub peer: String,
    pub status: u8,
    pub error: Option<String>,
}

/// The parts of a wallet `TransactionRecord` the pool reads.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionInfo {
    /// The transaction id (the spend bundle's name).
    pub name: Bytes32,
    pub confirmed: bool,
    pub confirmed_at_height: u32,
    pub created_at_time: u64,
    pub to_puzzle_hash: Bytes32,
    pub amount: u64,
    pub fee_amount: u64,
    pub sent: u32,
    pub sent_to: Vec<SentTo>,
    pub additions: Vec<Coin>,
    pub removals: Vec<Coin>,
    pub wallet_id: u32,
    pub tx_type: u32,
    pub spend_bundle: Option<SpendBundle>,
    /// Created coin id → its memos.
    pub memos: Vec<(Bytes32, Vec<Bytes>)>,
}

impl TransactionInfo {
    pub fn from_json(value: &Value, p: &str) -> Result<Self, FieldError> {
        let o = expect_object(value, p)?;
        let sent_to = list(o, p, "sent_to", |v, p| {
            let items = v
                .as_array()
                .ok_or_else(|| FieldError::new(p, "must be [peer, status, error]"))?;
            let peer = items
                .first()
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let status = items
                .get(1)
                .and_then(Value::as_u64)
                .and_then(|s| u8::try_from(s).ok())
                .ok_or_else(|| FieldError::new(p, "status must be a small number"))?;
            let error = items.get(2).and_then(Value::as_str).map(str::to_string);
            Ok(SentTo {
                peer,
                status,
                error,
            })
        })?;
        let memos = match o.get("memos") {
            Some(Value::Object(map)) => map
                .iter()
                .map(|(coin, memos)| {
                    let mp = format!("{p}.memos.{coin}");
                    let id = Bytes32::from_json(&Value::String(coin.clone()), &mp)?;
                    let list = memos
                        .as_array()
                        .ok_or_else(|| FieldError::new(&mp, "must be a list"))?
                        .iter()
                        .map(|m| Bytes::from_json(m, &mp))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((id, list))
                })
                .collect::<Result<Vec<_>, FieldError>>()?,
            _ => Vec::new(),
        };
        let spend_bundle = match o.get("spend_bundle") {
            None | Some(Value::Null) => None,
            Some(v) => Some(spend_bundle_from_json(v, &format!("{p}.spend_bundle"))?),
        };
        Ok(Self {
            name: field(o, p, "name")?,
            confirmed: field(o, p, "confirmed")?,
            confirmed_at_height: field(o, p, "confirmed_at_height")?,
            created_at_time: field(o, p, "created_at_time")?,
            to_puzzle_hash: field(o, p, "to_puzzle_hash")?,
            amount: field(o, p, "amount")?,
            fee_amount: field(o, p, "fee_amount")?,
            sent: field(o, p, "sent")?,
            sent_to,
            additions: list(o, p, "additions", coin_from_json)?,
            removals: list(o, p, "removals", coin_from_json)?,
            wallet_id: field(o, p, "wallet_id")?,
            tx_type: field(o, p, "type")?,
            spend_bundle,
            memos,
        })
    }
}

fn transaction(a: Object) -> Result<TransactionInfo, FieldError> {
    TransactionInfo::from_json(a.get("transaction").unwrap_or(&Value::Null), "transaction")
}

fn wallet_balance(a: Object) -> Result<WalletBalance, FieldError> {
    let p = "wallet_balance";
    let b = super::json::object(&a, "", p)?;
    // Balances are mojos that can exceed u64 in JSON; counts are plain integers.
    let mojos = |key| u128_field(b, p, key);
    let count = |key| field::<u32>(b, p, key);
    Ok(WalletBalance {
        wallet_id: count("wallet_id")?,
        confirmed: mojos("confirmed_wallet_balance")?,
        unconfirmed: mojos("unconfirmed_wallet_balance")?,
        spendable: mojos("spendable_balance")?,
        pending_change: mojos("pending_change")?,
        max_send_amount: mojos("max_send_amount")?,
        unspent_coin_count: count("unspent_coin_count")?,
        pending_coin_removal_count: count("pending_coin_removal_count")?,
        fingerprint: optional(b, p, "fingerprint")?,
    })
}

/// The first signed transaction: its name and its TransactionRecord JSON exactly as the wallet returned it.
fn first_signed(a: Object) -> Result<(Bytes32, Value), FieldError> {
    let tx = a
        .get("signed_txs")
        .and_then(Value::as_array)
        .and_then(|txs| txs.first())
        .cloned()
        .ok_or_else(|| FieldError::new("signed_txs", "missing or empty"))?;
    let info = TransactionInfo::from_json(&tx, "signed_txs[0]")?;
    Ok((info.name, tx))
}

// The wallet's endpoints, each described once (see endpoint.rs). `pays()` marks the calls that move money:
// they are never retried once the request may have reached the wallet.
static LOG_IN: Endpoint<u32> = Endpoint::wallet("log_in", |a| field(&a, "", "fingerprint"));
static NEXT_ADDRESS: Endpoint<String> =
    Endpoint::wallet("get_next_address", |a| field(&a, "", "address"));
static LOGGED_IN_FINGERPRINT: Endpoint<Option<u32>> =
    Endpoint::wallet("get_logged_in_fingerprint", |a| {
        optional(&a, "", "fingerprint")
    });
static SYNC_STATUS: Endpoint<WalletSyncStatus> = Endpoint::wallet("get_sync_status", |a| {
    Ok(WalletSyncStatus {
        synced: field(&a, "", "synced")?,
        syncing: field(&a, "", "syncing")?,
        genesis_initialized: optional(&a, "", "genesis_initialized")?.unwrap_or(true),
    })
});
static HEIGHT_INFO: Endpoint<u32> =
    Endpoint::wallet("get_height_info", |a| field(&a, "", "height"));
static NETWORK_INFO: Endpoint<NetworkInfo> =
    Endpoint::wallet("get_network_info", |a| network_info_from_answer(&a));
static BALANCE: Endpoint<WalletBalance> = Endpoint::wallet("get_wallet_balance", wallet_balance);
static SIGN_AND_PUSH: Endpoint<Vec<TransactionInfo>> =
    Endpoint::wallet("create_signed_transaction", |a| {
        list(&a, "", "signed_txs", TransactionInfo::from_json)
    })
    .pays();
static SIGN_ONLY: Endpoint<Vec<TransactionInfo>> =
    Endpoint::wallet("create_signed_transaction", |a| {
        list(&a, "", "signed_txs", TransactionInfo::from_json)
    });
static SIGN_FIRST: Endpoint<(Bytes32, Value)> =
    Endpoint::wallet("create_signed_transaction", first_signed);
static SEND_MULTI: Endpoint<TransactionInfo> =
    Endpoint::wallet("send_transaction_multi", transaction).pays();
static PUSH_TRANSACTIONS: Endpoint<Vec<TransactionInfo>> =
    Endpoint::wallet("push_transactions", |a| {
        list(&a, "", "transactions", TransactionInfo::from_json)
    })
    .pays();
static PUSH_TX: Endpoint<()> = Endpoint::wallet("push_tx", |_| Ok(()));
// 2.7.5 answers an unknown id with a plain message.
static TRANSACTION: Endpoint<TransactionInfo> =
    Endpoint::wallet("get_transaction", transaction).missing_when(&[], "not found");

impl ChainClient {
    /// Makes `fingerprint` the wallet's active key; returns the fingerprint the wallet reports.
    pub async fn log_in(&self, fingerprint: u32) -> Result<u32, ChainError> {
        self.ask(&LOG_IN, json!({"fingerprint": fingerprint})).await
    }

    /// The wallet's current receive address of its main XCH wallet (`new_address: false`: no new one is made).
    pub async fn current_address(&self) -> Result<String, ChainError> {
        let body = json!({"wallet_id": 1, "new_address": false});
        self.ask(&NEXT_ADDRESS, body).await
    }

    pub async fn logged_in_fingerprint(&self) -> Result<Option<u32>, ChainError> {
        self.ask(&LOGGED_IN_FINGERPRINT, json!({})).await
    }

    pub async fn wallet_sync_status(&self) -> Result<WalletSyncStatus, ChainError> {
        self.ask(&SYNC_STATUS, json!({})).await
    }

    /// The wallet's view of the chain height.
    pub async fn wallet_height(&self) -> Result<u32, ChainError> {
        self.ask(&HEIGHT_INFO, json!({})).await
    }

    pub async fn wallet_network_info(&self) -> Result<NetworkInfo, ChainError> {
        self.ask(&NETWORK_INFO, json!({})).await
    }

    pub async fn wallet_balance(&self, wallet_id: u32) -> Result<WalletBalance, ChainError> {
        self.ask(&BALANCE, json!({"wallet_id": wallet_id})).await
    }

    /// Builds and signs a transaction with all `additions` (one spend, many outputs). With `push` the wallet
    /// also records and broadcasts it; that call is not retried after it may have been sent.
    pub async fn create_signed_transaction(
        &self,
        request: &TransactionRequest,
        push: bool,
    ) -> Result<Vec<TransactionInfo>, ChainError> {
        let endpoint = if push { &SIGN_AND_PUSH } else { &SIGN_ONLY };
        self.ask(endpoint, request.body(push)).await
    }

    /// Has the wallet sign a transaction without sending it: its name and the TransactionRecord JSON exactly as
    /// the wallet returned it, so that the very same transaction can be recorded first and pushed later (again,
    /// if need be) with `push_transactions`.
    pub async fn sign_transaction(
        &self,
        request: &TransactionRequest,
    ) -> Result<(Bytes32, Value), ChainError> {
        self.ask(&SIGN_FIRST, request.body(false)).await
    }

    /// Equivalent of `create_signed_transaction` with push, answering the main transaction.
    pub async fn send_transaction_multi(
        &self,
        request: &TransactionRequest,
    ) -> Result<TransactionInfo, ChainError> {
        self.ask(&SEND_MULTI, request.body(true)).await
    }

    /// Submits ready transactions (TransactionRecord JSON objects, or hex of their bytes) through the wallet,
    /// which records and broadcasts them; with `fee > 0` the wallet adds its own fee spend.
    pub async fn push_transactions(
        &self,
        transactions_json: Vec<Value>,
        fee: u64,
    ) -> Result<Vec<TransactionInfo>, ChainError> {
        let body = json!({"transactions": transactions_json, "fee": fee, "push": true});
        self.ask(&PUSH_TRANSACTIONS, body).await
    }

    /// Broadcasts a spend bundle through the wallet's peers without recording it.
    pub async fn wallet_push_tx(&self, bundle: &SpendBundle) -> Result<(), ChainError> {
        self.ask(&PUSH_TX, bundle_body(bundle)).await
    }

    /// A transaction the wallet recorded; `None` if it has no such id.
    pub async fn get_transaction(
        &self,
        transaction_id: Bytes32,
    ) -> Result<Option<TransactionInfo>, ChainError> {
        let body = json!({"transaction_id": transaction_id.to_json()});
        self.find(&TRANSACTION, body).await
    }
}
