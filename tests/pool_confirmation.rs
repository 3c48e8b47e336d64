//! Confirmation against the chain, with the fake node answering `reverted` as chia-blockchain 2.7.5 does:
//! signage points before and after the first block of a sub-slot and an end-of-sub-slot partial keep their
//! points although the node calls the first "reverted"; a reorg that removes the block a signage point
//! follows, and one that puts a new block before a signage point that followed an end of sub-slot, reject
//! those partials with the reason recorded; a signage point the reorg did not touch keeps its points. At
//! arrival too, a signage point the node calls reverted is refused only when the chain shows it.

mod support;

use chia_bls::SecretKey;
use chia_pool::chia::constants::ConsensusConstants;
use chia_pool::chia::messages::{Message, PostPartialRequest};
use chia_pool::chia::puzzles::reward_puzzle_hash;
use chia_pool::store::rejections::RejectReason;
use chia_pool::store::{self, Store};
use chia_protocol::{Bytes32, ProofOfSpace};
use serde_json::Value;
use support::plots::{signed_partial, TestPlot};
use support::pool_process::PoolProcess;
use support::FakeChain;

const TARGET: [u8; 32] = [0x5e; 32];
/// Iterations between signage points at the fake node's sub-slot iterations.
const INTERVAL: u64 = 37_748_736 / 64;

fn post(url: &str, body: &str) -> Value {
    let text = ureq::post(url)
        .set("Content-Type", "application/json")
        .send_string(body)
        .expect("POST")
        .into_string()
        .expect("body");
    serde_json::from_str(&text).expect("JSON")
}

/// The slot challenges C_{n-2}, C_{n-1}, C_n of the current slot.
struct Slots([Bytes32; 3]);

/// The first signage point at index `from` or later where the plot has a proof: (index, sp_hash, proof).
fn proof_at(
    chain: &FakeChain,
    plot: &TestPlot,
    constants: &ConsensusConstants,
    slots: &Slots,
    from: u8,
) -> (u8, Bytes32, ProofOfSpace) {
    let [c0, c1, c2] = slots.0;
    for index in from..64u8 {
        let prev_tx = chain.node_state().peak().height;
        let filter = if index >= 16 { c1 } else { c0 };
        if !plot.passes_filter(constants, prev_tx, index, &filter) {
            continue;
        }
        for _ in 0..400 {
            let sp = chain.node_state().add_signage_point(index);
            if let Some(pos) = plot.proofs(&c2, &sp).into_iter().next() {
                return (index, sp, pos);
            }
        }
    }
    panic!(
        "no proof at signage point index {from} or later (slots {:?})",
        slots.0
    );
}

/// New slots until the plot has a proof at one's end of sub-slot (index 0): returns the slots and the proof.
fn eos_proof(
    chain: &FakeChain,
    plot: &TestPlot,
    constants: &ConsensusConstants,
) -> (Slots, ProofOfSpace) {
    let mut c = {
        let mut node = chain.node_state();
        let c0 = node.current_challenge;
        let c1 = node.new_slot(None);
        [c0, c1, node.new_slot(None)]
    };
    for _ in 0..2000 {
        let prev_tx = chain.node_state().peak().height;
        if plot.passes_filter(constants, prev_tx, 0, &c[0]) {
            if let Some(pos) = plot.proofs(&c[2], &c[2]).into_iter().next() {
                return (Slots(c), pos);
            }
        }
        c = [c[1], c[2], chain.node_state().new_slot(None)];
    }
    panic!("no end-of-sub-slot proof in 2000 slots");
}

fn accepted(base: &str, request: &PostPartialRequest) {
    let v = tokio::task::block_in_place(|| {
        post(&format!("{base}/v2/partial"), &request.to_json_string())
    });
    assert_eq!(v["new_difficulty"], 1, "partial refused: {v}");
}

