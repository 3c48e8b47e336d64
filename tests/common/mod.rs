//! Shared helpers for the golden-vector tests.
#![allow(dead_code)]

use serde_json::Value;

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
