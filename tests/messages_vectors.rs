//! Every message and signature of `tests/vectors/messages.json`, byte for byte.

mod common;

use chia_bls::{aggregate_verify, verify, DerivableKey};
use chia_pool::chia::messages::*;
use chia_pool::chia::proofs;
use chia_pool::chia::signatures::{self, auth_signing_public_key, get_auth_message};
use common::*;
use serde_json::Value;

fn check_partial_payload_extras(name: &str, entry: &Value) {
    let payload = PostPartialPayload::from_json_str(&entry["json"].to_string()).unwrap();
    if let Some(plot_id) = entry.get("plot_id") {
        assert_eq!(
            proofs::plot_id(&payload.proof_of_space),
            Some(bytes32(plot_id)),
            "{name}: plot id"
        );
    }
}

#[test]
fn every_message_matches_its_vector() {
    let vectors = vector("messages.json");
    let messages = vectors["messages"].as_object().expect("messages object");
    assert!(!messages.is_empty());
    for (name, entry) in messages {
        let type_name = name.split('_').next().unwrap();
        match type_name {
            "GetAuthRequest" => check_message::<GetAuthRequest>(name, entry),
            "GetAuthResponse" => check_message::<GetAuthResponse>(name, entry),
            "GetPoolInfoResponse" => check_message::<GetPoolInfoResponse>(name, entry),
            "GetFarmerRequestV2" => check_message::<GetFarmerRequestV2>(name, entry),
            "GetFarmerResponse" => check_message::<GetFarmerResponse>(name, entry),
            "PostFarmerPayload" => check_message::<PostFarmerPayload>(name, entry),
            "PostFarmerRequest" => check_message::<PostFarmerRequest>(name, entry),
            "PostFarmerResponse" => check_message::<PostFarmerResponse>(name, entry),
            "PutFarmerPayload" => check_message::<PutFarmerPayload>(name, entry),
            "PutFarmerRequest" => check_message::<PutFarmerRequest>(name, entry),
            "PutFarmerResponse" => check_message::<PutFarmerResponse>(name, entry),
            "PostPartialPayload" => {
                check_message::<PostPartialPayload>(name, entry);
                check_partial_payload_extras(name, entry);
            }
            "PostPartialRequest" => check_message::<PostPartialRequest>(name, entry),
            "PostPartialResponse" => check_message::<PostPartialResponse>(name, entry),
            "ErrorResponse" => check_message::<ErrorResponse>(name, entry),
            "AuthenticationPayloadV1" => check_message::<AuthenticationPayloadV1>(name, entry),
            other => panic!("vector message {name}: no Rust type for {other}"),
        }
    }
}

#[test]
fn error_codes_match() {
    let vectors = vector("messages.json");
    let codes = vectors["error_codes"].as_object().unwrap();
    assert_eq!(codes.len(), PoolErrorCode::ALL.len());
    for (name, code) in codes {
        let code = u16::try_from(code.as_u64().unwrap()).unwrap();
        let ours = PoolErrorCode::from_code(code).unwrap_or_else(|| panic!("no code {code}"));
        assert_eq!(ours.name(), name);
    }
}

#[test]
fn key_derivation_matches() {
    let v = vector("messages.json");
    let keys = &v["keys"];
    let owner_pk = public_key(&keys["owner_pk"]);
    let owner_sk = secret_key(&keys["owner_sk"]);
    assert_eq!(owner_sk.public_key(), owner_pk);
    let derived = auth_signing_public_key(&owner_pk);
    assert_eq!(
        derived,
        public_key(&keys["auth_signing_pk_derived_unhardened_12381"])
    );
    let signing_sk = secret_key(&keys["auth_signing_sk"]);
    assert_eq!(owner_sk.derive_unhardened(12381), signing_sk);
    assert_eq!(signing_sk.public_key(), derived);
}

#[test]
fn every_signature_verdict_matches() {
    let v = vector("messages.json");
    let keys = &v["keys"];
    let owner_pk = public_key(&keys["owner_pk"]);
    let launcher_id = bytes32(&keys["launcher_id"]);
    let target = bytes32(&keys["pool_target_puzzle_hash"]);
    let messages = &v["messages"];
    let sigs = v["signatures"].as_object().unwrap();
    assert!(!sigs.is_empty());
    for (name, entry) in sigs {
        if let Some(agg) = entry.get("aggregate_signature") {
            // A partial: aggregate of the plot key and the registered (underived) authentication key.
            let m = hex_bytes(&entry["message"]);
            let plot_pk = public_key(&entry["plot_public_key"]);
            let auth_pk = public_key(&entry["authentication_public_key"]);
            let sig = signature(agg);
            let as_registered = entry["aggregate_verify_with_auth_pk_as_registered"]
                .as_bool()
                .unwrap();
            let with_derived = entry["aggregate_verify_with_auth_signing_pk"]
                .as_bool()
                .unwrap();
            assert_eq!(
                aggregate_verify(&sig, [(&plot_pk, &m[..]), (&auth_pk, &m[..])]),
                as_registered,
                "{name}"
            );
            let derived = auth_signing_public_key(&auth_pk);
            assert_eq!(
                aggregate_verify(&sig, [(&plot_pk, &m[..]), (&derived, &m[..])]),
                with_derived,
                "{name}"
            );
            // The same verdict through the request type, when the vector has the request.
            let request_name = name.replace("post_partial", "PostPartialRequest");
            if let Some(req) = messages.get(&request_name) {
                let req = PostPartialRequest::from_json_str(&req["json"].to_string()).unwrap();
                assert_eq!(
                    signatures::partial_message(&req).as_ref(),
                    &m[..],
                    "{name}: message"
                );
                assert_eq!(
                    signatures::verify_partial(&req, &auth_pk),
                    as_registered,
                    "{name}"
                );
            }
            continue;
        }
        let m = hex_bytes(&entry["message"]);
        let sig = signature(&entry["signature"]);
        let valid = entry["valid"].as_bool().unwrap();
        assert_eq!(
            verify(&sig, &auth_signing_public_key(&owner_pk), &m),
            valid,
            "{name}"
        );
        if name.starts_with("get_auth") && valid {
            let req =
                GetAuthRequest::from_json_str(&messages["GetAuthRequest"]["json"].to_string())
                    .unwrap();
            assert_eq!(
                &get_auth_message(req.timestamp, &launcher_id, &target)[..],
                &m[..],
                "{name}: layout"
            );
            assert!(
                signatures::verify_get_auth(&req, &owner_pk, &target),
                "{name}"
            );
            let other_target = chia_protocol::Bytes32::new([7; 32]);
            assert!(
                !signatures::verify_get_auth(&req, &owner_pk, &other_target),
                "{name}: other pool"
            );
        }
        if let Some(msg) = messages.get(name.replace("Payload", "Request")) {
            let req = PostFarmerRequest::from_json_str(&msg["json"].to_string()).unwrap();
            assert_eq!(
                req.payload.get_hash().as_ref(),
                &m[..],
                "{name}: payload hash"
            );
            assert_eq!(signatures::verify_post_farmer(&req), valid, "{name}");
        }
    }
}
