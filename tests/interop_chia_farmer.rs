//! The released chia-blockchain 2.7.5 farmer's own pool client code talks to the real binary: pool_info,
//! auth, GET/POST/PUT farmer and partials with real v2 proofs, every answer parsed by 2.7.5's own types.
//!
//! Python with chia-blockchain 2.7.5 comes from `CHIA_PYTHON`, else a virtual environment made once under
//! `target/chia-2.7.5-venv` (`pip install chia-blockchain==2.7.5`).

mod common;
mod support;

use chia_bls::SecretKey;
use chia_pool::chia::messages::Message;
use chia_pool::chia::puzzles::{reward_puzzle_hash, PlotNftState};
use chia_protocol::Bytes32;
use serde_json::{json, Value};
use support::chia_python::{chia_python, run_farmer_script};
use support::plotnft_chain::add_plotnft;
use support::plots::{find_proofs, signed_partial, TestPlot};
use support::pool_process::PoolProcess;
use support::FakeChain;

const TARGET: [u8; 32] = [0x2c; 32];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_2_7_5_farmer_code_joins_and_farms() {
    // Made once before the pool starts: the first run installs chia-blockchain 2.7.5.
    tokio::task::block_in_place(chia_python);
    let chain = FakeChain::start().await;
    let constants = support::farmer::use_small_plot_constants(&chain);
    let pool_lines = format!("reward_address = \"{}\"", hex::encode(TARGET));
    let pool = tokio::task::block_in_place(|| PoolProcess::start(&chain, &pool_lines, ""));

    let auth_sk = SecretKey::from_seed(&[33; 32]);
    let launcher = Bytes32::new([33; 32]);
    let cfg = support::farmer::pool_config(Bytes32::new(TARGET));
    add_plotnft(
        &mut chain.node_state(),
        launcher,
        auth_sk.public_key(),
        &cfg,
        PlotNftState::Pooling,
    );
    let reward = reward_puzzle_hash(launcher);
    let plot = tokio::task::block_in_place(|| TestPlot::create(reward, 0));
    let found = find_proofs(&chain, &plot, &constants, 2);
    assert!(!found.is_empty(), "the test plot found no proof");
    // The script puts the token it obtained into each partial; signatures do not cover the token.
    let partials: Vec<Value> = found
        .into_iter()
        .map(|(sp, pos)| {
            let request = signed_partial(launcher, sp, pos, &plot.plot_sk, &auth_sk, "");
            serde_json::from_str(&request.to_json_string()).unwrap()
        })
        .collect();
    let payout = hex::encode([5u8; 32]);
    let new_payout = hex::encode([6u8; 32]);
    let spec = json!({
        "auth_sk": hex::encode(auth_sk.to_bytes()),
        "launcher_id": hex::encode(launcher),
        "pool_url": pool.base_url,
        "payout_instructions": payout,
        "new_payout_instructions": new_payout,
        "target_puzzle_hash": hex::encode(TARGET),
        "reward_puzzle_hash": hex::encode(reward),
        "partials": partials,
    });
    tokio::task::block_in_place(|| run_farmer_script(pool.dir(), &spec));
}
