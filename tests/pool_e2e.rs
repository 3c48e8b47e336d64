//! End to end: the real `chia-pool` binary against the fake node and wallet over mutual TLS, spoken to over
//! HTTP as a chia-blockchain 2.7.5 farmer does: pool_info, auth, registration, updates, partials, bad
//! requests, and a kill -9 and restart with every record intact.
//!
//! Longer than 400 lines on purpose: one shared pool process walks the whole farmer conversation in order.

mod common;
mod support;

use chia_bls::{sign, DerivableKey, PublicKey, SecretKey};
use chia_pool::chia::messages::*;
use chia_pool::chia::puzzles::{PlotNftState, PoolConfig};
use chia_pool::chia::signatures::get_auth_message;
use chia_protocol::Bytes32;
use serde_json::Value;
use support::plotnft_chain::add_plotnft;
use support::pool_process::PoolProcess;
use support::FakeChain;

const REWARD_PH: [u8; 32] = [0x5a; 32];

/// A farmer with its own keys, as the 2.7.5 farmer holds them.
struct Farmer {
    launcher_id: Bytes32,
    auth_sk: SecretKey,
    payout: String,
}

impl Farmer {
    fn new(seed: u8) -> Self {
        Self {
            launcher_id: Bytes32::new([seed; 32]),
            auth_sk: SecretKey::from_seed(&[seed; 32]),
            payout: hex::encode([seed.wrapping_add(1); 32]),
        }
    }
    fn auth_pk(&self) -> PublicKey {
        self.auth_sk.public_key()
    }
    fn signing_sk(&self) -> SecretKey {
        self.auth_sk.derive_unhardened(12381)
    }
}

fn pool_config() -> PoolConfig {
    PoolConfig {
        pool_puzzle_hash: Bytes32::new(REWARD_PH),
        heightlock: 100,
        pool_memoization: vec![0x80],
    }
}

fn now() -> u64 {
    chia_pool::pool::unix_now()
}

/// GET that returns the JSON body (the pool answers protocol errors with 200).
fn get(url: &str) -> Value {
    let text = ureq::get(url)
        .call()
        .expect("GET")
        .into_string()
        .expect("body");
    serde_json::from_str(&text).expect("JSON body")
}

fn send(method: &str, url: &str, body: &str) -> Value {
    let text = ureq::request(method, url)
        .set("Content-Type", "application/json")
        .send_string(body)
        .expect("request")
        .into_string()
        .expect("body");
    serde_json::from_str(&text).expect("JSON body")
}

fn error_code(v: &Value) -> Option<u64> {
    v.get("error_code").and_then(Value::as_u64)
}

fn auth_query(f: &Farmer, timestamp: u64) -> String {
    let msg = get_auth_message(timestamp, &f.launcher_id, &Bytes32::new(REWARD_PH));
    let sig = sign(&f.signing_sk(), msg);
    format!(
        "launcher_id=0x{}&timestamp={timestamp}&signature=0x{}",
        hex::encode(f.launcher_id),
        hex::encode(sig.to_bytes())
    )
}

fn post_farmer_body(f: &Farmer, payout: &str, signer: &SecretKey) -> String {
    let payload = PostFarmerPayload {
        launcher_id: f.launcher_id,
        authentication_token: 0,
        authentication_public_key: f.auth_pk(),
        payout_instructions: payout.to_string(),
        suggested_difficulty: None,
    };
    let signature = sign(signer, payload.get_hash());
    PostFarmerRequest { payload, signature }.to_json_string()
}

