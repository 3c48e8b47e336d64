//! Payout cases with the real binary and the fake wallet and node: a stuck transaction abandoned only once the
//! chain proves it dead, its payees paid once by a new one, while an unprovable one waits with a message and
//! the others go on; members sharing an address get one output; the fee sent to a fee address; a payee the
//! wallet refuses holds up nobody else; a tampered record pauses payouts with the difference named.
//!
//! Longer than 400 lines on purpose: one scenario per case on one shared setup.

mod support;

use std::time::Duration;

use chia_pool::store::payouts::BatchState;
use chia_protocol::Bytes32;
use support::payout_seed::{
    self, default_farmers, farmer, read, read_live, seed, Snapshot, REWARD,
};
use support::pool_process::PoolProcess;
use support::FakeChain;

fn start(chain: &FakeChain, extra: &str) -> PoolProcess {
    PoolProcess::start(
        chain,
        &format!("reward_address = \"{}\"", hex::encode([7u8; 32])),
        extra,
    )
}

/// Adds blocks until `done` holds on the store (read with the pool stopped), landing nothing by itself.
async fn until(
    chain: &FakeChain,
    pool: &mut PoolProcess,
    what: &str,
    mut step: impl FnMut(&FakeChain),
    done: impl Fn(&Snapshot) -> bool,
) -> Snapshot {
    for i in 0..60 {
        step(chain);
        chain.node_state().add_block(true);
        tokio::time::sleep(Duration::from_millis(300)).await;
        if i % 4 == 3 {
            let snap = tokio::task::block_in_place(|| read_live(pool));
            if done(&snap) {
                return snap;
            }
        }
    }
    panic!("timed out waiting for {what}");
}

