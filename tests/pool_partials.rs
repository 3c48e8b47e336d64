//! Partials with real v2 proofs from a plot made in the test, sent to the real binary as the 2.7.5 farmer
//! sends them: accepted, credited once, durable across kill -9, confirmed into points.

mod common;
mod support;

use chia_bls::{sign, SecretKey};
use chia_pool::chia::messages::*;
use chia_pool::chia::puzzles::reward_puzzle_hash;
use chia_protocol::Bytes32;
use serde_json::Value;
use support::plots::{find_proofs, signed_partial, TestPlot};
use support::pool_process::PoolProcess;
use support::FakeChain;

const TARGET: [u8; 32] = [0x4d; 32];

fn post(url: &str, body: &str) -> Value {
    let text = ureq::post(url)
        .set("Content-Type", "application/json")
        .set("User-Agent", "Chia Blockchain v.2.7.5")
        .set("chia-farmer-version", "2.7.5")
        .send_string(body)
        .expect("POST")
        .into_string()
        .expect("body");
    serde_json::from_str(&text).expect("JSON")
}

fn get(url: &str) -> Value {
    serde_json::from_str(
        &ureq::get(url)
            .call()
            .expect("GET")
            .into_string()
            .expect("body"),
    )
    .expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_partials_are_credited_once_and_survive_a_kill() {
    let chain = FakeChain::start().await;
    let constants = support::farmer::use_small_plot_constants(&chain);
    let pool_lines = format!("reward_address = \"{}\"", hex::encode(TARGET));
    let mut pool = tokio::task::block_in_place(|| {
        PoolProcess::start(
            &chain,
            &pool_lines,
            "[partials]\nconfirmation_delay_secs = 2\n",
        )
    });
    let base = pool.base_url.clone();
    let auth_sk = SecretKey::from_seed(&[21; 32]);
    let launcher = Bytes32::new([21; 32]);
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
    let found = find_proofs(&chain, &plot, &constants, 3);
    assert!(!found.is_empty(), "the test plot found no proof");
    let requests: Vec<String> = found
        .into_iter()
        .map(|(sp_hash, pos)| {
            signed_partial(launcher, sp_hash, pos, &plot.plot_sk, &auth_sk, &token).to_json_string()
        })
        .collect();
    // A partial is worth the farmer's difficulty when it is accepted: 1 to start, then what the pool answers.
    let mut difficulty = 1;
    let mut expected_points = 0;
    for body in &requests {
        let v = tokio::task::block_in_place(|| post(&format!("{base}/v2/partial"), body));
        expected_points += difficulty;
        difficulty = v["new_difficulty"]
            .as_u64()
            .unwrap_or_else(|| panic!("partial refused: {v}"));
        let again = tokio::task::block_in_place(|| post(&format!("{base}/v2/partial"), body));
        assert_eq!(again["error_code"], 16, "a duplicate counts once: {again}");
    }
    // A partial signed without the plot key is refused.
    let mut forged: Value = serde_json::from_str(&requests[0]).unwrap();
    let m = PostPartialRequest::from_json_str(&requests[0])
        .unwrap()
        .payload
        .get_hash();
    forged["aggregate_signature"] =
        Value::String(format!("0x{}", hex::encode(sign(&auth_sk, m).to_bytes())));
    let v =
        tokio::task::block_in_place(|| post(&format!("{base}/v2/partial"), &forged.to_string()));
    assert!(
        matches!(v["error_code"].as_u64(), Some(7) | Some(16)),
        "{v}"
    );

    // kill -9 right after the answers: every accepted partial was durable before its answer.
    pool.kill();
    tokio::task::block_in_place(|| pool.restart());
    let base = pool.base_url.clone();
    for body in &requests {
        let v = tokio::task::block_in_place(|| post(&format!("{base}/v2/partial"), body));
        assert_eq!(v["error_code"], 16, "still recorded after the kill: {v}");
    }
    let farmer_url = format!(
        "{base}/v2/farmer?authentication_token=0&launcher_id=0x{}&authentication_token_v2={token}",
        hex::encode(launcher)
    );
    let mut points = 0;
    for _ in 0..100 {
        points = tokio::task::block_in_place(|| get(&farmer_url))["current_points"]
            .as_u64()
            .unwrap_or(0);
        if points == expected_points {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        points,
        requests.len() as u64,
        "each partial at difficulty 1 confirms into one point"
    );
}
