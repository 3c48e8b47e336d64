//! Tests of `puzzles.rs` against the golden vectors.

use super::*;
use serde_json::Value;

const PUZZLES_JSON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/puzzles.json");

pub(crate) fn b32(v: &Value) -> Bytes32 {
    let bytes = hex::decode(v.as_str().expect("hex string")).expect("hex");
    Bytes32::try_from(bytes.as_slice()).expect("32 bytes")
}

/// Builds the parameter set a vector case's `inputs` describe.
pub(crate) fn puzzles_from_inputs(inputs: &Value) -> PlotNftPuzzles {
    let pk = hex::decode(inputs["synthetic_pubkey"].as_str().unwrap()).unwrap();
    let pk = PublicKey::from_bytes(&pk.try_into().unwrap()).unwrap();
    let pool = PoolConfig {
        pool_puzzle_hash: b32(&inputs["pool_puzzle_hash"]),
        heightlock: u32::try_from(inputs["heightlock"].as_u64().unwrap()).unwrap(),
        pool_memoization: hex::decode(inputs["pool_memoization"].as_str().unwrap()).unwrap(),
    };
    PlotNftPuzzles::new(
        b32(&inputs["launcher_id"]),
        b32(&inputs["genesis_challenge"]),
        pk,
        Some(pool),
    )
    .unwrap()
}

pub(crate) fn load(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_case_of_puzzles_json() {
    let v = load(PUZZLES_JSON);
    let cases = v["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let p = puzzles_from_inputs(&case["inputs"]);
        let launcher = p.launcher_id();
        assert_eq!(
            p.singleton_struct_hash(),
            b32(&case["singleton_struct_hash"])
        );
        assert_eq!(p.reward_puzzle_hash(), b32(&case["reward_puzzle_hash"]));
        assert_eq!(reward_puzzle_hash(launcher), p.reward_puzzle_hash());
        let pooling = &case["pooling"];
        assert_eq!(
            p.forward_dpuz_hash().unwrap(),
            b32(&pooling["forward_pool_reward_dpuz_hash"])
        );
        assert_eq!(
            p.claim_dpuz_hash().unwrap(),
            b32(&pooling["claim_pool_reward_dpuz_hash"])
        );
        for (state, key) in [
            (PlotNftState::Pooling, "pooling"),
            (PlotNftState::Exiting, "exiting"),
            (PlotNftState::SelfPooling, "self_pooling"),
        ] {
            let inner = p.inner_puzzle_hash(state).unwrap();
            assert_eq!(inner, b32(&case[key]["inner_puzzle_hash"]), "{key}");
            assert_eq!(
                p.puzzle_hash(state).unwrap(),
                b32(&case[key]["puzzle_hash"]),
                "{key}"
            );
            assert_eq!(
                singleton_puzzle_hash(launcher, inner),
                p.puzzle_hash(state).unwrap()
            );
        }
        let self_pooling = p.with_pool(None).unwrap();
        assert_eq!(
            self_pooling.puzzle_hash(PlotNftState::SelfPooling).unwrap(),
            b32(&case["self_pooling"]["puzzle_hash"])
        );
    }
}

#[test]
fn pool_states_need_a_pool_config() {
    let v = load(PUZZLES_JSON);
    let p = puzzles_from_inputs(&v["cases"][0]["inputs"])
        .with_pool(None)
        .unwrap();
    assert_eq!(
        p.inner_puzzle_hash(PlotNftState::Exiting),
        Err(PuzzleError::NoPoolConfig(PlotNftState::Exiting))
    );
    assert!(p.forward_dpuz_hash().is_err());
    assert_eq!(p.states(), &[PlotNftState::SelfPooling]);
}

#[test]
fn bad_pool_memoization_is_a_typed_error() {
    let v = load(PUZZLES_JSON);
    let p = puzzles_from_inputs(&v["cases"][0]["inputs"]);
    for bad in [&b""[..], &[0xff, 0x80], &[0x80, 0x80], &[0x50, 0x00]] {
        let pool = PoolConfig {
            pool_memoization: bad.to_vec(),
            ..p.pool_config().unwrap().clone()
        };
        assert!(matches!(
            p.with_pool(Some(pool)),
            Err(PuzzleError::InvalidPoolMemoization(_))
        ));
    }
}

#[test]
fn int_atoms_are_minimal_signed() {
    assert_eq!(int_atom(0), Vec::<u8>::new());
    assert_eq!(int_atom(100), vec![0x64]);
    assert_eq!(int_atom(128), vec![0x00, 0x80]);
    assert_eq!(int_atom(4608), vec![0x12, 0x00]);
    assert_eq!(
        int_atom(875_000_000_000),
        hex::decode("00cbba106e00").unwrap()
    );
    assert_eq!(
        int_atom(u64::MAX),
        hex::decode("00ffffffffffffffff").unwrap()
    );
}
