//! Payouts exactly once: the real binary pays farmers by points from a forwarded reward through the fake
//! wallet, and is killed (abort, as a power cut) right after each step of the money path — planned, signed,
//! pushed — and restarted. Afterwards every batch was signed once, the wallet holds exactly the planned
//! payments, and the ledger balances to the mojo: reward = fee + paid + carried.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use chia_pool::store::payouts::BatchState;
use chia_pool::store::rewards::{ForwardState, RewardRecord};
use chia_pool::store::{self, FarmerRecord, Membership, Store};
use support::pool_process::PoolProcess;
use support::FakeChain;

const REWARD: u64 = 1_750_000_000_000;

fn farmer(i: u8, points: u64) -> FarmerRecord {
    FarmerRecord {
        launcher_id: [i; 32],
        authentication_public_key: chia_bls::SecretKey::from_seed(&[i; 32])
            .public_key()
            .to_bytes(),
        payout_instructions: hex::encode([i + 100; 32]),
        payout_puzzle_hash: [i + 100; 32],
        difficulty: 1,
        reward_puzzle_hash: [i + 50; 32],
        membership: Membership::Pooling,
        singleton: None,
        joined_at: 0,
        recent_partials: Vec::new(),
        points,
        carried: 0,
        lifetime_points: points,
    }
}

