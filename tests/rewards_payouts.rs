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

/// Payouts made across the crash rounds.
const PAYOUTS: usize = 4;

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
    // 16 farmers: 8 transactions of 2 payees, so that many crash points lie on the way.
    let mut farmers = default_farmers();
    farmers.extend((5..=16).map(|i| payout_seed::farmer(i, 500 + u64::from(i) * 37)));
    tokio::task::block_in_place(|| seed(&mut pool, farmers));
    for _ in 0..10 {
        chain.node_state().add_block(true);
    }
    let mark = pool.dir.join("crashed-at");
    let mut crashes = 0;
    let mut lost_signatures = 0;
    let mut kills = 0;
    let mut snap = read(&pool);
    for round in 0..60 {
        // A random step among those the recorded state can still reach.
        let states: Vec<&BatchState> = snap
            .payouts
            .iter()
            .flat_map(|p| p.batches.iter().map(|b| &b.state))
            .collect();
        let reachable: Vec<&str> = STEPS
            .iter()
            .copied()
            .filter(|s| match *s {
                "payout-planned" => snap.payouts.iter().all(|p| p.finished()),
                "payout-sign-before" | "payout-sign-returned" | "payout-signed" => {
                    snap.payouts.is_empty() || states.iter().any(|b| **b == BatchState::Planned)
                }
                "payout-pushed" => {
                    snap.payouts.is_empty()
                        || states
                            .iter()
                            .any(|b| matches!(b, BatchState::Planned | BatchState::Signed(_)))
                }
                _ => states.iter().any(|b| b.rank() < 3) || snap.payouts.is_empty(),
            })
            .collect();
        let step = reachable[(rng.next() % reachable.len() as u64) as usize];
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
            if rng.next() % 4 == 0 {
                land_broadcast(&chain);
            }
            if tokio::task::block_in_place(|| pool.wait_exit(Duration::from_millis(250))) {
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
            let at = std::fs::read_to_string(&mark).unwrap_or_default();
            assert_eq!(
                at, step,
                "round {round}: the process died at the chosen step"
            );
            if step == "payout-sign-returned" {
                lost_signatures += 1;
            }
        } else {
            // Killed wherever it was: perhaps between a signature and its record, like a crash there.
            kills += 1;
            pool.kill();
        }
        // The ledger balances after every crash, wherever it happened.
        snap = read(&pool);
        snap.ledger()
            .unwrap_or_else(|e| panic!("round {round} ({step}): {e}"));
        let all_done = !snap.payouts.is_empty() && snap.payouts.iter().all(|p| p.finished());
        if all_done {
            if snap.payouts.len() >= PAYOUTS {
                break;
            }
            // The next payout: another forwarded reward, more points, and the interval has passed.
            tokio::task::block_in_place(|| next_payout(&pool, snap.payouts.len() as u8));
            snap = read(&pool);
        }
    }
    assert!(
        crashes >= 10,
        "crash points were reached ({crashes} crashes)"
    );

    // Run normally until every payout is finished.
    tokio::task::block_in_place(|| pool.restart());
    let done =
        |s: &payout_seed::Snapshot| !s.payouts.is_empty() && s.payouts.iter().all(|p| p.finished());
    let mut finished = false;
    for i in 0..80 {
        land_broadcast(&chain);
        chain.node_state().add_block(true);
        tokio::time::sleep(Duration::from_millis(250)).await;
        if i % 8 == 7 && done(&tokio::task::block_in_place(|| read_live(&mut pool))) {
            finished = true;
            break;
        }
    }
    assert!(
        finished || done(&tokio::task::block_in_place(|| read_live(&mut pool))),
        "the payouts finished"
    );
    pool.kill();
    let snap = read(&pool);
    let l = snap.ledger().expect("the ledger balances");
    let paid: u64 = snap
        .payouts
        .iter()
        .flat_map(|p| &p.lines)
        .map(|l| l.paid)
        .sum();
    let fees: u64 = snap.payouts.iter().map(|p| p.fee).sum();
    let rewards: u64 = snap.payouts.iter().map(|p| p.rewards).sum();
    let carried: u64 = snap.farmers.iter().map(|f| f.carried).sum();
    assert_eq!(snap.payouts[0].rewards, REWARD);
    assert_eq!(snap.payouts[0].fee, REWARD / 100, "1 % fee");
    assert_eq!(rewards, fees + paid + carried, "to the mojo");
    assert_eq!(l.forwarded, u128::from(rewards));
    assert_eq!(l.paid, u128::from(paid));
    assert_eq!(l.in_flight, 0);
    assert!(carried > 0, "the tiny share is carried");
    assert!(
        snap.farmers.iter().all(|f| f.points == 0),
        "points consumed once"
    );

    // No batch signed twice as different transactions: one broadcast transaction per batch; the only other
    // signatures are those lost with a crash between signing and recording, never sent anywhere.
    let batches: Vec<_> = snap.payouts.iter().flat_map(|p| &p.batches).collect();
    let wallet = chain.wallet_state();
    let broadcast: BTreeSet<_> = wallet.broadcast.iter().copied().collect();
    let recorded: BTreeSet<_> = batches
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
    assert!(batches.iter().all(|b| b.abandoned.is_empty()));
    assert!(
        wallet.signed.len() >= batches.len() + lost_signatures
            && wallet.signed.len() <= batches.len() + lost_signatures + kills,
        "signed {} for {} batches, {lost_signatures} signatures lost in crashes, {kills} kills",
        wallet.signed.len(),
        batches.len()
    );
    drop(wallet);
    // On chain, each payee holds exactly its payments: one coin per payout that paid it.
    let mut owed: std::collections::BTreeMap<[u8; 32], (u64, usize)> = Default::default();
    for line in snap
        .payouts
        .iter()
        .flat_map(|p| &p.lines)
        .filter(|l| l.paid > 0)
    {
        let e = owed.entry(line.payout_puzzle_hash).or_default();
        e.0 += line.paid;
        e.1 += 1;
    }
    for (ph, (amount, count)) in owed {
        let coins = chain.coins_at(&ph);
        assert_eq!(coins.len(), count, "one output per payee per payout");
        assert_eq!(coins.iter().map(|c| c.amount).sum::<u64>(), amount);
    }
    let (ok, text) = payout_seed::operator_view(&pool, true);
    assert!(ok, "{text}");
    assert!(text.contains("ledger verified on chain"), "{text}");
    assert!(text.contains("#1:") && text.contains("ledger ok"), "{text}");
}

/// Stops nothing (the pool is stopped): adds a forwarded reward and points, and backdates the last payout.
fn next_payout(pool: &PoolProcess, k: u8) {
    payout_seed::edit(pool, move |txn| {
        let mut reward =
            chia_pool::store::rewards::get_for_update(txn, &[9; 32])?.expect("seeded reward");
        reward.coin_id = [9u8.wrapping_add(k * 16); 32];
        reward.payout_id = None;
        reward.amount = REWARD / 2 + u64::from(k);
        chia_pool::store::rewards::put(txn, &reward)?;
        // Farmer 4 keeps earning almost nothing: its balance stays carried.
        for mut f in chia_pool::store::farmers::all_for_update(txn)? {
            f.points += if f.launcher_id[0] == 4 {
                0
            } else {
                100 * u64::from(f.launcher_id[0])
            };
            chia_pool::store::farmers::put(txn, &f)?;
        }
        let last = u64::from(k);
        let mut p = chia_pool::store::payouts::get_for_update(txn, last)?.expect("last payout");
        p.created_at = p.created_at.saturating_sub(7200);
        chia_pool::store::payouts::put(txn, &p)
    });
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
