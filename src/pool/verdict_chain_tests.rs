//! The confirmation verdicts on a real chain: block records made by chia-blockchain 2.7.5's BlockTools and
//! parsed as the node's `get_block_records` answers them, with empty sub-slots, a fork that differs only
//! outside the reward chain and one that waits out a sub-slot (`tests/vectors/chain_2_7_5.json`, made by
//! `tests/interop/make_chain_vectors.py`). The expected verdicts come from a timeline of the chain's reward
//! chain events built with chia's own iteration methods, not from the rule under test.

use serde_json::Value;

use super::*;
use crate::chain::node::BlockInfo;

const CHAIN_JSON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/chain_2_7_5.json"
);

struct Vectors {
    blocks: Vec<BlockInfo>,
    num_sps_sub_slot: u8,
    genesis: Bytes32,
    targets: Vec<(Target, String, String)>,
}

fn bytes32(v: &Value) -> Bytes32 {
    let text = v.as_str().expect("hex string");
    let raw = hex::decode(text.trim_start_matches("0x")).expect("hex");
    Bytes32::new(raw.try_into().expect("32 bytes"))
}

fn load() -> Vectors {
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(CHAIN_JSON).expect("chain vectors")).unwrap();
    let blocks = doc["block_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| BlockInfo::from_json(r, "block_record").expect("a 2.7.5 block record parses"))
        .collect();
    let targets = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let target = match t["kind"].as_str().unwrap() {
                "signage_point" => Target::SignagePoint {
                    rc_challenge: bytes32(&t["rc_challenge"]),
                    cc_iterations: t["cc_iterations"].as_u64().unwrap(),
                },
                "end_of_sub_slot" => Target::SubSlot(bytes32(&t["hash"])),
                other => panic!("unknown kind {other}"),
            };
            let expect = t["expect"].as_str().unwrap().to_string();
            (target, expect, t["source"].as_str().unwrap().to_string())
        })
        .collect();
    Vectors {
        blocks,
        num_sps_sub_slot: u8::try_from(doc["num_sps_sub_slot"].as_u64().unwrap()).unwrap(),
        genesis: bytes32(&doc["genesis_challenge"]),
        targets,
    }
}

fn matches(verdict: Verdict, expect: &str) -> bool {
    match expect {
        "on_chain" => verdict == Verdict::OnChain,
        "reverted" => verdict == Verdict::Reverted(RejectReason::BlockReplaced),
        "not_on_chain" => matches!(
            verdict,
            Verdict::Reverted(
                RejectReason::SignagePointNotOnChain | RejectReason::SubSlotNotOnChain
            )
        ),
        other => panic!("unknown expectation {other}"),
    }
}

#[test]
fn every_verdict_on_a_real_chain_matches_the_chain() {
    let v = load();
    assert!(v.blocks.len() > 100);
    let window = RecentBlocks::from_blocks(v.blocks.clone());
    let mut wrong = Vec::new();
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for (target, expect, source) in &v.targets {
        *seen.entry(expect.as_str()).or_default() += 1;
        // Arrived long after the window's oldest block: the window (from genesis) covers it.
        let verdict = judge(
            &window,
            v.num_sps_sub_slot,
            v.genesis,
            *target,
            u64::MAX / 2,
        );
        if !matches(verdict, expect) {
            wrong.push(format!("{source}: expected {expect}, judged {verdict:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} verdicts wrong:\n{}",
        wrong.len(),
        v.targets.len(),
        wrong.join("\n")
    );
    // Each kind of truth is exercised, not only the easy one.
    for kind in ["on_chain", "reverted", "not_on_chain"] {
        assert!(
            seen.get(kind).copied().unwrap_or(0) >= 3,
            "{kind}: {seen:?}"
        );
    }
}

#[test]
fn a_window_that_does_not_reach_back_decides_nothing_it_cannot_see() {
    let v = load();
    // Only the newest 20 blocks, and partials that arrived when the oldest of them was made: what the
    // window cannot find is left standing (Unknown), never rejected; what it finds is judged as before.
    let recent: Vec<BlockInfo> = v.blocks[v.blocks.len() - 20..].to_vec();
    let oldest_ms = recent
        .iter()
        .filter_map(|b| b.timestamp)
        .min()
        .expect("a transaction block")
        * 1000;
    let window = RecentBlocks::from_blocks(recent);
    let mut found_unknown = 0;
    for (target, expect, source) in &v.targets {
        let verdict = judge(&window, v.num_sps_sub_slot, v.genesis, *target, oldest_ms);
        match verdict {
            Verdict::Unknown => found_unknown += 1,
            verdict => assert!(
                matches(verdict, expect),
                "{source}: expected {expect}, judged {verdict:?} from a partial window"
            ),
        }
    }
    assert!(found_unknown > 0);
}
