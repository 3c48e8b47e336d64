//! Every proof of `tests/vectors/proofs.json` (v2) and `proofs_v1.json` (v1) with chia's own verdicts.

mod common;

use chia_pool::chia::constants::ConsensusConstants;
use chia_pool::chia::messages::{Message, PostPartialRequest};
use chia_pool::chia::proofs::{self, ProofContext, ProofError};
use chia_pool::chia::signatures;
use chia_protocol::{Bytes, Bytes32, ProofOfSpace};
use chia_traits::Streamable;
use common::*;
use serde_json::Value;

struct Case {
    pos: ProofOfSpace,
    ctx: ProofContext,
    partial: Value,
}

fn u32_of(v: &Value) -> u32 {
    u32::try_from(v.as_u64().expect("integer")).expect("u32")
}

fn cases(file: &Value) -> Vec<Case> {
    let meta = &file["meta"];
    let partials = file["partials"].as_array().expect("partials");
    assert!(!partials.is_empty());
    partials
        .iter()
        .map(|p| {
            let pos_json = p["proof_of_space_json"].to_string();
            let pos = ProofOfSpace::from_bytes(&hex_bytes(&p["proof_of_space_bytes"]))
                .expect("proof bytes");
            let from_json = <ProofOfSpace as chia_pool::chia::wire::WireValue>::from_json(
                &serde_json::from_str(&pos_json).unwrap(),
                "proof_of_space",
            )
            .expect("proof json");
            assert_eq!(pos, from_json, "JSON and bytes describe the same proof");
            let ctx = ProofContext {
                challenge_hash: bytes32(&p["challenge_hash"]),
                sp_hash: bytes32(&p["sp_hash"]),
                height: u32_of(&meta["height_used"]),
                prev_tx_height: u32_of(&meta["prev_transaction_block_height_used"]),
                filter_challenge: p.get("filter_challenge").map(bytes32),
                signage_point_index: p
                    .get("signage_point_index")
                    .map(|i| u8::try_from(i.as_u64().unwrap()).unwrap()),
            };
            Case {
                pos,
                ctx,
                partial: p.clone(),
            }
        })
        .collect()
}

fn with_proof(pos: &ProofOfSpace, proof: Vec<u8>) -> ProofOfSpace {
    let mut p = pos.clone();
    p.proof = Bytes::new(proof);
    p
}

/// Checks quality, hashes, iterations, the signed request and the negative verdicts of one vector file.
fn check_file(file: &Value, c: &ConsensusConstants) {
    for (i, case) in cases(file).iter().enumerate() {
        let p = &case.partial;
        let quality = proofs::verify_and_get_quality_string(&case.pos, c, &case.ctx)
            .unwrap_or_else(|e| panic!("partial {i}: {e}"));
        let verdicts = p.get("verdicts");
        if let Some(v) = verdicts {
            assert!(
                v["as_submitted"].as_bool().unwrap(),
                "vector says partial {i} is valid"
            );
        }
        assert_eq!(
            quality,
            bytes32(&p["quality_string"]),
            "partial {i}: quality string"
        );
        assert_eq!(
            proofs::proof_get_hash(&case.pos, &quality),
            bytes32(&p["proof_of_space_get_hash"]),
            "partial {i}: ProofOfSpace.get_hash"
        );
        for (difficulty, iters) in p["required_iters_by_difficulty"].as_object().unwrap() {
            let difficulty: u64 = difficulty.parse().unwrap();
            let ours = proofs::required_iterations(
                c,
                &case.pos,
                &quality,
                &case.ctx.sp_hash,
                difficulty,
                case.ctx.prev_tx_height,
            );
            assert_eq!(
                ours,
                iters.as_u64().unwrap(),
                "partial {i}: iterations at difficulty {difficulty}"
            );
        }
        // The complete signed request the farmer would send.
        let request =
            PostPartialRequest::from_json_str(&p["post_partial_request_json"].to_string()).unwrap();
        assert_eq!(
            request.payload.proof_of_space, case.pos,
            "partial {i}: request carries the proof"
        );
        assert_eq!(
            request.payload.get_hash(),
            bytes32(&p["payload_get_hash"]),
            "partial {i}"
        );
        let auth_pk = public_key(&file["keys"]["authentication_public_key"]);
        let sig_ok = p
            .get("aggregate_signature_valid_with_registered_auth_pk")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        assert_eq!(
            signatures::verify_partial(&request, &auth_pk),
            sig_ok,
            "partial {i}: signature"
        );
        assert_eq!(
            request.payload.proof_of_space.pool_contract_puzzle_hash,
            Some(bytes32(&file["keys"]["reward_puzzle_hash"])),
            "partial {i}: pool contract is the member's RewardPuzzle"
        );

        // Negative verdicts: a tampered proof, a wrong signage point, a wrong filter position.
        let tampered = with_proof(&case.pos, hex_bytes(&p["tampered_proof_bytes"]));
        let tampered_verdict = verdicts
            .map(|v| v["tampered_proof"].as_bool().unwrap())
            .or_else(|| p.get("tampered_verdict").and_then(Value::as_bool))
            .expect("tampered verdict");
        assert_eq!(
            proofs::verify_and_get_quality_string(&tampered, c, &case.ctx).is_ok(),
            tampered_verdict,
            "partial {i}: tampered proof"
        );
        let mut wrong_sp = case.ctx.clone();
        wrong_sp.sp_hash = Bytes32::new([0x5a; 32]);
        assert_eq!(
            proofs::verify_and_get_quality_string(&case.pos, c, &wrong_sp),
            Err(ProofError::ChallengeMismatch),
            "partial {i}: wrong sp hash"
        );
        let mut wrong_challenge = case.ctx.clone();
        wrong_challenge.challenge_hash = Bytes32::new([0xa5; 32]);
        assert!(proofs::verify_and_get_quality_string(&case.pos, c, &wrong_challenge).is_err());
        if let Some(index) = case.ctx.signage_point_index {
            // The next index differs in its lowest bit, so a filter of at least one bit must refuse it.
            let mut wrong_filter = case.ctx.clone();
            wrong_filter.signage_point_index = Some((index + 1) % c.filter_window_size);
            assert!(matches!(
                proofs::verify_and_get_quality_string(&case.pos, c, &wrong_filter),
                Err(ProofError::V2FilterFailed { .. })
            ));
            let mut missing = case.ctx.clone();
            missing.filter_challenge = None;
            assert_eq!(
                proofs::verify_and_get_quality_string(&case.pos, c, &missing),
                Err(ProofError::MissingFilterInputs)
            );
        }
    }
}