fn eos_partial(
    launcher: Bytes32,
    challenge: Bytes32,
    pos: ProofOfSpace,
    plot_sk: &SecretKey,
    auth_sk: &SecretKey,
    token: &str,
) -> PostPartialRequest {
    let mut request = signed_partial(launcher, challenge, pos, plot_sk, auth_sk, token);
    request.payload.end_of_sub_slot = true;
    let m = request.payload.get_hash();
    request.aggregate_signature =
        chia_bls::aggregate([chia_bls::sign(plot_sk, m), chia_bls::sign(auth_sk, m)]);
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_partials_keep_their_points_and_reorged_ones_are_rejected_with_a_reason() {
    let chain = FakeChain::start().await;
    let constants = support::farmer::use_small_plot_constants(&chain);
    let pool_lines = format!("reward_address = \"{}\"", hex::encode(TARGET));
    let mut pool = tokio::task::block_in_place(|| {
        PoolProcess::start(
            &chain,
            &pool_lines,
            // Difficulty stays 1 (no controller evidence), so points count partials.
            "[partials]\nconfirmation_delay_secs = 4\ntime_limit_secs = 120\npartials_target = 1000\n",
        )
    });
    let base = pool.base_url.clone();
    let auth_sk = SecretKey::from_seed(&[61; 32]);
    let launcher = Bytes32::new([61; 32]);
    let token = tokio::task::block_in_place(|| {
        support::farmer::join_pool(
            &chain,
            &ureq::agent(),
            &base,
            launcher,
            &auth_sk,
            Bytes32::new(TARGET),
        )
    });
    let plot = tokio::task::block_in_place(|| TestPlot::create(reward_puzzle_hash(launcher), 0));

    // One sub-slot, on one timeline: EOS, A, block 1, K, block 2, X (the test plot passes the v2 filter at one
    // signage point index in 16).
    let (slots, eos_pos) = eos_proof(&chain, &plot, &constants);
    let challenge = slots.0[2];
    let (ia, sp_a, pos_a) = proof_at(&chain, &plot, &constants, &slots, 1);
    chain
        .node_state()
        .add_block_at(true, u64::from(ia) * INTERVAL + INTERVAL / 2);
    let (ik, sp_k, pos_k) = proof_at(&chain, &plot, &constants, &slots, ia + 1);
    chain
        .node_state()
        .add_block_at(true, u64::from(ik) * INTERVAL + INTERVAL / 2);
    let (_, sp_x, pos_x) = proof_at(&chain, &plot, &constants, &slots, ik + 1);
    let requests = [
        eos_partial(
            launcher,
            challenge,
            eos_pos,
            &plot.plot_sk,
            &auth_sk,
            &token,
        ),
        signed_partial(launcher, sp_a, pos_a, &plot.plot_sk, &auth_sk, &token),
        signed_partial(launcher, sp_k, pos_k, &plot.plot_sk, &auth_sk, &token),
        signed_partial(launcher, sp_x, pos_x, &plot.plot_sk, &auth_sk, &token),
    ];
    for request in &requests {
        accepted(&base, request);
    }
    // A reorg replaces block 2 with one infused after X: X follows a block that is gone; K (before block 2)
    // is untouched.
    {
        let mut node = chain.node_state();
        node.rollback(1);
        node.add_block(true);
    }

    // The next sub-slot: Y before its first block, then a reorg puts a block before Y.
    let next = Slots([slots.0[1], slots.0[2], chain.node_state().new_slot(None)]);
    let (iy, sp_y, pos_y) = proof_at(&chain, &plot, &constants, &next, 1);
    chain
        .node_state()
        .add_block_at(true, u64::from(iy) * INTERVAL + INTERVAL / 2);
    accepted(
        &base,
        &signed_partial(launcher, sp_y, pos_y, &plot.plot_sk, &auth_sk, &token),
    );
    {
        let mut node = chain.node_state();
        node.rollback(1);
        node.add_block_at(true, u64::from(iy) * INTERVAL - INTERVAL / 2);
        // The chain goes on for two sub-slots: every point leaves the node's short-term store.
        for _ in 0..2 {
            node.new_slot(None);
            node.add_block(true);
            node.add_block(true);
        }
        // The node's own answers, as 2.7.5 gives them.
        let flag = |sp: &Bytes32| node.sp_reverted_2_7_5(&node.signage_points[sp]);
        assert!(
            flag(&sp_a),
            "2.7.5 calls a point before a sub-slot's first block reverted"
        );
        assert!(
            !flag(&sp_k),
            "K follows block 1, still on chain, and comes before the next block"
        );
        assert!(flag(&sp_x) && flag(&sp_y));
        assert!(!node.eos_reverted_2_7_5(&node.end_of_slots[&challenge]));
    }

    // EOS, A and K count; X and Y do not.
    let farmer_url = format!(
        "{base}/v2/farmer?authentication_token=0&launcher_id=0x{}&authentication_token_v2={token}",
        hex::encode(launcher)
    );
    let mut settled = false;
    for _ in 0..300 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let pending = tokio::task::block_in_place(|| {
            ureq::get(&farmer_url)
                .call()
                .ok()
                .and_then(|r| r.into_string().ok())
        });
        if pending.is_some_and(|t| t.contains("\"current_points\":3")) {
            settled = true;
            break;
        }
    }
    // Let a rejection written in the same run land, then read the database.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    pool.kill();
    let db = Store::open(&pool.store_path()).expect("open store");
    let txn = db.read().expect("read");
    let farmer = store::farmers::get(&txn, &launcher.to_bytes())
        .expect("farmer")
        .expect("registered");
    let stats = store::rejections::get(&txn, &launcher.to_bytes())
        .expect("stats")
        .expect("counted");
    let pending = store::partials::pending_before(&txn, u64::MAX, 100).expect("pending");
    drop(txn);
    db.close();
    assert!(
        settled,
        "points never reached 3: {} ({stats:?})",
        farmer.points
    );
    assert!(pending.is_empty(), "all settled");
    assert_eq!(farmer.points, 3, "EOS, A and K credited");
    assert_eq!((stats.confirmed, stats.rejected), (3, 2), "{stats:?}");
    assert_eq!(stats.count(RejectReason::BlockReplaced), 1, "Y: {stats:?}");
    assert_eq!(
        stats.count(RejectReason::SignagePointNotOnChain),
        1,
        "X: {stats:?}"
    );
    let rejected: Vec<[u8; 32]> = stats.recent.iter().map(|r| r.sp_hash).collect();
    assert!(rejected.contains(&sp_x.to_bytes()) && rejected.contains(&sp_y.to_bytes()));

    // The operator sees it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chia-pool"))
        .args(["partials", "--config"])
        .arg(&pool.config)
        .output()
        .expect("run chia-pool partials");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 confirmed, 2 rejected"), "{text}");
    assert!(text.contains(&hex::encode(launcher)), "{text}");
    assert!(text.contains("replaced by a reorg"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signage_point_the_node_calls_reverted_is_accepted_when_on_chain() {
    let chain = FakeChain::start().await;
    let constants = support::farmer::use_small_plot_constants(&chain);
    let pool_lines = format!("reward_address = \"{}\"", hex::encode(TARGET));
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start(
            &chain,
            &pool_lines,
            "[partials]\ntime_limit_secs = 120\npartials_target = 1000\n",
        )
    });
    let base = pool.base_url.clone();
    let auth_sk = SecretKey::from_seed(&[62; 32]);
    let launcher = Bytes32::new([62; 32]);
    let token = tokio::task::block_in_place(|| {
        support::farmer::join_pool(
            &chain,
            &ureq::agent(),
            &base,
            launcher,
            &auth_sk,
            Bytes32::new(TARGET),
        )
    });
    let plot = tokio::task::block_in_place(|| TestPlot::create(reward_puzzle_hash(launcher), 0));
    let slots = {
        let mut node = chain.node_state();
        let c0 = node.current_challenge;
        let c1 = node.new_slot(None);
        Slots([c0, c1, node.new_slot(None)])
    };
    // A signage point of a sub-slot without blocks, then the chain moves on to the next sub-slot, whose first
    // block includes this one: on chain, but out of the node's store, so 2.7.5 calls it reverted.
    let (_, sp, pos) = proof_at(&chain, &plot, &constants, &slots, 1);
    let on_chain = signed_partial(launcher, sp, pos, &plot.plot_sk, &auth_sk, &token);
    {
        let mut node = chain.node_state();
        node.new_slot(None);
        node.add_block(true);
        assert!(node.sp_reverted_2_7_5(&node.signage_points[&sp]));
    }
    accepted(&base, &on_chain);

    // One that follows a block a reorg then removed is refused (code 1, reverted).
    let slots = Slots([slots.0[1], slots.0[2], chain.node_state().current_challenge]);
    chain.node_state().add_block(true);
    let (_, sp, pos) = proof_at(&chain, &plot, &constants, &slots, 1);
    {
        let mut node = chain.node_state();
        node.rollback(1);
        node.new_slot(None);
        node.add_block(true);
    }
    let v = tokio::task::block_in_place(|| {
        post(
            &format!("{base}/v2/partial"),
            &signed_partial(launcher, sp, pos, &plot.plot_sk, &auth_sk, &token).to_json_string(),
        )
    });
    assert_eq!(v["error_code"], 1, "{v}");
}
