//! The 2.7.5 farmer sends every proof it finds for a signage point at once, on new connections, as soon as the
//! signage point arrives: the pool has not looked that point up yet. Such a burst from one launcher must share
//! one node lookup and be judged on its merits, never refused as an unknown signage point.

mod common;
mod support;

use std::time::Duration;

use chia_bls::SecretKey;
use chia_pool::chia::messages::*;
use chia_pool::chia::puzzles::reward_puzzle_hash;
use chia_protocol::Bytes32;
use serde_json::Value;
use support::plots::{find_proofs, signed_partial, TestPlot};
use support::pool_process::PoolProcess;
use support::FakeChain;

const TARGET: [u8; 32] = [0x5e; 32];
const BURST: usize = 8;

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
async fn a_burst_for_a_fresh_signage_point_shares_one_lookup() {
    let chain = FakeChain::start().await;
    let constants = support::farmer::use_small_plot_constants(&chain);
    let pool_lines = format!("reward_address = \"{}\"", hex::encode(TARGET));
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_server(&chain, &pool_lines, "requests_per_ip_per_sec = 1000\n")
    });
    let base = pool.base_url.clone();
    let auth_sk = SecretKey::from_seed(&[0x5e; 32]);
    let launcher = Bytes32::new([0x5e; 32]);
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
    let found = find_proofs(&chain, &plot, &constants, 1);
    let (sp_hash, pos) = found
        .into_iter()
        .next()
        .expect("the test plot found no proof");
    let body =
        signed_partial(launcher, sp_hash, pos, &plot.plot_sk, &auth_sk, &token).to_json_string();

    // A slow node lookup makes the whole burst arrive while the first lookup is in flight.
    chain.node_state().signage_point_delay = Some(Duration::from_millis(400));
    let sp_calls = chain.node.request_count("get_recent_signage_point_or_eos");
    let url = format!("{base}/v2/partial");
    let tasks: Vec<_> = (0..BURST)
        .map(|_| {
            let (url, body) = (url.clone(), body.clone());
            tokio::task::spawn_blocking(move || post(&url, &body))
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("request task"));
    }
    let sp_calls = chain.node.request_count("get_recent_signage_point_or_eos") - sp_calls;

    let accepted = answers
        .iter()
        .filter(|a| a["new_difficulty"].is_u64())
        .count();
    let codes: Vec<u64> = answers
        .iter()
        .filter_map(|a| a["error_code"].as_u64())
        .collect();
    assert_eq!(accepted, 1, "the proof counts exactly once: {answers:?}");
    assert!(
        codes.iter().all(|c| *c == 16),
        "the others are duplicates, not unknown signage points: {answers:?}"
    );
    // One shared fetch: the signage point and at most the two sub-slots its plot filter challenge needs
    // (unshared, the burst would cost eight times that).
    assert!(
        sp_calls <= 3,
        "{sp_calls} node lookups for one signage point"
    );
}
