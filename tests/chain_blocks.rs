//! The block record window the confirmation job reads: fetched in ranges, extended by what is new, repaired
//! after a reorg, in a handful of node calls; and its iteration arithmetic matches 2.7.5's `BlockRecord`.

mod support;

use chia_pool::chain::blocks::RecentBlocks;
use support::node_2_7_5::{ip_iters, ip_sub_slot_total_iters};
use support::FakeChain;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_follows_the_chain_in_few_calls() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    {
        let mut node = chain.node_state();
        for i in 0..300u32 {
            if i % 7 == 0 {
                node.new_slot(None);
            }
            node.add_block(i % 2 == 0);
        }
    }
    let peak = || {
        let node = chain.node_state();
        (node.peak().height, node.peak().header_hash)
    };
    let calls = || chain.node.request_count("get_block_records");
    let mut window = RecentBlocks::new();

    let (height, hash) = peak();
    let n = window
        .refresh(&client, height, hash, 250)
        .await
        .expect("refresh");
    assert_eq!((n, calls()), (3, 3), "250 blocks in ranges of 100");
    assert_eq!(window.len(), 250);
    assert_eq!(window.lowest().map(|b| b.height), Some(height - 249));

    // Nothing new: no call. One new block: one small call.
    assert_eq!(window.refresh(&client, height, hash, 250).await.unwrap(), 0);
    chain.node_state().add_block(true);
    let (height, hash) = peak();
    assert_eq!(window.refresh(&client, height, hash, 250).await.unwrap(), 1);
    assert_eq!(window.len(), 250);

    // A reorg of 3 blocks: one call repairs the top.
    chain.node_state().reorg(3);
    let (height, hash) = peak();
    assert_eq!(window.refresh(&client, height, hash, 250).await.unwrap(), 1);
    let node = chain.node_state();
    for b in &node.blocks[node.blocks.len() - 250..] {
        let held = window.get(b.height).expect("held");
        assert_eq!(held.header_hash, b.header_hash, "height {}", b.height);
        // The pool's iteration arithmetic is the node's.
        let c = 64;
        assert_eq!(held.ip_iters(c), ip_iters(b));
        assert_eq!(held.ip_sub_slot_total_iters(c), ip_sub_slot_total_iters(b));
        assert_eq!(held.total_iters, b.total_iters);
        if let Some((cc, rc)) = b.finished_slots.last() {
            assert_eq!(window.challenge_slot(cc), Some(b.height));
            assert!(window.reward_anchor(rc).is_some());
        }
        assert!(window
            .reward_anchor(&b.reward_infusion_new_challenge)
            .is_some());
    }
    assert!(
        node.blocks.iter().any(|b| b.overflow),
        "overflow blocks covered"
    );
}
