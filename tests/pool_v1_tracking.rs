//! A v1 member followed after it joined, on the real spends chia-blockchain 2.7.5 made (tests/vectors/
//! puzzles_v1.json, the pool set to their pool target and network): an absorb leaves it pooling, the travel
//! to the waiting room makes it leaving, a reorg that undoes the travel makes it pooling again, and the travel
//! to self-pooling makes it left.

mod support;

use std::time::Duration;

use chia_protocol::Bytes32;
use serde_json::Value;
use support::plotnft_v1_vectors::{
    bytes32, land, launch, pool_target, register, step, use_vectors_network, vectors,
};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_member_is_followed_through_leaving_a_reorg_and_self_pooling() {
    let keys = &vectors("messages_v1.json")["keys"];
    let chain = FakeChain::start().await;
    use_vectors_network(&chain);
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

    // An absorb keeps it pooling; the travel to the waiting room makes it leaving.
    land(&chain, &step("absorb_pool_member"));
    let travel = step("travel_member_to_waiting_room");
    land(&chain, &travel);
    wait_for_membership(&chain, &base, launcher_id, "leaving (waiting room)").await;

    // A reorg undoes the travel: the member pools again.
    chain.node_state().unspend_coin(travel.coin.coin_id());
    wait_for_membership(&chain, &base, launcher_id, "pooling").await;

    // The travel lands again, then the one to self-pooling: the member has left.
    land(&chain, &travel);
    wait_for_membership(&chain, &base, launcher_id, "leaving (waiting room)").await;
    land(&chain, &step("travel_waiting_room_to_self_pooling"));
    wait_for_membership(&chain, &base, launcher_id, "left").await;
}
