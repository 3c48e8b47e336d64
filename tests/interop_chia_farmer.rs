//! The released chia-blockchain 2.7.5 farmer's own pool client code talks to the real binary: pool_info,
//! auth, GET/POST/PUT farmer and partials with real v2 proofs, every answer parsed by 2.7.5's own types.
//!
//! Python with chia-blockchain 2.7.5 comes from `CHIA_PYTHON`, else a virtual environment made once under
//! `target/chia-2.7.5-venv` (`pip install chia-blockchain==2.7.5`).

mod common;
mod support;

use std::path::PathBuf;
use std::process::Command;

use chia_bls::SecretKey;
use chia_pool::chia::messages::Message;
use chia_pool::chia::puzzles::{reward_puzzle_hash, PlotNftState};
use chia_protocol::Bytes32;
use serde_json::{json, Value};
use support::plotnft_chain::add_plotnft;
use support::plots::{find_proofs, signed_partial, TestPlot};
use support::pool_process::PoolProcess;
use support::FakeChain;

const TARGET: [u8; 32] = [0x2c; 32];

/// A Python interpreter with chia-blockchain 2.7.5 installed.
fn chia_python() -> PathBuf {
    if let Some(p) = std::env::var_os("CHIA_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/chia-2.7.5-venv");
    let python = venv.join("bin/python");
    let ready = venv.join(".chia-2.7.5-installed");
    if !ready.exists() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 -m venv");
        assert!(made.success(), "could not create {}", venv.display());
        let pip = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "chia-blockchain==2.7.5"])
            .status()
            .expect("pip install");
        assert!(pip.success(), "pip install chia-blockchain==2.7.5 failed");
        std::fs::write(&ready, "").expect("marker");
    }
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_2_7_5_farmer_code_joins_and_farms() {
    let python = tokio::task::block_in_place(chia_python);
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
    let spec_path = pool.dir().join("farmer-spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/farmer_2_7_5.py");
    let out = tokio::task::block_in_place(|| {
        Command::new(&python)
            .arg(script)
            .arg(&spec_path)
            .output()
            .unwrap()
    });
    assert!(
        out.status.success(),
        "farmer script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));

    assert_eq!(seen["pool_info"], "GetPoolInfoResponse", "{seen}");
    // Unknown at first: 10, which makes the 2.7.5 farmer register.
    assert_eq!(seen["get_farmer_before"], "error 10", "{seen}");
    assert_eq!(seen["post_farmer"], "PostFarmerResponse", "{seen}");
    assert_eq!(seen["get_farmer"], "GetFarmerResponse", "{seen}");
    assert_eq!(seen["payout_instructions"], payout.as_str());
    assert_eq!(seen["put_farmer"], "PutFarmerResponse", "{seen}");
    assert_eq!(seen["payout_after_put"], new_payout.as_str());
    let answers = seen["partials"].as_array().unwrap();
    assert_eq!(answers.len(), partials.len());
    for a in answers {
        assert!(a.as_str().unwrap().starts_with("new_difficulty"), "{seen}");
    }
}
