//! The v1 PlotNFT chia-blockchain 2.7.5 made for tests/vectors/puzzles_v1.json, put on the fake node spend by
//! spend: its launcher, absorbs and travels, exactly as 2.7.5 spent them. The node must use the vectors'
//! genesis challenge (`use_vectors_network`) and the pool their pool target and relative lock height.

use chia_protocol::{Bytes32, Coin, CoinRecord, Program};
use serde_json::Value;

use super::FakeChain;

pub fn vectors(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("vectors")).expect("json")
}

pub fn bytes32(v: &Value) -> Bytes32 {
    let text = v.as_str().expect("hex string");
    let bytes = hex::decode(text.trim_start_matches("0x")).expect("hex");
    Bytes32::new(bytes.try_into().expect("32 bytes"))
}

fn program(v: &Value) -> Program {
    Program::from(hex::decode(v.as_str().expect("hex string")).expect("hex"))
}

/// The vectors' network: the fake node answers with their genesis challenge.
pub fn use_vectors_network(chain: &FakeChain) {
    let inputs = &vectors("puzzles_v1.json")["inputs"];
    let genesis = inputs["genesis_challenge"].as_str().expect("genesis");
    chain.node_state().constants["GENESIS_CHALLENGE"] = Value::String(format!("0x{genesis}"));
}

/// The pool target the vectors' PlotNFT farms to, in hex.
pub fn pool_target() -> String {
    vectors("puzzles_v1.json")["inputs"]["pool_target_puzzle_hash"]
        .as_str()
        .expect("target")
        .to_string()
}

/// One spend of the vectors' lineage: the spent coin, its spend, and the singleton child it creates.
pub struct Step {
    pub coin: Coin,
    pub puzzle_reveal: Program,
    pub solution: Program,
    pub child: Option<Coin>,
}

/// The lineage step named `name` (launcher, absorb_pool_member, travel_member_to_waiting_room, ...).
pub fn step(name: &str) -> Step {
    let puzzles = vectors("puzzles_v1.json");
    let e = puzzles["lineage"]
        .as_array()
        .expect("lineage")
        .iter()
        .find(|e| e["name"] == name)
        .expect("no such step")
        .clone();
    let c = &e["coin_spend"]["coin"];
    let coin = Coin::new(
        bytes32(&c["parent_coin_info"]),
        bytes32(&c["puzzle_hash"]),
        c["amount"].as_u64().expect("amount"),
    );
    let child = e["singleton_child"].as_object().map(|child| {
        Coin::new(
            coin.coin_id(),
            bytes32(&child["puzzle_hash"]),
            child["amount"].as_u64().expect("amount"),
        )
    });
    Step {
        coin,
        puzzle_reveal: program(&e["coin_spend"]["puzzle_reveal"]),
        solution: program(&e["coin_spend"]["solution"]),
        child,
    }
}

/// Spends the step's coin in a new block, creates its child, and buries the spend under 7 more blocks (the
/// default `confirmation_depth` is 6).
pub fn land(chain: &FakeChain, s: &Step) {
    let mut node = chain.node_state();
    let height = node.add_block(true);
    node.spend_coin(
        s.coin.coin_id(),
        height,
        s.puzzle_reveal.clone(),
        s.solution.clone(),
    );
    if let Some(child) = s.child {
        node.add_coin_record(CoinRecord::new(child, height, 0, false, 1_700_000_000));
    }
    for _ in 0..7 {
        node.add_block(true);
    }
}

/// Puts the launcher coin on chain and lands its spend: the PlotNFT farms to the vectors' pool. Returns the
/// launcher id.
pub fn launch(chain: &FakeChain) -> Bytes32 {
    let launcher = step("launcher");
    {
        let mut node = chain.node_state();
        let height = node.add_block(true);
        node.add_coin_record(CoinRecord::new(
            launcher.coin,
            height,
            0,
            false,
            1_700_000_000,
        ));
    }
    land(chain, &launcher);
    launcher.coin.coin_id()
}

fn secret_key(name: &str) -> chia_bls::SecretKey {
    let keys = &vectors("messages_v1.json")["keys"];
    let bytes = hex::decode(keys[name].as_str().expect("key")).expect("hex");
    chia_bls::SecretKey::from_bytes(&bytes.try_into().expect("32 bytes")).expect("secret key")
}

/// The vectors' authentication key (the owner key signs POST /farmer).
pub fn authentication_sk() -> chia_bls::SecretKey {
    secret_key("authentication_sk")
}

/// POST /farmer at the root for the vectors' PlotNFT, signed by its owner key as 2.7.5 signs; the answer.
pub fn register(base: &str, launcher_id: Bytes32) -> String {
    register_signed_by(base, launcher_id, &secret_key("owner_sk"))
}

/// POST /farmer as `register`, signed by `signer` (another key than the owner's is a forgery).
pub fn register_signed_by(
    base: &str,
    launcher_id: Bytes32,
    signer: &chia_bls::SecretKey,
) -> String {
    use chia_pool::chia::messages::{Message, PostFarmerPayload, PostFarmerRequest};
    let token = chia_pool::chia::v1::messages::authentication_token(
        chia_pool::pool::unix_now(),
        std::num::NonZeroU8::new(10).expect("timeout"),
    );
    let payload = PostFarmerPayload {
        launcher_id,
        authentication_token: token,
        authentication_public_key: authentication_sk().public_key(),
        payout_instructions: hex::encode([8u8; 32]),
        suggested_difficulty: None,
    };
    let body = PostFarmerRequest {
        signature: chia_bls::sign(signer, payload.get_hash()),
        payload,
    }
    .to_json_string();
    match ureq::post(&format!("{base}/farmer")).send_string(&body) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r.into_string().expect("body"),
        Err(e) => panic!("POST /farmer: {e}"),
    }
}