fn seed(pool: &mut PoolProcess) {
    pool.kill();
    let s = Store::open(&pool.store_path()).unwrap();
    s.write_blocking(|txn| {
        // Points 1:2:3 and one farmer whose tiny share stays under the minimum and is carried.
        for (i, points) in [(1u8, 1_000u64), (2, 2_000), (3, 3_000), (4, 1)] {
            store::farmers::put(txn, &farmer(i, points))?;
        }
        store::rewards::put(
            txn,
            &RewardRecord {
                coin_id: [9; 32],
                parent_coin_id: [8; 32],
                puzzle_hash: [51; 32],
                amount: REWARD,
                launcher_id: [1; 32],
                confirmed_height: 1,
                state: ForwardState::Forwarded { spent_height: 2 },
                failed_attempts: 0,
                payout_id: None,
            },
        )
    })
    .unwrap();
    s.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payouts_survive_a_crash_at_every_step() {
    let chain = FakeChain::start().await;
    let extra = "[payouts]\nminimum_payout_mojos = 1000000000\nmax_additions_per_transaction = 2\n";
    let mut pool = tokio::task::block_in_place(|| {
        PoolProcess::start(
            &chain,
            &format!("reward_address = \"{}\"", hex::encode([7u8; 32])),
            extra,
        )
    });
    tokio::task::block_in_place(|| seed(&mut pool));

    // The forward is buried deep enough to be paid out.
    for _ in 0..10 {
        chain.node_state().add_block(true);
    }
    // Crash right after each step in turn; every restart resumes from what was recorded.
    let mut crashes = 0;
    for step in [
        "payout-planned",
        "payout-signed",
        "payout-pushed",
        "payout-signed",
        "payout-pushed",
    ] {
        tokio::task::block_in_place(|| pool.restart_with_env(&[("CHIA_POOL_CRASH_AT", step)]));
        chain.node_state().add_block(true);
        if tokio::task::block_in_place(|| pool.wait_exit(Duration::from_secs(20))) {
            crashes += 1;
        } else {
            pool.kill();
        }
    }
    assert!(
        crashes >= 4,
        "the crash points were reached ({crashes} crashes)"
    );

    // Run normally; confirm whatever the wallet broadcast until the payout is finished.
    tokio::task::block_in_place(|| pool.restart());
    let mut finished = false;
    for _ in 0..80 {
        {
            let mut wallet = chain.wallet_state();
            let names: Vec<_> = wallet.transactions.keys().copied().collect();
            for name in names {
                wallet.confirm(&name, 12);
            }
        }
        chain.node_state().add_block(true);
        tokio::time::sleep(Duration::from_millis(250)).await;
        let s = tokio::task::block_in_place(|| {
            pool.kill();
            let s = Store::open(&pool.store_path()).unwrap();
            let payouts = store::payouts::all(&s.read().unwrap()).unwrap();
            s.close();
            payouts
        });
        if s.first().is_some_and(|p| p.finished()) {
            finished = true;
            break;
        }
        tokio::task::block_in_place(|| pool.restart());
    }
    assert!(finished, "the payout finished");

    let s = Store::open(&pool.store_path()).unwrap();
    let txn = s.read().unwrap();
    let payouts = store::payouts::all(&txn).unwrap();
    let farmers = store::farmers::all(&txn).unwrap();
    drop(txn);
    s.close();
    assert_eq!(payouts.len(), 1);
    let p = &payouts[0];
    let paid: u64 = p.lines.iter().map(|l| l.paid).sum();
    let carried: u64 = farmers.iter().map(|f| f.carried).sum();
    assert_eq!(p.rewards, REWARD);
    assert_eq!(p.fee, REWARD / 100, "1 % fee");
    assert_eq!(
        p.rewards,
        p.fee + paid + carried,
        "the ledger balances to the mojo"
    );
    assert!(
        carried > 0 && carried < 1_000_000_000,
        "the tiny share is carried"
    );
    assert!(
        farmers.iter().all(|f| f.points == 0),
        "points were consumed once"
    );

    // The operator's view shows the finished payout.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chia-pool"))
        .args(["rewards", "--config"])
        .arg(&pool.config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let done = format!("{n}/{n} transactions confirmed", n = p.batches.len());
    assert!(text.contains("#1:") && text.contains(&done), "{text}");

    // The wallet holds exactly one transaction per batch, with exactly the planned payments.
    let wallet = chain.wallet_state();
    let names: BTreeSet<_> = wallet.broadcast.iter().copied().collect();
    assert_eq!(
        names.len(),
        p.batches.len(),
        "each batch signed and sent once"
    );
    assert_eq!(wallet.transactions.len(), p.batches.len());
    let sent: u64 = wallet
        .transactions
        .values()
        .map(|t| t["amount"].as_u64().unwrap())
        .sum();
    assert_eq!(
        sent, paid,
        "the wallet sent exactly what the ledger says was paid"
    );
    for b in &p.batches {
        let BatchState::Confirmed { tx_name, .. } = b.state else {
            panic!("{:?}", b.state)
        };
        let tx = &wallet.transactions[&chia_protocol::Bytes32::new(tx_name)];
        let amount: u64 = b.additions.iter().map(|(_, a)| a).sum();
        assert_eq!(tx["amount"].as_u64(), Some(amount));
    }
}

/// Reads the payouts with the pool stopped (redb locks its file), then restarts it.
fn payouts_now(pool: &mut PoolProcess) -> Vec<chia_pool::store::payouts::PayoutRecord> {
    pool.kill();
    let s = Store::open(&pool.store_path()).unwrap();
    let payouts = store::payouts::all(&s.read().unwrap()).unwrap();
    s.close();
    pool.restart();
    payouts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_undone_by_a_reorg_is_sent_again_as_the_same_transaction() {
    let chain = FakeChain::start().await;
    let extra =
        "[payouts]\nminimum_payout_mojos = 1000000000\nmax_additions_per_transaction = 10\n";
    let mut pool = tokio::task::block_in_place(|| {
        PoolProcess::start(
            &chain,
            &format!("reward_address = \"{}\"", hex::encode([7u8; 32])),
            extra,
        )
    });
    tokio::task::block_in_place(|| seed(&mut pool));
    for _ in 0..10 {
        chain.node_state().add_block(true);
    }
    tokio::task::block_in_place(|| pool.restart());
    // Wait for the payout transaction to reach the wallet.
    let mut name = None;
    for _ in 0..80 {
        chain.node_state().add_block(true);
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Some(n) = chain.wallet_state().transactions.keys().next().copied() {
            name = Some(n);
            break;
        }
    }
    let name = name.expect("the payout was sent");
    // Confirmed at the peak: too shallow to count.
    let peak = chain.node_state().peak().height;
    chain.wallet_state().confirm(&name, peak);
    chain.node_state().add_block(true);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let payouts = tokio::task::block_in_place(|| payouts_now(&mut pool));
    assert!(
        !payouts[0].finished(),
        "a shallow confirmation is not final"
    );
    // A reorg undoes it: the wallet shows it unconfirmed; the pool pushes the same transaction again.
    {
        let mut wallet = chain.wallet_state();
        let tx = wallet.transactions.get_mut(&name).unwrap();
        tx["confirmed"] = serde_json::json!(false);
        tx["confirmed_at_height"] = serde_json::json!(0);
    }
    let pushes = chain.wallet_state().broadcast.len();
    for _ in 0..60 {
        chain.node_state().add_block(true);
        tokio::time::sleep(Duration::from_millis(250)).await;
        if chain.wallet_state().broadcast.len() > pushes {
            break;
        }
    }
    {
        let wallet = chain.wallet_state();
        assert!(
            wallet.broadcast.len() > pushes,
            "pushed again after the reorg"
        );
        assert!(
            wallet.broadcast.iter().all(|n| *n == name),
            "always the same transaction"
        );
        assert_eq!(wallet.transactions.len(), 1);
    }
    // Confirmed again and buried: the payout is finished.
    let peak = chain.node_state().peak().height;
    chain.wallet_state().confirm(&name, peak);
    for _ in 0..8 {
        chain.node_state().add_block(true);
    }
    let mut finished = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        chain.node_state().add_block(true);
        if tokio::task::block_in_place(|| payouts_now(&mut pool))[0].finished() {
            finished = true;
            break;
        }
    }
    assert!(finished, "finished once the confirmation is buried");
}
