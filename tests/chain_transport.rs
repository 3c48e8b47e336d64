//! The transport over real mutual TLS against the fake node: certificates, faults, restarts, typed errors.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use chia_pool::chain::{ChainClient, ChainError, Service, TlsProblem, TransactionRequest};
use support::{ChiaRoot, FakeChain, Mode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_go_over_mutual_tls() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let state = client.blockchain_state().await.expect("blockchain state");
    assert!(state.synced);
    assert_eq!(chain.node.request_count("get_blockchain_state"), 1);
    assert_eq!(client.stats().node_requests, 1);
}

/// The fake serves from the same single-threaded runtime: a call that blocked a tokio thread would deadlock.
#[tokio::test(flavor = "current_thread")]
async fn calls_do_not_block_the_runtime() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    chain.node.set_delay(Duration::from_millis(50));
    let (a, b) = tokio::join!(client.blockchain_state(), client.network_info());
    assert!(a.is_ok() && b.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_from_another_ca_is_not_trusted() {
    let chain = FakeChain::start().await;
    let other = ChiaRoot::create();
    let mut config = chain.config();
    config.ca_cert = Some(other.ca_cert_path());
    let client = ChainClient::new(config).expect("client");
    match client.blockchain_state().await {
        Err(ChainError::Tls {
            service: Service::Node,
            problem: TlsProblem::ServerNotTrusted { ca, .. },
            ..
        }) => assert_eq!(ca, other.ca_cert_path()),
        other => panic!("expected an untrusted server certificate, got {other:?}"),
    }
    assert_eq!(chain.node.total_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_from_another_ca_is_refused() {
    let chain = FakeChain::start().await;
    let other = ChiaRoot::create();
    let mut config = chain.config();
    config.client_cert = Some(other.daemon_cert_path());
    config.client_key = Some(other.daemon_key_path());
    let client = ChainClient::new(config).expect("client");
    let error = client.blockchain_state().await.expect_err("refused");
    match &error {
        ChainError::Tls {
            problem: TlsProblem::ClientCertificateRejected { cert, .. },
            ..
        } => assert_eq!(cert, &other.daemon_cert_path()),
        other => panic!("expected a rejected client certificate, got {other:?}"),
    }
    assert!(error.to_string().contains("private_daemon.crt"), "{error}");
    assert_eq!(chain.node.total_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_files_missing_unreadable_or_invalid_are_named() {
    let chain = FakeChain::start().await;

    let mut config = chain.config();
    config.chia_root = chain.root.path.join("nowhere");
    match ChainClient::new(config) {
        Err(ChainError::CertificateMissing { path, .. }) => {
            assert!(path.ends_with("config/ssl/ca/private_ca.crt"))
        }
        other => panic!("expected a missing CA, got {:?}", other.err()),
    }

    let mut config = chain.config();
    config.client_key = Some(chain.root.path.join("config/ssl")); // a directory: unreadable as a file
    assert!(matches!(
        ChainClient::new(config),
        Err(ChainError::CertificateUnreadable {
            what: "client private key",
            ..
        })
    ));

    let mut config = chain.config();
    let bad = chain.root.path.join("bad.crt");
    std::fs::write(&bad, "not a certificate").expect("write");
    config.client_cert = Some(bad.clone());
    match ChainClient::new(config) {
        Err(error @ ChainError::CertificateInvalid { .. }) => {
            assert!(error.to_string().contains("bad.crt"))
        }
        other => panic!("expected an invalid certificate, got {:?}", other.err()),
    }

    let other = ChiaRoot::create();
    let mut config = chain.config();
    config.client_key = Some(other.daemon_key_path());
    assert!(matches!(
        ChainClient::new(config),
        Err(ChainError::CertificateInvalid {
            what: "client certificate",
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restart_is_survived() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    client.blockchain_state().await.expect("before");

    chain.node.stop().await;
    let error = client.blockchain_state().await.expect_err("node down");
    assert!(
        matches!(
            error,
            ChainError::Unreachable {
                service: Service::Node,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_unreachable());
    assert!(error.to_string().contains("chia start node"), "{error}");

    chain.node.restart().await;
    let after = client.blockchain_state().await.expect("after restart");
    assert!(after.peak.is_some());

    // A pooled connection that the restart killed is replaced transparently.
    chain.node.restart().await;
    client.network_info().await.expect("after a second restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_that_does_not_speak_tls_is_named() {
    let chain = FakeChain::start().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buf = [0u8; 512];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let mut config = chain.config();
    config.node_url = format!("https://127.0.0.1:{port}");
    let client = ChainClient::new(config).expect("client");
    let error = client.blockchain_state().await.expect_err("not TLS");
    assert!(
        matches!(
            error,
            ChainError::Tls {
                problem: TlsProblem::NotTls { .. },
                ..
            }
        ),
        "{error:?}"
    );
    let _ = server.join();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallet_port_given_as_node_port_is_named() {
    let chain = FakeChain::start().await;
    let mut config = chain.config();
    config.node_url = chain.wallet.url();
    let client = ChainClient::new(config).expect("client");
    let error = client.blockchain_state().await.expect_err("404");
    assert!(
        matches!(error, ChainError::HttpStatus { status: 404, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("8555"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_truncated_answers_are_typed_errors() {
    let chain = FakeChain::start().await;
    let client = chain.client();

    chain.node.set_mode(Mode::Garbage);
    let error = client.blockchain_state().await.expect_err("garbage");
    assert!(matches!(error, ChainError::BadResponse { .. }), "{error:?}");
    assert!(error.to_string().contains("not JSON"), "{error}");

    chain.node.set_mode(Mode::TruncatedJson);
    let error = client.blockchain_state().await.expect_err("truncated JSON");
    assert!(matches!(error, ChainError::BadResponse { .. }), "{error:?}");

    chain.node.set_mode(Mode::CutOff);
    let error = client.blockchain_state().await.expect_err("cut off");
    assert!(
        matches!(error, ChainError::Disconnected { .. }),
        "{error:?}"
    );

    chain.node.set_mode(Mode::ServerError);
    let error = client.blockchain_state().await.expect_err("500");
    assert!(
        matches!(error, ChainError::HttpStatus { status: 500, .. }),
        "{error:?}"
    );

    chain.node.set_mode(Mode::Normal);
    client.blockchain_state().await.expect("recovers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn well_formed_json_of_the_wrong_shape_names_the_field() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    chain.node_state().constants = serde_json::json!({"GENESIS_CHALLENGE": "0x12"});
    let error = client.fetch_constants().await.expect_err("bad constants");
    assert!(matches!(error, ChainError::BadResponse { .. }), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_node_times_out() {
    let chain = FakeChain::start().await;
    let mut config = chain.config();
    config.timeouts.request = Duration::from_millis(200);
    config.max_attempts = 2;
    let client = ChainClient::new(config).expect("client");
    chain.node.set_delay(Duration::from_secs(2));
    let error = client.blockchain_state().await.expect_err("slow");
    assert!(
        matches!(
            error,
            ChainError::Timeout {
                service: Service::Node,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        chain.node.request_count("get_blockchain_state"),
        2,
        "a read is retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_that_move_money_are_never_sent_twice() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    chain.wallet.set_mode(Mode::CutOff);
    let request = TransactionRequest::new(
        vec![chia_pool::chain::Addition {
            puzzle_hash: chia_protocol::Bytes32::new([3; 32]),
            amount: 1000,
            memos: vec![],
        }],
        0,
    );
    let error = client
        .create_signed_transaction(&request, true)
        .await
        .expect_err("cut off");
    assert!(
        matches!(
            error,
            ChainError::Disconnected {
                service: Service::Wallet,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(chain.wallet.request_count("create_signed_transaction"), 1);

    // The same fault on a read is retried up to max_attempts.
    let error = client.wallet_sync_status().await.expect_err("cut off");
    assert!(
        matches!(error, ChainError::Disconnected { .. }),
        "{error:?}"
    );
    assert_eq!(chain.wallet.request_count("get_sync_status"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_false_is_an_rpc_error_with_its_code() {
    let chain = FakeChain::start().await;
    let client = chain.client();
    let error = client
        .puzzle_and_solution(chia_protocol::Bytes32::new([1; 32]), 5)
        .await
        .expect_err("unknown coin");
    assert_eq!(error.rpc_code(), Some("INVALID_HEIGHT_FOR_COIN"));
    assert!(error.to_string().contains("Invalid height"), "{error}");
}

#[test]
fn urls_must_be_https_host_and_port() {
    let root = ChiaRoot::create();
    for url in [
        "http://localhost:8555",
        "https://localhost:8555/rpc",
        "localhost:8555",
    ] {
        let mut config = chia_pool::chain::ChainConfig::new(&root.path);
        config.node_url = url.into();
        assert!(
            matches!(
                ChainClient::new(config),
                Err(ChainError::InvalidUrl {
                    service: Service::Node,
                    ..
                })
            ),
            "{url}"
        );
    }
    let mut config = chia_pool::chain::ChainConfig::new(&root.path);
    config.node_url = "https://localhost:8555/".into();
    assert!(ChainClient::new(config).is_ok());
}
