//! The caches that keep the node off the partial path: peak poller, signage points, end of slots.
//!
//! Longer than 400 lines on purpose: one file per cache family keeps their shared fake-node helpers in one place.

mod support;

use std::future::Future;
use std::time::Duration;

use chia_pool::chain::{ChainClient, ChainConfig, ChainError, PeakInfo};
use chia_protocol::Bytes32;
use support::FakeChain;
use tokio::task::JoinSet;

/// Guards against a hang only; no test asserts on how long anything takes.
const GUARD: Duration = Duration::from_secs(20);

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let wait = async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(GUARD, wait)
        .await
        .unwrap_or_else(|_| panic!("never happened: {what}"));
}

async fn guarded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future).await.expect("hung")
}

fn sp_requests(chain: &FakeChain, key: &str, hash: Bytes32) -> usize {
    let wanted = format!("0x{}", hex::encode(hash));
    chain
        .node
        .requests()
        .iter()
        .filter(|r| {
            r.endpoint == "get_recent_signage_point_or_eos"
                && r.body[key].as_str() == Some(wanted.as_str())
        })
        .count()
}

fn client_with(chain: &FakeChain, change: impl FnOnce(&mut ChainConfig)) -> ChainClient {
    let mut config = chain.config();
    change(&mut config);
    ChainClient::new(config).expect("client")
}

