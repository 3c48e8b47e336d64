//! Pool protocol v1 end to end against the real binary: a v1 PlotNFT on the fake chain (its launcher spend
//! built as chia-blockchain 2.7.5's wallet builds it), joined, read and updated with the v1 messages signed as
//! the 2.7.5 farmer signs them, partials from a plot made in the test accepted and confirmed into points, the
//! refusals v1 adds, and a v2 member farming beside it in the same pool process.
//!
//! Longer than 400 lines on purpose: one scenario follows a v1 member from join to points on one setup.

mod support;

use std::num::NonZeroU8;

use chia_bls::{sign, PublicKey, SecretKey};
use chia_pool::chia::messages::*;
use chia_pool::chia::puzzles::reward_puzzle_hash;
use chia_pool::chia::reveals::{atom, list, serialize};
use chia_pool::chia::v1::messages::{
    authentication_payload_hash, authentication_token, PutFarmerPayloadBackCompat,
};
use chia_pool::chia::v1::puzzles::{PlotNftV1, PoolState};
use chia_protocol::{Bytes32, Coin, CoinRecord, Program};
use chia_puzzles::{SINGLETON_LAUNCHER, SINGLETON_LAUNCHER_HASH};
use clvmr::Allocator;
use serde_json::Value;
use support::plots::{find_proofs, signed_partial, signed_partial_with, TestPlot};
use support::pool_process::PoolProcess;
use support::FakeChain;

const TARGET: [u8; 32] = [0x4e; 32];
/// The pool's `[auth] token_timeout_minutes` (the default).
const TIMEOUT: u8 = 10;
/// 2.7.5's default p2_singleton escape delay (a week).
const DELAY_TIME: [u8; 3] = [0x09, 0x3a, 0x80];

fn send(request: ureq::Request, body: Option<&str>) -> Value {
    let response = match body {
        Some(b) => request
            .set("Content-Type", "application/json")
            .send_string(b),
        None => request.call(),
    };
    let text = response.expect("HTTP").into_string().expect("body");
    serde_json::from_str(&text).expect("JSON")
}

fn now_token() -> u64 {
    authentication_token(
        chia_pool::pool::unix_now(),
        NonZeroU8::new(TIMEOUT).unwrap(),
    )
}

/// A v1 PlotNFT of `owner` farming to `target` (relative lock height 100), launched in a new block: the launcher
/// coin spent with `(singleton_puzzle_hash 1 ((p . PoolState) (t . delay) (h . delay_puzzle_hash)))` and the
/// singleton's eve coin unspent. Returns the launcher id and the p2_singleton puzzle hash.
fn launch_v1(chain: &FakeChain, owner: PublicKey, target: [u8; 32]) -> (Bytes32, Bytes32) {
    let mut node = chain.node_state();
    // Spent in a new block (a spent index of 0 reads as unspent).
    let height = node.add_block(true);
    let launcher = Coin::new(node.fresh(), Bytes32::new(SINGLETON_LAUNCHER_HASH), 1);
    let launcher_id = launcher.coin_id();
    let state = PoolState {
        version: 1,
        state: 3,
        target_puzzle_hash: Bytes32::new(target),
        owner_pubkey: owner,
        pool_url: Some("https://pool.example".into()),
        relative_lock_height: 100,
    };
    let delay_puzzle_hash = Bytes32::new([0x5d; 32]);
    let nft = PlotNftV1 {
        launcher_id,
        genesis_challenge: node.genesis_challenge(),
        delay_time: 604_800,
        delay_puzzle_hash,
    };
    let singleton_ph = nft.puzzle_hash(&state);
    let mut a = Allocator::new();
    let entry = |a: &mut Allocator, key: &[u8], value: &[u8]| {
        let k = atom(a, key).unwrap();
        let v = atom(a, value).unwrap();
        a.new_pair(k, v).unwrap()
    };
    let entries = [
        entry(&mut a, b"p", &state.to_bytes()),
        entry(&mut a, b"t", &DELAY_TIME),
        entry(&mut a, b"h", &delay_puzzle_hash),
    ];
    let extra = list(&mut a, &entries).unwrap();
    let items = [
        atom(&mut a, &singleton_ph).unwrap(),
        atom(&mut a, &[1]).unwrap(),
        extra,
    ];
    let solution = list(&mut a, &items).unwrap();
    let solution = Program::from(serialize(&a, solution).unwrap());
    node.add_coin_record(CoinRecord::new(launcher, height, 0, false, 1_700_000_000));
    node.spend_coin(
        launcher_id,
        height,
        Program::from(SINGLETON_LAUNCHER.to_vec()),
        solution,
    );
    let eve = Coin::new(launcher_id, singleton_ph, 1);
    node.add_coin_record(CoinRecord::new(eve, height, 0, false, 1_700_000_000));
    (launcher_id, nft.p2_singleton_puzzle_hash())
}

