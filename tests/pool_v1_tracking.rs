//! A v1 member followed after it joined, on the real spends chia-blockchain 2.7.5 made (tests/vectors/
//! puzzles_v1.json, the pool set to their pool target and network): an absorb leaves it pooling, the travel
//! to the waiting room makes it leaving, a reorg that undoes the travel makes it pooling again, and the travel
//! to self-pooling makes it left. Its partials (from a plot made for its p2_singleton) are credited while it
//! pools and refused, saying why, once it is leaving or has left.

mod support;

use std::num::NonZeroU8;
use std::time::Duration;

use chia_pool::chia::constants::ConsensusConstants;
use chia_pool::chia::messages::Message;
use chia_pool::chia::v1::messages::authentication_token;
use chia_pool::pool::unix_now;

use chia_protocol::Bytes32;
use serde_json::Value;
use support::plotnft_v1_vectors::{
    authentication_sk, bytes32, land, launch, pool_target, register, step, use_vectors_network,
    vectors,
};
use support::plots::{find_proofs, signed_partial_with, TestPlot};
use support::pool_process::PoolProcess;
use support::FakeChain;

async fn wait_for_membership(chain: &FakeChain, base: &str, launcher: Bytes32, want: &str) {
    let url = format!("{base}/api/farmer/{}", hex::encode(launcher));
    let mut seen = Value::Null;
    for _ in 0..60 {
        chain.node_state().add_block(true);
        tokio::time::sleep(Duration::from_millis(300)).await;
        // 404 until the status figures, rebuilt every second, include the new member.
        let text = tokio::task::block_in_place(|| ureq::get(&url).call().ok()?.into_string().ok());
        let v: Value = text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        seen = v["membership"].clone();
        if seen == want {
            return;
        }
    }
    panic!("membership stayed {seen}, wanted {want}");
}

/// A partial from `plot` at a fresh signage point, signed as 2.7.5's farmer signs a v1 partial: the answer.
fn send_partial(
    chain: &FakeChain,
    base: &str,
    plot: &TestPlot,
    constants: &ConsensusConstants,
    launcher_id: Bytes32,
) -> Value {
    let (sp_hash, proof) = find_proofs(chain, plot, constants, 1)
        .into_iter()
        .next()
        .expect("the test plot found no proof");
    let token = authentication_token(unix_now(), NonZeroU8::new(10).expect("timeout"));
    let request = signed_partial_with(
        launcher_id,
        sp_hash,
        proof,
        &plot.plot_sk,
        &authentication_sk(),
        token,
        "",
    );
    let answer = ureq::post(&format!("{base}/partial"))
        .send_string(&request.to_json_string())
        .expect("POST /partial")
        .into_string()
        .expect("body");
    serde_json::from_str(&answer).expect("JSON")
}

/// The error code and message of a refusal.
fn refusal(v: &Value) -> (u64, String) {
    (
        v["error_code"].as_u64().unwrap_or_default(),
        v["error_message"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_member_is_followed_through_leaving_a_reorg_and_self_pooling() {
    let keys = &vectors("messages_v1.json")["keys"];
    let chain = FakeChain::start().await;
    use_vectors_network(&chain);
    let constants = support::farmer::use_small_plot_constants(&chain);
    let target = pool_target();
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_status(
            &chain,
            &format!("reward_address = \"{target}\"\nrelative_lock_height = 100"),
            "",
            "refresh_secs = 1",
            "",
        )
    });
    let base = pool.base_url.clone();

    // The PlotNFT as 2.7.5 launched it, then its registration signed by the owner key.
    let launcher_id = launch(&chain);
    assert_eq!(launcher_id, bytes32(&keys["launcher_id"]));
    let answer = tokio::task::block_in_place(|| register(&base, launcher_id));
    assert!(answer.contains("welcome_message"), "{answer}");
    wait_for_membership(&chain, &base, launcher_id, "pooling").await;
    let p2_singleton = bytes32(&vectors("puzzles_v1.json")["p2_singleton_puzzle_hash"]);
    let plot = tokio::task::block_in_place(|| TestPlot::create(p2_singleton, 0));
    let partial = |chain: &FakeChain| {
        tokio::task::block_in_place(|| send_partial(chain, &base, &plot, &constants, launcher_id))
    };
    let v = partial(&chain);
    assert!(
        v["new_difficulty"].is_u64(),
        "a pooling member's partial: {v}"
    );

    // An absorb keeps it pooling; the travel to the waiting room makes it leaving.
    land(&chain, &step("absorb_pool_member"));
    let travel = step("travel_member_to_waiting_room");
    land(&chain, &travel);
    wait_for_membership(&chain, &base, launcher_id, "leaving (waiting room)").await;
    let (code, message) = refusal(&partial(&chain));
    assert!(
        code == 14 && message.contains("leaving"),
        "{code}: {message}"
    );

    // A reorg undoes the travel: the member pools again.
    chain.node_state().unspend_coin(travel.coin.coin_id());
    wait_for_membership(&chain, &base, launcher_id, "pooling").await;

    // The travel lands again, then the one to self-pooling: the member has left.
    land(&chain, &travel);
    wait_for_membership(&chain, &base, launcher_id, "leaving (waiting room)").await;
    land(&chain, &step("travel_waiting_room_to_self_pooling"));
    wait_for_membership(&chain, &base, launcher_id, "left").await;
    let (code, message) = refusal(&partial(&chain));
    assert!(
        code == 14 && message.contains("POST /farmer after rejoining"),
        "{code}: {message}"
    );
}
