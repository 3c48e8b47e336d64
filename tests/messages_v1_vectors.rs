//! Every message, token and signature of `tests/vectors/messages_v1.json` (pool protocol v1 as the
//! chia-blockchain 2.7.5 farmer makes it), byte for byte.

mod common;

use std::num::NonZeroU8;

use chia_bls::aggregate_verify;
use chia_pool::chia::messages::*;
use chia_pool::chia::signatures;
use chia_pool::chia::v1::messages::*;
use common::*;
use serde_json::Value;

fn parse<M: Message>(v: &Value, name: &str) -> M {
    M::from_json_str(&v["messages"][name]["json"].to_string())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn timeout(entry: &Value) -> NonZeroU8 {
    NonZeroU8::new(u8::try_from(entry["timeout"].as_u64().unwrap()).unwrap()).unwrap()
}

#[test]
fn every_v1_message_matches_its_vector() {
    let v = vector("messages_v1.json");
    let messages = v["messages"].as_object().unwrap();
    assert_eq!(messages.len(), 11);
    for (name, entry) in messages {
        match name.split('_').next().unwrap() {
            "AuthenticationPayloadV1" => check_message::<AuthenticationPayloadV1>(name, entry),
            "GetFarmerRequestV1" => check_message::<GetFarmerRequestV1>(name, entry),
            "PostFarmerPayload" => check_message::<PostFarmerPayload>(name, entry),
            "PostFarmerRequest" => check_message::<PostFarmerRequest>(name, entry),
            "PutFarmerPayload" => check_message::<PutFarmerPayload>(name, entry),
            "PutFarmerRequest" => check_message::<PutFarmerRequest>(name, entry),
            "PutFarmerPayloadBackCompat" => {
                check_message::<PutFarmerPayloadBackCompat>(name, entry)
            }
            "PostPartialPayload" => check_message::<PostPartialPayload>(name, entry),
            "PostPartialRequest" => check_message::<PostPartialRequest>(name, entry),
            "GetPoolInfoResponse" => check_message::<GetPoolInfoResponse>(name, entry),
            other => panic!("vector message {name}: no Rust type for {other}"),
        }
    }
}

#[test]
fn pool_info_as_pool_reference_sends_it_parses() {
    let v = vector("messages_v1.json");
    let entry = &v["messages"]["GetPoolInfoResponse_v1"];
    let reference = &entry["json_pool_reference"];
    assert!(reference.get("pool_memoization").is_none());
    let info = GetPoolInfoResponse::from_json_str(&reference.to_string()).unwrap();
    assert_eq!(
        info,
        parse::<GetPoolInfoResponse>(&v, "GetPoolInfoResponse_v1")
    );
    assert_eq!(info.protocol_version, 1);
    assert_eq!(info.fee, "0.01");
}

#[test]
fn authentication_tokens_match_chias() {
    let v = vector("messages_v1.json");
    for entry in v["authentication_tokens"].as_array().unwrap() {
        // chia truncates time.time(); whole seconds give the same minute.
        let secs = entry["time"].as_f64().unwrap().floor() as u64;
        assert_eq!(
            authentication_token(secs, timeout(entry)),
            entry["token"].as_u64().unwrap(),
            "{entry}"
        );
    }
    for entry in v["authentication_token_validity"].as_array().unwrap() {
        let secs = entry["time"].as_f64().unwrap() as u64;
        let token = entry["token"].as_u64().unwrap();
        assert_eq!(
            authentication_token_is_valid(token, secs, timeout(entry)),
            entry["valid"].as_bool().unwrap(),
            "{entry}"
        );
    }
    let now = v["meta"]["now"].as_f64().unwrap() as u64;
    let t = NonZeroU8::new(5).unwrap();
    assert_eq!(
        authentication_token(now, t),
        v["current_token"].as_u64().unwrap()
    );
}

#[test]
fn every_v1_signature_verdict_matches() {
    let v = vector("messages_v1.json");
    let keys = &v["keys"];
    let owner_pk = public_key(&keys["owner_pk"]);
    let auth_pk = public_key(&keys["authentication_pk"]);
    assert_eq!(secret_key(&keys["owner_sk"]).public_key(), owner_pk);
    assert_eq!(secret_key(&keys["authentication_sk"]).public_key(), auth_pk);
    let launcher_id = bytes32(&keys["launcher_id"]);
    let target = bytes32(&keys["pool_target_puzzle_hash"]);
    let other_target = chia_protocol::Bytes32::new([7; 32]);
    let sigs = &v["signatures"];
    let flag = |path: &str, key: &str| sigs[path][key].as_bool().unwrap();

    // GET /farmer: the authentication key over sha256(AuthenticationPayloadV1("get_farmer", ...)).
    let get = parse::<GetFarmerRequestV1>(&v, "GetFarmerRequestV1");
    let m =
        authentication_payload_hash("get_farmer", launcher_id, target, get.authentication_token);
    assert_eq!(m, bytes32(&sigs["get_farmer"]["message"]));
    assert_eq!(
        m,
        bytes32(&v["messages"]["AuthenticationPayloadV1_get_farmer"]["get_hash"])
    );
    assert_eq!(
        get.signature,
        Some(signature(&sigs["get_farmer"]["signature"]))
    );
    assert_eq!(
        verify_get_farmer(&get, &auth_pk, target),
        flag("get_farmer", "verify_with_authentication_pk")
    );
    assert_eq!(
        verify_get_farmer(&get, &owner_pk, target),
        flag("get_farmer", "verify_with_owner_pk")
    );
    assert!(!verify_get_farmer(&get, &auth_pk, other_target));
    let unsigned = GetFarmerRequestV1 {
        signature: None,
        ..get.clone()
    };
    assert!(!verify_get_farmer(&unsigned, &auth_pk, target));

    // POST /farmer: the owner key over the payload hash.
    let post = parse::<PostFarmerRequest>(&v, "PostFarmerRequest_v1");
    assert_eq!(
        post.payload.get_hash(),
        bytes32(&sigs["post_farmer"]["message"])
    );
    assert_eq!(
        verify_post_farmer(&post, &owner_pk),
        flag("post_farmer", "verify_with_owner_pk")
    );
    assert_eq!(
        verify_post_farmer(&post, &auth_pk),
        flag("post_farmer", "verify_with_authentication_pk")
    );
    assert!(
        !signatures::verify_post_farmer(&post),
        "a v1 registration does not pass the v2 check"
    );

    // PUT /farmer: the owner key over the back-compat payload, not the payload sent.
    let put = parse::<PutFarmerRequest>(&v, "PutFarmerRequest_v1");
    let back_compat = PutFarmerPayloadBackCompat::from(&put.payload);
    assert_eq!(back_compat, parse(&v, "PutFarmerPayloadBackCompat"));
    assert_eq!(
        back_compat.get_hash(),
        bytes32(&sigs["put_farmer"]["message"])
    );
    assert_eq!(
        verify_put_farmer(&put, &owner_pk),
        flag("put_farmer", "verify_with_owner_pk")
    );
    assert!(!flag("put_farmer", "verify_over_full_payload_hash"));
    assert!(!verify_put_farmer(&put, &auth_pk));
    let unsigned = PutFarmerRequest {
        signature: None,
        ..put.clone()
    };
    assert!(!verify_put_farmer(&unsigned, &owner_pk));

    // GET /login: the link 2.7.5's generate_login_link prints.
    let login = &sigs["login"];
    let link = login["link"].as_str().unwrap();
    let query = link.split_once('?').unwrap().1;
    let token: u64 = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("authentication_token="))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        authentication_payload_hash("get_login", launcher_id, target, token),
        bytes32(&login["message"])
    );
    let login_sig = signature(&login["signature"]);
    assert_eq!(
        verify_login(launcher_id, token, &login_sig, &auth_pk, target),
        login["verify_with_authentication_pk"].as_bool().unwrap()
    );
    assert!(!verify_login(
        launcher_id,
        token + 1,
        &login_sig,
        &auth_pk,
        target
    ));

    // POST /partial: plot key and the authentication key over the payload hash, the v2 rule.
    let partial = parse::<PostPartialRequest>(&v, "PostPartialRequest_v1");
    let entry = &sigs["post_partial"];
    let m = signatures::partial_message(&partial);
    assert_eq!(m, bytes32(&entry["message"]));
    let plot_pk = public_key(&entry["plot_public_key"]);
    assert_eq!(partial.payload.proof_of_space.plot_public_key, plot_pk);
    assert_eq!(
        partial.payload.proof_of_space.pool_contract_puzzle_hash,
        Some(bytes32(&keys["p2_singleton_puzzle_hash"]))
    );
    let agg = signature(&entry["aggregate_signature"]);
    assert_eq!(partial.aggregate_signature, agg);
    assert_eq!(
        signatures::verify_partial(&partial, &auth_pk),
        entry["aggregate_verify_plot_and_authentication_pk"]
            .as_bool()
            .unwrap()
    );
    assert_eq!(
        aggregate_verify(&agg, [(&plot_pk, m.as_ref()), (&owner_pk, m.as_ref())]),
        entry["aggregate_verify_plot_and_owner_pk"]
            .as_bool()
            .unwrap()
    );
    // v1 farmers send the token as a string in authentication_token_v2, too.
    assert_eq!(
        partial.authentication_token_v2,
        partial.payload.authentication_token.to_string()
    );
}
