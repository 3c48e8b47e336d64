//! Payouts exactly once, through crashes and reorgs: the real binary pays farmers by points from a forwarded
//! reward through the fake wallet, and is aborted (as a power cut) at random steps of the money path — before
//! each wallet and node call, after the call before its record, after the record — round after round. After
//! each crash the process died at the chosen step and the ledger balances; at the end every batch was
//! broadcast as exactly one transaction, each payee's coins on chain are exactly its payment, and the ledger
//! balances to the mojo: reward = fee + paid + carried.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use chia_pool::store::payouts::BatchState;
use support::payout_seed::{self, default_farmers, read, read_live, seed, REWARD};
use support::pool_process::PoolProcess;
use support::FakeChain;

const STEPS: &[&str] = &[
    "payout-planned",
    "payout-sign-before",
    "payout-sign-returned",
    "payout-signed",
    "payout-check-before",
    "payout-check-returned",
    "payout-push-before",
    "payout-push-returned",
    "payout-pushed",
    "payout-confirmed",
];

/// A small deterministic generator; the seed is printed so that a failing run can be repeated.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn start(chain: &FakeChain, extra: &str) -> PoolProcess {
    PoolProcess::start(
        chain,
        &format!("reward_address = \"{}\"", hex::encode([7u8; 32])),
        extra,
    )
}