fn token(pool: &PoolProcess, f: &Farmer) -> String {
    let v = get(&format!(
        "{}/v2/auth?{}",
        pool.base_url,
        auth_query(f, now())
    ));
    v["authentication_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {v}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn farmer_registers_updates_and_survives_a_kill() {
    let chain = FakeChain::start().await;
    let reward_address = hex::encode(REWARD_PH);
    // A v2-only pool: its root /pool_info is /v2/'s (with v1 served, the root answers v1, see pool_v1.rs).
    let mut pool = tokio::task::block_in_place(|| {
        PoolProcess::start(
            &chain,
            &format!("reward_address = \"{reward_address}\"\nprotocols = [\"v2\"]"),
            "",
        )
    });
    let base = pool.base_url.clone();
    let farmer = Farmer::new(7);

    let info = tokio::task::block_in_place(|| get(&format!("{base}/v2/pool_info")));
    assert_eq!(info["protocol_version"], 2);
    assert_eq!(info["target_puzzle_hash"], format!("0x{reward_address}"));
    assert_eq!(info["relative_lock_height"], 100);
    assert_eq!(info["pool_memoization"], "0x80");
    assert_eq!(info["fee"], "0.01");
    assert!(info.get("error_code").is_none());
    let root_info = tokio::task::block_in_place(|| get(&format!("{base}/pool_info")));
    assert_eq!(
        root_info, info,
        "`chia plotnft create` reads /pool_info without /v2"
    );
    assert!(GetPoolInfoResponse::from_json_str(&info.to_string()).is_ok());

    // Unknown farmer: GET /auth answers 10, which makes the 2.7.5 farmer POST /farmer.
    let v = tokio::task::block_in_place(|| {
        get(&format!("{base}/v2/auth?{}", auth_query(&farmer, now())))
    });
    assert_eq!(error_code(&v), Some(10), "{v}");

    // No PlotNFT on chain yet.
    let body = post_farmer_body(&farmer, &farmer.payout, &farmer.signing_sk());
    let v = tokio::task::block_in_place(|| send("POST", &format!("{base}/v2/farmer"), &body));
    assert_eq!(error_code(&v), Some(3), "{v}");

    {
        let mut node = chain.node_state();
        add_plotnft(
            &mut node,
            farmer.launcher_id,
            farmer.auth_pk(),
            &pool_config(),
            PlotNftState::Pooling,
        );
        // Dust at the same puzzle hash must not block registration.
        let ph = chia_pool::chia::puzzles::PlotNftPuzzles::new(
            farmer.launcher_id,
            node.genesis_challenge(),
            farmer.auth_pk(),
            Some(pool_config()),
        )
        .unwrap()
        .puzzle_hash(PlotNftState::Pooling)
        .unwrap();
        let h = node.peak().height;
        node.add_coin(ph, 2, h);
        // Coins arrive with a block; "no PlotNFT here" is remembered until the pool sees the next one.
        node.add_block(true);
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;

    // Bad signature (signed with the un-derived key), bad payout instructions, then the real thing.
    let wrong = post_farmer_body(&farmer, &farmer.payout, &farmer.auth_sk);
    let v = tokio::task::block_in_place(|| send("POST", &format!("{base}/v2/farmer"), &wrong));
    assert_eq!(error_code(&v), Some(7), "{v}");
    let bad_payout = post_farmer_body(&farmer, "xch1notanaddress", &farmer.signing_sk());
    let v = tokio::task::block_in_place(|| send("POST", &format!("{base}/v2/farmer"), &bad_payout));
    assert_eq!(error_code(&v), Some(13), "{v}");
    let v = tokio::task::block_in_place(|| send("POST", &format!("{base}/v2/farmer"), &body));
    assert_eq!(v["welcome_message"], "Welcome to the pool!", "{v}");
    let v = tokio::task::block_in_place(|| send("POST", &format!("{base}/v2/farmer"), &body));
    assert_eq!(
        error_code(&v),
        Some(11),
        "a known farmer is not overwritten: {v}"
    );

    // Auth: a replayed old request is refused; a fresh one gets a token.
    let v = tokio::task::block_in_place(|| {
        get(&format!(
            "{base}/v2/auth?{}",
            auth_query(&farmer, now() - 3600)
        ))
    });
    assert_eq!(error_code(&v), Some(12), "{v}");
    let token = tokio::task::block_in_place(|| token(&pool, &farmer));

    // GET /farmer with the token, as 2.7.5 builds the query.
    let farmer_url = |t: &str| {
        format!(
            "{base}/v2/farmer?authentication_token=0&launcher_id=0x{}&authentication_token_v2={t}",
            hex::encode(farmer.launcher_id)
        )
    };
    let v = tokio::task::block_in_place(|| get(&farmer_url(&token)));
    assert_eq!(v["payout_instructions"], farmer.payout, "{v}");
    assert_eq!(v["current_difficulty"], 1);
    assert_eq!(v["current_points"], 0);
    assert_eq!(
        v["authentication_public_key"],
        format!("0x{}", hex::encode(farmer.auth_pk().to_bytes()))
    );
    let v = tokio::task::block_in_place(|| get(&farmer_url("v4.local.forged")));
    assert_eq!(error_code(&v), Some(12), "{v}");

    // PUT /farmer: new payout instructions; the key cannot be swapped.
    let new_payout = hex::encode([0x77u8; 32]);
    let put = |key: PublicKey, payout: &str| {
        PutFarmerRequest {
            payload: PutFarmerPayload {
                launcher_id: farmer.launcher_id,
                authentication_token: 0,
                authentication_public_key: Some(key),
                payout_instructions: Some(payout.to_string()),
                suggested_difficulty: None,
                authentication_token_v2: token.clone(),
            },
            signature: None,
        }
        .to_json_string()
    };
    let v = tokio::task::block_in_place(|| {
        send(
            "PUT",
            &format!("{base}/v2/farmer"),
            &put(farmer.auth_pk(), &new_payout),
        )
    });
    assert_eq!(v["payout_instructions"], true, "{v}");
    assert_eq!(v["suggested_difficulty"], false);
    let stranger = SecretKey::from_seed(&[99; 32]).public_key();
    let v = tokio::task::block_in_place(|| {
        send(
            "PUT",
            &format!("{base}/v2/farmer"),
            &put(stranger, &new_payout),
        )
    });
    assert_eq!(error_code(&v), Some(16), "{v}");

    // kill -9 and restart: the registration, the update and the token key survive.
    pool.kill();
    tokio::task::block_in_place(|| pool.restart());
    let base = pool.base_url.clone();
    let farmer_url = format!(
        "{base}/v2/farmer?authentication_token=0&launcher_id=0x{}&authentication_token_v2={token}",
        hex::encode(farmer.launcher_id)
    );
    let v = tokio::task::block_in_place(|| get(&farmer_url));
    assert_eq!(v["payout_instructions"], new_payout, "{v}");

    // The change of payout instructions left a trail (old and new puzzle hash, time), shown to the operator.
    pool.kill();
    let s = chia_pool::store::Store::open(&pool.store_path()).unwrap();
    let changes = chia_pool::store::farmers::payout_changes(&s.read().unwrap()).unwrap();
    s.close();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].launcher_id, farmer.launcher_id.to_bytes());
    assert_eq!(changes[0].new_puzzle_hash, [0x77; 32]);
    assert_ne!(changes[0].old_puzzle_hash, [0x77; 32]);
    assert!(changes[0].at_ms > 0);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chia-pool"))
        .args(["rewards", "--config"])
        .arg(&pool.config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("payout instruction changes (1)")
            && text.contains(&format!(
                "0x{} -> 0x{}",
                hex::encode(changes[0].old_puzzle_hash),
                hex::encode([0x77; 32])
            )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_right_code() {
    let chain = FakeChain::start().await;
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start(
            &chain,
            &format!("reward_address = \"{}\"", hex::encode(REWARD_PH)),
            "",
        )
    });
    let base = pool.base_url.clone();
    let farmer = Farmer::new(9);
    let launcher = hex::encode(farmer.launcher_id);
    let valid_partial =
        common::vector("proofs.json")["partials"][0]["post_partial_request_json"].to_string();
    let cases: Vec<(&str, String, String, u64)> = vec![
        ("POST", "/v2/partial".into(), "{".into(), 16),
        ("POST", "/v2/partial".into(), "[]".into(), 16),
        ("POST", "/v2/partial".into(), "{}".into(), 16),
        (
            "POST",
            "/v2/partial".into(),
            valid_partial.replace("\"TOKEN\"", "\"nope\""),
            12,
        ),
        ("POST", "/v2/farmer".into(), "{\"payload\": 5}".into(), 16),
        ("PUT", "/v2/farmer".into(), "{\"payload\": {}}".into(), 16),
        ("GET", "/v2/auth?launcher_id=0x12".into(), String::new(), 16),
        (
            "GET",
            format!("/v2/auth?launcher_id=0x{launcher}&timestamp=abc&signature=0x00"),
            String::new(),
            16,
        ),
        (
            "GET",
            format!("/v2/farmer?authentication_token=0&launcher_id=0x{launcher}"),
            String::new(),
            12,
        ),
    ];
    for (method, path, body, code) in cases {
        let url = format!("{base}{path}");
        let v = tokio::task::block_in_place(|| {
            if method == "GET" {
                get(&url)
            } else {
                send(method, &url, &body)
            }
        });
        assert_eq!(error_code(&v), Some(code), "{method} {path} {body}: {v}");
        assert!(
            v["error_message"].as_str().is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }
    // Transport-level refusals keep their HTTP status.
    // A body over the limit is refused from its Content-Length, before it is read.
    let status = tokio::task::block_in_place(|| {
        use std::io::{Read, Write};
        let addr = base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "POST /v2/partial HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 200000\r\n\r\n"
        )
        .unwrap();
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).unwrap();
        String::from_utf8_lossy(&head).to_string()
    });
    assert_eq!(status, "HTTP/1.1 413");
    let status =
        tokio::task::block_in_place(|| match ureq::get(&format!("{base}/v2/nothing")).call() {
            Err(ureq::Error::Status(code, _)) => code,
            other => panic!("{other:?}"),
        });
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reward_address_defaults_to_the_wallet_and_cannot_change() {
    let chain = FakeChain::start().await;
    let wallet_ph =
        chia_pool::chia::address::decode_puzzle_hash(&chain.wallet_state().address).unwrap();
    let mut pool = tokio::task::block_in_place(|| PoolProcess::start(&chain, "", ""));
    let info = tokio::task::block_in_place(|| get(&format!("{}/v2/pool_info", pool.base_url)));
    assert_eq!(
        info["target_puzzle_hash"],
        format!("0x{}", hex::encode(wallet_ph))
    );
    pool.kill();
    // Another reward address under the same database would strand every member: refused.
    let text = std::fs::read_to_string(&pool.config).unwrap();
    std::fs::write(
        &pool.config,
        text.replace(
            "[pool]\n",
            &format!("[pool]\nreward_address = \"{}\"\n", hex::encode(REWARD_PH)),
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chia-pool"))
        .args(["serve", "--config"])
        .arg(&pool.config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("differs from the one this database was created with"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_from_one_address_is_cut() {
    let chain = FakeChain::start().await;
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_server(
            &chain,
            &format!("reward_address = \"{}\"", hex::encode(REWARD_PH)),
            "connections_per_ip_per_sec = 1",
        )
    });
    let url = format!("{}/v2/pool_info", pool.base_url);
    // A burst of ten passes; the rest of 40 new connections in a moment are closed unanswered.
    let answered = tokio::task::block_in_place(|| {
        (0..40)
            .filter(|_| ureq::AgentBuilder::new().build().get(&url).call().is_ok())
            .count()
    });
    assert!((10..=12).contains(&answered), "{answered} of 40 answered");
}
