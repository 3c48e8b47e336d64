//! Shared helpers for the golden-vector tests.
#![allow(dead_code)]

use serde_json::Value;

pub mod plotnft_v1;

/// Loads `tests/vectors/<name>` (copies of the golden vectors produced with chia-blockchain 2.7.5).
pub fn vector(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"))
}

pub fn hex_bytes(v: &Value) -> Vec<u8> {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("expected a hex string, got {v}"));
    hex::decode(s.trim_start_matches("0x")).unwrap_or_else(|e| panic!("bad hex {s}: {e}"))
}

pub fn hex32(v: &Value) -> [u8; 32] {
    hex_bytes(v).try_into().expect("32 bytes")
}

pub fn bytes32(v: &Value) -> chia_protocol::Bytes32 {
    chia_protocol::Bytes32::new(hex32(v))
}

pub fn public_key(v: &Value) -> chia_bls::PublicKey {
    let b: [u8; 48] = hex_bytes(v).try_into().expect("48 bytes");
    chia_bls::PublicKey::from_bytes(&b).expect("valid public key")
}

pub fn signature(v: &Value) -> chia_bls::Signature {
    let b: [u8; 96] = hex_bytes(v).try_into().expect("96 bytes");
    chia_bls::Signature::from_bytes(&b).expect("valid signature")
}

pub fn secret_key(v: &Value) -> chia_bls::SecretKey {
    let b: [u8; 32] = hex_bytes(v).try_into().expect("32 bytes");
    chia_bls::SecretKey::from_bytes(&b).expect("valid secret key")
}

/// Mainnet constants with a vector file's `constants_overrides_of_mainnet` applied.
pub fn constants_with_overrides(
    overrides: &Value,
) -> chia_pool::chia::constants::ConsensusConstants {
    let mainnet = chia_pool::chia::constants::ConsensusConstants::mainnet_json();
    let mut value: Value = serde_json::from_str(mainnet).expect("mainnet json");
    let target = value["constants"]
        .as_object_mut()
        .expect("constants object");
    for (k, v) in overrides.as_object().expect("overrides object") {
        target.insert(k.clone(), v.clone());
    }
    chia_pool::chia::constants::ConsensusConstants::from_value(value)
        .expect("constants with overrides")
}

/// Parses a vector entry as the message type its name starts with and checks JSON, bytes, hash and query.
pub fn check_message<M: chia_pool::chia::messages::Message + std::fmt::Debug + PartialEq>(
    name: &str,
    entry: &Value,
) {
    let json = &entry["json"];
    let parsed = M::from_json_str(&json.to_string()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(&parsed.to_json(), json, "{name}: JSON round trip");
    let bytes = hex_bytes(&entry["bytes"]);
    assert_eq!(parsed.to_stream_bytes(), bytes, "{name}: Streamable bytes");
    let from_bytes = M::from_stream_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        from_bytes.to_json(),
        parsed.to_json(),
        "{name}: parse from bytes"
    );
    if let Some(hash) = entry.get("get_hash") {
        assert_eq!(parsed.get_hash(), bytes32(hash), "{name}: get_hash");
    }
    if let Some(params) = entry.get("query_string_params") {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.as_object().unwrap().iter().map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            }))
            .finish();
        let from_query = M::from_query(&query).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(from_query, parsed, "{name}: from query string");
    }
    if let Some(raw) = entry.get("query_string").and_then(Value::as_str) {
        // The exact query string the farmer's HTTP client sends.
        let from_query = M::from_query(raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(from_query, parsed, "{name}: from the farmer's query string");
    }
}