#[test]
fn v2_proofs_match_chia() {
    let file = vector("proofs.json");
    let c = constants_with_overrides(&file["meta"]["constants_overrides_of_mainnet"]);
    let prev_tx = u32_of(&file["meta"]["prev_transaction_block_height_used"]);
    assert_eq!(
        c.pool_iters_limit(),
        file["meta"]["pool_required_iters_limit_farmer_side"]
            .as_u64()
            .unwrap()
    );
    for case in cases(&file) {
        let p = &case.partial;
        assert_eq!(
            u64::from(proofs::v2_base_filter_bits(&c, prev_tx)),
            p["base_filter_bits"].as_u64().unwrap()
        );
        assert_eq!(
            u64::from(proofs::v2_filter_bits(&c, prev_tx, case.pos.strength)),
            p["group_filter_bits"].as_u64().unwrap()
        );
    }
    for plot in file["plots"].as_array().unwrap() {
        let pos = ProofOfSpace {
            challenge: Bytes32::default(),
            pool_public_key: None,
            pool_contract_puzzle_hash: Some(bytes32(&file["keys"]["reward_puzzle_hash"])),
            plot_public_key: public_key(&plot["plot_public_key"]),
            version: 1,
            plot_index: u16::try_from(plot["plot_index"].as_u64().unwrap()).unwrap(),
            meta_group: u8::try_from(plot["meta_group"].as_u64().unwrap()).unwrap(),
            strength: u8::try_from(plot["strength"].as_u64().unwrap()).unwrap(),
            size: 0,
            proof: Bytes::default(),
        };
        assert_eq!(proofs::plot_id(&pos), Some(bytes32(&plot["plot_id"])));
    }
    check_file(&file, &c);

    // v2 proofs are not valid before the second fork.
    let case = &cases(&file)[0];
    let mut before_fork = c.clone();
    before_fork.hard_fork2_height = case.ctx.prev_tx_height + 1;
    assert!(matches!(
        proofs::verify_and_get_quality_string(&case.pos, &before_fork, &case.ctx),
        Err(ProofError::V2NotActive { .. })
    ));
}

#[test]
fn v1_proofs_match_chiapos() {
    let file = vector("proofs_v1.json");
    let c = constants_with_overrides(&file["meta"]["constants_overrides_of_mainnet"]);
    let height = u32_of(&file["meta"]["height_used"]);
    assert_eq!(
        u64::from(proofs::v1_prefix_bits(&c, height)),
        file["meta"]["prefix_bits_at_height"].as_u64().unwrap()
    );
    for case in cases(&file) {
        assert_eq!(
            proofs::plot_id(&case.pos),
            Some(bytes32(&file["keys"]["plot_id"]))
        );
    }
    check_file(&file, &c);
}

#[test]
fn v1_phase_out_matches_chia() {
    let file = vector("proofs_v1.json");
    let entries = file["phase_out"].as_array().unwrap();
    assert!(!entries.is_empty());
    for e in entries {
        let overrides = serde_json::json!({
            "EPOCH_BLOCKS": e["epoch_blocks"],
            "HARD_FORK2_HEIGHT": e["hard_fork2_height"],
            "PLOT_V1_PHASE_OUT_EPOCH_BITS": e["phase_out_epoch_bits"],
        });
        let c = constants_with_overrides(&overrides);
        let proof = hex_bytes(&e["proof"]);
        let h = u32_of(&e["prev_transaction_block_height"]);
        assert_eq!(
            proofs::is_v1_phased_out(&c, &proof, h),
            e["phased_out"].as_bool().unwrap(),
            "phase-out at {h}"
        );
    }
}

#[test]
fn invalid_shapes_are_refused_not_panicking() {
    let file = vector("proofs.json");
    let c = constants_with_overrides(&file["meta"]["constants_overrides_of_mainnet"]);
    let case = &cases(&file)[0];
    let mut both = case.pos.clone();
    both.pool_public_key = Some(case.pos.plot_public_key);
    assert_eq!(
        proofs::verify_and_get_quality_string(&both, &c, &case.ctx),
        Err(ProofError::PoolIdentity)
    );
    let mut strong = case.pos.clone();
    strong.strength = c.max_plot_strength + 1;
    assert!(matches!(
        proofs::verify_and_get_quality_string(&strong, &c, &case.ctx),
        Err(ProofError::StrengthOutOfRange { .. })
    ));
    let mut version = case.pos.clone();
    version.version = 7;
    assert_eq!(
        proofs::verify_and_get_quality_string(&version, &c, &case.ctx),
        Err(ProofError::UnknownVersion(7))
    );
    for len in [0usize, 1, 100, 10_000] {
        let short = with_proof(&case.pos, vec![0xff; len]);
        assert!(proofs::verify_and_get_quality_string(&short, &c, &case.ctx).is_err());
    }
}
