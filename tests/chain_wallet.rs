//! Every wallet call, and the diagnostics `check` prints, over real mutual TLS against the fake wallet.

mod support;

use chia_bls::Signature;
use chia_pool::chain::diagnostics::Severity;
use chia_pool::chain::{Addition, ChainError, Service, TransactionRequest};
use chia_protocol::{Bytes, Bytes32, CoinSpend, Program, SpendBundle};
use serde_json::json;
use support::FakeChain;

fn payee(n: u8) -> Bytes32 {
    Bytes32::new([n; 32])
}

fn payouts() -> TransactionRequest {
    TransactionRequest::new(
        vec![
            Addition {
                puzzle_hash: payee(1),
                amount: 1_000,
                memos: vec![hex::encode(payee(1))],
            },
            Addition {
                puzzle_hash: payee(2),
                amount: 2_000,
                memos: vec![],
            },
        ],
        5,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_sync_height_and_balance() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    assert_eq!(
        client.logged_in_fingerprint().await.expect("rpc"),
        Some(1_234_567_890)
    );
    chain.wallet_state().fingerprints.push(42);
    assert_eq!(client.log_in(42).await.expect("log in"), 42);
    assert_eq!(client.logged_in_fingerprint().await.expect("rpc"), Some(42));
    let error = client.log_in(7).await.expect_err("unknown key");
    assert!(
        matches!(
            error,
            ChainError::Rpc {
                service: Service::Wallet,
                ..
            }
        ),
        "{error:?}"
    );

    let sync = client.wallet_sync_status().await.expect("sync");
    assert!(sync.synced && !sync.syncing && sync.genesis_initialized);
    chain.wallet_state().height = 1234;
    assert_eq!(client.wallet_height().await.expect("height"), 1234);
    let network = client.wallet_network_info().await.expect("network");
    assert_eq!(
        network.genesis_challenge,
        chain.node_state().genesis_challenge()
    );

    let balance = client.wallet_balance(1).await.expect("balance");
    assert_eq!(balance.spendable, 10_000_000_000_000);
    assert_eq!(balance.wallet_id, 1);
    assert_eq!(balance.fingerprint, Some(42));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payouts_with_many_additions_and_memos() {
    let chain = FakeChain::start().await;
    let client = chain.client();

    let unsigned = client
        .create_signed_transaction(&payouts(), false)
        .await
        .expect("build only");
    assert_eq!(unsigned.len(), 1);
    assert!(
        chain.wallet_state().broadcast.is_empty(),
        "push false does not send"
    );

    let sent = client
        .create_signed_transaction(&payouts(), true)
        .await
        .expect("send");
    let tx = &sent[0];
    assert_eq!(tx.amount, 3_000);
    assert_eq!(tx.fee_amount, 5);
    assert_eq!(tx.additions.len(), 2);
    assert_eq!(tx.sent_to[0].status, 1);
    let memo_coin = tx
        .additions
        .iter()
        .find(|c| c.puzzle_hash == payee(1))
        .expect("payee 1");
    let (_, memos) = tx
        .memos
        .iter()
        .find(|(id, _)| *id == memo_coin.coin_id())
        .expect("memo");
    assert_eq!(
        memos[0],
        Bytes::new(hex::encode(payee(1)).into_bytes()),
        "memos are text"
    );
    let body = chain
        .wallet
        .requests()
        .last()
        .expect("request")
        .body
        .clone();
    assert_eq!(
        body["additions"][0]["memos"],
        json!([hex::encode(payee(1))])
    );
    assert_eq!(body["additions"][1]["memos"], json!(null));
    assert_eq!(body["push"], json!(true));

    let multi = client
        .send_transaction_multi(&payouts())
        .await
        .expect("multi");
    assert_eq!(multi.amount, 3_000);

    let found = client
        .get_transaction(tx.name)
        .await
        .expect("rpc")
        .expect("recorded");
    assert!(!found.confirmed);
    chain.wallet_state().confirm(&tx.name, 99);
    let confirmed = client
        .get_transaction(tx.name)
        .await
        .expect("rpc")
        .expect("recorded");
    assert!(confirmed.confirmed);
    assert_eq!(confirmed.confirmed_at_height, 99);
    assert_eq!(client.get_transaction(payee(9)).await.expect("rpc"), None);

    chain.wallet_state().synced = false;
    let error = client
        .create_signed_transaction(&payouts(), true)
        .await
        .expect_err("unsynced");
    assert!(error.to_string().contains("fully synced"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_transactions_and_push_tx() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let record = json!({
        "confirmed_at_height": 0, "created_at_time": 0, "to_puzzle_hash": format!("0x{}", "00".repeat(32)),
        "amount": 875000000001u64, "fee_amount": 0, "confirmed": false, "sent": 0, "spend_bundle": null,
        "additions": [], "removals": [], "wallet_id": 1, "sent_to": [], "trade_id": null, "type": 1,
        "name": format!("0x{}", "21".repeat(32)), "memos": {}, "valid_times": {}, "to_address": "xch1qq",
    });
    let pushed = client
        .push_transactions(vec![record], 0)
        .await
        .expect("push");
    assert_eq!(pushed[0].name, Bytes32::new([0x21; 32]));
    assert!(client
        .get_transaction(Bytes32::new([0x21; 32]))
        .await
        .expect("rpc")
        .is_some());

    let coin = chia_protocol::Coin::new(payee(5), payee(6), 7);
    let bundle = SpendBundle::new(
        vec![CoinSpend::new(
            coin,
            Program::new(Bytes::new(vec![0x80])),
            Program::new(Bytes::new(vec![0x80])),
        )],
        Signature::default(),
    );
    client
        .wallet_push_tx(&bundle)
        .await
        .expect("wallet push_tx");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_report_everything_fine() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let report = client.diagnose(Some(1_234_567_890)).await;
    assert!(report.is_ok(), "{report}");
    let text = report.to_string();
    assert!(text.contains("synced"), "{text}");
    assert!(text.contains("mainnet"), "{text}");
    assert!(text.contains("fingerprint 1234567890"), "{text}");
    assert!(text.contains("spendable 10.000000000000 XCH"), "{text}");
    assert!(text.contains("no problems found"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_name_each_problem_and_its_fix() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    chain.node_state().synced = false;
    chain.wallet_state().synced = false;
    chain.wallet_state().spendable = 0;
    let report = client.diagnose(Some(99)).await;
    assert!(!report.is_ok());
    let problems = report.problems();
    let text = report.to_string();
    assert!(text.contains("full node is not synced"), "{text}");
    assert!(text.contains("not the configured 99"), "{text}");
    assert!(text.contains("wallet is not synced"), "{text}");
    assert!(problems
        .iter()
        .any(|p| p.severity == Severity::Warning && p.message.contains("no spendable")));

    chain.wallet_state().logged_in = None;
    let text = client.diagnose(None).await.to_string();
    assert!(text.contains("no key is logged in"), "{text}");

    chain.wallet.stop().await;
    let report = client.diagnose(None).await;
    assert!(matches!(
        report.wallet,
        Err(ChainError::Unreachable {
            service: Service::Wallet,
            ..
        })
    ));
    assert!(report.to_string().contains("chia start wallet"), "{report}");
}
