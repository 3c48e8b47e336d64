//! Bad input never panics: every message type and verifier answers garbage with a typed error naming the field.

mod common;

use chia_pool::chia::messages::*;
use chia_pool::chia::proofs::{self, ProofContext};
use chia_pool::chia::v1::lineage::SingletonV1;
use chia_pool::chia::v1::messages::{GetFarmerRequestV1, PutFarmerPayloadBackCompat};
use chia_pool::chia::v1::puzzles::PoolState;
use chia_pool::chia::v1::spends::{launcher_info, solution_to_pool_state};
use chia_protocol::{Bytes, Bytes32, Coin, CoinSpend, Program, ProofOfSpace};
use common::*;
use proptest::prelude::*;
use serde_json::Value;

/// Every (message type, valid JSON) pair in the vectors, v2 and v1.
fn valid_messages() -> Vec<(String, Value)> {
    ["messages.json", "messages_v1.json"]
        .into_iter()
        .flat_map(|file| {
            let v = vector(file);
            v["messages"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, e)| (k.split('_').next().unwrap().to_string(), e["json"].clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Parses JSON text as the named message type; only the outcome matters here.
fn parse_as(type_name: &str, text: &str) -> Result<(), MessageError> {
    fn p<M: Message>(t: &str) -> Result<(), MessageError> {
        M::from_json_str(t).map(|_| ())
    }
    match type_name {
        "GetAuthRequest" => p::<GetAuthRequest>(text),
        "GetAuthResponse" => p::<GetAuthResponse>(text),
        "GetPoolInfoResponse" => p::<GetPoolInfoResponse>(text),
        "GetFarmerRequestV2" => p::<GetFarmerRequestV2>(text),
        "GetFarmerResponse" => p::<GetFarmerResponse>(text),
        "PostFarmerPayload" => p::<PostFarmerPayload>(text),
        "PostFarmerRequest" => p::<PostFarmerRequest>(text),
        "PostFarmerResponse" => p::<PostFarmerResponse>(text),
        "PutFarmerPayload" => p::<PutFarmerPayload>(text),
        "PutFarmerRequest" => p::<PutFarmerRequest>(text),
        "PutFarmerResponse" => p::<PutFarmerResponse>(text),
        "PostPartialPayload" => p::<PostPartialPayload>(text),
        "PostPartialRequest" => p::<PostPartialRequest>(text),
        "PostPartialResponse" => p::<PostPartialResponse>(text),
        "ErrorResponse" => p::<ErrorResponse>(text),
        "AuthenticationPayloadV1" => p::<AuthenticationPayloadV1>(text),
        "GetFarmerRequestV1" => p::<GetFarmerRequestV1>(text),
        "PutFarmerPayloadBackCompat" => p::<PutFarmerPayloadBackCompat>(text),
        other => panic!("unknown type {other}"),
    }
}

fn bytes_as(type_name: &str, bytes: &[u8]) -> Result<(), MessageError> {
    fn p<M: Message>(b: &[u8]) -> Result<(), MessageError> {
        M::from_stream_bytes(b).map(|_| ())
    }
    match type_name {
        "GetAuthRequest" => p::<GetAuthRequest>(bytes),
        "GetAuthResponse" => p::<GetAuthResponse>(bytes),
        "GetPoolInfoResponse" => p::<GetPoolInfoResponse>(bytes),
        "GetFarmerRequestV2" => p::<GetFarmerRequestV2>(bytes),
        "GetFarmerResponse" => p::<GetFarmerResponse>(bytes),
        "PostFarmerPayload" => p::<PostFarmerPayload>(bytes),
        "PostFarmerRequest" => p::<PostFarmerRequest>(bytes),
        "PostFarmerResponse" => p::<PostFarmerResponse>(bytes),
        "PutFarmerPayload" => p::<PutFarmerPayload>(bytes),
        "PutFarmerRequest" => p::<PutFarmerRequest>(bytes),
        "PutFarmerResponse" => p::<PutFarmerResponse>(bytes),
        "PostPartialPayload" => p::<PostPartialPayload>(bytes),
        "PostPartialRequest" => p::<PostPartialRequest>(bytes),
        "PostPartialResponse" => p::<PostPartialResponse>(bytes),
        "ErrorResponse" => p::<ErrorResponse>(bytes),
        other => panic!("unknown type {other}"),
    }
}

/// All leaf paths of a JSON object, dotted.
fn leaf_paths(value: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if v.is_object() {
                leaf_paths(v, &path, out);
            }
            out.push(path);
        }
    }
}

fn set_path(value: &mut Value, path: &str, new: Value) {
    let mut cur = value;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        cur = &mut cur[*p];
    }
    cur[parts[parts.len() - 1]] = new;
}

fn remove_path(value: &mut Value, path: &str) {
    let mut cur = value;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        cur = &mut cur[*p];
    }
    if let Value::Object(m) = cur {
        m.remove(parts[parts.len() - 1]);
    }
}

