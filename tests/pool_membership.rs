//! The pool follows members' PlotNFTs on chain: a member whose PlotNFT moved to the waiting room (leaving) is
//! no longer credited, a pooling one is. Uses the real PlotNFT spends of `reward_forwarding.json` on the fake
//! node and the real binary.

mod common;
mod support;

use chia_pool::chia::puzzles::reward_puzzle_hash;
use chia_pool::store::{self, FarmerRecord, Membership, SingletonRecord, Store};
use chia_protocol::{Bytes32, Coin, CoinRecord, Program};
use serde_json::Value;
use support::pool_process::PoolProcess;
use support::FakeChain;

fn coin(v: &Value) -> Coin {
    Coin::new(
        common::bytes32(&v["parent_coin_info"]),
        common::bytes32(&v["puzzle_hash"]),
        v["amount"].as_u64().unwrap(),
    )
}

/// Registers the case's launcher in the stopped pool's database, at the eve coin (before its last spend).
fn seed(pool: &mut PoolProcess, case: &Value, eve: &Coin) {
    pool.kill();
    let inputs = &case["inputs"];
    let launcher = common::bytes32(&inputs["launcher_id"]);
    let s = Store::open(&pool.store_path()).unwrap();
    let record = FarmerRecord {
        launcher_id: launcher.to_bytes(),
        authentication_public_key: common::hex_bytes(&inputs["synthetic_pubkey"])
            .try_into()
            .unwrap(),
        payout_instructions: hex::encode([1u8; 32]),
        payout_puzzle_hash: [1u8; 32],
        difficulty: 1,
        reward_puzzle_hash: reward_puzzle_hash(launcher).to_bytes(),
        membership: Membership::Pooling,
        singleton: Some(SingletonRecord {
            coin_id: eve.coin_id().to_bytes(),
            parent_coin_id: eve.parent_coin_info.to_bytes(),
            puzzle_hash: eve.puzzle_hash.to_bytes(),
            created_height: 1,
            exit_height: None,
        }),
        joined_at: 0,
        recent_partials: Vec::new(),
        points: 0,
        carried: 0,
        lifetime_points: 0,
    };
    s.write_blocking(move |txn| store::farmers::put(txn, &record))
        .unwrap();
    s.close();
    pool.restart();
}

fn membership(pool: &PoolProcess, launcher: &Bytes32) -> Membership {
    // The pool holds the database open; read what the API shows instead: a partial's refusal code.
    let key = chia_pool::pool::tokens::load_key_file(&pool.token_key_path()).unwrap();
    let (token, _) = chia_pool::pool::tokens::TokenAuthority::new(&key, 600)
        .issue(&launcher.to_bytes(), chia_pool::pool::unix_now());
    let mut request =
        common::vector("proofs.json")["partials"][0]["post_partial_request_json"].clone();
    request["authentication_token_v2"] = Value::String(token);
    request["payload"]["launcher_id"] = Value::String(format!("0x{}", hex::encode(launcher)));
    let text = ureq::post(&format!("{}/v2/partial", pool.base_url))
        .set("Content-Type", "application/json")
        .send_string(&request.to_string())
        .unwrap()
        .into_string()
        .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    match v["error_code"].as_u64() {
        // Leaving and left members are refused before anything else about the partial.
        Some(14) => Membership::Leaving,
        // A pooling member gets past membership to the pool-contract check (the vector proof is another plot's).
        Some(9) => Membership::Pooling,
        other => panic!("unexpected answer {other:?}: {v}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_members_stop_being_credited() {
    let file = common::vector("reward_forwarding.json");
    for case in file["cases"].as_array().unwrap() {
        let chain = FakeChain::start().await;
        let inputs = &case["inputs"];
        chain.node_state().constants["GENESIS_CHALLENGE"] = Value::String(format!(
            "0x{}",
            inputs["genesis_challenge"].as_str().unwrap()
        ));
        let pool_lines = format!(
            "reward_address = \"{}\"\nrelative_lock_height = {}\npool_memoization = \"{}\"",
            inputs["pool_puzzle_hash"].as_str().unwrap(),
            inputs["heightlock"],
            inputs["pool_memoization"].as_str().unwrap()
        );
        let mut pool = tokio::task::block_in_place(|| PoolProcess::start(&chain, &pool_lines, ""));

        // The eve singleton spend that created the PlotNFT coin in the case's state.
        let launch = case["launch_spends"].as_array().unwrap();
        let last = &launch[case["singleton_last_spend_index"].as_u64().unwrap() as usize];
        let eve = coin(&last["coin"]);
        let plotnft = coin(&case["singleton_coin"]);
        let launcher = common::bytes32(&inputs["launcher_id"]);
        chain
            .node_state()
            .add_coin_record(CoinRecord::new(eve, 1, 0, false, 1_700_000_000));
        tokio::task::block_in_place(|| seed(&mut pool, case, &eve));
        assert_eq!(
            tokio::task::block_in_place(|| membership(&pool, &launcher)),
            Membership::Pooling
        );

        {
            let mut node = chain.node_state();
            let height = node.add_block(true);
            node.spend_coin(
                eve.coin_id(),
                height,
                Program::new(common::hex_bytes(&last["puzzle_reveal"]).into()),
                Program::new(common::hex_bytes(&last["solution"]).into()),
            );
            node.add_coin_record(CoinRecord::new(plotnft, height, 0, false, 1_700_000_000));
        }
        // The pool acts on a spend once it is buried under `confirmation_depth` (6) blocks.
        for _ in 0..5 {
            chain.node_state().add_block(true);
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert_eq!(
            tokio::task::block_in_place(|| membership(&pool, &launcher)),
            Membership::Pooling,
            "not acted on before it is deep enough"
        );
        chain.node_state().add_block(true);
        let expected = if case["state"] == "waiting_room" {
            Membership::Leaving
        } else {
            Membership::Pooling
        };
        let mut seen = Membership::Pooling;
        for _ in 0..60 {
            seen = tokio::task::block_in_place(|| membership(&pool, &launcher));
            if seen == expected {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        assert_eq!(seen, expected, "case {}", case["state"]);
    }
}
