//! The simulated chain and wallet saved to one JSON file in the demo directory, so that a second run goes on
//! from the same blocks, coins and wallet transactions the pool's database remembers. Signage points and end
//! of slots are not kept: a restored node opens new slots, as a node does after a restart.

use std::path::Path;

use chia_protocol::{Bytes32, CoinRecord, CoinSpend};
use chia_traits::Streamable;
use serde_json::{json, Value};

use super::node::{parse32, FakeBlock, NodeState};
use super::wallet::WalletState;

#[derive(Debug, thiserror::Error)]
pub enum StoreFileError {
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{path} is not a saved simulated chain: {reason}")]
    Format { path: String, reason: String },
}

fn hex32(b: &Bytes32) -> String {
    hex::encode(b)
}

fn streamable<T: Streamable>(v: &T) -> String {
    hex::encode(v.to_bytes().unwrap_or_default())
}

fn from_hex<T: Streamable>(v: &Value) -> Option<T> {
    T::from_bytes(&hex::decode(v.as_str()?).ok()?).ok()
}

fn block_json(b: &FakeBlock) -> Value {
    json!({
        "header_hash": hex32(&b.header_hash), "prev_hash": hex32(&b.prev_hash), "height": b.height,
        "timestamp": b.timestamp, "prev_tx_height": b.prev_tx_height, "total_iters": b.total_iters.to_string(),
        "signage_point_index": b.signage_point_index, "required_iters": b.required_iters,
        "sub_slot_iters": b.sub_slot_iters, "overflow": b.overflow,
        "reward_infusion_new_challenge": hex32(&b.reward_infusion_new_challenge),
        "finished_slots": b.finished_slots.iter().map(|(c, r)| json!([hex32(c), hex32(r)])).collect::<Vec<_>>(),
        "slot_index": b.slot_index,
    })
}

fn block_from(v: &Value) -> Option<FakeBlock> {
    let u = |k: &str| v[k].as_u64();
    Some(FakeBlock {
        header_hash: parse32(&v["header_hash"])?,
        prev_hash: parse32(&v["prev_hash"])?,
        height: u32::try_from(u("height")?).ok()?,
        timestamp: v["timestamp"].as_u64(),
        prev_tx_height: u32::try_from(u("prev_tx_height")?).ok()?,
        total_iters: v["total_iters"].as_str()?.parse().ok()?,
        signage_point_index: u8::try_from(u("signage_point_index")?).ok()?,
        required_iters: u("required_iters")?,
        sub_slot_iters: u("sub_slot_iters")?,
        overflow: v["overflow"].as_bool()?,
        reward_infusion_new_challenge: parse32(&v["reward_infusion_new_challenge"])?,
        finished_slots: v["finished_slots"]
            .as_array()?
            .iter()
            .map(|p| Some((parse32(&p[0])?, parse32(&p[1])?)))
            .collect::<Option<_>>()?,
        slot_index: u("slot_index")?,
    })
}

/// Writes the chain and wallet to `path` (through a temporary file, then a rename).
pub fn save(path: &Path, node: &NodeState, wallet: &WalletState) -> Result<(), StoreFileError> {
    let value = json!({
        "node": {
            "blocks": node.blocks.iter().map(block_json).collect::<Vec<_>>(),
            "coins": node.coins.values().map(streamable).collect::<Vec<_>>(),
            "hints": node.hints.iter().map(|(h, c)| json!([hex32(h), hex32(c)])).collect::<Vec<_>>(),
            "spends": node.spends.values().map(|(h, s)| json!([h, streamable(s)])).collect::<Vec<_>>(),
            "counter": node.counter(),
            "current_challenge": hex32(&node.current_challenge),
            "slot_start_iters": node.slot_start_iters.to_string(),
            "slot_index": node.slot_index,
            "slot_pos": node.slot_pos,
            "current_rc": hex32(&node.current_rc),
            "slot_rc": hex32(&node.slot_rc),
        },
        "wallet": {
            "spendable": wallet.spendable,
            "height": wallet.height,
            "counter": wallet.counter(),
            "transactions": wallet.transactions.values().collect::<Vec<_>>(),
        },
    });
    let io = |e: std::io::Error| StoreFileError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, value.to_string()).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// The chain and wallet saved at `path`, or None when there is no such file.
pub fn load(path: &Path) -> Result<Option<(NodeState, WalletState)>, StoreFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StoreFileError::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        }
    };
    let bad = |reason: &str| StoreFileError::Format {
        path: path.display().to_string(),
        reason: reason.to_string(),
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
    let n = &v["node"];
    let mut node = NodeState::new();
    node.blocks = n["blocks"]
        .as_array()
        .and_then(|a| a.iter().map(block_from).collect::<Option<Vec<_>>>())
        .filter(|b| !b.is_empty())
        .ok_or_else(|| bad("blocks"))?;
    node.coins.clear();
    for c in n["coins"].as_array().ok_or_else(|| bad("coins"))? {
        let r: CoinRecord = from_hex(c).ok_or_else(|| bad("a coin record"))?;
        node.coins.insert(r.coin.coin_id(), r);
    }
    node.hints = n["hints"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .map(|p| Some((parse32(&p[0])?, parse32(&p[1])?)))
                .collect()
        })
        .ok_or_else(|| bad("hints"))?;
    for s in n["spends"].as_array().ok_or_else(|| bad("spends"))? {
        let height = s[0].as_u64().and_then(|h| u32::try_from(h).ok());
        let spend: Option<CoinSpend> = from_hex(&s[1]);
        let (Some(height), Some(spend)) = (height, spend) else {
            return Err(bad("a spend"));
        };
        node.spends.insert(spend.coin.coin_id(), (height, spend));
    }
    node.set_counter(n["counter"].as_u64().ok_or_else(|| bad("counter"))?);
    node.current_challenge = parse32(&n["current_challenge"]).ok_or_else(|| bad("challenge"))?;
    node.slot_start_iters = n["slot_start_iters"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("slot_start_iters"))?;
    node.slot_index = n["slot_index"].as_u64().ok_or_else(|| bad("slot_index"))?;
    node.slot_pos = n["slot_pos"].as_u64().ok_or_else(|| bad("slot_pos"))?;
    node.current_rc = parse32(&n["current_rc"]).ok_or_else(|| bad("current_rc"))?;
    node.slot_rc = parse32(&n["slot_rc"]).ok_or_else(|| bad("slot_rc"))?;
    node.signage_points.clear();
    node.end_of_slots.clear();
    node.pending_slots.clear();

    let w = &v["wallet"];
    let mut wallet = WalletState::new(node.genesis_challenge());
    wallet.spendable = w["spendable"].as_u64().ok_or_else(|| bad("spendable"))?;
    wallet.height = w["height"]
        .as_u64()
        .and_then(|h| u32::try_from(h).ok())
        .ok_or_else(|| bad("height"))?;
    wallet.set_counter(w["counter"].as_u64().ok_or_else(|| bad("counter"))?);
    for tx in w["transactions"]
        .as_array()
        .ok_or_else(|| bad("transactions"))?
    {
        let name = parse32(&tx["name"]).ok_or_else(|| bad("a transaction"))?;
        wallet.transactions.insert(name, tx.clone());
    }
    Ok(Some((node, wallet)))
}
