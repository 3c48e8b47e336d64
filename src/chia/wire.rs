//! Values as the pool protocol's "Streamable JSON" carries them.
//!
//! We emit exactly the canonical form chia's `to_json_dict` produces (`0x`-prefixed lowercase hex, integers as
//! numbers) and accept what Python farmers and query strings may send: hex with or without `0x`/`0X`, integers
//! as numbers or decimal strings. Every parse error names the field it came from.

use chia_bls::{PublicKey, Signature};
use chia_protocol::{Bytes, Bytes32, Program, ProofOfSpace};
use serde_json::{Map, Value};

/// A message field that could not be decoded; `field` is the dotted path (`payload.proof_of_space.challenge`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &str, reason: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

/// A type that travels as one JSON value in a pool-protocol message.
pub trait WireValue: Sized {
    fn to_json(&self) -> Value;
    /// `field` is the path used in error messages.
    fn from_json(value: &Value, field: &str) -> Result<Self, FieldError>;
}

/// Decodes hex text with an optional `0x`/`0X` prefix.
pub fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    hex::decode(digits).map_err(|e| format!("not valid hex ({e})"))
}

/// Decodes hex text that must hold exactly `N` bytes.
pub fn decode_hex_array<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let bytes = decode_hex(text)?;
    let len = bytes.len();
    bytes
        .try_into()
        .map_err(|_| format!("expected {N} bytes of hex, got {len} bytes"))
}

fn prefixed_hex(bytes: &[u8]) -> Value {
    Value::String(format!("0x{}", hex::encode(bytes)))
}

fn expect_str<'a>(value: &'a Value, field: &str, what: &str) -> Result<&'a str, FieldError> {
    match value {
        Value::String(s) => Ok(s),
        Value::Null => Err(FieldError::new(field, format!("must be {what}, got null"))),
        other => Err(FieldError::new(
            field,
            format!("must be {what} as a string, got {}", kind(other)),
        )),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses an unsigned integer given as a JSON number or a decimal string (how query strings carry them).
fn parse_unsigned(
    value: &Value,
    field: &str,
    max: u64,
    type_name: &str,
) -> Result<u64, FieldError> {
    let out_of_range =
        || FieldError::new(field, format!("out of range for {type_name} (0..={max})"));
    let parsed = match value {
        Value::Number(n) => n.as_u64().ok_or_else(|| {
            if n.is_f64() && n.as_f64().is_some_and(|f| f.fract() != 0.0) {
                FieldError::new(field, "must be a whole number")
            } else {
                out_of_range()
            }
        })?,
        Value::String(s) => {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(FieldError::new(
                    field,
                    format!("must be a decimal {type_name}, got {s:?}"),
                ));
            }
            s.parse::<u64>().map_err(|_| out_of_range())?
        }
        other => {
            return Err(FieldError::new(
                field,
                format!("must be a {type_name} number, got {}", kind(other)),
            ))
        }
    };
    if parsed > max {
        return Err(out_of_range());
    }
    Ok(parsed)
}

macro_rules! unsigned_wire_value {
    ($($t:ty),*) => {$(
        impl WireValue for $t {
            fn to_json(&self) -> Value {
                Value::from(*self)
            }
            fn from_json(value: &Value, field: &str) -> Result<Self, FieldError> {
                let v = parse_unsigned(value, field, <$t>::MAX as u64, stringify!($t))?;
                // parse_unsigned bounded it by MAX, so the conversion cannot fail.
                <$t>::try_from(v).map_err(|_| FieldError::new(field, "out of range"))
            }
        }
    )*};
}
unsigned_wire_value!(u8, u16, u32, u64);

impl WireValue for bool {
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_json(value: &Value, field: &str) -> Result<Self, FieldError> {
        match value {
            Value::Bool(b) => Ok(*b),
            // Python's Streamable accepts these spellings when a bool arrives as text.
            Value::String(s) if s.eq_ignore_ascii_case("true") || s == "1" => Ok(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") || s == "0" => Ok(false),
            other => Err(FieldError::new(
                field,
                format!("must be true or false, got {}", kind(other)),
            )),
        }
    }
}

impl WireValue for String {
    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }
    fn from_json(value: &Value, field: &str) -> Result<Self, FieldError> {
        expect_str(value, field, "text").map(str::to_string)
    }
}

impl WireValue for Bytes32 {
    fn to_json(&self) -> Value {
        prefixed_hex(self.as_ref())
    }
    fn from_json(value: &Value, field: &str) -> Result<Self, FieldError> {
        let text = expect_str(value, field, "32 bytes of hex")?;
        decode_hex_array::<32>(text)
            .map(Bytes32::new)
            .map_err(|e| FieldError::new(field, e))
    }
}

impl WireValue for Bytes {
    fn to_json(&self) -> Value {
        prefixed_hex(self.as_ref())
    }
    fn from_json(value: &Value, field: &str) -> Result<Self, FieldError> {
        let text = expect_str(value, field, "hex bytes")?;
        decode_hex(text)
            .map(Bytes::new)
            .map_err(|e| FieldError::new(field, e))
    }
}