async fn wait_peak(
    client: &ChainClient,
    what: &str,
    check: impl Fn(&PeakInfo) -> bool,
) -> PeakInfo {
    let mut peaks = client.subscribe_peak();
    let peak = guarded(peaks.wait_for(|p| p.as_ref().is_some_and(&check)))
        .await
        .unwrap_or_else(|_| panic!("poller stopped before {what}"));
    peak.clone().expect("checked above")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_peak_poller_follows_blocks_as_the_farmer_counts_them() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    assert_eq!(client.peak(), None);
    assert!(matches!(
        client.synced_peak(),
        Err(ChainError::NoPeak { .. })
    ));
    let _poller = client.start_background().expect("poller");

    let tx_height = chain.node_state().add_block(true);
    let peak = wait_peak(&client, "a transaction block", |p| p.height == tx_height).await;
    assert_eq!(
        peak.prev_tx_height, tx_height,
        "a transaction peak is its own latest transaction block"
    );
    assert!(peak.timestamp.is_some());

    let top = chain.node_state().add_block(false);
    let peak = wait_peak(&client, "a plain block", |p| p.height == top).await;
    assert_eq!(peak.prev_tx_height, tx_height);
    assert_eq!(peak.timestamp, None);
    assert_eq!(client.peak(), Some(peak.clone()), "readable synchronously");
    assert_eq!(client.synced_peak().expect("synced").height, top);
    assert_eq!(peak.sub_slot_iters, chain.node_state().sub_slot_iters);

    chain.node_state().synced = false;
    wait_peak(&client, "not synced", |p| !p.synced).await;
    assert!(matches!(
        client.synced_peak(),
        Err(ChainError::NotSynced { .. })
    ));
    chain.node_state().synced = true;
    wait_peak(&client, "synced again", |p| p.synced).await;

    // The node goes away: the poller records it, and the peak turns stale; it comes back on its own.
    chain.node.stop().await;
    eventually("failures recorded", || {
        client.peak_status().consecutive_failures > 0
    })
    .await;
    eventually("peak stale", || {
        matches!(client.synced_peak(), Err(ChainError::PeakStale { .. }))
    })
    .await;
    assert!(client.peak_status().last_error.is_some());
    chain.node.restart().await;
    eventually("peak fresh again", || client.synced_peak().is_ok()).await;
    assert_eq!(client.peak_status().consecutive_failures, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signage_points_carry_what_a_partial_check_needs() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let (c0, c1, c2, late, early, first_slot_early, first_slot_late) = {
        let mut node = chain.node_state();
        let c0 = node.current_challenge;
        let c1 = node.new_slot(None);
        let first_slot_early = node.add_signage_point(3);
        let first_slot_late = node.add_signage_point(40);
        let c2 = node.new_slot(None);
        (
            c0,
            c1,
            c2,
            node.add_signage_point(20),
            node.add_signage_point(5),
            first_slot_early,
            first_slot_late,
        )
    };
    let cache = client.signage_points();

    let info = cache
        .lookup(late, false)
        .await
        .expect("rpc")
        .expect("known");
    assert_eq!(info.sp_hash, late);
    assert_eq!(info.challenge_hash, c2);
    assert_eq!(info.signage_point_index, 20);
    assert_eq!(
        info.filter_challenge,
        Some(c1),
        "index ≥ 16 uses the previous slot's challenge"
    );
    assert!(!info.reverted && !info.end_of_sub_slot);
    assert_eq!(info.sub_slot_iters, chain.node_state().sub_slot_iters);
    assert!(info.time_received > 1.6e9);

    let info = cache
        .lookup(early, false)
        .await
        .expect("rpc")
        .expect("known");
    assert_eq!(info.signage_point_index, 5);
    assert_eq!(
        info.filter_challenge,
        Some(c0),
        "index < 16 uses the challenge two slots back"
    );

    let eos = cache.lookup(c2, true).await.expect("rpc").expect("known");
    assert_eq!(
        (
            eos.challenge_hash,
            eos.signage_point_index,
            eos.end_of_sub_slot
        ),
        (c2, 0, true)
    );
    assert_eq!(eos.filter_challenge, Some(c0));

    // Slot c1 was opened by an end of slot, but the one before it (c0) was not: C_{n-2} is unknown.
    let info = cache
        .lookup(first_slot_early, false)
        .await
        .expect("rpc")
        .expect("known");
    assert_eq!((info.challenge_hash, info.filter_challenge), (c1, None));
    let info = cache
        .lookup(first_slot_late, false)
        .await
        .expect("rpc")
        .expect("known");
    assert_eq!(info.filter_challenge, Some(c0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_slot_iterations_come_from_the_slot_and_bad_iterations_are_refused() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let before = chain.node_state().sub_slot_iters;
    let odd = chain.node_state().add_signage_point(5);
    let new_ssi = before * 2;
    let sp = {
        let mut node = chain.node_state();
        node.new_slot(Some(new_ssi));
        node.add_signage_point(10)
    };
    let info = client
        .signage_points()
        .lookup(sp, false)
        .await
        .expect("rpc")
        .expect("known");
    assert_eq!(
        (info.sub_slot_iters, info.signage_point_index),
        (new_ssi, 10)
    );

    // `odd` is in the first slot (no end of slot known): its index is derived from the peak's iterations,
    // which no longer divide its VDF iterations.
    chain.node_state().sub_slot_iters = before * 3;
    let error = client
        .signage_points()
        .lookup(odd, false)
        .await
        .expect_err("inconsistent");
    assert!(matches!(error, ChainError::BadResponse { .. }), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_state_partials_make_no_node_calls() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let sp = {
        let mut node = chain.node_state();
        node.new_slot(None);
        node.new_slot(None);
        node.add_signage_point(7)
    };
    let cache = client.signage_points();
    cache.lookup(sp, false).await.expect("rpc").expect("known");
    let warm = chain.node.total_requests();

    let mut partials = JoinSet::new();
    for _ in 0..500 {
        let cache = cache.clone();
        partials.spawn(async move { cache.lookup(sp, false).await });
    }
    while let Some(done) = partials.join_next().await {
        assert!(done.expect("task").expect("rpc").is_some());
    }
    assert_eq!(
        chain.node.total_requests(),
        warm,
        "cached: no node call per partial"
    );
    assert!(cache.cached(sp, false).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lookups_of_one_signage_point_share_one_request() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let sp = chain.node_state().add_signage_point(33);
    chain.node.set_delay(Duration::from_millis(100));
    let mut partials = JoinSet::new();
    for _ in 0..50 {
        let cache = client.signage_points();
        partials.spawn(async move { cache.lookup(sp, false).await });
    }
    while let Some(done) = partials.join_next().await {
        assert_eq!(
            done.expect("task")
                .expect("rpc")
                .expect("known")
                .signage_point_index,
            33
        );
    }
    assert_eq!(sp_requests(&chain, "sp_hash", sp), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signage_point_the_node_lacks_yet_is_awaited() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let (sp, record) = {
        let mut node = chain.node_state();
        let sp = node.add_signage_point(12);
        let record = node.signage_points.remove(&sp).expect("just added");
        (sp, record)
    };
    let cache = client.signage_points();
    let waiting = tokio::spawn(async move { cache.lookup(sp, false).await });
    eventually("the first miss", || sp_requests(&chain, "sp_hash", sp) >= 1).await;
    chain.node_state().signage_points.insert(sp, record);
    let info = guarded(waiting).await.expect("task").expect("rpc");
    assert_eq!(info.expect("found on a retry").signage_point_index, 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_signage_point_is_given_up_after_a_bounded_wait() {
    let chain = FakeChain::start().await;
    let client = client_with(&chain, |c| c.sp_wait = Duration::from_secs(1));
    let unknown = Bytes32::new([5; 32]);
    assert_eq!(
        guarded(client.signage_points().lookup(unknown, false))
            .await
            .expect("rpc"),
        None
    );
    let asked = sp_requests(&chain, "sp_hash", unknown);
    assert!(
        (2..=10).contains(&asked),
        "retried a few times, not more: {asked}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_is_remembered_briefly() {
    let chain = FakeChain::start().await;
    let client = client_with(&chain, |c| c.sp_negative_ttl = Duration::from_secs(3600));
    let unknown = Bytes32::new([6; 32]);
    let cache = client.signage_points();
    assert_eq!(cache.lookup_once(unknown, false).await.expect("rpc"), None);
    assert_eq!(cache.lookup_once(unknown, false).await.expect("rpc"), None);
    assert_eq!(sp_requests(&chain, "sp_hash", unknown), 1);

    let short = client_with(&chain, |c| c.sp_negative_ttl = Duration::ZERO);
    let cache = short.signage_points();
    cache.lookup_once(unknown, false).await.expect("rpc");
    cache.lookup_once(unknown, false).await.expect("rpc");
    assert_eq!(sp_requests(&chain, "sp_hash", unknown), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_is_seen_when_a_signage_point_is_rechecked() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let (sp, slot) = {
        let mut node = chain.node_state();
        node.add_block(true);
        let slot = node.new_slot(None);
        (node.add_signage_point(22), slot)
    };
    let cache = client.signage_points();
    let first = cache.lookup(sp, false).await.expect("rpc").expect("known");
    let eos = cache.lookup(slot, true).await.expect("rpc").expect("known");
    assert!(!first.reverted && !eos.reverted);

    {
        let mut node = chain.node_state();
        node.add_block(false);
        node.reorg(2);
    }
    assert!(
        !cache
            .lookup(sp, false)
            .await
            .expect("rpc")
            .expect("cached")
            .reverted,
        "partials read the cache"
    );

    let rechecked = cache
        .recheck(sp, false)
        .await
        .expect("rpc")
        .expect("still known");
    assert!(rechecked.reverted);
    assert_eq!(rechecked.first_seen_local, first.first_seen_local);
    assert!(
        cache
            .lookup(sp, false)
            .await
            .expect("rpc")
            .expect("cached")
            .reverted,
        "the cache learned it"
    );
    assert!(
        cache
            .recheck(slot, true)
            .await
            .expect("rpc")
            .expect("known")
            .reverted
    );

    // Gone from the node's cache altogether.
    chain.node_state().forget_signage_point(&sp);
    assert_eq!(cache.recheck(sp, false).await.expect("rpc"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_not_cached() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let sp = chain.node_state().add_signage_point(8);
    chain.node.stop().await;
    let error = client
        .signage_points()
        .lookup(sp, false)
        .await
        .expect_err("node down");
    assert!(error.is_unreachable(), "{error:?}");
    chain.node.restart().await;
    assert!(client
        .signage_points()
        .lookup(sp, false)
        .await
        .expect("rpc")
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_entries_are_pruned() {
    let chain = FakeChain::start().await;
    let client = client_with(&chain, |c| {
        c.sp_max_age = Duration::ZERO;
        c.slot_max_age = Duration::ZERO;
    });
    let sp = chain.node_state().add_signage_point(8);
    let cache = client.signage_points();
    cache.lookup(sp, false).await.expect("rpc").expect("known");
    assert_eq!(cache.len(), 1);
    // "Not found" marks (the first slot has no end of slot) go when they expire.
    eventually("entries older than zero", || {
        cache.prune();
        cache.is_empty() && client.stats().cached_slots == 0
    })
    .await;
    assert_eq!(cache.cached(sp, false), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_node_does_not_hold_a_partial_past_the_lookup_limit() {
    let chain = FakeChain::start().await;
    let client = client_with(&chain, |c| c.sp_lookup_timeout = Duration::from_millis(100));
    let sp = chain.node_state().add_signage_point(8);
    chain.node.set_delay(Duration::from_millis(300));
    let cache = client.signage_points();
    let error = guarded(cache.lookup(sp, false)).await.expect_err("hung");
    assert!(matches!(error, ChainError::Timeout { .. }), "{error:?}");
    // The fetch went on and filled the cache for the next partial.
    eventually("filled in the background", || {
        cache.cached(sp, false).is_some()
    })
    .await;
}
