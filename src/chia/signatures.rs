//! The signatures of the pool protocol (AugSchemeMPL, as chia-bls implements it).
//!
//! * GET /v2/auth and POST /v2/farmer are signed by the unhardened child 12381 of the authentication key.
//! * POST /v2/partial carries one aggregate over the payload hash: the plot key's signature plus the
//!   authentication key's own (not derived) signature.

use chia_bls::{aggregate_verify, verify, DerivableKey, PublicKey, Signature};
use chia_protocol::Bytes32;
use sha2::{Digest, Sha256};

use super::messages::{GetAuthRequest, Message, PostFarmerRequest, PostPartialRequest};

/// The unhardened child index that turns the authentication key into the key that signs auth and registration.
pub const AUTH_SIGNING_KEY_INDEX: u32 = 12381;

/// The key GET /auth and POST /farmer signatures verify with.
pub fn auth_signing_public_key(authentication_public_key: &PublicKey) -> PublicKey {
    authentication_public_key.derive_unhardened(AUTH_SIGNING_KEY_INDEX)
}

/// The 72 raw bytes GET /auth signs: `u64be(timestamp) ‖ launcher_id ‖ target_puzzle_hash` (not hashed).
pub fn get_auth_message(
    timestamp: u64,
    launcher_id: &Bytes32,
    target_puzzle_hash: &Bytes32,
) -> [u8; 72] {
    let mut msg = [0u8; 72];
    msg[..8].copy_from_slice(&timestamp.to_be_bytes());
    msg[8..40].copy_from_slice(launcher_id.as_ref());
    msg[40..].copy_from_slice(target_puzzle_hash.as_ref());
    msg
}

/// Checks a GET /auth request against the farmer's registered authentication key and the pool's target.
pub fn verify_get_auth(
    request: &GetAuthRequest,
    authentication_public_key: &PublicKey,
    target_puzzle_hash: &Bytes32,
) -> bool {
    let msg = get_auth_message(request.timestamp, &request.launcher_id, target_puzzle_hash);
    verify(
        &request.signature,
        &auth_signing_public_key(authentication_public_key),
        msg,
    )
}

/// Checks a POST /farmer request: signed over `sha256(bytes(payload))` by the payload key's 12381 child.
pub fn verify_post_farmer(request: &PostFarmerRequest) -> bool {
    let key = auth_signing_public_key(&request.payload.authentication_public_key);
    verify(&request.signature, &key, request.payload.get_hash())
}

/// The message a partial's aggregate signature covers.
pub fn partial_message(request: &PostPartialRequest) -> Bytes32 {
    request.payload.get_hash()
}

/// Checks one partial's aggregate signature: plot key and registered authentication key over the payload hash.
pub fn verify_partial(request: &PostPartialRequest, authentication_public_key: &PublicKey) -> bool {
    let m = partial_message(request);
    let plot_key = &request.payload.proof_of_space.plot_public_key;
    aggregate_verify(
        &request.aggregate_signature,
        [
            (plot_key, m.as_ref()),
            (authentication_public_key, m.as_ref()),
        ],
    )
}

/// One partial's signature check, prepared for batch verification.
#[derive(Debug, Clone)]
pub struct PartialSignatureCheck {
    pub plot_public_key: PublicKey,
    pub authentication_public_key: PublicKey,
    pub message: Bytes32,
    pub signature: Signature,
}

impl PartialSignatureCheck {
    pub fn new(request: &PostPartialRequest, authentication_public_key: &PublicKey) -> Self {
        Self {
            plot_public_key: request.payload.proof_of_space.plot_public_key,
            authentication_public_key: *authentication_public_key,
            message: partial_message(request),
            signature: request.aggregate_signature.clone(),
        }
    }

    pub fn verify(&self) -> bool {
        aggregate_verify(
            &self.signature,
            [
                (&self.plot_public_key, self.message.as_ref()),
                (&self.authentication_public_key, self.message.as_ref()),
            ],
        )
    }
}

/// Verifies many partials' signatures with one final exponentiation, returning a verdict per check.
///
/// Each check is weighted by a fresh random 64-bit scalar (`e(g1, Σ rᵢσᵢ) = Π e(rᵢ·pk, H(pk ‖ mᵢ))`), so
/// invalid signatures cannot cancel each other out across partials. When the batch fails, the checks are
/// verified one by one to find the bad ones; `seed` must be unpredictable to senders (fresh randomness).
pub fn verify_partials_batch(checks: &[PartialSignatureCheck], seed: &[u8; 32]) -> Vec<bool> {
    if checks.len() <= 1 {
        return checks.iter().map(PartialSignatureCheck::verify).collect();
    }
    if batch_holds(checks, seed) {
        return vec![true; checks.len()];
    }
    checks.iter().map(PartialSignatureCheck::verify).collect()
}

fn batch_holds(checks: &[PartialSignatureCheck], seed: &[u8; 32]) -> bool {
    // blst's pairing context accumulates e(rᵢ·pk, H(pk ‖ m)) and Σ rᵢσᵢ itself; keys and signatures were
    // subgroup-checked when parsed, so the per-point checks are off here.
    let mut pairing = blst::Pairing::new(true, AUG_SCHEME_DST);
    for (i, check) in checks.iter().enumerate() {
        let scalar = batch_scalar(seed, i);
        let Some(sig) = to_blst_signature(&check.signature) else {
            return false;
        };
        let sig: &blst::blst_p2_affine = (&sig).into();
        let mut first = true;
        for pk in [&check.plot_public_key, &check.authentication_public_key] {
            let pk_bytes = pk.to_bytes();
            let Ok(blst_pk) = blst::min_pk::PublicKey::from_bytes(&pk_bytes) else {
                return false;
            };
            let pk_affine: &blst::blst_p1_affine = (&blst_pk).into();
            // The signature joins the aggregate once per partial, with the partial's scalar.
            let sig_arg: &dyn std::any::Any = if first { sig } else { &() };
            first = false;
            let err = pairing.mul_n_aggregate(
                pk_affine,
                false,
                sig_arg,
                false,
                &scalar,
                64,
                check.message.as_ref(),
                &pk_bytes,
            );
            if err != blst::BLST_ERROR::BLST_SUCCESS {
                return false;
            }
        }
    }
    pairing.commit();
    pairing.finalverify(None)
}

/// chia's AugSchemeMPL domain separation tag (the public key is the augmentation).
const AUG_SCHEME_DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_AUG_";

fn to_blst_signature(sig: &Signature) -> Option<blst::min_pk::Signature> {
    blst::min_pk::Signature::from_bytes(&sig.to_bytes()).ok()
}

/// A non-zero 64-bit scalar derived from the seed and the position in the batch.
fn batch_scalar(seed: &[u8; 32], index: usize) -> [u8; 8] {
    let mut h = Sha256::new();
    h.update(seed);
    h.update((index as u64).to_be_bytes());
    let digest = h.finalize();
    let mut scalar = [0u8; 8];
    scalar.copy_from_slice(&digest[..8]);
    scalar[0] |= 0x80;
    scalar
}