fn pending_tx(snap: &Snapshot, batch: usize) -> Option<Bytes32> {
    snap.payouts
        .first()?
        .batches
        .get(batch)?
        .state
        .pending()
        .map(|t| Bytes32::new(t.tx_name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_batch_is_abandoned_after_the_chain_check_and_paid_once() {
    let chain = FakeChain::start().await;
    let extra = "[payouts]\nminimum_payout_mojos = 1000000000\nmax_additions_per_transaction = 2\n";
    let mut pool = tokio::task::block_in_place(|| start(&chain, extra));
    tokio::task::block_in_place(|| seed(&mut pool, default_farmers()));
    for _ in 0..10 {
        chain.node_state().add_block(true);
    }
    tokio::task::block_in_place(|| pool.restart());
    // Two transactions: batch 0 never lands; batch 1 lands.
    let snap = until(
        &chain,
        &mut pool,
        "both pushed",
        |_| {},
        |s| {
            s.payouts.first().is_some_and(|p| {
                p.batches
                    .iter()
                    .all(|b| matches!(b.state, BatchState::Pushed(_)))
            })
        },
    )
    .await;
    assert_eq!(snap.payouts[0].batches.len(), 2);
    let stuck = pending_tx(&snap, 0).unwrap();
    let other = pending_tx(&snap, 1).unwrap();
    let peak = chain.node_state().peak().height;
    assert!(chain.land(&other, peak));
    // The other batch confirms while the stuck one waits, unprovable (its inputs are unspent): a message.
    let snap = until(
        &chain,
        &mut pool,
        "the other batch confirmed and a waiting message",
        |_| {},
        |s| {
            let b = &s.payouts[0].batches;
            matches!(b[1].state, BatchState::Confirmed { .. })
                && b[0].waiting.contains("can still land")
        },
    )
    .await;
    assert!(matches!(
        snap.payouts[0].batches[0].state,
        BatchState::Pushed(_)
    ));
    snap.ledger()
        .expect("balanced while one batch is in flight");
    let (_, text) = tokio::task::block_in_place(|| {
        pool.kill();
        let v = payout_seed::operator_view(&pool, false);
        pool.restart();
        v
    });
    assert!(
        text.contains("transaction 0 WAITS") && text.contains("spend one of those coins"),
        "{text}"
    );

    // The wallet spends the stuck transaction's input elsewhere; once buried, the chain proves it dead.
    let input = snap.payouts[0].batches[0].state.pending().unwrap().inputs[0];
    {
        let mut node = chain.node_state();
        let h = node.peak().height;
        // The input as the wallet's coin (its id is what the pool recorded), spent by another transaction.
        let tx = chain.wallet_state().transactions[&stuck].clone();
        let removal = support::fake_node::coin_from_json(&tx["removals"][0]).unwrap();
        assert_eq!(removal.coin_id().to_bytes(), input);
        node.add_coin_record(chia_protocol::CoinRecord::new(
            removal,
            1,
            h,
            false,
            1_700_000_000,
        ));
    }
    let snap = until(
        &chain,
        &mut pool,
        "a new transaction for the stuck batch",
        |_| {},
        |s| {
            let b = &s.payouts[0].batches[0];
            b.abandoned == vec![stuck.to_bytes()]
                && b.state
                    .pending()
                    .is_some_and(|t| t.tx_name != stuck.to_bytes())
        },
    )
    .await;
    let replacement = pending_tx(&snap, 0).unwrap();
    let peak = chain.node_state().peak().height;
    assert!(!chain.land(&stuck, peak), "the dead one can never land");
    let peak = chain.node_state().peak().height;
    assert!(chain.land(&replacement, peak));
    let snap = until(
        &chain,
        &mut pool,
        "the payout finished",
        |_| {},
        |s| s.payouts[0].finished(),
    )
    .await;
    snap.ledger().expect("balanced");
    // Each payee was paid exactly once, on chain.
    for line in snap.payouts[0].lines.iter().filter(|l| l.paid > 0) {
        let coins = chain.coins_at(&line.payout_puzzle_hash);
        assert_eq!(coins.len(), 1, "paid once");
        assert_eq!(coins[0].amount, line.paid);
    }
    assert_eq!(snap.payouts[0].batches[0].abandoned.len(), 1);
    let wallet = chain.wallet_state();
    assert_eq!(wallet.signed.len(), 3, "two batches, one replacement");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_addresses_get_one_output_and_the_fee_goes_to_the_fee_address() {
    let chain = FakeChain::start().await;
    let fee_ph = [0xfe; 32];
    let extra = format!(
        "[payouts]\nminimum_payout_mojos = 1000000000\nmax_additions_per_transaction = 10\nfee_address = \"{}\"\n",
        hex::encode(fee_ph)
    );
    let mut pool = tokio::task::block_in_place(|| start(&chain, &extra));
    // Farmers 1 and 2 share farmer 1's address.
    let mut farmers = vec![farmer(1, 1_000), farmer(2, 2_000), farmer(3, 3_000)];
    farmers[1].payout_puzzle_hash = farmers[0].payout_puzzle_hash;
    let shared = farmers[0].payout_puzzle_hash;
    tokio::task::block_in_place(|| seed(&mut pool, farmers));
    for _ in 0..10 {
        chain.node_state().add_block(true);
    }
    tokio::task::block_in_place(|| pool.restart());
    let snap = until(
        &chain,
        &mut pool,
        "pushed",
        |_| {},
        |s| {
            s.payouts
                .first()
                .is_some_and(|p| matches!(p.batches[0].state, BatchState::Pushed(_)))
        },
    )
    .await;
    let p = &snap.payouts[0];
    assert_eq!(p.fee_puzzle_hash, Some(fee_ph));
    let line = |i: u8| p.lines.iter().find(|l| l.launcher_id == [i; 32]).unwrap();
    // The split is recorded per member, the outputs per address.
    assert_eq!(line(1).payout_puzzle_hash, shared);
    assert_eq!(line(2).payout_puzzle_hash, shared);
    assert!(line(1).paid > 0 && line(2).paid > 0);
    let additions = &p.batches[0].additions;
    assert_eq!(
        additions.len(),
        3,
        "shared address, farmer 3, fee: {additions:?}"
    );
    assert!(additions.contains(&(shared, line(1).paid + line(2).paid)));
    assert!(additions.contains(&(fee_ph, REWARD / 100)));
    // The wallet was asked for exactly those outputs, each with the payout memo.
    let name = pending_tx(&snap, 0).unwrap();
    let tx = chain.wallet_state().transactions[&name].clone();
    let coins: Vec<_> = tx["additions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(support::fake_node::coin_from_json)
        .collect();
    let to_shared: Vec<_> = coins
        .iter()
        .filter(|c| c.puzzle_hash.to_bytes() == shared)
        .collect();
    assert_eq!(to_shared.len(), 1, "one output per puzzle hash");
    let memos = tx["memos"].as_object().unwrap();
    assert_eq!(memos.len(), 3, "a memo on every output");
    let memo = hex::decode(
        memos.values().next().unwrap()[0]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
    )
    .unwrap();
    assert_eq!(String::from_utf8(memo).unwrap(), "chia-pool payout 1");
    let peak = chain.node_state().peak().height;
    assert!(chain.land(&name, peak));
    let snap = until(
        &chain,
        &mut pool,
        "finished",
        |_| {},
        |s| s.payouts[0].finished(),
    )
    .await;
    let l = snap.ledger().expect("balanced");
    assert_eq!(l.fee, u128::from(REWARD / 100));
    assert_eq!(
        chain
            .coins_at(&fee_ph)
            .iter()
            .map(|c| c.amount)
            .sum::<u64>(),
        REWARD / 100
    );
    let (ok, text) = tokio::task::block_in_place(|| {
        pool.kill();
        payout_seed::operator_view(&pool, true)
    });
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("sent to 0x{}", hex::encode(fee_ph))),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payee_the_wallet_refuses_blocks_no_one_else() {
    let chain = FakeChain::start().await;
    let extra =
        "[payouts]\nminimum_payout_mojos = 1000000000\nmax_additions_per_transaction = 10\n";
    let mut pool = tokio::task::block_in_place(|| start(&chain, extra));
    tokio::task::block_in_place(|| seed(&mut pool, default_farmers()));
    let refused = [103u8; 32];
    chain
        .wallet_state()
        .refuse_puzzle_hashes
        .push(Bytes32::new(refused));
    for _ in 0..10 {
        chain.node_state().add_block(true);
    }
    tokio::task::block_in_place(|| pool.restart());
    let snap = until(
        &chain,
        &mut pool,
        "the others confirmed",
        |c| {
            let names = c.wallet_state().broadcast.clone();
            let peak = c.node_state().peak().height;
            for n in names {
                if c.wallet_state().transactions[&n]["confirmed"] != true {
                    c.land(&n, peak);
                }
            }
        },
        |s| {
            s.payouts.first().is_some_and(|p| {
                p.batches
                    .iter()
                    .filter(|b| matches!(b.state, BatchState::Confirmed { .. }))
                    .count()
                    == 2
            })
        },
    )
    .await;
    let p = &snap.payouts[0];
    assert_eq!(p.batches.len(), 3, "split into one transaction per payee");
    let waiting: Vec<_> = p
        .batches
        .iter()
        .filter(|b| b.state == BatchState::Planned)
        .collect();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].additions[0].0, refused);
    assert!(
        waiting[0].waiting.contains("refuses to pay"),
        "{}",
        waiting[0].waiting
    );
    snap.ledger()
        .expect("balanced: the refused payment is in flight");
    let (_, text) = tokio::task::block_in_place(|| {
        pool.kill();
        payout_seed::operator_view(&pool, false)
    });
    assert!(
        text.contains("WAITS") && text.contains("refuses to pay"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_record_pauses_payouts_with_the_difference_named() {
    let chain = FakeChain::start().await;
    let extra =
        "[payouts]\nminimum_payout_mojos = 1000000000\nmax_additions_per_transaction = 10\n";
    let mut pool = tokio::task::block_in_place(|| start(&chain, extra));
    tokio::task::block_in_place(|| seed(&mut pool, default_farmers()));
    for _ in 0..10 {
        chain.node_state().add_block(true);
    }
    // Planned, then stopped before anything was signed.
    tokio::task::block_in_place(|| {
        pool.restart_with_env(&[("CHIA_POOL_CRASH_AT", "payout-planned")])
    });
    chain.node_state().add_block(true);
    assert!(tokio::task::block_in_place(
        || pool.wait_exit(Duration::from_secs(30))
    ));
    // Someone raises a farmer's carried balance by one mojo.
    tokio::task::block_in_place(|| {
        payout_seed::edit(&pool, |txn| {
            let mut f = chia_pool::store::farmers::get_for_update(txn, &[4; 32])?.unwrap();
            f.carried += 1;
            chia_pool::store::farmers::put(txn, &f)
        })
    });
    let (ok, text) = payout_seed::operator_view(&pool, true);
    assert!(!ok, "the check fails");
    assert!(
        text.contains("LEDGER MISMATCH") && text.contains("off by 1 mojo"),
        "{text}"
    );
    // The pool signs nothing while the ledger does not balance.
    tokio::task::block_in_place(|| pool.restart());
    for _ in 0..12 {
        chain.node_state().add_block(true);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(chain.wallet_state().signed.is_empty(), "payouts paused");
    // Put right, payouts go on.
    tokio::task::block_in_place(|| {
        pool.kill();
        payout_seed::edit(&pool, |txn| {
            let mut f = chia_pool::store::farmers::get_for_update(txn, &[4; 32])?.unwrap();
            f.carried -= 1;
            chia_pool::store::farmers::put(txn, &f)
        });
        pool.restart();
    });
    let snap = until(
        &chain,
        &mut pool,
        "signed after the fix",
        |_| {},
        |s| pending_tx(s, 0).is_some(),
    )
    .await;
    let name = pending_tx(&snap, 0).unwrap();
    let peak = chain.node_state().peak().height;
    assert!(chain.land(&name, peak));
    until(
        &chain,
        &mut pool,
        "finished",
        |_| {},
        |s| s.payouts[0].finished(),
    )
    .await;
    // A confirmed payout whose output vanished from the chain: --verify names it.
    tokio::task::block_in_place(|| pool.kill());
    let snap = read(&pool);
    let BatchState::Confirmed { outputs, .. } = &snap.payouts[0].batches[0].state else {
        panic!()
    };
    chain.node_state().coins.remove(&Bytes32::new(outputs[0]));
    let (ok, text) = payout_seed::operator_view(&pool, true);
    assert!(!ok);
    assert!(
        text.contains("is recorded as confirmed but its output")
            && text.contains(&hex::encode(outputs[0])),
        "{text}"
    );
}
