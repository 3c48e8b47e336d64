//! Membership survives reorgs and planted coins: while a reorg has undone the spend that made a member's
//! PlotNFT coin, someone plants a 1-mojo coin at the member's exiting puzzle hash; the pool must neither take
//! it for the PlotNFT (the member would be stuck as leaving) nor mark the member left, and finds the genuine
//! coin again once the spend is back on chain.

mod common;
mod support;

use chia_bls::SecretKey;
use chia_pool::chia::puzzles::{PlotNftPuzzles, PlotNftState};
use chia_pool::store::{self, Membership, Store};
use chia_protocol::{Bytes32, CoinRecord};
use serde_json::Value;
use support::pool_process::PoolProcess;
use support::FakeChain;

const TARGET: [u8; 32] = [0x6a; 32];

/// What the API shows of a member's membership: a partial's refusal code (the pool holds the database).
fn membership(pool: &PoolProcess, launcher: &Bytes32) -> Membership {
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
        Some(14) => Membership::Leaving,
        // Past the membership check to the pool contract check (the vector proof is another plot's).
        Some(9) => Membership::Pooling,
        other => panic!("unexpected answer {other:?}: {v}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_coin_during_a_reorg_changes_no_membership() {
    let chain = FakeChain::start().await;
    let pool_lines = format!("reward_address = \"{}\"", hex::encode(TARGET));
    let mut pool = tokio::task::block_in_place(|| PoolProcess::start(&chain, &pool_lines, ""));
    let base = pool.base_url.clone();
    let auth_sk = SecretKey::from_seed(&[71; 32]);
    let launcher = Bytes32::new([71; 32]);
    tokio::task::block_in_place(|| {
        support::farmer::join_pool(
            &chain,
            &ureq::agent(),
            &base,
            launcher,
            &auth_sk,
            Bytes32::new(TARGET),
        )
    });
    let exiting = {
        let node = chain.node_state();
        PlotNftPuzzles::new(
            launcher,
            node.genesis_challenge(),
            auth_sk.public_key(),
            Some(support::farmer::pool_config(Bytes32::new(TARGET))),
        )
        .unwrap()
        .puzzle_hash(PlotNftState::Exiting)
        .unwrap()
    };
    let pooling_record: CoinRecord = {
        let node = chain.node_state();
        *node
            .coins
            .values()
            .find(|r| r.coin.parent_coin_info != launcher && r.coin.amount == 1)
            .filter(|r| r.coin.puzzle_hash != exiting)
            .expect("the PlotNFT coin")
    };
    let plotnft = pooling_record.coin;

    // A reorg undoes the block with the spend that made the PlotNFT coin (back in the mempool), and someone
    // plants an odd coin at the exiting hash.
    {
        let mut node = chain.node_state();
        node.coins.remove(&plotnft.coin_id());
        let parent = plotnft.parent_coin_info;
        if let Some(r) = node.coins.get_mut(&parent) {
            r.spent_block_index = 0;
        }
        node.spends.remove(&parent);
        let height = node.add_block(true);
        node.add_coin(exiting, 1, height);
    }
    // A few peaks go by (fewer than the confirmation depth of 6), and the pool looks the PlotNFT up again at
    // least twice.
    chain.node.clear_log();
    for _ in 0..3 {
        chain.node_state().add_block(true);
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    }
    // (Reward forwarding asks about other puzzle hashes: count the lookups of the exiting one.)
    let exiting_hex = hex::encode(exiting);
    let lookups = || {
        chain
            .node
            .requests()
            .iter()
            .filter(|r| r.endpoint == "get_coin_records_by_puzzle_hashes")
            .filter(|r| r.body["puzzle_hashes"].to_string().contains(&exiting_hex))
            .count()
    };
    for _ in 0..100 {
        if lookups() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(lookups() >= 2, "the pool looked for the PlotNFT again");
    assert_eq!(
        tokio::task::block_in_place(|| membership(&pool, &launcher)),
        Membership::Pooling,
        "neither the planted coin nor a missing coin changes membership"
    );

    // The spend is included again, at a new height: the same coin comes back.
    {
        let mut node = chain.node_state();
        let height = node.add_block(true);
        if let Some(r) = node.coins.get_mut(&plotnft.parent_coin_info) {
            r.spent_block_index = height;
        }
        node.add_coin_record(CoinRecord::new(plotnft, height, 0, false, 1_700_000_000));
    }
    for _ in 0..8 {
        chain.node_state().add_block(true);
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    }
    assert_eq!(
        tokio::task::block_in_place(|| membership(&pool, &launcher)),
        Membership::Pooling
    );
    pool.kill();
    let db = Store::open(&pool.store_path()).unwrap();
    let farmer = store::farmers::get(&db.read().unwrap(), &launcher.to_bytes())
        .unwrap()
        .expect("registered");
    db.close();
    assert_eq!(farmer.membership, Membership::Pooling);
    assert_eq!(
        farmer.singleton.map(|s| s.coin_id),
        Some(plotnft.coin_id().to_bytes()),
        "still the genuine PlotNFT coin"
    );
}