/// Values that are wrong for most fields: wrong types, wrong lengths, non-hex, out of range.
fn garbage() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(Value::Bool(true)),
        Just(serde_json::json!([1, 2])),
        Just(serde_json::json!({"a": 1})),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(1.5)),
        Just(serde_json::from_str::<Value>("340282366920938463463374607431768211456").unwrap()),
        Just(Value::String("0x".into())),
        Just(Value::String("0xzz".into())),
        Just(Value::String("0x".to_string() + &"ab".repeat(31))),
        Just(Value::String("0x".to_string() + &"ab".repeat(33))),
        Just(Value::String("0x".to_string() + &"ff".repeat(48))),
        Just(Value::String("0x".to_string() + &"ff".repeat(96))),
        Just(Value::String("ff".repeat(100_000))),
        "[^\\\\]{0,40}".prop_map(Value::String),
        any::<u64>().prop_map(Value::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// One field replaced by garbage: either still valid (e.g. a string field) or an error that names it.
    #[test]
    fn a_bad_field_is_named(msg_index in any::<prop::sample::Index>(), field_index in any::<prop::sample::Index>(), bad in garbage()) {
        let messages = valid_messages();
        let (type_name, json) = &messages[msg_index.index(messages.len())];
        let mut paths = Vec::new();
        leaf_paths(json, "", &mut paths);
        let path = &paths[field_index.index(paths.len())];
        let mut broken = json.clone();
        set_path(&mut broken, path, bad);
        if let Err(e) = parse_as(type_name, &broken.to_string()) {
            let field = e.field().unwrap_or_else(|| panic!("{type_name}.{path}: error without a field: {e}"));
            prop_assert!(field.starts_with(path.as_str()), "{type_name}: broke {path}, error names {field}: {e}");
        }
    }

    /// A missing required key is named; keys with defaults may be missing.
    #[test]
    fn a_missing_field_is_named(msg_index in any::<prop::sample::Index>(), field_index in any::<prop::sample::Index>()) {
        let messages = valid_messages();
        let (type_name, json) = &messages[msg_index.index(messages.len())];
        let mut paths = Vec::new();
        leaf_paths(json, "", &mut paths);
        let path = &paths[field_index.index(paths.len())];
        let mut broken = json.clone();
        remove_path(&mut broken, path);
        if let Err(e) = parse_as(type_name, &broken.to_string()) {
            prop_assert_eq!(e.field(), Some(path.as_str()), "{}", e);
            prop_assert!(e.to_string().contains("missing"));
        }
    }

    /// Arbitrary bytes as a body or as a query string never panic.
    #[test]
    fn arbitrary_text_is_an_error_not_a_panic(text in ".{0,300}", msg_index in any::<prop::sample::Index>()) {
        let messages = valid_messages();
        let (type_name, _) = &messages[msg_index.index(messages.len())];
        let _ = parse_as(type_name, &text);
        let _ = GetAuthRequest::from_query(&text);
        let _ = GetFarmerRequestV2::from_query(&text);
        let _ = GetFarmerRequestV1::from_query(&text);
    }

    /// Arbitrary bytes as a v1 PoolState or as a v1 PlotNFT spend's solution are a typed error, never a panic.
    #[test]
    fn v1_pool_state_and_spends_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), launcher in any::<bool>()) {
        let _ = PoolState::from_bytes(&bytes);
        let puzzle_hash = if launcher { Bytes32::new(chia_puzzles::SINGLETON_LAUNCHER_HASH) } else { Bytes32::new([3; 32]) };
        let spend = CoinSpend::new(Coin::new(Bytes32::new([1; 32]), puzzle_hash, 1), Program::default(), Program::from(bytes));
        let _ = solution_to_pool_state(&spend);
        let _ = launcher_info(&spend);
        let _ = SingletonV1::from_launcher_spend(&spend, Bytes32::new([2; 32]));
    }

    /// Truncated, extended or flipped Streamable bytes never panic.
    #[test]
    fn damaged_bytes_are_an_error_not_a_panic(msg_index in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>(), flip in any::<u8>(), extra in prop::collection::vec(any::<u8>(), 0..8)) {
        let v = vector("messages.json");
        let entries: Vec<(String, Vec<u8>)> = v["messages"].as_object().unwrap().iter()
            .map(|(k, e)| (k.split('_').next().unwrap().to_string(), hex_bytes(&e["bytes"]))).collect();
        let (type_name, bytes) = &entries[msg_index.index(entries.len())];
        let at = cut.index(bytes.len().max(1));
        prop_assert!(bytes_as(type_name, &bytes[..at]).is_err() || at == bytes.len());
        let mut longer = bytes.clone();
        longer.extend_from_slice(&extra);
        if !extra.is_empty() {
            prop_assert!(bytes_as(type_name, &longer).is_err(), "trailing bytes accepted");
        }
        let mut flipped = bytes.clone();
        if let Some(b) = flipped.get_mut(at) { *b ^= flip; }
        let _ = bytes_as(type_name, &flipped);
    }

    /// The proof verifiers take any proof shape without panicking.
    #[test]
    fn verifiers_never_panic(version in 0u8..3, size in any::<u8>(), strength in any::<u8>(), meta_group in any::<u8>(), plot_index in any::<u16>(), proof in prop::collection::vec(any::<u8>(), 0..600), sp_index in any::<u8>(), v2 in any::<bool>()) {
        let file = vector(if v2 { "proofs.json" } else { "proofs_v1.json" });
        let c = constants_with_overrides(&file["meta"]["constants_overrides_of_mainnet"]);
        let p = &file["partials"][0];
        let mut pos = ProofOfSpace::from_bytes_unchecked_for_test(&hex_bytes(&p["proof_of_space_bytes"]));
        pos.version = version;
        pos.size = size;
        pos.strength = strength;
        pos.meta_group = meta_group;
        pos.plot_index = plot_index;
        pos.proof = Bytes::new(proof.clone());
        let ctx = ProofContext {
            challenge_hash: bytes32(&p["challenge_hash"]),
            sp_hash: bytes32(&p["sp_hash"]),
            height: 1000,
            prev_tx_height: 998,
            filter_challenge: Some(Bytes32::new([3; 32])),
            signage_point_index: Some(sp_index),
        };
        let _ = proofs::verify_and_get_quality_string(&pos, &c, &ctx);
        // Straight into the verifiers too, bypassing the cheap checks in front of them.
        let _ = chia_pool::chia::pos_v1::validate_proof_v1(&[9; 32], size, &[1; 32], &proof);
        let _ = proofs::required_iterations(&c, &pos, &Bytes32::new([1; 32]), &ctx.sp_hash, u64::MAX, u32::MAX);
    }
}

/// Test-only constructor: parse the vector's bytes into a ProofOfSpace.
trait FromBytesForTest {
    fn from_bytes_unchecked_for_test(b: &[u8]) -> Self;
}
impl FromBytesForTest for ProofOfSpace {
    fn from_bytes_unchecked_for_test(b: &[u8]) -> Self {
        <ProofOfSpace as chia_traits::Streamable>::from_bytes(b).expect("vector proof bytes")
    }
}

#[test]
fn oversized_and_deep_json_is_refused() {
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    assert!(matches!(
        PostPartialRequest::from_json_str(&deep),
        Err(MessageError::Json(_))
    ));
    let e = PostPartialRequest::from_json_str("[]").unwrap_err();
    assert_eq!(e.field(), Some("body"));
}
