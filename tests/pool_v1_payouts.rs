//! One ledger for v1 and v2 members: a v1 member's confirmed points share the same payout as v2 members'
//! points, its points are consumed in the same commit, and the ledger (the pool's and `chia-pool rewards`')
//! still adds up to the mojo; the operator view lists the member with its PlotNFT version.

mod support;

use std::time::Duration;

use chia_pool::store::farmers_v1::{FarmerV1Record, SingletonV1Record};
use chia_pool::store::payouts::BatchState;
use chia_pool::store::{self, Membership};
use support::payout_seed::{edit, farmer, operator_view, read, read_live, seed, REWARD};
use support::pool_process::PoolProcess;
use support::FakeChain;

const V1_LAUNCHER: [u8; 32] = [0x31; 32];
const V1_PAYEE: [u8; 32] = [0x32; 32];

fn v1_member(points: u64) -> FarmerV1Record {
    FarmerV1Record {
        launcher_id: V1_LAUNCHER,
        owner_public_key: chia_bls::SecretKey::from_seed(&[0x31; 32])
            .public_key()
            .to_bytes(),
        authentication_public_key: chia_bls::SecretKey::from_seed(&[0x33; 32])
            .public_key()
            .to_bytes(),
        payout_instructions: hex::encode(V1_PAYEE),
        payout_puzzle_hash: V1_PAYEE,
        difficulty: 1,
        p2_singleton_puzzle_hash: [0x34; 32],
        membership: Membership::Pooling,
        singleton: SingletonV1Record {
            parent_coin_id: [0x35; 32],
            puzzle_hash: [0x36; 32],
            amount: 1,
            created_height: 1,
            pool_state: Vec::new(),
            delay_time: 604_800,
            delay_puzzle_hash: [0x37; 32],
        },
        joined_at: 0,
        recent_partials: Vec::new(),
        points,
        carried: 0,
        lifetime_points: points,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_points_are_paid_from_the_same_ledger_as_v2_points() {
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
    // v2 members with 1000 and 2000 points, a v1 member with 3000: the v1 member is owed half.
    tokio::task::block_in_place(|| {
        seed(&mut pool, vec![farmer(1, 1_000), farmer(2, 2_000)]);
        edit(&pool, |txn| store::farmers_v1::put(txn, &v1_member(3_000)));
    });
    for _ in 0..10 {
        chain.node_state().add_block(true);
    }
    tokio::task::block_in_place(|| pool.restart());
    let mut planned = None;
    for _ in 0..20 {
        chain.node_state().add_block(true);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let snap = tokio::task::block_in_place(|| read_live(&mut pool));
        if snap
            .payouts
            .first()
            .is_some_and(|p| matches!(p.batches[0].state, BatchState::Pushed(_)))
        {
            planned = Some(snap);
            break;
        }
    }
    let snap = planned.expect("a payout was planned and pushed");
    let p = &snap.payouts[0];
    let line = |id: [u8; 32]| p.lines.iter().find(|l| l.launcher_id == id).unwrap();
    let distributable = REWARD - p.fee;
    assert_eq!(line(V1_LAUNCHER).points, 3_000);
    assert_eq!(line(V1_LAUNCHER).paid, distributable / 2, "{:?}", p.lines);
    assert_eq!(line([1; 32]).paid, distributable / 6);
    assert!(p.batches[0]
        .additions
        .contains(&(V1_PAYEE, distributable / 2)));

    tokio::task::block_in_place(|| pool.kill());
    let after = tokio::task::block_in_place(|| read(&pool));
    let (v1_points, carried) = {
        let s = store::Store::open(&pool.store_path()).unwrap();
        let txn = s.read().unwrap();
        let m = store::farmers_v1::get(&txn, &V1_LAUNCHER).unwrap().unwrap();
        drop(txn);
        s.close();
        (m.points, m.carried)
    };
    assert_eq!(
        (v1_points, carried),
        (0, 0),
        "consumed in the payout's commit"
    );
    assert!(after.farmers.iter().all(|f| f.points == 0));
    let (ok, text) = tokio::task::block_in_place(|| operator_view(&pool, false));
    assert!(ok && text.contains("ledger ok"), "{text}");
    let v1_line = text
        .lines()
        .find(|l| l.contains(&hex::encode(V1_LAUNCHER)))
        .unwrap_or_default();
    assert!(
        v1_line.contains(" v1 "),
        "the operator view shows the PlotNFT version: {text}"
    );
}
