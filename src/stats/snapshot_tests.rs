//! Tests of `snapshot.rs`: a snapshot built from a real store file.

use super::*;
use crate::store::payouts::{Batch, PayoutLine};
use crate::store::{PartialRecord, Store};

fn farmer(id: u8) -> FarmerRecord {
    FarmerRecord {
        launcher_id: [id; 32],
        authentication_public_key: [0; 48],
        payout_instructions: String::new(),
        payout_puzzle_hash: [id; 32],
        difficulty: 4,
        reward_puzzle_hash: [0; 32],
        membership: Membership::Pooling,
        singleton: None,
        joined_at: 0,
        recent_partials: Vec::new(),
        points: 0,
        carried: 7,
        lifetime_points: 0,
    }
}

fn partial(id: u8, difficulty: u64, version: u8) -> PartialRecord {
    PartialRecord {
        launcher_id: [id; 32],
        difficulty,
        sp_hash: [0; 32],
        challenge_hash: [0; 32],
        end_of_sub_slot: false,
        harvester_id: [0; 32],
        plot_version: version,
        state: PartialState::Pending,
    }
}

#[test]
fn builds_windows_buckets_and_payout_history_from_the_store() {
    let path = std::env::temp_dir().join(format!("chia-pool-snapshot-{}.redb", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let store = Store::open(&path).unwrap();
    let now_ms = 10 * 86_400_000u64;
    store
        .write_blocking(move |txn| {
            store::farmers::put(txn, &farmer(1))?;
            store::farmers::put(txn, &farmer(2))?;
            let at = |secs_ago: u64| now_ms - secs_ago * 1000;
            // Farmer 1: two now (one v1, one v2), one 2 h ago, one two days ago (outside the window).
            for (n, (ago, diff, version)) in
                [(1, 4, 0), (2, 4, 2), (7200, 8, 2), (2 * 86_400, 16, 2)]
                    .into_iter()
                    .enumerate()
            {
                store::partials::record(
                    txn,
                    at(ago),
                    [n as u8; 32],
                    &partial(1, diff, version),
                    |_| {},
                )?;
            }
            // Farmer 2: one reverted at confirmation.
            store::partials::record(txn, at(30), [9; 32], &partial(2, 4, 2), |_| {})?;
            store::partials::settle(txn, (at(30), [9; 32]), false)?;
            store::partials::settle(txn, (at(7200), [2; 32]), true)?;
            store::payouts::put(
                txn,
                &PayoutRecord {
                    id: 1,
                    created_at: 5,
                    rewards: 100,
                    fee: 1,
                    reward_coins: vec![],
                    fee_puzzle_hash: None,
                    lines: vec![PayoutLine {
                        launcher_id: [1; 32],
                        payout_puzzle_hash: [1; 32],
                        points: 8,
                        share: 99,
                        paid: 99,
                        carried: 0,
                    }],
                    batches: vec![Batch {
                        additions: vec![([1; 32], 99)],
                        memo: String::new(),
                        state: BatchState::Confirmed {
                            tx_name: [0; 32],
                            height: 3,
                            outputs: vec![],
                        },
                        abandoned: vec![],
                        waiting: String::new(),
                    }],
                },
            )?;
            Ok(())
        })
        .unwrap();
    let snap = build(&store.read().unwrap(), now_ms, &HashMap::new()).unwrap();
    let f1 = snap.farmer(&[1; 32]).unwrap();
    assert_eq!(
        f1.day,
        Accepted {
            partials: 3,
            points_v1: 4,
            points_v2: 12
        }
    );
    assert_eq!((f1.pending_partials, f1.pending_points), (2, 8));
    assert_eq!(f1.hourly.last().unwrap().partials, 2, "the current hour");
    assert_eq!(f1.hourly[f1.hourly.len() - 3].points(), 8, "two hours ago");
    assert_eq!(f1.last_partial_ms, Some(now_ms - 1000));
    assert_eq!(f1.payouts.len(), 1);
    let f2 = snap.farmer(&[2; 32]).unwrap();
    assert_eq!((f2.day.partials, f2.rejected_at_confirmation), (0, 1));
    assert_eq!(snap.active_members(), 1);
    assert_eq!(snap.pool_day.points(), 16);
    assert_eq!(snap.pool_buckets.last().unwrap().partials, 2);
    assert_eq!(
        (
            snap.rewards.paid_out_mojos,
            snap.rewards.fees_mojos,
            snap.rewards.carried_mojos
        ),
        (99, 1, 14)
    );
    assert_eq!(snap.payout_batches.get("confirmed"), Some(&1));
    store.close();
    let _ = std::fs::remove_file(&path);
}
