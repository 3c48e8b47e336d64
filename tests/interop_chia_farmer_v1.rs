//! The released chia-blockchain 2.7.5 farmer's own pool client code, for a v1 PlotNFT, talks to the real
//! binary: pool_info, GET/POST/PUT /farmer and partials at the root, signed by 2.7.5 itself (the owner key
//! found among its root keys, the time-window token), for the v1 PlotNFT 2.7.5 launched in the vectors.

mod support;

use std::num::NonZeroU8;

use chia_pool::chia::messages::Message;
use chia_pool::chia::v1::messages::authentication_token;
use serde_json::{json, Value};
use support::chia_python::{chia_python, run_farmer_script};
use support::plotnft_v1_vectors::{
    authentication_sk, bytes32, launch, pool_target, use_vectors_network, vectors,
};
use support::plots::{find_proofs, signed_partial_with, TestPlot};
use support::pool_process::PoolProcess;
use support::FakeChain;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_2_7_5_farmer_code_joins_and_farms_with_a_v1_plotnft() {
    // Made once before the pool starts: the first run installs chia-blockchain 2.7.5.
    tokio::task::block_in_place(chia_python);
    let keys = vectors("messages_v1.json")["keys"].clone();
    let key = |name: &str| keys[name].as_str().unwrap().to_string();
    let chain = FakeChain::start().await;
    let constants = support::farmer::use_small_plot_constants(&chain);
    use_vectors_network(&chain);
    let target = pool_target();
    let pool_lines = format!("reward_address = \"{target}\"\nrelative_lock_height = 100");
    let pool = tokio::task::block_in_place(|| PoolProcess::start(&chain, &pool_lines, ""));
    let launcher = launch(&chain);
    assert_eq!(launcher, bytes32(&keys["launcher_id"]));

    let auth_sk = authentication_sk();
    let p2_singleton = bytes32(&keys["p2_singleton_puzzle_hash"]);
    let plot = tokio::task::block_in_place(|| TestPlot::create(p2_singleton, 0));
    let found = find_proofs(&chain, &plot, &constants, 2);
    assert!(!found.is_empty(), "the test plot found no proof");
    // v1 partials carry the time-window token in their signed payload, as the 2.7.5 farmer makes them.
    let token = authentication_token(chia_pool::pool::unix_now(), NonZeroU8::new(10).unwrap());
    let partials: Vec<Value> = found
        .into_iter()
        .map(|(sp, pos)| {
            let request =
                signed_partial_with(launcher, sp, pos, &plot.plot_sk, &auth_sk, token, "");
            serde_json::from_str(&request.to_json_string()).unwrap()
        })
        .collect();
    let payout = hex::encode([5u8; 32]);
    let new_payout = hex::encode([6u8; 32]);
    let spec = json!({
        "version": 1,
        "auth_sk": key("authentication_sk"),
        "master_sk": key("master_sk"),
        "owner_pk": key("owner_pk"),
        "launcher_id": hex::encode(launcher),
        "pool_url": pool.base_url,
        "payout_instructions": payout,
        "new_payout_instructions": new_payout,
        "target_puzzle_hash": target,
        "reward_puzzle_hash": hex::encode(p2_singleton),
        "partials": partials,
    });
    tokio::task::block_in_place(|| run_farmer_script(pool.dir(), &spec));
}