impl WireValue for Program {
    fn to_json(&self) -> Value {
        prefixed_hex(self.as_ref())
    }
    fn from_json(value: &Value, field: &str) -> Result<Self, FieldError> {
        let text = expect_str(value, field, "a serialized CLVM program in hex")?;
        let bytes = decode_hex(text).map_err(|e| FieldError::new(field, e))?;
        let mut allocator = clvmr::Allocator::new();
        clvmr::serde::node_from_bytes(&mut allocator, &bytes)
            .map_err(|_| FieldError::new(field, "not a valid serialized CLVM program"))?;
        Ok(Program::new(Bytes::new(bytes)))
    }
}

impl WireValue for PublicKey {
    fn to_json(&self) -> Value {
        prefixed_hex(&self.to_bytes())
    }
    fn from_json(value: &Value, field: &str) -> Result<Self, FieldError> {
        let text = expect_str(value, field, "a 48-byte BLS public key in hex")?;
        let bytes = decode_hex_array::<48>(text).map_err(|e| FieldError::new(field, e))?;
        PublicKey::from_bytes(&bytes)
            .map_err(|_| FieldError::new(field, "not a valid BLS public key (G1 point)"))
    }
}

impl WireValue for Signature {
    fn to_json(&self) -> Value {
        prefixed_hex(&self.to_bytes())
    }
    fn from_json(value: &Value, field: &str) -> Result<Self, FieldError> {
        let text = expect_str(value, field, "a 96-byte BLS signature in hex")?;
        let bytes = decode_hex_array::<96>(text).map_err(|e| FieldError::new(field, e))?;
        Signature::from_bytes(&bytes)
            .map_err(|_| FieldError::new(field, "not a valid BLS signature (G2 point)"))
    }
}

impl<T: WireValue> WireValue for Option<T> {
    fn to_json(&self) -> Value {
        match self {
            Some(v) => v.to_json(),
            None => Value::Null,
        }
    }
    fn from_json(value: &Value, field: &str) -> Result<Self, FieldError> {
        match value {
            Value::Null => Ok(None),
            v => T::from_json(v, field).map(Some),
        }
    }
}

/// Reads one key of a JSON object; a missing key is an error unless the field has a default.
pub fn take_field<T: WireValue>(
    object: &Map<String, Value>,
    parent: &str,
    key: &str,
    default: Option<fn() -> T>,
) -> Result<T, FieldError> {
    let path = if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    };
    match object.get(key) {
        Some(value) => T::from_json(value, &path),
        None => match default {
            Some(make) => Ok(make()),
            None => Err(FieldError::new(&path, "missing")),
        },
    }
}

pub fn expect_object<'a>(
    value: &'a Value,
    field: &str,
) -> Result<&'a Map<String, Value>, FieldError> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(FieldError::new(
            if field.is_empty() { "body" } else { field },
            format!("must be a JSON object, got {}", kind(other)),
        )),
    }
}

/// `ProofOfSpace` travels as a nested object with all ten keys (the farmer-side parser requires each).
impl WireValue for ProofOfSpace {
    fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("challenge".into(), self.challenge.to_json());
        map.insert("pool_public_key".into(), self.pool_public_key.to_json());
        map.insert(
            "pool_contract_puzzle_hash".into(),
            self.pool_contract_puzzle_hash.to_json(),
        );
        map.insert("plot_public_key".into(), self.plot_public_key.to_json());
        map.insert("version".into(), self.version.to_json());
        map.insert("plot_index".into(), self.plot_index.to_json());
        map.insert("meta_group".into(), self.meta_group.to_json());
        map.insert("strength".into(), self.strength.to_json());
        map.insert("size".into(), self.size.to_json());
        map.insert("proof".into(), self.proof.to_json());
        Value::Object(map)
    }

    fn from_json(value: &Value, field: &str) -> Result<Self, FieldError> {
        let o = expect_object(value, field)?;
        let pos = ProofOfSpace {
            challenge: take_field(o, field, "challenge", None)?,
            pool_public_key: take_field(o, field, "pool_public_key", None)?,
            pool_contract_puzzle_hash: take_field(o, field, "pool_contract_puzzle_hash", None)?,
            plot_public_key: take_field(o, field, "plot_public_key", None)?,
            version: take_field(o, field, "version", None)?,
            plot_index: take_field(o, field, "plot_index", None)?,
            meta_group: take_field(o, field, "meta_group", None)?,
            strength: take_field(o, field, "strength", None)?,
            size: take_field(o, field, "size", None)?,
            proof: take_field(o, field, "proof", None)?,
        };
        if pos.version > 1 {
            return Err(FieldError::new(
                &format!("{field}.version"),
                format!("must be 0 (v1 plot) or 1 (v2 plot), got {}", pos.version),
            ));
        }
        Ok(pos)
    }
}
