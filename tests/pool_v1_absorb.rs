//! A pool reward won by a v1 member, absorbed into the pool: the pool finds the reward at the member's
//! p2_singleton, pushes the absorb chia-blockchain 2.7.5 itself made for it (byte for byte, tests/vectors/
//! puzzles_v1.json), and counts the reward as pool income only once the singleton's spend paid it to the pool;
//! spent without that payment it is claimed elsewhere and never income.

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
    absorb(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_reward_spent_without_paying_the_pool_is_claimed_elsewhere() {
    absorb(false).await;
}

/// Lands the absorb the pool pushed; with `pays_pool` false the chain shows the reward spent but no coin of it
/// at the pool's puzzle hash.
async fn absorb(pays_pool: bool) {
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
    let mut pushed = None;
    for _ in 0..60 {
        chain.node_state().add_block(true);
        tokio::time::sleep(Duration::from_millis(300)).await;
        pushed = chain.node_state().mempool.first().cloned();
        if pushed.is_some() {
            break;
        }
    }
    let bundle = pushed.expect("the pool never pushed the absorb");
    assert_eq!(bundle.coin_spends, expected.to_vec());

    // Not income until it lands: the singleton's spend pays the reward to the pool's puzzle hash.
    {
        let mut node = chain.node_state();
        node.mempool.clear();
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
