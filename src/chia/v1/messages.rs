//! Pool protocol v1 as the chia-blockchain 2.7.5 farmer speaks it for a v1 PlotNFT: the messages v1 adds, the
//! time-window authentication token, and the signatures (see `docs/pool-protocol-v1.md` in the shared docs).
//!
//! The bodies v1 shares with v2 (`PostFarmerRequest`, `PutFarmerRequest`, `PostPartialRequest`,
//! `GetPoolInfoResponse`, `AuthenticationPayloadV1`, ...) are the types of `super::super::messages`; what differs
//! is who signs and over what:
//! * GET /farmer and GET /login: the authentication key itself (not derived) over
//!   `sha256(AuthenticationPayloadV1(method, launcher_id, target_puzzle_hash, token))`;
//! * POST /farmer: the PlotNFT's owner key over `PostFarmerPayload.get_hash()`;
//! * PUT /farmer: the owner key over `PutFarmerPayloadBackCompat.get_hash()` (the payload without
//!   `authentication_token_v2`), not over the payload the farmer sends;
//! * POST /partial: plot key and authentication key over the payload hash, as in v2.

use std::io::Cursor;
use std::num::NonZeroU8;

use chia_bls::{verify, PublicKey, Signature};
use chia_protocol::Bytes32;
use chia_traits::Streamable;
use serde_json::{Map, Value};

use crate::chia::messages::{
    message, AuthenticationPayloadV1, Message, PostFarmerRequest, PutFarmerPayload,
    PutFarmerRequest,
};
use crate::chia::wire::{expect_object, take_field, FieldError, WireValue};

message!(
    /// GET /farmer query of a v1 farmer, in 2.7.5's field order (`GetFarmerRequestV1` extends
    /// `GetFarmerRequestV2`, so `signature` comes last).
    GetFarmerRequestV1 {
        authentication_token: u64,
        launcher_id: Bytes32,
        authentication_token_v2: String = String::new(),
        signature: Option<Signature> = None,
    }
);
message!(
    /// What a v1 farmer's PUT /farmer signature covers (`farmer.py`, "temporary back compat").
    PutFarmerPayloadBackCompat {
        launcher_id: Bytes32,
        authentication_token: u64,
        authentication_public_key: Option<PublicKey>,
        payout_instructions: Option<String>,
        suggested_difficulty: Option<u64>,
    }
);

impl From<&PutFarmerPayload> for PutFarmerPayloadBackCompat {
    fn from(p: &PutFarmerPayload) -> Self {
        Self {
            launcher_id: p.launcher_id,
            authentication_token: p.authentication_token,
            authentication_public_key: p.authentication_public_key,
            payout_instructions: p.payout_instructions.clone(),
            suggested_difficulty: p.suggested_difficulty,
        }
    }
}

/// chia's `get_current_authentication_token(timeout)`: `int(int(unix_time / 60) / timeout)`.
pub fn authentication_token(unix_secs: u64, timeout_minutes: NonZeroU8) -> u64 {
    (unix_secs / 60) / u64::from(timeout_minutes.get())
}

/// chia's `validate_authentication_token`: within `timeout` tokens of the current one, either side.
pub fn authentication_token_is_valid(
    token: u64,
    unix_secs: u64,
    timeout_minutes: NonZeroU8,
) -> bool {
    token.abs_diff(authentication_token(unix_secs, timeout_minutes))
        <= u64::from(timeout_minutes.get())
}

/// The message GET /farmer (`method` "get_farmer") and GET /login ("get_login") sign.
pub fn authentication_payload_hash(
    method: &str,
    launcher_id: Bytes32,
    target_puzzle_hash: Bytes32,
    authentication_token: u64,
) -> Bytes32 {
    AuthenticationPayloadV1 {
        method_name: method.to_string(),
        launcher_id,
        target_puzzle_hash,
        authentication_token,
    }
    .get_hash()
}

/// Checks a GET /farmer signature against the registered authentication key; no signature never verifies.
pub fn verify_get_farmer(
    request: &GetFarmerRequestV1,
    authentication_public_key: &PublicKey,
    target_puzzle_hash: Bytes32,
) -> bool {
    let Some(signature) = &request.signature else {
        return false;
    };
    let message = authentication_payload_hash(
        "get_farmer",
        request.launcher_id,
        target_puzzle_hash,
        request.authentication_token,
    );
    verify(signature, authentication_public_key, message)
}

/// Checks a login link's signature (`get_login`) against the registered authentication key.
pub fn verify_login(
    launcher_id: Bytes32,
    authentication_token: u64,
    signature: &Signature,
    authentication_public_key: &PublicKey,
    target_puzzle_hash: Bytes32,
) -> bool {
    let message = authentication_payload_hash(
        "get_login",
        launcher_id,
        target_puzzle_hash,
        authentication_token,
    );
    verify(signature, authentication_public_key, message)
}

/// Checks a v1 POST /farmer: signed by the owner key from the singleton's `PoolState`.
pub fn verify_post_farmer(request: &PostFarmerRequest, owner_public_key: &PublicKey) -> bool {
    verify(
        &request.signature,
        owner_public_key,
        request.payload.get_hash(),
    )
}

/// Checks a v1 PUT /farmer: the owner key over the back-compat payload; no signature never verifies.
pub fn verify_put_farmer(request: &PutFarmerRequest, owner_public_key: &PublicKey) -> bool {
    let Some(signature) = &request.signature else {
        return false;
    };
    let message = PutFarmerPayloadBackCompat::from(&request.payload).get_hash();
    verify(signature, owner_public_key, message)
}
