//! Reward forwarding end to end: the real binary finds a pool reward at a member's RewardPuzzle hash on the
//! fake node and pushes exactly the forward bundle chia's simulator accepted (`reward_forwarding.json`), for a
//! pooling member and for a leaving one; a refused bundle is retried; the reward counts as forwarded only when
//! its spend created the whole reward at the pool's puzzle hash, and as claimed elsewhere (never paid) when
//! spent any other way, both judged again after reorgs; a forward pushed by someone else before the scan
//! counts once; dust and non-coinbase coins are ignored; crashes at random steps of forwarding (before the
//! node calls, after them before their record, after the record) never forward a reward twice.
//!
//! Longer than 400 lines on purpose: each forwarding case is a test over the same chain-building helpers.

mod common;
mod support;

use chia_pool::chia::puzzles::reward_puzzle_hash;
use chia_pool::store::rewards::ForwardState;
use chia_pool::store::{self, FarmerRecord, Membership, SingletonRecord, Store};
use chia_protocol::{Coin, CoinRecord, Program};
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

fn seed(pool: &mut PoolProcess, case: &Value, plotnft: &Coin, created: u32) {
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
        membership: if case["state"] == "waiting_room" {
            Membership::Leaving
        } else {
            Membership::Pooling
        },
        singleton: Some(SingletonRecord {
            coin_id: plotnft.coin_id().to_bytes(),
            parent_coin_id: plotnft.parent_coin_info.to_bytes(),
            puzzle_hash: plotnft.puzzle_hash.to_bytes(),
            created_height: created,
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

/// Waits until `check` holds on the fake node's state (bounded).
async fn eventually(chain: &FakeChain, what: &str, check: impl Fn(&support::NodeState) -> bool) {
    for _ in 0..120 {
        if check(&chain.node_state()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The chain as the simulator left it (the PlotNFT's last spend, its coin, the reward coin, plus a
/// non-coinbase coin and dust at the same puzzle hash) and a pool that knows the member.
async fn setup(case: &Value, refuse_first_push: bool) -> (FakeChain, PoolProcess, Coin) {
    setup_with(case, refuse_first_push, "").await
}

/// `setup` with extra pool.toml sections.
async fn setup_with(
    case: &Value,
    refuse_first_push: bool,
    extra_toml: &str,
) -> (FakeChain, PoolProcess, Coin) {
    let inputs = &case["inputs"];
    let chain = FakeChain::start().await;
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
    let mut pool =
        tokio::task::block_in_place(|| PoolProcess::start(&chain, &pool_lines, extra_toml));

    // The chain as the simulator left it: the PlotNFT's last spend, its coin, and the reward coin.
    let launch = case["launch_spends"].as_array().unwrap();
    let last = &launch[case["singleton_last_spend_index"].as_u64().unwrap() as usize];
    let parent = coin(&last["coin"]);
    let plotnft = coin(&case["singleton_coin"]);
    let reward = coin(&case["reward_coin"]);
    let reward_ph = reward.puzzle_hash;
    {
        let mut node = chain.node_state();
        let h = node.add_block(true);
        node.add_coin_record(CoinRecord::new(parent, h, 0, false, 1_700_000_000));
        node.spend_coin(
            parent.coin_id(),
            h,
            Program::new(common::hex_bytes(&last["puzzle_reveal"]).into()),
            Program::new(common::hex_bytes(&last["solution"]).into()),
        );
        node.add_coin_record(CoinRecord::new(plotnft, h, 0, false, 1_700_000_000));
        // The reward (coinbase), a non-coinbase coin and even dust at the same puzzle hash.
        node.add_coin_record(CoinRecord::new(reward, h, 0, true, 1_700_000_000));
        node.add_coin(reward_ph, 1_000, h);
        if refuse_first_push {
            // Refused as by a full mempool, until the test lifts it.
            node.push_tx_error = Some("INVALID_FEE_LOW_FEE".into());
        }
    }
    let created = chain.node_state().peak().height;
    tokio::task::block_in_place(|| seed(&mut pool, case, &plotnft, created));
    (chain, pool, reward)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewards_are_forwarded_with_the_exact_bundle() {
    let file = common::vector("reward_forwarding.json");
    for case in file["cases"].as_array().unwrap() {
        let (chain, mut pool, reward) = setup(case, true).await;
        for _ in 0..6 {
            chain.node_state().add_block(true);
        }
        // The pool tries, the node refuses; then the node accepts the rebuilt bundle.
        for _ in 0..120 {
            if chain.node.request_count("push_tx") > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        assert!(
            chain.node.request_count("push_tx") > 0,
            "the pool never pushed a forward"
        );
        assert!(chain.node_state().mempool.is_empty());
        chain.node_state().push_tx_error = None;
        chain.node_state().add_block(true);
        eventually(&chain, "the forward bundle", |n| !n.mempool.is_empty()).await;
        let (name, spends) = {
            let node = chain.node_state();
            assert_eq!(
                node.mempool.len(),
                1,
                "one forward, dust and non-coinbase coins ignored"
            );
            (node.mempool[0].name(), node.mempool[0].coin_spends.len())
        };
        assert_eq!(
            hex::encode(name),
            case["spend_bundle_name"].as_str().unwrap(),
            "case {}",
            case["state"]
        );
        assert_eq!(spends, 2);

        // The forward lands: the reward coin's spend creates the whole reward at the pool's puzzle hash.
        let pool_ph = common::bytes32(&case["inputs"]["pool_puzzle_hash"]);
        let spend = |chain: &FakeChain| {
            let mut node = chain.node_state();
            let h = node.add_block(true);
            node.spend_coin_to(reward.coin_id(), h, &[(pool_ph, reward.amount)]);
            node.add_block(true);
        };
        spend(&chain);
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        // A reorg undoes the forward before it is buried: the pool forwards the reward again.
        let pushes = chain.node.request_count("push_tx");
        {
            let mut node = chain.node_state();
            node.unspend_coin(reward.coin_id());
            node.add_block(true);
        }
        for _ in 0..60 {
            if chain.node.request_count("push_tx") > pushes {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        assert!(
            chain.node.request_count("push_tx") > pushes,
            "forwarded again after the reorg"
        );
        spend(&chain);
        for _ in 0..7 {
            chain.node_state().add_block(true);
        }
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        pool.kill();
        let s = Store::open(&pool.store_path()).unwrap();
        let rewards = store::rewards::all(&s.read().unwrap()).unwrap();
        s.close();
        assert_eq!(rewards.len(), 1, "only the coinbase pool reward is tracked");
        assert!(
            matches!(rewards[0].state, ForwardState::Forwarded { .. }),
            "{:?}",
            rewards[0]
        );
        assert!(
            rewards[0].failed_attempts >= 1,
            "the refused push was counted"
        );
        assert_eq!(rewards[0].coin_id, reward.coin_id().to_bytes());
        // The operator's view shows it.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_chia-pool"))
            .args(["rewards", "--config"])
            .arg(&pool.config)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("0x{}", hex::encode(reward.coin_id()))),
            "{text}"
        );
        assert!(text.contains("forwarded at height"), "{text}");
        assert!(
            text.contains("forwarded, not yet paid out: 1.750000 XCH"),
            "{text}"
        );
        assert!(
            text.contains("dry run: nothing to share yet"),
            "no points were earned: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_right_after_a_push_forwards_once() {
    let file = common::vector("reward_forwarding.json");
    let case = &file["cases"][0];
    let (chain, mut pool, _reward) = setup(case, false).await;
    pool.kill();
    for _ in 0..6 {
        chain.node_state().add_block(true);
    }
    // The process dies right after the node accepted the bundle, before recording it.
    tokio::task::block_in_place(|| {
        pool.restart_with_env(&[("CHIA_POOL_CRASH_AT", "forward-pushed")])
    });
    chain.node_state().add_block(true);
    let crashed =
        tokio::task::block_in_place(|| pool.wait_exit(std::time::Duration::from_secs(30)));
    assert!(crashed, "the crash point was reached");
    assert_eq!(chain.node_state().mempool.len(), 1);
    // After the restart the same bundle is rebuilt and pushed again: still one forward.
    tokio::task::block_in_place(|| pool.restart());
    let before = chain.node.request_count("push_tx");
    chain.node_state().add_block(true);
    for _ in 0..60 {
        if chain.node.request_count("push_tx") > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(
        chain.node.request_count("push_tx") > before,
        "pushed again after the restart"
    );
    let node = chain.node_state();
    assert_eq!(
        node.mempool.len(),
        1,
        "the same bundle, not a second forward"
    );
    assert_eq!(
        hex::encode(node.mempool[0].name()),
        case["spend_bundle_name"].as_str().unwrap()
    );
}

/// The rewards as recorded, read with the pool stopped (it is started again).
fn rewards_now(pool: &mut PoolProcess) -> Vec<chia_pool::store::rewards::RewardRecord> {
    pool.kill();
    let s = Store::open(&pool.store_path()).unwrap();
    let rewards = store::rewards::all(&s.read().unwrap()).unwrap();
    s.close();
    pool.restart();
    rewards
}

/// Adds blocks until the one reward's recorded state satisfies `check`.
async fn until_state(
    chain: &FakeChain,
    pool: &mut PoolProcess,
    what: &str,
    check: impl Fn(&ForwardState) -> bool,
) -> chia_pool::store::rewards::RewardRecord {
    for _ in 0..30 {
        chain.node_state().add_block(true);
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let rewards = tokio::task::block_in_place(|| rewards_now(pool));
        assert!(rewards.len() <= 1, "one reward, counted once: {rewards:?}");
        if let Some(r) = rewards.first().filter(|r| check(&r.state)) {
            return r.clone();
        }
    }
    panic!("timed out waiting for {what}");
}

fn operator_view(pool: &PoolProcess) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chia-pool"))
        .args(["rewards", "--config"])
        .arg(&pool.config)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_claims_its_own_reward_is_never_paid() {
    let file = common::vector("reward_forwarding.json");
    let case = &file["cases"][1];
    // The pool cannot forward (refused pushes); the member that left claims the reward for itself.
    let (chain, mut pool, reward) = setup(case, true).await;
    let own = chia_protocol::Bytes32::new([0xaa; 32]);
    {
        let mut node = chain.node_state();
        let h = node.add_block(true);
        node.spend_coin_to(reward.coin_id(), h, &[(own, reward.amount)]);
    }
    let r = until_state(&chain, &mut pool, "claimed elsewhere", |s| {
        matches!(s, ForwardState::ClaimedElsewhere { .. })
    })
    .await;
    let ForwardState::ClaimedElsewhere { destinations, .. } = &r.state else {
        unreachable!()
    };
    assert_eq!(destinations, &vec![([0xaa; 32], reward.amount)]);
    for _ in 0..8 {
        chain.node_state().add_block(true);
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    pool.kill();
    let s = Store::open(&pool.store_path()).unwrap();
    let txn = s.read().unwrap();
    let rewards = store::rewards::all(&txn).unwrap();
    let payouts = store::payouts::all(&txn).unwrap();
    drop(txn);
    s.close();
    assert!(
        matches!(rewards[0].state, ForwardState::ClaimedElsewhere { .. }),
        "still, once buried"
    );
    assert!(
        payouts.iter().all(|p| p.rewards == 0),
        "never shared in a payout: {payouts:?}"
    );
    let text = operator_view(&pool);
    assert!(
        text.contains("CLAIMED ELSEWHERE") && text.contains(&hex::encode([0xaa; 32])),
        "{text}"
    );
    assert!(
        text.contains("forwarded, not yet paid out: 0.000000 XCH"),
        "{text}"
    );
    assert!(text.contains("ledger ok: forwarded 0 "), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_pushed_by_another_wallet_before_the_scan_counts_once() {
    let file = common::vector("reward_forwarding.json");
    let case = &file["cases"][0];
    let (chain, mut pool, reward) = setup(case, false).await;
    pool.kill();
    // Someone else pushed the same forward; it landed before the reward was buried deep enough to scan.
    let pool_ph = common::bytes32(&case["inputs"]["pool_puzzle_hash"]);
    {
        let mut node = chain.node_state();
        let h = node.add_block(true);
        node.spend_coin_to(reward.coin_id(), h, &[(pool_ph, reward.amount)]);
    }
    tokio::task::block_in_place(|| pool.restart());
    let r = until_state(&chain, &mut pool, "forwarded", |s| {
        matches!(s, ForwardState::Forwarded { .. })
    })
    .await;
    assert_eq!(r.amount, reward.amount);
    assert_eq!(
        chain.node.request_count("push_tx"),
        0,
        "nothing left to push"
    );
    // Scanned again and again after restarts: still one reward.
    for _ in 0..3 {
        let rewards = tokio::task::block_in_place(|| rewards_now(&mut pool));
        assert_eq!(rewards.len(), 1);
        chain.node_state().add_block(true);
    }
    pool.kill();
    let text = operator_view(&pool);
    assert!(
        text.contains("forwarded, not yet paid out: 1.750000 XCH"),
        "{text}"
    );
    assert!(
        text.contains("ledger ok: forwarded 1750000000000 "),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_swapping_the_forward_for_another_spend_is_judged_again() {
    let file = common::vector("reward_forwarding.json");
    let case = &file["cases"][0];
    // Deep confirmations, so that every respend below is judged long before it is buried.
    let (chain, mut pool, reward) =
        setup_with(case, true, "[payouts]\nconfirmation_depth = 20\n").await;
    let pool_ph = common::bytes32(&case["inputs"]["pool_puzzle_hash"]);
    let elsewhere = chia_protocol::Bytes32::new([0xbb; 32]);
    let respend = |to: chia_protocol::Bytes32| {
        let mut node = chain.node_state();
        node.unspend_coin(reward.coin_id());
        let h = node.add_block(true);
        node.spend_coin_to(reward.coin_id(), h, &[(to, reward.amount)]);
    };
    // The reward is found first (buried deep enough); every spend below stays shallower than the depth.
    for _ in 0..20 {
        chain.node_state().add_block(true);
    }
    until_state(&chain, &mut pool, "found", |s| *s == ForwardState::Found).await;
    respend(pool_ph);
    until_state(&chain, &mut pool, "forwarded", |s| {
        matches!(s, ForwardState::Forwarded { .. })
    })
    .await;
    // A reorg replaces the forward with a spend that pays someone else.
    respend(elsewhere);
    until_state(
        &chain,
        &mut pool,
        "claimed elsewhere after the reorg",
        |s| matches!(s, ForwardState::ClaimedElsewhere { .. }),
    )
    .await;
    // And another reorg brings the forward back.
    respend(pool_ph);
    until_state(&chain, &mut pool, "forwarded again", |s| {
        matches!(s, ForwardState::Forwarded { .. })
    })
    .await;
    // A spend that sends only part of the reward to the pool is not a forward.
    {
        let mut node = chain.node_state();
        node.unspend_coin(reward.coin_id());
        let h = node.add_block(true);
        node.spend_coin_to(
            reward.coin_id(),
            h,
            &[(pool_ph, reward.amount - 1), (elsewhere, 1)],
        );
    }
    let r = until_state(&chain, &mut pool, "a partial payment judged", |s| {
        matches!(s, ForwardState::ClaimedElsewhere { .. })
    })
    .await;
    let ForwardState::ClaimedElsewhere { destinations, .. } = r.state else {
        unreachable!()
    };
    assert_eq!(destinations.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_crashes_while_forwarding_never_forward_twice() {
    const STEPS: &[&str] = &[
        "reward-scan-before",
        "reward-scan-returned",
        "reward-scan-recorded",
        "reward-check-before",
        "reward-check-returned",
        "forward-push-before",
        "forward-pushed",
        "forward-recorded",
    ];
    let mut x: u64 = std::env::var("CHIA_POOL_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::from(std::process::id()) | 1);
    println!("crash schedule seed {x} (set CHIA_POOL_TEST_SEED to repeat)");
    let file = common::vector("reward_forwarding.json");
    let case = &file["cases"][0];
    let (chain, mut pool, reward) = setup(case, false).await;
    pool.kill();
    let mark = pool.dir.join("crashed-at");
    let mut crashes = 0;
    let mut pushed = false;
    for round in 0..12 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Forward steps are reachable until the forward was recorded.
        let steps = if pushed { &STEPS[..5] } else { STEPS };
        let step = steps[(x % steps.len() as u64) as usize];
        let _ = std::fs::remove_file(&mark);
        let mark_text = mark.display().to_string();
        tokio::task::block_in_place(|| {
            pool.restart_with_env(&[
                ("CHIA_POOL_CRASH_AT", step),
                ("CHIA_POOL_CRASH_MARK", mark_text.as_str()),
            ])
        });
        let mut died = false;
        for _ in 0..16 {
            chain.node_state().add_block(true);
            if tokio::task::block_in_place(|| pool.wait_exit(std::time::Duration::from_millis(250)))
            {
                died = true;
                break;
            }
        }
        println!(
            "round {round}: crash at {step}: {}",
            if died { "died there" } else { "not reached" }
        );
        if died {
            crashes += 1;
            assert_eq!(std::fs::read_to_string(&mark).unwrap_or_default(), step);
        } else {
            pool.kill();
        }
        let s = Store::open(&pool.store_path()).unwrap();
        let txn = s.read().unwrap();
        let rewards = store::rewards::all(&txn).unwrap();
        let payouts = store::payouts::all(&txn).unwrap();
        let farmers = store::farmers::all(&txn).unwrap();
        drop(txn);
        s.close();
        assert!(rewards.len() <= 1);
        // The ledger balances after every restart.
        chia_pool::rewards::ledger::check_records(&rewards, &payouts, &farmers)
            .unwrap_or_else(|e| panic!("round {round} ({step}): {e}"));
        pushed = rewards
            .first()
            .is_some_and(|r| matches!(r.state, ForwardState::Submitted { .. }));
        let node = chain.node_state();
        assert!(
            node.mempool.len() <= 1,
            "never two different forwards of one reward"
        );
        if let Some(b) = node.mempool.first() {
            assert_eq!(
                hex::encode(b.name()),
                case["spend_bundle_name"].as_str().unwrap()
            );
        }
    }
    assert!(crashes >= 6, "crash points were reached ({crashes})");
    // The forward lands; the reward counts once. Whether the pool pushed its forward before then depends on
    // where the schedule crashed it (a run may die before every push); what it pushed stays all it pushes.
    let pushed_before_landing = chain.node_state().mempool.len();
    let pool_ph = common::bytes32(&case["inputs"]["pool_puzzle_hash"]);
    {
        let mut node = chain.node_state();
        let h = node.add_block(true);
        node.spend_coin_to(reward.coin_id(), h, &[(pool_ph, reward.amount)]);
    }
    // Killed right after the arrival was recorded: the restart finds it recorded, once.
    let _ = std::fs::remove_file(&mark);
    let mark_text = mark.display().to_string();
    tokio::task::block_in_place(|| {
        pool.restart_with_env(&[
            ("CHIA_POOL_CRASH_AT", "reward-judged"),
            ("CHIA_POOL_CRASH_MARK", mark_text.as_str()),
        ])
    });
    chain.node_state().add_block(true);
    assert!(tokio::task::block_in_place(
        || pool.wait_exit(std::time::Duration::from_secs(30))
    ));
    assert_eq!(
        std::fs::read_to_string(&mark).unwrap_or_default(),
        "reward-judged"
    );
    tokio::task::block_in_place(|| pool.restart());
    until_state(&chain, &mut pool, "forwarded", |s| {
        matches!(s, ForwardState::Forwarded { .. })
    })
    .await;
    assert_eq!(
        chain.node_state().mempool.len(),
        pushed_before_landing,
        "nothing is pushed for a reward that arrived"
    );
}
