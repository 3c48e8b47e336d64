//! Cheap requests must not buy expensive work. Against the real binary, each abuse is measured in node calls
//! (the fake node counts them) and pool CPU per request, while an honest farmer is still served: a replayed
//! registration for a launcher without a PlotNFT, the same with coins planted at the PlotNFT's puzzle hash,
//! partials naming random signage points, and a valid proof resent with bad signatures.

mod common;
mod support;

use std::time::{Duration, Instant};

use chia_bls::{sign, DerivableKey, SecretKey};
use chia_pool::chia::messages::*;
use chia_pool::chia::puzzles::{reward_puzzle_hash, PlotNftPuzzles, PlotNftState};
use chia_protocol::Bytes32;
use serde_json::Value;
use support::plots::{find_proofs, signed_partial, TestPlot};
use support::pool_process::PoolProcess;
use support::FakeChain;

const TARGET: [u8; 32] = [0x4d; 32];

fn post(agent: &ureq::Agent, url: &str, body: &str) -> Value {
    let text = agent
        .post(url)
        .set("Content-Type", "application/json")
        .send_string(body)
        .expect("POST")
        .into_string()
        .expect("body");
    serde_json::from_str(&text).expect("JSON")
}

fn registration(launcher: Bytes32, auth_sk: &SecretKey) -> String {
    let payload = PostFarmerPayload {
        launcher_id: launcher,
        authentication_token: 0,
        authentication_public_key: auth_sk.public_key(),
        payout_instructions: hex::encode([8u8; 32]),
        suggested_difficulty: None,
    };
    PostFarmerRequest {
        signature: sign(&auth_sk.derive_unhardened(12381), payload.get_hash()),
        payload,
    }
    .to_json_string()
}

