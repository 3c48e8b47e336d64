//! A pool reward won by a v1 member, absorbed into the pool: the pool finds the reward at the member's
//! p2_singleton, pushes the absorb chia-blockchain 2.7.5 itself made for it (byte for byte, tests/vectors/
//! puzzles_v1.json), and counts the reward as pool income only once the singleton's spend paid it to the pool;
//! spent without that payment it is claimed elsewhere and never income. A reorg that undoes a landed absorb
//! before it is buried sends the reward back to be absorbed again, as the same bundle, and counted once.

mod support;

use std::time::Duration;

use chia_pool::store::rewards::ForwardState;
use chia_protocol::{Coin, CoinRecord, CoinSpend};
use support::payout_seed::read_live;
use support::plotnft_v1_vectors::{
    bytes32, launch, pool_target, register, step, use_vectors_network,
};
use support::pool_process::PoolProcess;
use support::FakeChain;

fn spend_of(name: &str) -> CoinSpend {
    let s = step(name);
    CoinSpend::new(s.coin, s.puzzle_reveal, s.solution)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_reward_is_absorbed_and_counted_on_arrival() {
    absorb(true, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_reward_spent_without_paying_the_pool_is_claimed_elsewhere() {
    absorb(false, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_during_the_absorb_absorbs_again_and_counts_once() {
    absorb(true, true).await;
}

/// Waits (adding blocks) for the pool to push a bundle; returns it and clears the mempool.
async fn next_push(chain: &FakeChain) -> Option<chia_protocol::SpendBundle> {
    for _ in 0..60 {
        chain.node_state().add_block(true);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut node = chain.node_state();
        if let Some(bundle) = node.mempool.first().cloned() {
            node.mempool.clear();
            return Some(bundle);
        }
    }
    None
}

/// Lands the absorb the pool pushed; with `pays_pool` false the chain shows the reward spent but no coin of it
/// at the pool's puzzle hash. With `reorg`, the landed absorb is undone before it is buried (its spends
/// rolled back) and the pool must push the same absorb again; then it lands for good.
async fn absorb(pays_pool: bool, reorg: bool) {
    let chain = FakeChain::start().await;
    use_vectors_network(&chain);
    let target = pool_target();
    let mut pool = tokio::task::block_in_place(|| {
        PoolProcess::start(
            &chain,
            &format!("reward_address = \"{target}\"\nrelative_lock_height = 100"),
            "",
        )
    });
    let launcher_id = launch(&chain);
    let answer = tokio::task::block_in_place(|| register(&pool.base_url, launcher_id));
    assert!(answer.contains("welcome_message"), "{answer}");

    // The member wins a block: the pool reward lands at its p2_singleton.
    let reward = step("absorb_p2_singleton").coin;
    {
        let mut node = chain.node_state();
        let height = node.add_block(true);
        node.add_coin_record(CoinRecord::new(reward, height, 0, true, 1_700_000_000));
    }
    // The pool pushes 2.7.5's own absorb of it.
    let expected = [
        spend_of("absorb_pool_member"),
        spend_of("absorb_p2_singleton"),
    ];
    let bundle = next_push(&chain)
        .await
        .expect("the pool never pushed the absorb");
    assert_eq!(bundle.coin_spends, expected.to_vec());

    // Not income until it lands: the singleton's spend pays the reward to the pool's puzzle hash.
    let land = |chain: &FakeChain| {
        let mut node = chain.node_state();
        let height = node.add_block(true);
        for s in &expected {
            node.spend_coin(
                s.coin.coin_id(),
                height,
                s.puzzle_reveal.clone(),
                s.solution.clone(),
            );
        }
        let singleton = step("absorb_pool_member");
        let child = singleton.child.expect("the absorb's singleton child");
        node.add_coin_record(CoinRecord::new(child, height, 0, false, 1_700_000_000));
        let paid = Coin::new(
            singleton.coin.coin_id(),
            bytes32(&target.clone().into()),
            reward.amount,
        );
        if pays_pool {
            node.add_coin_record(CoinRecord::new(paid, height, 0, false, 1_700_000_000));
        }
    };
    land(&chain);
    if reorg {
        // Judged on arrival, then undone before it is buried: the reward and the singleton are unspent again
        // (their children gone), so the pool absorbs it again, with the very same bundle.
        for _ in 0..40 {
            chain.node_state().add_block(true);
            tokio::time::sleep(Duration::from_millis(300)).await;
            let snap = tokio::task::block_in_place(|| read_live(&mut pool));
            let state = snap
                .rewards
                .iter()
                .find(|r| r.coin_id == reward.coin_id().to_bytes())
                .map(|r| r.state.clone());
            if matches!(state, Some(ForwardState::Forwarded { .. })) {
                break;
            }
        }
        {
            let mut node = chain.node_state();
            for s in &expected {
                node.unspend_coin(s.coin.coin_id());
            }
        }
        let again = next_push(&chain)
            .await
            .expect("the pool never absorbed the reward again after the reorg");
        assert_eq!(
            again.coin_spends,
            expected.to_vec(),
            "the same absorb again"
        );
        land(&chain);
    }
    for _ in 0..40 {
        chain.node_state().add_block(true);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let snap = tokio::task::block_in_place(|| read_live(&mut pool));
        if let Some(r) = snap
            .rewards
            .iter()
            .find(|r| r.coin_id == reward.coin_id().to_bytes())
        {
            if !pays_pool {
                assert!(
                    !matches!(r.state, ForwardState::Forwarded { .. }),
                    "{:?}",
                    r.state
                );
                if matches!(r.state, ForwardState::ClaimedElsewhere { .. }) {
                    assert_eq!(snap.ledger().map(|l| l.forwarded), Ok(0));
                    return;
                }
                continue;
            }
            assert!(
                !matches!(r.state, ForwardState::ClaimedElsewhere { .. }),
                "an absorb to the pool is not a claim elsewhere: {:?}",
                r.state
            );
            if matches!(r.state, ForwardState::Forwarded { .. }) {
                assert_eq!(r.launcher_id, launcher_id.to_bytes());
                assert_eq!(
                    snap.ledger().map(|l| l.forwarded),
                    Ok(u128::from(reward.amount))
                );
                return;
            }
        }
    }
    panic!("the reward was never judged (pays the pool: {pays_pool})");
}
