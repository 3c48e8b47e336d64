//! Batch verification of partial signatures agrees with one-by-one verification, including crafted pairs
//! of invalid signatures whose sum would be valid.

mod common;

use chia_bls::hash_to_g2;
use chia_pool::chia::messages::{Message, PostPartialRequest};
use chia_pool::chia::signatures::{verify_partials_batch, PartialSignatureCheck};
use common::*;

fn checks() -> Vec<PartialSignatureCheck> {
    let mut out = Vec::new();
    for name in ["proofs.json", "proofs_v1.json"] {
        let file = vector(name);
        let auth_pk = public_key(&file["keys"]["authentication_public_key"]);
        for p in file["partials"].as_array().unwrap() {
            let req =
                PostPartialRequest::from_json_str(&p["post_partial_request_json"].to_string())
                    .unwrap();
            out.push(PartialSignatureCheck::new(&req, &auth_pk));
        }
    }
    assert!(
        out.len() >= 2,
        "need at least two signed partials in the vectors"
    );
    out
}

#[test]
fn valid_batch_passes() {
    let checks = checks();
    assert!(checks.iter().all(PartialSignatureCheck::verify));
    assert!(verify_partials_batch(&checks, &[1; 32])
        .iter()
        .all(|&ok| ok));
}

#[test]
fn one_bad_signature_is_found() {
    for bad in 0..checks().len() {
        let mut checks = checks();
        checks[bad].signature = hash_to_g2(b"not a signature");
        let verdicts = verify_partials_batch(&checks, &[2; 32]);
        for (i, ok) in verdicts.iter().enumerate() {
            assert_eq!(*ok, i != bad, "check {i} with {bad} bad");
        }
    }
}

#[test]
fn invalid_signatures_cannot_cancel_out() {
    let mut checks = checks();
    // sigma_0 + delta and sigma_1 - delta: the plain sum of the two is still valid.
    let delta = hash_to_g2(b"delta");
    let mut minus = delta.clone();
    minus.negate();
    checks[0].signature.aggregate(&delta);
    checks[1].signature.aggregate(&minus);
    assert!(!checks[0].verify() && !checks[1].verify());
    let verdicts = verify_partials_batch(&checks, &[3; 32]);
    assert!(!verdicts[0] && !verdicts[1]);
    assert!(verdicts[2..].iter().all(|&ok| ok));
}