/// Lands every transaction the wallet broadcast that is not on chain yet, at the current peak.
fn land_broadcast(chain: &FakeChain) {
    let names: Vec<_> = chain.wallet_state().broadcast.clone();
    let peak = chain.node_state().peak().height;
    for name in names {
        let confirmed = chain.wallet_state().transactions[&name]["confirmed"] == true;
        if !confirmed {
            chain.land(&name, peak);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payouts_survive_random_crashes() {
    let seed_value = std::env::var("CHIA_POOL_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id() as u64 ^ 0x9e37_79b9_7f4a_7c15);
    println!("crash schedule seed {seed_value} (set CHIA_POOL_TEST_SEED to repeat)");
    let mut rng = Rng(seed_value.max(1));
    let chain = FakeChain::start().await;
    let extra = "[payouts]\nminimum_payout_mojos = 1000000000\nmax_additions_per_transaction = 2\n";
    let mut pool = tokio::task::block_in_place(|| start(&chain, extra));
    tokio::task::block_in_place(|| seed(&mut pool, default_farmers()));
    for _ in 0..10 {
        chain.node_state().add_block(true);
    }
    let mark = pool.dir.join("crashed-at");
    let mut crashes = 0;
    let mut lost_signatures = 0;
    for round in 0..16 {
        let step = STEPS[(rng.next() % STEPS.len() as u64) as usize];
        let _ = std::fs::remove_file(&mark);
        let mark_text = mark.display().to_string();
        tokio::task::block_in_place(|| {
            pool.restart_with_env(&[
                ("CHIA_POOL_CRASH_AT", step),
                ("CHIA_POOL_CRASH_MARK", mark_text.as_str()),
            ])
        });
        let mut died = false;
        for _ in 0..24 {
            chain.node_state().add_block(true);
            if rng.next() % 2 == 0 {
                land_broadcast(&chain);
            }
            if tokio::task::block_in_place(|| pool.wait_exit(Duration::from_millis(250))) {
                died = true;
                break;
            }
        }
        if died {
            crashes += 1;
            let at = std::fs::read_to_string(&mark).unwrap_or_default();
            assert_eq!(
                at, step,
                "round {round}: the process died at the chosen step"
            );
            if step == "payout-sign-returned" {
                lost_signatures += 1;
            }
        } else {
            pool.kill();
        }
        // The ledger balances after every crash, wherever it happened.
        let snap = read(&pool);
        snap.ledger()
            .unwrap_or_else(|e| panic!("round {round} ({step}): {e}"));
        if snap.payouts.first().is_some_and(|p| p.finished()) {
            break;
        }
    }
    assert!(
        crashes >= 3,
        "crash points were reached ({crashes} crashes)"
    );

    // Run normally until the payout is finished.
    tokio::task::block_in_place(|| pool.restart());
    let mut finished = false;
    for _ in 0..80 {
        land_broadcast(&chain);
        chain.node_state().add_block(true);
        tokio::time::sleep(Duration::from_millis(250)).await;
        if rng.next() % 8 == 0 || finished {
            let snap = tokio::task::block_in_place(|| read_live(&mut pool));
            if snap.payouts.first().is_some_and(|p| p.finished()) {
                finished = true;
                break;
            }
        }
    }
    if !finished {
        let snap = tokio::task::block_in_place(|| read_live(&mut pool));
        finished = snap.payouts.first().is_some_and(|p| p.finished());
    }
    assert!(finished, "the payout finished");
    pool.kill();
    let snap = read(&pool);
    let l = snap.ledger().expect("the ledger balances");
    assert_eq!(snap.payouts.len(), 1);
    let p = &snap.payouts[0];
    let paid: u64 = p.lines.iter().map(|l| l.paid).sum();
    let carried: u64 = snap.farmers.iter().map(|f| f.carried).sum();
    assert_eq!(p.rewards, REWARD);
    assert_eq!(p.fee, REWARD / 100, "1 % fee");
    assert_eq!(p.rewards, p.fee + paid + carried, "to the mojo");
    assert_eq!(l.paid, u128::from(paid));
    assert_eq!(l.in_flight, 0);
    assert!(
        carried > 0 && carried < 1_000_000_000,
        "the tiny share is carried"
    );
    assert!(
        snap.farmers.iter().all(|f| f.points == 0),
        "points consumed once"
    );

    // No batch signed twice as different transactions: one broadcast transaction per batch; the only other
    // signatures are those lost with a crash between signing and recording, never sent anywhere.
    let wallet = chain.wallet_state();
    let broadcast: BTreeSet<_> = wallet.broadcast.iter().copied().collect();
    let recorded: BTreeSet<_> = p
        .batches
        .iter()
        .map(|b| match &b.state {
            BatchState::Confirmed { tx_name, .. } => chia_protocol::Bytes32::new(*tx_name),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        broadcast, recorded,
        "each batch sent as exactly one transaction"
    );
    assert!(p.batches.iter().all(|b| b.abandoned.is_empty()));
    assert_eq!(wallet.signed.len(), p.batches.len() + lost_signatures);
    drop(wallet);
    // On chain, each payee holds exactly its payment.
    for line in p.lines.iter().filter(|l| l.paid > 0) {
        let coins = chain.coins_at(&line.payout_puzzle_hash);
        assert_eq!(coins.len(), 1, "one output per payee");
        assert_eq!(coins[0].amount, line.paid);
    }
    let (ok, text) = payout_seed::operator_view(&pool, true);
    assert!(ok, "{text}");
    assert!(text.contains("ledger verified on chain"), "{text}");
    let done = format!("{n}/{n} transactions confirmed", n = p.batches.len());
    assert!(text.contains("#1:") && text.contains(&done), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_undone_by_a_reorg_is_sent_again_as_the_same_transaction() {
    let chain = FakeChain::start().await;
    let extra =
        "[payouts]\nminimum_payout_mojos = 1000000000\nmax_additions_per_transaction = 10\n";
    let mut pool = tokio::task::block_in_place(|| start(&chain, extra));
    tokio::task::block_in_place(|| seed(&mut pool, default_farmers()));
    for _ in 0..10 {
        chain.node_state().add_block(true);
    }
    tokio::task::block_in_place(|| pool.restart());
    let mut name = None;
    for _ in 0..80 {
        chain.node_state().add_block(true);
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Some(n) = chain.wallet_state().broadcast.first().copied() {
            name = Some(n);
            break;
        }
    }
    let name = name.expect("the payout was sent");
    // On chain at the peak: too shallow to count.
    let peak = chain.node_state().peak().height;
    assert!(chain.land(&name, peak));
    chain.node_state().add_block(true);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let snap = tokio::task::block_in_place(|| read_live(&mut pool));
    assert!(
        !snap.payouts[0].finished(),
        "a shallow confirmation is not final"
    );
    // A reorg undoes it: the pool pushes the same transaction again.
    chain.unland(&name);
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
        assert_eq!(wallet.signed.len(), 1);
    }
    let peak = chain.node_state().peak().height;
    assert!(chain.land(&name, peak));
    for _ in 0..8 {
        chain.node_state().add_block(true);
    }
    let mut finished = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        chain.node_state().add_block(true);
        if tokio::task::block_in_place(|| read_live(&mut pool)).payouts[0].finished() {
            finished = true;
            break;
        }
    }
    assert!(finished, "finished once the confirmation is buried");
}
