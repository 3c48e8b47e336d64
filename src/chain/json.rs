//! JSON of chia objects as the node and wallet RPC carry them. Written here rather than via chia-protocol's
//! serde because the node requires `0x` on every byte field of a `SpendBundle` (serde writes programs bare).

use chia_bls::Signature;
use chia_protocol::{
    Bytes100, ChallengeChainSubSlot, ClassgroupElement, Coin, CoinRecord, CoinSpend, Program,
    SpendBundle, VDFInfo,
};
use serde_json::{json, Map, Value};

use crate::chia::wire::{decode_hex_array, expect_object, take_field, FieldError, WireValue};

pub(crate) type Object = Map<String, Value>;

fn path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// A required key.
pub(crate) fn field<T: WireValue>(
    object: &Object,
    parent: &str,
    key: &str,
) -> Result<T, FieldError> {
    take_field(object, parent, key, None)
}

/// A key that may be absent or null.
pub(crate) fn optional<T: WireValue>(
    object: &Object,
    parent: &str,
    key: &str,
) -> Result<Option<T>, FieldError> {
    take_field::<Option<T>>(object, parent, key, Some(|| None))
}

/// A JSON object under `key`.
pub(crate) fn object<'a>(
    object: &'a Object,
    parent: &str,
    key: &str,
) -> Result<&'a Object, FieldError> {
    let p = path(parent, key);
    match object.get(key) {
        Some(value) => expect_object(value, &p),
        None => Err(FieldError::new(&p, "missing")),
    }
}

/// A list under `key`, each element parsed by `parse(element, element_path)`; null or absent is `None`.
pub(crate) fn optional_list<T>(
    object: &Object,
    parent: &str,
    key: &str,
    parse: impl Fn(&Value, &str) -> Result<T, FieldError>,
) -> Result<Option<Vec<T>>, FieldError> {
    let p = path(parent, key);
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| parse(item, &format!("{p}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(FieldError::new(&p, "must be a list")),
    }
}

/// A required list.
pub(crate) fn list<T>(
    object: &Object,
    parent: &str,
    key: &str,
    parse: impl Fn(&Value, &str) -> Result<T, FieldError>,
) -> Result<Vec<T>, FieldError> {
    optional_list(object, parent, key, parse)?
        .ok_or_else(|| FieldError::new(&path(parent, key), "missing"))
}

/// An unsigned integer that may exceed u64 (`weight`, `total_iters`, `space`).
pub(crate) fn u128_field(object: &Object, parent: &str, key: &str) -> Result<u128, FieldError> {
    let p = path(parent, key);
    match object.get(key) {
        Some(Value::Number(n)) => n
            .to_string()
            .parse()
            .map_err(|_| FieldError::new(&p, "must be a non-negative integer")),
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| FieldError::new(&p, "must be a non-negative integer")),
        Some(_) => Err(FieldError::new(&p, "must be a number")),
        None => Err(FieldError::new(&p, "missing")),
    }
}

/// `time_received`: a float of unix seconds.
pub(crate) fn f64_field(object: &Object, parent: &str, key: &str) -> Result<f64, FieldError> {
    object
        .get(key)
        .and_then(Value::as_f64)
        .ok_or_else(|| FieldError::new(&path(parent, key), "must be a number"))
}

pub fn coin_to_json(coin: &Coin) -> Value {
    json!({
        "parent_coin_info": coin.parent_coin_info.to_json(),
        "puzzle_hash": coin.puzzle_hash.to_json(),
        "amount": coin.amount,
    })
}

pub fn coin_from_json(value: &Value, p: &str) -> Result<Coin, FieldError> {
    let o = expect_object(value, p)?;
    Ok(Coin::new(
        field(o, p, "parent_coin_info")?,
        field(o, p, "puzzle_hash")?,
        field(o, p, "amount")?,
    ))
}

pub fn coin_record_to_json(record: &CoinRecord) -> Value {
    json!({
        "coin": coin_to_json(&record.coin),
        "confirmed_block_index": record.confirmed_block_index,
        "spent_block_index": record.spent_block_index,
        "coinbase": record.coinbase,
        "timestamp": record.timestamp,
        "spent": record.spent_block_index > 0,
    })
}