/// POST /farmer as 2.7.5 sends it for a v1 PlotNFT: signed by `signer` (the owner key, when honest).
fn post_farmer_body(
    launcher: Bytes32,
    auth_pk: PublicKey,
    token: u64,
    signer: &SecretKey,
) -> String {
    let payload = PostFarmerPayload {
        launcher_id: launcher,
        authentication_token: token,
        authentication_public_key: auth_pk,
        payout_instructions: hex::encode([8u8; 32]),
        suggested_difficulty: None,
    };
    PostFarmerRequest {
        signature: sign(signer, payload.get_hash()),
        payload,
    }
    .to_json_string()
}

/// GET /farmer's query, signed by `signer` (the registered authentication key, when honest).
fn get_farmer_url(base: &str, launcher: Bytes32, signer: &SecretKey) -> String {
    let token = now_token();
    let message = authentication_payload_hash("get_farmer", launcher, Bytes32::new(TARGET), token);
    format!(
        "{base}/farmer?launcher_id=0x{}&authentication_token={token}&signature=0x{}",
        hex::encode(launcher),
        hex::encode(sign(signer, message).to_bytes())
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_members_join_farm_and_are_credited_beside_v2_members() {
    let chain = FakeChain::start().await;
    let constants = support::farmer::use_small_plot_constants(&chain);
    let pool_lines = format!("reward_address = \"{}\"", hex::encode(TARGET));
    let pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_status(
            &chain,
            &pool_lines,
            "",
            "refresh_secs = 1",
            "[partials]\nconfirmation_delay_secs = 2\n",
        )
    });
    let base = pool.base_url.clone();
    let http = |request: ureq::Request, body: Option<&str>| {
        tokio::task::block_in_place(|| send(request, body))
    };

    // The root answers v1's pool_info; /v2/ still v2's.
    let info = http(ureq::get(&format!("{base}/pool_info")), None);
    assert_eq!(info["protocol_version"], 1, "{info}");
    assert_eq!(
        info["target_puzzle_hash"],
        format!("0x{}", hex::encode(TARGET))
    );
    assert_eq!(info["relative_lock_height"], 100);
    assert_eq!(info["fee"], "0.01");
    assert_eq!(info["authentication_token_timeout"], TIMEOUT);
    assert!(GetPoolInfoResponse::from_json_str(&info.to_string()).is_ok());
    let info2 = http(ureq::get(&format!("{base}/v2/pool_info")), None);
    assert_eq!(info2["protocol_version"], 2, "{info2}");

    let owner_sk = SecretKey::from_seed(&[31; 32]);
    let auth_sk = SecretKey::from_seed(&[32; 32]);
    let (launcher, p2_singleton) = launch_v1(&chain, owner_sk.public_key(), TARGET);
    let farmer_post = ureq::post(&format!("{base}/farmer"));

    // Refused: a token outside the window, a signature by another key than the owner's.
    let stale = post_farmer_body(launcher, auth_sk.public_key(), now_token() - 11, &owner_sk);
    let v = http(farmer_post.clone(), Some(&stale));
    assert_eq!(v["error_code"], 12, "{v}");
    let forged = post_farmer_body(launcher, auth_sk.public_key(), now_token(), &auth_sk);
    let v = http(farmer_post.clone(), Some(&forged));
    assert_eq!(v["error_code"], 7, "{v}");

    // Refused: a v1 PlotNFT farming to another pool.
    let (elsewhere, _) = launch_v1(&chain, owner_sk.public_key(), [0x77; 32]);
    let body = post_farmer_body(elsewhere, auth_sk.public_key(), now_token(), &owner_sk);
    let v = http(farmer_post.clone(), Some(&body));
    assert_eq!(v["error_code"], 14, "{v}");

    // Joined, once: of 8 concurrent registrations exactly one succeeds, the others are told it is known.
    let body = post_farmer_body(launcher, auth_sk.public_key(), now_token(), &owner_sk);
    let answers: Vec<Value> = tokio::task::block_in_place(|| {
        std::thread::scope(|s| {
            let posts: Vec<_> = (0..8)
                .map(|_| s.spawn(|| send(farmer_post.clone(), Some(&body))))
                .collect();
            posts.into_iter().map(|p| p.join().unwrap()).collect()
        })
    });
    let welcomed = answers
        .iter()
        .filter(|v| v["welcome_message"].is_string())
        .count();
    let known = answers.iter().filter(|v| v["error_code"] == 11).count();
    assert_eq!((welcomed, known), (1, 7), "{answers:?}");

    // GET /farmer by the authentication key; by the owner key it is refused.
    let v = http(ureq::get(&get_farmer_url(&base, launcher, &auth_sk)), None);
    assert_eq!(v["payout_instructions"], hex::encode([8u8; 32]), "{v}");
    assert_eq!(
        v["authentication_public_key"],
        format!("0x{}", hex::encode(auth_sk.public_key().to_bytes()))
    );
    let v = http(ureq::get(&get_farmer_url(&base, launcher, &owner_sk)), None);
    assert_eq!(v["error_code"], 7, "{v}");

    // A login link signed by the v1 authentication key itself opens a session; by another key it does not.
    let login = |signer: &SecretKey| {
        let token = now_token();
        let m = authentication_payload_hash("get_login", launcher, Bytes32::new(TARGET), token);
        let url = format!(
            "{base}/login?launcher_id={}&authentication_token={token}&signature={}",
            hex::encode(launcher),
            hex::encode(sign(signer, m).to_bytes())
        );
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        tokio::task::block_in_place(|| match agent.get(&url).call() {
            Ok(r) => (r.status(), r.header("set-cookie").is_some()),
            Err(ureq::Error::Status(code, _)) => (code, false),
            Err(e) => panic!("{e}"),
        })
    };
    assert_eq!(login(&auth_sk), (303, true));
    assert_eq!(login(&owner_sk).0, 403);

    // PUT /farmer by the owner key over the back-compat payload.
    let payload = PutFarmerPayload {
        launcher_id: launcher,
        authentication_token: now_token(),
        authentication_public_key: None,
        payout_instructions: Some(hex::encode([9u8; 32])),
        suggested_difficulty: None,
        authentication_token_v2: String::new(),
    };
    let message = PutFarmerPayloadBackCompat::from(&payload).get_hash();
    let put = |signer: &SecretKey| {
        PutFarmerRequest {
            payload: payload.clone(),
            signature: Some(sign(signer, message)),
        }
        .to_json_string()
    };
    let v = http(ureq::put(&format!("{base}/farmer")), Some(&put(&auth_sk)));
    assert_eq!(v["error_code"], 7, "{v}");
    let v = http(ureq::put(&format!("{base}/farmer")), Some(&put(&owner_sk)));
    assert_eq!(v["payout_instructions"], true, "{v}");
    let v = http(ureq::get(&get_farmer_url(&base, launcher, &auth_sk)), None);
    assert_eq!(v["payout_instructions"], hex::encode([9u8; 32]), "{v}");

    // A v2 member in the same pool.
    let auth2_sk = SecretKey::from_seed(&[33; 32]);
    let launcher2 = Bytes32::new([33; 32]);
    let token2 = tokio::task::block_in_place(|| {
        support::farmer::join_pool(
            &chain,
            &ureq::agent(),
            &base,
            launcher2,
            &auth2_sk,
            Bytes32::new(TARGET),
        )
    });

    // Partials from plots made for each PlotNFT's pool contract.
    let plot = tokio::task::block_in_place(|| TestPlot::create(p2_singleton, 0));
    let found = find_proofs(&chain, &plot, &constants, 2);
    assert!(!found.is_empty(), "the v1 test plot found no proof");
    let requests: Vec<PostPartialRequest> = found
        .iter()
        .map(|(sp_hash, pos)| {
            let token = now_token();
            signed_partial_with(
                launcher,
                *sp_hash,
                pos.clone(),
                &plot.plot_sk,
                &auth_sk,
                token,
                "",
            )
        })
        .collect();
    let partial_url = format!("{base}/partial");
    // Before any is accepted: a token outside the window, and v1 partials are not v2's.
    let mut stale = requests[0].clone();
    stale.payload.authentication_token -= 11;
    let v = http(ureq::post(&partial_url), Some(&stale.to_json_string()));
    assert_eq!(v["error_code"], 12, "{v}");
    let v = http(
        ureq::post(&format!("{base}/v2/partial")),
        Some(&requests[0].to_json_string()),
    );
    assert_eq!(v["error_code"], 12, "v2 wants its own token: {v}");
    for request in &requests {
        let v = http(ureq::post(&partial_url), Some(&request.to_json_string()));
        assert!(v["new_difficulty"].is_u64(), "v1 partial refused: {v}");
        let v = http(ureq::post(&partial_url), Some(&request.to_json_string()));
        assert_eq!(v["error_code"], 16, "a duplicate counts once: {v}");
    }
    let plot2 = tokio::task::block_in_place(|| TestPlot::create(reward_puzzle_hash(launcher2), 0));
    let found2 = find_proofs(&chain, &plot2, &constants, 1);
    assert!(!found2.is_empty(), "the v2 test plot found no proof");
    let (sp2, pos2) = found2[0].clone();
    let v2_partial = signed_partial(
        launcher2,
        sp2,
        pos2.clone(),
        &plot2.plot_sk,
        &auth2_sk,
        &token2,
    );
    let v = http(
        ureq::post(&format!("{base}/v2/partial")),
        Some(&v2_partial.to_json_string()),
    );
    assert!(v["new_difficulty"].is_u64(), "v2 partial refused: {v}");
    // A v2 member's partial at the root is not a v1 member's, nor is a plot made for another PlotNFT.
    let v = http(ureq::post(&partial_url), Some(&v2_partial.to_json_string()));
    assert_eq!(v["error_code"], 12, "{v}");
    let token = now_token();
    let foreign = signed_partial_with(launcher, sp2, pos2, &plot2.plot_sk, &auth_sk, token, "");
    let v = http(ureq::post(&partial_url), Some(&foreign.to_json_string()));
    assert_eq!(v["error_code"], 9, "{v}");

    // Confirmed into points, each member in its own record: one point per partial at difficulty 1.
    let v2_farmer = format!(
        "{base}/v2/farmer?authentication_token=0&launcher_id=0x{}&authentication_token_v2={token2}",
        hex::encode(launcher2)
    );
    let mut points = (0, 0);
    for _ in 0..100 {
        let v1 = http(ureq::get(&get_farmer_url(&base, launcher, &auth_sk)), None);
        let v2 = http(ureq::get(&v2_farmer), None);
        points = (
            v1["current_points"].as_u64().unwrap_or(0),
            v2["current_points"].as_u64().unwrap_or(0),
        );
        if points == (requests.len() as u64, 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(points, (requests.len() as u64, 1));

    // The status figures show each member with its PlotNFT version.
    let mut versions = (Value::Null, Value::Null);
    for _ in 0..30 {
        let api = |id: Bytes32| {
            http(
                ureq::get(&format!("{base}/api/farmer/{}", hex::encode(id))),
                None,
            )
        };
        versions = (
            api(launcher)["plotnft_version"].clone(),
            api(launcher2)["plotnft_version"].clone(),
        );
        if versions == (Value::from(1), Value::from(2)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    assert_eq!(versions, (Value::from(1), Value::from(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_serving_one_protocol_says_so_for_the_other() {
    let chain = FakeChain::start().await;
    let target = format!("reward_address = \"{}\"", hex::encode(TARGET));
    for (served, refused_url, method) in [("v1", "/v2/partial", "POST"), ("v2", "/farmer", "POST")]
    {
        let lines = format!("{target}\nprotocols = [\"{served}\"]");
        let pool = tokio::task::block_in_place(|| PoolProcess::start(&chain, &lines, ""));
        let base = pool.base_url.clone();
        let v = tokio::task::block_in_place(|| {
            send(
                ureq::request(method, &format!("{base}{refused_url}")),
                Some("{}"),
            )
        });
        assert_eq!(v["error_code"], 16, "{v}");
        let message = v["error_message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("serves {served}")),
            "{served} only: {message}"
        );
        let info =
            tokio::task::block_in_place(|| send(ureq::get(&format!("{base}/pool_info")), None));
        let version = if served == "v1" { 1 } else { 2 };
        assert_eq!(info["protocol_version"], version, "{info}");
    }
}
