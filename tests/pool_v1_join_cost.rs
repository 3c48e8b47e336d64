//! What a v1 registration costs the node when anyone can send one. A v1 POST /farmer names a launcher and is
//! signed by the owner key of the PlotNFT's PoolState, which only the chain knows: the pool walks the
//! singleton from its launcher (two node calls per spend) before it can check the signature. Forged or
//! repeated registrations for a real launcher, or registrations for launchers that do not exist, must not
//! buy a walk each: one walk per launcher and block, shared by concurrent requests.

mod support;

use chia_protocol::Bytes32;
use serde_json::Value;
use support::plotnft_v1_vectors::{
    authentication_sk, land, launch, pool_target, register, register_signed_by, step,
    use_vectors_network,
};
use support::pool_process::PoolProcess;
use support::FakeChain;

fn error_code(answer: &str) -> Value {
    let v: Value = serde_json::from_str(answer).unwrap_or_default();
    v["error_code"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_v1_registrations_cost_the_node_one_walk_per_block() {
    let chain = FakeChain::start().await;
    use_vectors_network(&chain);
    let lines = format!(
        "reward_address = \"{}\"\nrelative_lock_height = 100",
        pool_target()
    );
    let pool = tokio::task::block_in_place(|| PoolProcess::start(&chain, &lines, ""));
    let base = pool.base_url.clone();

    // The PlotNFT 2.7.5 made, with one absorb: a walk of launcher, eve coin and absorb.
    let launcher_id = launch(&chain);
    land(&chain, &step("absorb_pool_member"));
    let walk_calls = || {
        chain.node.request_count("get_coin_record_by_name")
            + chain.node.request_count("get_puzzle_and_solution")
    };
    let forger = authentication_sk();
    let forge = |launcher: Bytes32| {
        tokio::task::block_in_place(|| register_signed_by(&base, launcher, &forger))
    };
    // The pool learns the peak by polling; a block it has not seen yet would change the cache key in the
    // middle of a count. Its poller is sequential, so a second poll begun after the last block means the
    // first one, which saw that block, has been applied.
    let pool_saw_the_chain = || async {
        let polls = chain.node.request_count("get_blockchain_state");
        while chain.node.request_count("get_blockchain_state") < polls + 2 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    pool_saw_the_chain().await;

    // The first forgery pays for one walk and is refused for its signature.
    let before = walk_calls();
    let answer = forge(launcher_id);
    assert_eq!(error_code(&answer), 7, "{answer}");
    let one_walk = walk_calls() - before;
    assert!(one_walk >= 5, "a walk over 3 coins: {one_walk} calls");

    // 16 more in the same block, 8 at a time: refused the same way, for no further node call.
    let before = walk_calls();
    for _ in 0..2 {
        let answers: Vec<String> = tokio::task::block_in_place(|| {
            std::thread::scope(|s| {
                let posts: Vec<_> = (0..8)
                    .map(|_| s.spawn(|| register_signed_by(&base, launcher_id, &forger)))
                    .collect();
                posts.into_iter().map(|p| p.join().unwrap()).collect()
            })
        });
        for answer in &answers {
            assert_eq!(error_code(answer), 7, "{answer}");
        }
    }
    assert_eq!(walk_calls() - before, 0, "repeats in one block walk again");

    // A launcher that is not on chain: one lookup, then the same refusal for free.
    let nowhere = Bytes32::new([0x42; 32]);
    let before = walk_calls();
    for _ in 0..10 {
        let answer = forge(nowhere);
        assert_eq!(error_code(&answer), 3, "{answer}");
    }
    assert_eq!(
        walk_calls() - before,
        1,
        "one lookup of the missing launcher"
    );

    // A new block may change the answer: walked again, once, as soon as the pool sees the block.
    chain.node_state().add_block(true);
    pool_saw_the_chain().await;
    let before = walk_calls();
    for _ in 0..100 {
        let answer = forge(launcher_id);
        assert_eq!(error_code(&answer), 7, "{answer}");
        if walk_calls() > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(walk_calls() - before, one_walk, "one walk in the new block");

    // The owner's own registration is not hindered by what the forgeries left behind.
    let answer = tokio::task::block_in_place(|| register(&base, launcher_id));
    assert!(answer.contains("welcome_message"), "{answer}");
}