/// Sends `body` `n` times over one kept-alive connection; the answers' error codes, and CPU per request.
fn replay(
    pool: &PoolProcess,
    url: &str,
    body: &str,
    n: u32,
) -> (Vec<Option<u64>>, Option<Duration>) {
    let agent = ureq::agent();
    let before = pool.cpu_time();
    let codes = (0..n)
        .map(|_| post(&agent, url, body)["error_code"].as_u64())
        .collect();
    let cpu = pool.cpu_time().zip(before).map(|(a, b)| (a - b) / n);
    (codes, cpu)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abusive_requests_cost_little_while_an_honest_farmer_is_served() {
    let chain = FakeChain::start().await;
    let constants = support::farmer::use_small_plot_constants(&chain);
    let pool_lines = format!("reward_address = \"{}\"", hex::encode(TARGET));
    // A large request budget: what is measured here is the cost of each request that gets through.
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_server(&chain, &pool_lines, "requests_per_ip_per_sec = 1000\n")
    });
    let base = pool.base_url.clone();
    let agent = ureq::agent();
    let honest_sk = SecretKey::from_seed(&[41; 32]);
    let honest = Bytes32::new([41; 32]);
    let token = tokio::task::block_in_place(|| {
        support::farmer::join_pool(
            &chain,
            &agent,
            &base,
            honest,
            &honest_sk,
            Bytes32::new(TARGET),
        )
    });
    let farmer_url = format!(
        "{base}/v2/farmer?authentication_token=0&launcher_id=0x{}&authentication_token_v2={token}",
        hex::encode(honest)
    );
    let honest_served = || {
        let text = ureq::get(&farmer_url)
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        assert!(text.contains("current_difficulty"), "honest farmer: {text}");
    };

    // 1. One pre-signed registration for a launcher with no PlotNFT, replayed.
    let nobody_sk = SecretKey::from_seed(&[42; 32]);
    let body = registration(Bytes32::new([42; 32]), &nobody_sk);
    let lookups = chain
        .node
        .request_count("get_coin_records_by_puzzle_hashes");
    let (codes, cpu) =
        tokio::task::block_in_place(|| replay(&pool, &format!("{base}/v2/farmer"), &body, 200));
    assert!(codes.iter().all(|c| *c == Some(3)), "{codes:?}");
    let calls = chain
        .node
        .request_count("get_coin_records_by_puzzle_hashes")
        - lookups;
    eprintln!(
        "replayed registration: {calls} node lookups for 200 replays; pool CPU per request {cpu:?}"
    );
    assert!(calls <= 2, "{calls} node lookups for 200 replays");
    tokio::task::block_in_place(honest_served);

    // 2. The same with ten 1-mojo coins planted at that launcher's PlotNFT puzzle hash.
    let planted_sk = SecretKey::from_seed(&[43; 32]);
    let planted = Bytes32::new([43; 32]);
    {
        let mut node = chain.node_state();
        let ph = PlotNftPuzzles::new(
            planted,
            node.genesis_challenge(),
            planted_sk.public_key(),
            Some(support::farmer::pool_config(Bytes32::new(TARGET))),
        )
        .unwrap()
        .puzzle_hash(PlotNftState::Pooling)
        .unwrap();
        let h = node.peak().height;
        for _ in 0..10 {
            node.add_coin(ph, 1, h);
        }
    }
    let body = registration(planted, &planted_sk);
    let spends = chain.node.request_count("get_puzzle_and_solution");
    let lookups = chain
        .node
        .request_count("get_coin_records_by_puzzle_hashes");
    let (codes, cpu) =
        tokio::task::block_in_place(|| replay(&pool, &format!("{base}/v2/farmer"), &body, 100));
    assert!(codes.iter().all(|c| *c == Some(14)), "{codes:?}");
    let spends = chain.node.request_count("get_puzzle_and_solution") - spends;
    let lookups = chain
        .node
        .request_count("get_coin_records_by_puzzle_hashes")
        - lookups;
    eprintln!(
        "planted coins: {lookups} lookups and {spends} lineage calls for 100 replays; pool CPU per request {cpu:?}"
    );
    assert!(
        lookups <= 2 && spends <= 6,
        "{lookups} lookups, {spends} lineage calls"
    );
    tokio::task::block_in_place(honest_served);

    // 3. Another member's partials naming random signage points, 60 of them from 10 clients at once (the
    //    proof is never looked at: the signage point comes first).
    let plot = tokio::task::block_in_place(|| TestPlot::create(reward_puzzle_hash(honest), 0));
    let found = find_proofs(&chain, &plot, &constants, 3);
    assert!(
        found.len() >= 2,
        "the test plot found {} proofs",
        found.len()
    );
    let abuser_sk = SecretKey::from_seed(&[44; 32]);
    let abuser = Bytes32::new([44; 32]);
    let abuser_token = tokio::task::block_in_place(|| {
        support::farmer::join_pool(
            &chain,
            &agent,
            &base,
            abuser,
            &abuser_sk,
            Bytes32::new(TARGET),
        )
    });
    let mut abuser_pos = found[0].1.clone();
    abuser_pos.pool_contract_puzzle_hash = Some(reward_puzzle_hash(abuser));
    let sp_calls = chain.node.request_count("get_recent_signage_point_or_eos");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..10u8 {
        let bodies: Vec<String> = (0..6u8)
            .map(|i| {
                let random_sp =
                    Bytes32::new([t.wrapping_mul(16).wrapping_add(i).wrapping_add(100); 32]);
                signed_partial(
                    abuser,
                    random_sp,
                    abuser_pos.clone(),
                    &plot.plot_sk,
                    &abuser_sk,
                    &abuser_token,
                )
                .to_json_string()
            })
            .collect();
        let url = format!("{base}/v2/partial");
        tasks.push(tokio::task::spawn_blocking(move || {
            let agent = ureq::agent();
            bodies
                .iter()
                .map(|b| post(&agent, &url, b)["error_code"].as_u64())
                .collect::<Vec<_>>()
        }));
    }
    for t in tasks {
        let codes = t.await.unwrap();
        assert!(codes.iter().all(|c| *c == Some(3)), "{codes:?}");
    }
    let sp_calls = chain.node.request_count("get_recent_signage_point_or_eos") - sp_calls;
    eprintln!(
        "random signage points: {sp_calls} node calls for 60 partials in {:?}",
        started.elapsed()
    );
    // Three lookups per launcher per block get through, each polling the node while it waits (about 7 calls);
    // unbounded, 60 partials cost over 300.
    assert!(sp_calls <= 30, "{sp_calls} node calls for 60 partials");

    // 4. A valid proof resent with bad signatures, while the honest partial is sent.
    let forged = {
        let request = signed_partial(
            honest,
            found[0].0,
            found[0].1.clone(),
            &plot.plot_sk,
            &honest_sk,
            &token,
        );
        let mut v: Value = serde_json::from_str(&request.to_json_string()).unwrap();
        let m = request.payload.get_hash();
        v["aggregate_signature"] =
            Value::String(format!("0x{}", hex::encode(sign(&honest_sk, m).to_bytes())));
        v.to_string()
    };
    let honest_partial = signed_partial(
        honest,
        found[1].0,
        found[1].1.clone(),
        &plot.plot_sk,
        &honest_sk,
        &token,
    )
    .to_json_string();
    let url = format!("{base}/v2/partial");
    let honest_task = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(200));
            let start = Instant::now();
            let v = post(&ureq::agent(), &url, &honest_partial);
            (v, start.elapsed())
        })
    };
    let (codes, cpu) = tokio::task::block_in_place(|| replay(&pool, &url, &forged, 200));
    assert!(codes.iter().all(|c| *c == Some(7)), "{codes:?}");
    eprintln!("bad-signature replays: pool CPU per request {cpu:?}");
    let (v, took) = honest_task.await.unwrap();
    assert!(
        v["new_difficulty"].as_u64().is_some(),
        "the honest partial is accepted: {v}"
    );
    assert!(
        took < Duration::from_secs(25),
        "within the partial time limit: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn farmers_never_see_node_details_and_difficulty_has_a_ceiling() {
    let chain = FakeChain::start().await;
    let pool_lines = format!(
        "reward_address = \"{}\"\nmax_difficulty = 5000",
        hex::encode(TARGET)
    );
    let pool = tokio::task::block_in_place(|| PoolProcess::start(&chain, &pool_lines, ""));
    let base = pool.base_url.clone();
    let agent = ureq::agent();
    let sk = SecretKey::from_seed(&[51; 32]);
    let launcher = Bytes32::new([51; 32]);
    let token = tokio::task::block_in_place(|| {
        support::farmer::join_pool(&chain, &agent, &base, launcher, &sk, Bytes32::new(TARGET))
    });

    // A suggested difficulty above the documented maximum is refused; at it, accepted.
    for (difficulty, code) in [(5001u64, Some(6)), (u64::MAX, Some(6)), (5000, None)] {
        let payload = PutFarmerPayload {
            launcher_id: launcher,
            authentication_token: 0,
            authentication_public_key: None,
            payout_instructions: None,
            suggested_difficulty: Some(difficulty),
            authentication_token_v2: token.clone(),
        };
        let body = PutFarmerRequest {
            signature: Some(sign(&sk.derive_unhardened(12381), payload.get_hash())),
            payload,
        }
        .to_json_string();
        let v = tokio::task::block_in_place(|| {
            serde_json::from_str::<Value>(
                &agent
                    .put(&format!("{base}/v2/farmer"))
                    .send_string(&body)
                    .unwrap()
                    .into_string()
                    .unwrap(),
            )
            .unwrap()
        });
        assert_eq!(
            v["error_code"].as_u64(),
            code,
            "difficulty {difficulty}: {v}"
        );
    }

    // With the node gone, a registration that needs it is told so, without the node's address or RPC.
    let node_url = chain.node.url();
    let port = node_url
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    chain.node.stop().await;
    let other_sk = SecretKey::from_seed(&[52; 32]);
    let body = registration(Bytes32::new([52; 32]), &other_sk);
    let v = tokio::task::block_in_place(|| post(&agent, &format!("{base}/v2/farmer"), &body));
    assert_eq!(v["error_code"].as_u64(), Some(8), "{v}");
    let message = v["error_message"].as_str().unwrap_or_default().to_string();
    for secret in [
        node_url.as_str(),
        port.as_str(),
        "127.0.0.1",
        "https",
        "rpc",
        "get_coin",
        "/",
    ] {
        assert!(
            !message.to_lowercase().contains(secret),
            "{secret:?} in {message:?}"
        );
    }
    chain.node.restart().await;
}