/// Ignores the node's extra back-compat key `spent`.
pub fn coin_record_from_json(value: &Value, p: &str) -> Result<CoinRecord, FieldError> {
    let o = expect_object(value, p)?;
    Ok(CoinRecord::new(
        coin_from_json(o.get("coin").unwrap_or(&Value::Null), &path(p, "coin"))?,
        field(o, p, "confirmed_block_index")?,
        field(o, p, "spent_block_index")?,
        field(o, p, "coinbase")?,
        field(o, p, "timestamp")?,
    ))
}

pub fn coin_spend_to_json(spend: &CoinSpend) -> Value {
    json!({
        "coin": coin_to_json(&spend.coin),
        "puzzle_reveal": spend.puzzle_reveal.to_json(),
        "solution": spend.solution.to_json(),
    })
}

pub fn coin_spend_from_json(value: &Value, p: &str) -> Result<CoinSpend, FieldError> {
    let o = expect_object(value, p)?;
    Ok(CoinSpend::new(
        coin_from_json(o.get("coin").unwrap_or(&Value::Null), &path(p, "coin"))?,
        field::<Program>(o, p, "puzzle_reveal")?,
        field::<Program>(o, p, "solution")?,
    ))
}

/// The body of a `push_tx` request (node and wallet alike).
pub fn bundle_body(bundle: &SpendBundle) -> Value {
    serde_json::json!({ "spend_bundle": spend_bundle_to_json(bundle) })
}

pub fn spend_bundle_to_json(bundle: &SpendBundle) -> Value {
    json!({
        "coin_spends": bundle.coin_spends.iter().map(coin_spend_to_json).collect::<Vec<_>>(),
        "aggregated_signature": bundle.aggregated_signature.to_json(),
    })
}

pub fn spend_bundle_from_json(value: &Value, p: &str) -> Result<SpendBundle, FieldError> {
    let o = expect_object(value, p)?;
    Ok(SpendBundle::new(
        list(o, p, "coin_spends", coin_spend_from_json)?,
        field::<Signature>(o, p, "aggregated_signature")?,
    ))
}

pub fn vdf_info_to_json(vdf: &VDFInfo) -> Value {
    json!({
        "challenge": vdf.challenge.to_json(),
        "number_of_iterations": vdf.number_of_iterations,
        "output": {"data": format!("0x{}", hex::encode(vdf.output.data))},
    })
}

pub fn vdf_info_from_json(value: &Value, p: &str) -> Result<VDFInfo, FieldError> {
    let o = expect_object(value, p)?;
    let output = object(o, p, "output")?;
    let output_path = path(p, "output");
    let data: String = field(output, &output_path, "data")?;
    let data = decode_hex_array::<100>(&data)
        .map_err(|e| FieldError::new(&path(&output_path, "data"), e))?;
    Ok(VDFInfo::new(
        field(o, p, "challenge")?,
        field(o, p, "number_of_iterations")?,
        ClassgroupElement::new(Bytes100::new(data)),
    ))
}

pub fn challenge_chain_sub_slot_to_json(cc: &ChallengeChainSubSlot) -> Value {
    json!({
        "challenge_chain_end_of_slot_vdf": vdf_info_to_json(&cc.challenge_chain_end_of_slot_vdf),
        "infused_challenge_chain_sub_slot_hash": cc.infused_challenge_chain_sub_slot_hash.to_json(),
        "subepoch_summary_hash": cc.subepoch_summary_hash.to_json(),
        "new_sub_slot_iters": cc.new_sub_slot_iters,
        "new_difficulty": cc.new_difficulty,
    })
}

pub fn challenge_chain_sub_slot_from_json(
    value: &Value,
    p: &str,
) -> Result<ChallengeChainSubSlot, FieldError> {
    let o = expect_object(value, p)?;
    Ok(ChallengeChainSubSlot::new(
        vdf_info_from_json(
            o.get("challenge_chain_end_of_slot_vdf")
                .unwrap_or(&Value::Null),
            &path(p, "challenge_chain_end_of_slot_vdf"),
        )?,
        optional(o, p, "infused_challenge_chain_sub_slot_hash")?,
        optional(o, p, "subepoch_summary_hash")?,
        optional(o, p, "new_sub_slot_iters")?,
        optional(o, p, "new_difficulty")?,
    ))
}
