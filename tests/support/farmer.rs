//! What a farmer does to join a pool, as test and benchmark helpers: put its PlotNFT on the fake chain,
//! register with POST /v2/farmer and get a token from GET /v2/auth, signed as chia-blockchain 2.7.5 signs.

use chia_bls::{sign, DerivableKey, SecretKey};
use chia_pool::chia::constants::ConsensusConstants;
use chia_pool::chia::messages::{Message, PostFarmerPayload, PostFarmerRequest};
use chia_pool::chia::puzzles::{PlotNftState, PoolConfig};
use chia_pool::chia::signatures::get_auth_message;
use chia_protocol::Bytes32;
use serde_json::Value;

use super::plotnft_chain::add_plotnft;
use super::FakeChain;

/// The fake node serves the constants of the proof vectors (small v2 plots, second fork active).
pub fn use_small_plot_constants(chain: &FakeChain) -> ConsensusConstants {
    let path = format!("{}/tests/vectors/proofs.json", env!("CARGO_MANIFEST_DIR"));
    let vectors: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("proofs.json")).expect("json");
    let mut node = chain.node_state();
    for (k, v) in vectors["meta"]["constants_overrides_of_mainnet"]
        .as_object()
        .expect("overrides")
    {
        node.constants[k] = v.clone();
    }
    ConsensusConstants::from_value(serde_json::json!({"constants": node.constants.clone()}))
        .expect("constants")
}

/// The pool identity the helpers' PlotNFTs commit to.
pub fn pool_config(target: Bytes32) -> PoolConfig {
    PoolConfig {
        pool_puzzle_hash: target,
        heightlock: 100,
        pool_memoization: vec![0x80],
    }
}

/// Puts the farmer's PlotNFT on chain, registers it and returns an authentication token.
pub fn join_pool(
    chain: &FakeChain,
    agent: &ureq::Agent,
    base: &str,
    launcher: Bytes32,
    auth_sk: &SecretKey,
    target: Bytes32,
) -> String {
    add_plotnft(
        &mut chain.node_state(),
        launcher,
        auth_sk.public_key(),
        &pool_config(target),
        PlotNftState::Pooling,
    );
    let signing = auth_sk.derive_unhardened(12381);
    let payload = PostFarmerPayload {
        launcher_id: launcher,
        authentication_token: 0,
        authentication_public_key: auth_sk.public_key(),
        payout_instructions: hex::encode([8u8; 32]),
        suggested_difficulty: None,
    };
    let body = PostFarmerRequest {
        signature: sign(&signing, payload.get_hash()),
        payload,
    }
    .to_json_string();
    let text = agent
        .post(&format!("{base}/v2/farmer"))
        .send_string(&body)
        .expect("POST /v2/farmer")
        .into_string()
        .expect("body");
    assert!(
        text.contains("welcome_message"),
        "registration refused: {text}"
    );
    let now = chia_pool::pool::unix_now();
    let msg = get_auth_message(now, &launcher, &target);
    let text = agent
        .get(&format!(
            "{base}/v2/auth?launcher_id=0x{}&timestamp={now}&signature=0x{}",
            hex::encode(launcher),
            hex::encode(sign(&signing, msg).to_bytes())
        ))
        .call()
        .expect("GET /v2/auth")
        .into_string()
        .expect("body");
    let auth: Value = serde_json::from_str(&text).expect("json");
    auth["authentication_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {auth}"))
        .to_string()
}
