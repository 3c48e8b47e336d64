//! A difficulty change does not punish partials in flight: the 2.7.5 farmer sends all proofs of a signage point
//! at once, and when the first answer raises the difficulty the rest, made at the old one, are judged and
//! credited at the old one. A signage point that comes after the change (and its grace) is judged at the new
//! difficulty.

mod support;

use chia_bls::SecretKey;
use chia_pool::chia::messages::Message;
use chia_pool::chia::puzzles::reward_puzzle_hash;
use chia_protocol::Bytes32;
use serde_json::Value;
use support::plots::{signed_partial, TestPlot};
use support::pool_process::PoolProcess;
use support::FakeChain;

const TARGET: [u8; 32] = [0x7b; 32];
/// The controller's time target and step: one step from difficulty 1 goes far beyond what any test proof meets.
const STEP: u64 = 1_000_000_000_000;

fn post(url: &str, body: &str) -> Value {
    let text = ureq::post(url)
        .set("Content-Type", "application/json")
        .send_string(body)
        .expect("POST")
        .into_string()
        .expect("body");
    serde_json::from_str(&text).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_across_a_difficulty_change_is_credited_at_its_difficulty() {
    let chain = FakeChain::start().await;
    let constants = support::farmer::use_small_plot_constants(&chain);
    // Difficulties here go far past the default ceiling: lift it.
    let pool_lines = format!(
        "reward_address = \"{}\"\nmax_difficulty = {}",
        hex::encode(TARGET),
        u64::MAX
    );
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start(
            &chain,
            &pool_lines,
            &format!(
                "[partials]\nconfirmation_delay_secs = 2\npartials_target = 2\ntime_target_secs = {STEP}\n\
                 max_difficulty_step = {STEP}\n"
            ),
        )
    });
    let base = pool.base_url.clone();
    let auth_sk = SecretKey::from_seed(&[81; 32]);
    let launcher = Bytes32::new([81; 32]);
    let token = tokio::task::block_in_place(|| {
        support::farmer::join_pool(
            &chain,
            &ureq::agent(),
            &base,
            launcher,
            &auth_sk,
            Bytes32::new(TARGET),
        )
    });
    let plot = tokio::task::block_in_place(|| TestPlot::create(reward_puzzle_hash(launcher), 0));
    let (c0, c1, c2) = {
        let mut node = chain.node_state();
        let c0 = node.current_challenge;
        let c1 = node.new_slot(None);
        (c0, c1, node.new_slot(None))
    };
    let prev_tx = chain.node_state().peak().height;
    let passing: Vec<u8> = (1..64u8)
        .filter(|&i| plot.passes_filter(&constants, prev_tx, i, if i >= 16 { &c1 } else { &c0 }))
        .collect();
    assert!(!passing.is_empty(), "the plot passes the filter somewhere");
    // Signage points at a passing index until one has `n` proofs.
    let proofs_at = |n: usize| {
        for _ in 0..20_000 {
            let sp = chain.node_state().add_signage_point(passing[0]);
            let proofs = plot.proofs(&c2, &sp);
            if proofs.len() >= n {
                return (sp, proofs);
            }
        }
        panic!("no signage point with {n} proofs");
    };
    let partial = |sp, pos| {
        signed_partial(launcher, sp, pos, &plot.plot_sk, &auth_sk, &token).to_json_string()
    };
    let url = format!("{base}/v2/partial");

    // One partial: no evidence yet, difficulty stays 1.
    let (sp1, mut first) = proofs_at(1);
    let v = tokio::task::block_in_place(|| post(&url, &partial(sp1, first.remove(0))));
    assert_eq!(v["new_difficulty"], 1, "{v}");

    // A burst at one signage point: the first answer raises the difficulty; the second proof was made at 1.
    let (sp2, burst) = proofs_at(2);
    let answers: Vec<Value> = burst
        .into_iter()
        .take(2)
        .map(|pos| tokio::task::block_in_place(|| post(&url, &partial(sp2, pos))))
        .collect();
    let raised = answers[0]["new_difficulty"].as_u64().unwrap_or(0);
    assert!(raised > 1_000_000, "raised: {}", answers[0]);
    assert_eq!(
        answers[1]["new_difficulty"], raised,
        "made at difficulty 1 before the change, so accepted at 1: {}",
        answers[1]
    );

    // A signage point after the change and its grace is judged at the new difficulty.
    tokio::time::sleep(std::time::Duration::from_millis(
        chia_pool::pool::difficulty::CHANGE_GRACE_MS + 500,
    ))
    .await;
    let (sp3, mut late) = proofs_at(1);
    let v = tokio::task::block_in_place(|| post(&url, &partial(sp3, late.remove(0))));
    assert_eq!(
        v["error_code"], 5,
        "not good enough at the new difficulty: {v}"
    );

    // Each of the three accepted partials counts at difficulty 1.
    let farmer_url = format!(
        "{base}/v2/farmer?authentication_token=0&launcher_id=0x{}&authentication_token_v2={token}",
        hex::encode(launcher)
    );
    let mut points = 0;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let text = tokio::task::block_in_place(|| {
            ureq::get(&farmer_url)
                .call()
                .expect("GET")
                .into_string()
                .expect("body")
        });
        let v: Value = serde_json::from_str(&text).expect("JSON");
        points = v["current_points"].as_u64().unwrap_or(0);
        if points >= 3 {
            break;
        }
    }
    assert_eq!(points, 3);
}
