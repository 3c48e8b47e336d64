//! Reading the v1 PlotNFT vectors (`tests/vectors/puzzles_v1.json`).

use chia_pool::chia::v1::puzzles::{PlotNftV1, PoolState};
use chia_protocol::{Coin, CoinSpend, Program};
use serde_json::Value;

use super::{bytes32, hex_bytes, public_key};

pub fn plotnft(v: &Value) -> PlotNftV1 {
    let inputs = &v["inputs"];
    PlotNftV1 {
        launcher_id: bytes32(&inputs["launcher_id"]),
        genesis_challenge: bytes32(&inputs["genesis_challenge"]),
        delay_time: inputs["delay_time"].as_u64().unwrap(),
        delay_puzzle_hash: bytes32(&inputs["delay_puzzle_hash"]),
    }
}

/// Parses a vector's `PoolState` from its bytes and checks every field and the round trip.
pub fn pool_state(entry: &Value) -> PoolState {
    let bytes = hex_bytes(&entry["bytes"]);
    let state = PoolState::from_bytes(&bytes).unwrap();
    assert_eq!(state.to_bytes(), bytes);
    assert_eq!(u64::from(state.version), entry["version"].as_u64().unwrap());
    assert_eq!(u64::from(state.state), entry["state"].as_u64().unwrap());
    assert_eq!(
        state.target_puzzle_hash,
        bytes32(&entry["target_puzzle_hash"])
    );
    assert_eq!(state.owner_pubkey, public_key(&entry["owner_pubkey"]));
    assert_eq!(state.pool_url.as_deref(), entry["pool_url"].as_str());
    assert_eq!(
        u64::from(state.relative_lock_height),
        entry["relative_lock_height"].as_u64().unwrap()
    );
    state
}

pub fn coin_spend(entry: &Value) -> CoinSpend {
    let coin = &entry["coin"];
    let spend = CoinSpend::new(
        Coin::new(
            bytes32(&coin["parent_coin_info"]),
            bytes32(&coin["puzzle_hash"]),
            coin["amount"].as_u64().unwrap(),
        ),
        Program::from(hex_bytes(&entry["puzzle_reveal"])),
        Program::from(hex_bytes(&entry["solution"])),
    );
    assert_eq!(spend.coin.coin_id(), bytes32(&coin["coin_id"]));
    spend
}

/// Every coin spend of the vector's lineage, in order.
pub fn lineage_spends(v: &Value) -> Vec<CoinSpend> {
    v["lineage"]
        .as_array()
        .expect("lineage array")
        .iter()
        .map(|e| coin_spend(&e["coin_spend"]))
        .collect()
}
