//! Full node endpoints the pool uses (shapes of chia-blockchain 2.7.5).

use std::collections::HashSet;

use chia_protocol::{Bytes32, CoinRecord, CoinSpend, SpendBundle};
use serde_json::{json, Value};

use super::endpoint::Endpoint;
use super::error::{ChainError, Service};
use super::json::{bundle_body, coin_record_from_json, coin_spend_from_json, list, Object};
pub(crate) use super::node_records::network_info_from_answer;
use super::node_records::{
    block_record, coin_records, end_of_slot_record, hex, push_tx_status, signage_point_record,
};
pub use super::node_records::{
    AdditionsAndRemovals, BlockInfo, BlockchainState, CoinQuery, EndOfSlotRecord, NetworkInfo,
    PushTxStatus, SignagePointRecord, COIN_QUERY_CHUNK,
};
use super::ChainClient;
use crate::chia::constants::ConsensusConstants;
use crate::chia::wire::FieldError;

// The node's endpoints, each described once (see endpoint.rs).
static BLOCKCHAIN_STATE: Endpoint<BlockchainState> =
    Endpoint::node("get_blockchain_state", |a| BlockchainState::from_answer(&a));
static NETWORK_INFO: Endpoint<NetworkInfo> =
    Endpoint::node("get_network_info", |a| network_info_from_answer(&a));
static CONSTANTS: Endpoint<Object> = Endpoint::node("get_constants", Ok);
static SIGNAGE_POINT: Endpoint<SignagePointRecord> =
    Endpoint::node("get_recent_signage_point_or_eos", signage_point_record)
        .missing_when(&["SP_NOT_IN_CACHE"], "in cache");
static END_OF_SLOT: Endpoint<EndOfSlotRecord> =
    Endpoint::node("get_recent_signage_point_or_eos", end_of_slot_record)
        .missing_when(&["EOS_NOT_IN_CACHE"], "in cache");
static BY_PUZZLE_HASHES: Endpoint<Vec<CoinRecord>> =
    Endpoint::node("get_coin_records_by_puzzle_hashes", coin_records);
static BY_PUZZLE_HASH: Endpoint<Vec<CoinRecord>> =
    Endpoint::node("get_coin_records_by_puzzle_hash", coin_records);
static BY_NAMES: Endpoint<Vec<CoinRecord>> =
    Endpoint::node("get_coin_records_by_names", coin_records);
static BY_PARENT_IDS: Endpoint<Vec<CoinRecord>> =
    Endpoint::node("get_coin_records_by_parent_ids", coin_records);
static BY_HINT: Endpoint<Vec<CoinRecord>> =
    Endpoint::node("get_coin_records_by_hint", coin_records);
static COIN_RECORD: Endpoint<CoinRecord> = Endpoint::node("get_coin_record_by_name", |a| {
    coin_record_from_json(a.get("coin_record").unwrap_or(&Value::Null), "coin_record")
})
.missing_when(&["COIN_RECORD_NOT_FOUND"], "not found");
static PUZZLE_AND_SOLUTION: Endpoint<CoinSpend> = Endpoint::node("get_puzzle_and_solution", |a| {
    coin_spend_from_json(
        a.get("coin_solution").unwrap_or(&Value::Null),
        "coin_solution",
    )
});
// Safe to retry: the node reports a bundle it already has as SUCCESS.
static PUSH_TX: Endpoint<PushTxStatus> = Endpoint::node("push_tx", push_tx_status);
static BLOCK_BY_HEIGHT: Endpoint<BlockInfo> =
    Endpoint::node("get_block_record_by_height", block_record).missing_when(
        &["BLOCK_HEIGHT_NOT_FOUND", "BLOCK_HASH_NOT_FOUND"],
        "not found",
    );
static BLOCK_BY_HASH: Endpoint<BlockInfo> = Endpoint::node("get_block_record", block_record)
    .missing_when(&["BLOCK_DOES_NOT_EXIST"], "does not exist");
static ADDITIONS_AND_REMOVALS: Endpoint<AdditionsAndRemovals> =
    Endpoint::node("get_additions_and_removals", |a| {
        Ok(AdditionsAndRemovals {
            additions: list(&a, "", "additions", coin_record_from_json)?,
            removals: list(&a, "", "removals", coin_record_from_json)?,
        })
    });

