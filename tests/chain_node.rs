//! Every full node call over real mutual TLS against the fake node.

mod support;

use std::collections::HashSet;

use chia_bls::Signature;
use chia_pool::chain::{ChainError, CoinQuery, PushTxStatus, MAX_REQUEST_BYTES};
use chia_protocol::{Bytes, Bytes32, CoinSpend, Program, SpendBundle};
use support::FakeChain;

fn hash(n: u64) -> Bytes32 {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes[31] = 0xaa;
    Bytes32::new(bytes)
}

fn program(bytes: &[u8]) -> Program {
    Program::new(Bytes::new(bytes.to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blockchain_state_and_block_records() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let tx_height = chain.node_state().add_block(true);
    let top = chain.node_state().add_block(false);

    let state = client.blockchain_state().await.expect("state");
    let peak = state.peak.expect("peak");
    assert_eq!(peak.height, top);
    assert!(!peak.is_transaction_block());
    assert_eq!(
        peak.last_tx_height(),
        tx_height,
        "a non-transaction peak counts its previous transaction block"
    );
    assert!(state.synced);
    assert_eq!(state.sub_slot_iters, chain.node_state().sub_slot_iters);
    assert!(
        state.space > u128::from(u64::MAX),
        "128-bit numbers are read whole"
    );
    assert!(peak.weight > u128::from(u64::MAX));

    let by_height = client
        .block_record_by_height(tx_height)
        .await
        .expect("rpc")
        .expect("block");
    assert!(by_height.is_transaction_block());
    assert_eq!(by_height.last_tx_height(), tx_height);
    let by_hash = client
        .block_record(by_height.header_hash)
        .await
        .expect("rpc")
        .expect("block");
    assert_eq!(by_hash, by_height);
    assert_eq!(
        client.block_record_by_height(top + 10).await.expect("rpc"),
        None
    );
    assert_eq!(client.block_record(hash(77)).await.expect("rpc"), None);

    chain.node_state().synced = false;
    assert!(!client.blockchain_state().await.expect("state").synced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_info_and_constants_once() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let info = client.network_info().await.expect("network info");
    assert_eq!(info.network_name, "mainnet");
    assert_eq!(info.network_prefix, "xch");
    assert_eq!(
        info.genesis_challenge,
        chain.node_state().genesis_challenge()
    );

    let first = client.constants().await.expect("constants");
    let second = client.constants().await.expect("constants");
    assert_eq!(first.genesis_challenge, info.genesis_challenge);
    assert_eq!(first.num_sps_sub_slot, 64);
    assert_eq!(second.difficulty_constant_factor, 1u128 << 67);
    assert_eq!(
        chain.node.request_count("get_constants"),
        1,
        "constants are fetched once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_signage_point_and_end_of_slot_lookups() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let challenge = chain.node_state().new_slot(Some(1 << 27));
    let sp = chain.node_state().add_signage_point(9);

    let record = client.signage_point(sp).await.expect("rpc").expect("known");
    assert_eq!(record.cc_vdf.challenge, challenge);
    assert_eq!(record.cc_vdf.number_of_iterations, 9 * ((1 << 27) / 64));
    assert!(!record.reverted);
    assert!(record.time_received > 1.6e9);

    let eos = client
        .end_of_sub_slot(challenge)
        .await
        .expect("rpc")
        .expect("known");
    assert_eq!(eos.challenge_hash, challenge);
    assert_eq!(eos.challenge_chain.new_sub_slot_iters, Some(1 << 27));

    assert_eq!(client.signage_point(hash(1)).await.expect("rpc"), None);
    assert_eq!(client.end_of_sub_slot(hash(1)).await.expect("rpc"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coin_queries_for_many_puzzle_hashes_are_chunked_under_one_mib() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let puzzle_hashes: Vec<Bytes32> = (0..25_000).map(hash).collect();
    {
        let mut node = chain.node_state();
        for ph in &puzzle_hashes {
            node.add_coin(*ph, 1, 5);
        }
    }
    let records = client
        .coin_records_by_puzzle_hashes(&puzzle_hashes, CoinQuery::unspent())
        .await
        .expect("coin records");
    assert_eq!(records.len(), puzzle_hashes.len());
    let found: HashSet<Bytes32> = records.iter().map(|r| r.coin.puzzle_hash).collect();
    assert_eq!(found.len(), puzzle_hashes.len());

    let requests: Vec<_> = chain
        .node
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == "get_coin_records_by_puzzle_hashes")
        .collect();
    assert!(requests.len() >= 3, "{} requests", requests.len());
    let mut asked = HashSet::new();
    for request in &requests {
        assert!(
            request.body_len < MAX_REQUEST_BYTES,
            "request of {} bytes",
            request.body_len
        );
        for ph in request.body["puzzle_hashes"].as_array().expect("list") {
            asked.insert(ph.as_str().expect("hex").to_string());
        }
    }
    assert_eq!(
        asked.len(),
        puzzle_hashes.len(),
        "the union of the chunks is every puzzle hash"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coin_queries_by_name_parent_hint_and_puzzle_hash() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let (a, b, spent) = {
        let mut node = chain.node_state();
        let a = node.add_coin(hash(1), 100, 3);
        let b = node.add_coin(hash(2), 200, 4);
        let spent = node.add_coin(hash(1), 300, 5);
        node.spend_coin(spent.coin.coin_id(), 6, program(&[0x80]), program(&[0x80]));
        node.add_hint(hash(9), b.coin.coin_id());
        (a, b, spent)
    };

    let unspent = client
        .coin_records_by_puzzle_hash(hash(1), CoinQuery::unspent())
        .await
        .expect("rpc");
    assert_eq!(unspent, vec![a]);
    let mut all = client
        .coin_records_by_puzzle_hash(hash(1), CoinQuery::all())
        .await
        .expect("rpc");
    all.sort_by_key(|r| r.confirmed_block_index);
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].spent_block_index, 6);
    let windowed = CoinQuery {
        include_spent_coins: true,
        start_height: Some(4),
        end_height: Some(6),
    };
    assert_eq!(
        client
            .coin_records_by_puzzle_hashes(&[hash(1), hash(2)], windowed)
            .await
            .expect("rpc")
            .len(),
        2,
        "heights 4 and 5"
    );

    let names = [a.coin.coin_id(), b.coin.coin_id(), hash(55)];
    assert_eq!(
        client
            .coin_records_by_names(&names, CoinQuery::all())
            .await
            .expect("rpc")
            .len(),
        2
    );
    let by_parent = client
        .coin_records_by_parent_ids(&[b.coin.parent_coin_info], CoinQuery::all())
        .await
        .expect("rpc");
    assert_eq!(by_parent, vec![b]);
    assert_eq!(
        client
            .coin_records_by_hint(hash(9), CoinQuery::all())
            .await
            .expect("rpc"),
        vec![b]
    );

    assert_eq!(
        client
            .coin_record_by_name(a.coin.coin_id())
            .await
            .expect("rpc"),
        Some(a)
    );
    assert_eq!(
        client.coin_record_by_name(hash(56)).await.expect("rpc"),
        None
    );

    let spend = client
        .puzzle_and_solution(spent.coin.coin_id(), 6)
        .await
        .expect("spend");
    assert_eq!(
        spend,
        CoinSpend::new(spent.coin, program(&[0x80]), program(&[0x80]))
    );
    let error = client
        .puzzle_and_solution(spent.coin.coin_id(), 7)
        .await
        .expect_err("wrong height");
    assert_eq!(error.rpc_code(), Some("INVALID_HEIGHT_FOR_COIN"));

    let block = client.block_record_by_height(5).await;
    assert!(
        matches!(block, Ok(None)),
        "the fake chain is only at height 0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn additions_and_removals_of_a_block() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let (header_hash, created) = {
        let mut node = chain.node_state();
        let height = node.add_block(true);
        let created = node.add_coin(hash(4), 10, height);
        (node.peak().header_hash, created)
    };
    let both = client
        .additions_and_removals(header_hash)
        .await
        .expect("rpc");
    assert_eq!(both.additions, vec![created]);
    assert!(both.removals.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_tx_sends_0x_hex_and_reports_mempool_errors() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let coin = chain.node_state().add_coin(hash(3), 1000, 1).coin;
    let bundle = SpendBundle::new(
        vec![CoinSpend::new(
            coin,
            program(&[0xff, 0x01, 0x80]),
            program(&[0x80]),
        )],
        Signature::default(),
    );
    assert_eq!(
        client.push_tx(&bundle).await.expect("push"),
        PushTxStatus::Success
    );
    assert_eq!(
        client.push_tx(&bundle).await.expect("again"),
        PushTxStatus::Success,
        "idempotent"
    );
    assert_eq!(chain.node_state().mempool, vec![bundle.clone()]);

    chain.node_state().push_tx_error = Some("DOUBLE_SPEND".into());
    match client.push_tx(&bundle).await {
        Err(ChainError::Rpc { code, detail, .. }) => {
            assert_eq!(code.as_deref(), Some("TRANSACTION_FAILED"));
            assert_eq!(detail.as_deref(), Some("DOUBLE_SPEND"));
        }
        other => panic!("expected a mempool rejection, got {other:?}"),
    }
}