/// The lookups by a list of hashes, each split into as many requests as the node's 1 MiB body limit
/// needs (see `ChainClient::chunked`).
macro_rules! chunked_lookups {
    ($($(#[$doc:meta])* $method:ident => $endpoint:ident, $key:literal;)*) => {
        impl ChainClient {
            $(
                $(#[$doc])*
                pub async fn $method(
                    &self,
                    hashes: &[Bytes32],
                    query: CoinQuery,
                ) -> Result<Vec<CoinRecord>, ChainError> {
                    self.chunked(&$endpoint, $key, hashes, query).await
                }
            )*
        }
    };
}

chunked_lookups! {
    /// Coins by puzzle hash.
    coin_records_by_puzzle_hashes => BY_PUZZLE_HASHES, "puzzle_hashes";
    /// Coins by coin id.
    coin_records_by_names => BY_NAMES, "names";
    /// Coins created by the given parents.
    coin_records_by_parent_ids => BY_PARENT_IDS, "parent_ids";
}

impl ChainClient {
    pub async fn blockchain_state(&self) -> Result<BlockchainState, ChainError> {
        self.ask(&BLOCKCHAIN_STATE, json!({})).await
    }

    pub async fn network_info(&self) -> Result<NetworkInfo, ChainError> {
        self.ask(&NETWORK_INFO, json!({})).await
    }

    /// `get_constants`, uncached (see `constants` for the cached copy).
    pub async fn fetch_constants(&self) -> Result<ConsensusConstants, ChainError> {
        let answer = self.ask(&CONSTANTS, json!({})).await?;
        ConsensusConstants::from_value(Value::Object(answer))
            .map_err(|e| ChainError::bad_response(Service::Node, CONSTANTS.name(), e.to_string()))
    }

    /// A recent signage point by `sp_hash`; `None` when the node does not have it (any more, or yet).
    pub async fn signage_point(
        &self,
        sp_hash: Bytes32,
    ) -> Result<Option<SignagePointRecord>, ChainError> {
        let found = self
            .find(&SIGNAGE_POINT, json!({"sp_hash": hex(&sp_hash)}))
            .await?;
        // A point whose VDF output does not hash to what was asked for is not our point.
        check_key(
            found,
            sp_hash,
            &SIGNAGE_POINT,
            "signage_point.cc_vdf.output",
            |r| r.sp_hash,
        )
    }

    /// A recent end of sub-slot by the challenge of the slot it opened; `None` when the node lacks it.
    pub async fn end_of_sub_slot(
        &self,
        challenge_hash: Bytes32,
    ) -> Result<Option<EndOfSlotRecord>, ChainError> {
        let found = self
            .find(
                &END_OF_SLOT,
                json!({"challenge_hash": hex(&challenge_hash)}),
            )
            .await?;
        check_key(
            found,
            challenge_hash,
            &END_OF_SLOT,
            "eos.challenge_chain",
            |r| r.challenge_hash,
        )
    }

    pub async fn coin_records_by_puzzle_hash(
        &self,
        puzzle_hash: Bytes32,
        query: CoinQuery,
    ) -> Result<Vec<CoinRecord>, ChainError> {
        let body = query.body("puzzle_hash", hex(&puzzle_hash));
        self.ask(&BY_PUZZLE_HASH, body).await
    }

    pub async fn coin_records_by_hint(
        &self,
        hint: Bytes32,
        query: CoinQuery,
    ) -> Result<Vec<CoinRecord>, ChainError> {
        self.ask(&BY_HINT, query.body("hint", hex(&hint))).await
    }

    /// One coin by id; `None` if the node has never seen it.
    pub async fn coin_record_by_name(
        &self,
        name: Bytes32,
    ) -> Result<Option<CoinRecord>, ChainError> {
        self.find(&COIN_RECORD, json!({"name": hex(&name)})).await
    }

    /// The spend of `coin_id`, which must have been spent exactly at `height` (its `spent_block_index`).
    pub async fn puzzle_and_solution(
        &self,
        coin_id: Bytes32,
        height: u32,
    ) -> Result<CoinSpend, ChainError> {
        let body = json!({"coin_id": hex(&coin_id), "height": height});
        self.ask(&PUZZLE_AND_SOLUTION, body).await
    }

    /// Submits a spend bundle to the node's mempool. A rejection is `ChainError::Rpc` with code
    /// `TRANSACTION_FAILED` and the mempool's reason in `detail` (e.g. `DOUBLE_SPEND`).
    pub async fn push_tx(&self, bundle: &SpendBundle) -> Result<PushTxStatus, ChainError> {
        self.ask(&PUSH_TX, bundle_body(bundle)).await
    }

    /// The block at `height` on the node's main chain; `None` above the peak.
    pub async fn block_record_by_height(
        &self,
        height: u32,
    ) -> Result<Option<BlockInfo>, ChainError> {
        self.find(&BLOCK_BY_HEIGHT, json!({"height": height})).await
    }

    pub async fn block_record(
        &self,
        header_hash: Bytes32,
    ) -> Result<Option<BlockInfo>, ChainError> {
        let body = json!({"header_hash": hex(&header_hash)});
        self.find(&BLOCK_BY_HASH, body).await
    }

    pub async fn additions_and_removals(
        &self,
        header_hash: Bytes32,
    ) -> Result<AdditionsAndRemovals, ChainError> {
        let body = json!({"header_hash": hex(&header_hash)});
        self.ask(&ADDITIONS_AND_REMOVALS, body).await
    }

    /// Splits `items` into requests under the 1 MiB limit, one after the other (gentle on the node), and merges
    /// the answers without duplicates.
    async fn chunked(
        &self,
        endpoint: &'static Endpoint<Vec<CoinRecord>>,
        key: &'static str,
        items: &[Bytes32],
        query: CoinQuery,
    ) -> Result<Vec<CoinRecord>, ChainError> {
        let mut records = Vec::new();
        let mut seen = HashSet::new();
        for chunk in items.chunks(COIN_QUERY_CHUNK) {
            let body = query.body(key, Value::Array(chunk.iter().map(hex).collect()));
            for record in self.ask(endpoint, body).await? {
                if seen.insert(record.coin.coin_id()) {
                    records.push(record);
                }
            }
        }
        Ok(records)
    }
}

/// The node answers records by a hash of their content: one whose content does not hash to the key asked
/// for is a bad answer, not the record.
fn check_key<T>(
    found: Option<T>,
    asked: Bytes32,
    endpoint: &Endpoint<T>,
    path: &str,
    key: impl Fn(&T) -> Bytes32,
) -> Result<Option<T>, ChainError> {
    match found {
        Some(record) if key(&record) != asked => Err(ChainError::bad_response(
            Service::Node,
            endpoint.name(),
            FieldError::new(path, "does not hash to the hash asked for").to_string(),
        )),
        other => Ok(other),
    }
}
