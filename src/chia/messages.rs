//! The v2 pool-protocol messages exactly as chia-blockchain 2.7.5 farmers send and expect them.
//!
//! Field order is the Streamable binary order, which the signed hashes depend on. Each message converts from
//! and to its wire JSON, from a GET query string, and to Streamable bytes; `get_hash` is `sha256(bytes)`.

use chia_bls::{PublicKey, Signature};
use chia_protocol::{Bytes32, Program, ProofOfSpace};
use chia_traits::Streamable;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::io::Cursor;

use super::wire::{expect_object, take_field, FieldError, WireValue};

/// Why a request could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("request body is not valid JSON: {0}")]
    Json(String),
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error("invalid Streamable bytes: {0}")]
    Bytes(String),
}

impl MessageError {
    /// The field the error is about, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            MessageError::Field(e) => Some(&e.field),
            _ => None,
        }
    }
}

/// Behaviour shared by every protocol message.
pub trait Message: Sized + WireValue + Streamable {
    /// Parses the message from its JSON text (a request body).
    fn from_json_str(text: &str) -> Result<Self, MessageError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| MessageError::Json(e.to_string()))?;
        Ok(Self::from_json(&value, "")?)
    }

    /// Parses a GET request's query string (`a=1&b=0x..`); a repeated key keeps its last value.
    fn from_query(query: &str) -> Result<Self, MessageError> {
        let map: Map<String, Value> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        Ok(Self::from_json(&Value::Object(map), "")?)
    }

    /// The canonical wire JSON text.
    fn to_json_string(&self) -> String {
        self.to_json().to_string()
    }

    /// Streamable bytes, as Python's `bytes(message)`.
    fn to_stream_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Streaming only fails for a ProofOfSpace whose version is not 0 or 1, which parsing rejects.
        let _ = self.stream(&mut out);
        out
    }

    /// Parses Streamable bytes; trailing bytes are an error.
    fn from_stream_bytes(bytes: &[u8]) -> Result<Self, MessageError> {
        Self::from_bytes(bytes).map_err(|e| MessageError::Bytes(e.to_string()))
    }

    /// `sha256(bytes(message))`: what farmers sign. Never `Streamable::hash`, which for a v2 proof digests
    /// the quality string instead of the proof.
    fn get_hash(&self) -> Bytes32 {
        Bytes32::new(Sha256::digest(self.to_stream_bytes()).into())
    }
}

/// Declares a message struct with its JSON and Streamable forms. A field written `name: Type = default` may be
/// missing from the JSON.
macro_rules! message {
    ($(#[$meta:meta])* $name:ident { $($field:ident : $ty:ty $(= $default:expr)?),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $(pub $field: $ty,)*
        }

        impl WireValue for $name {
            fn to_json(&self) -> Value {
                let mut map = Map::new();
                $(map.insert(stringify!($field).to_string(), self.$field.to_json());)*
                Value::Object(map)
            }
            fn from_json(value: &Value, field: &str) -> Result<Self, FieldError> {
                let object = expect_object(value, field)?;
                Ok(Self {
                    $($field: take_field(object, field, stringify!($field), message!(@default $ty $(, $default)?))?,)*
                })
            }
        }

        impl Streamable for $name {
            fn update_digest(&self, digest: &mut chia_sha2::Sha256) {
                // Hash the streamed bytes: a nested v2 ProofOfSpace's own digest would skip the proof.
                digest.update(self.to_stream_bytes());
            }
            fn stream(&self, out: &mut Vec<u8>) -> chia_traits::Result<()> {
                $(self.$field.stream(out)?;)*
                Ok(())
            }
            fn parse<const TRUSTED: bool>(input: &mut Cursor<&[u8]>) -> chia_traits::Result<Self> {
                Ok(Self {
                    $($field: <$ty as Streamable>::parse::<TRUSTED>(input)?,)*
                })
            }
        }

        impl Message for $name {}
    };
    (@default $ty:ty) => { None };
    (@default $ty:ty, $default:expr) => { Some((|| $default) as fn() -> $ty) };
}

// The v1 messages (`super::v1::messages`) are declared with the same macro.
pub(crate) use message;

message!(
    /// GET /v2/auth query.
    GetAuthRequest { launcher_id: Bytes32, timestamp: u64, signature: Signature }
);
message!(
    /// GET /v2/auth answer.
    GetAuthResponse { authentication_token: String, expiration: u64 }
);
message!(
    /// GET /v2/pool_info (and /pool_info) answer.
    GetPoolInfoResponse {
        name: String,
        logo_url: String,
        minimum_difficulty: u64,
        relative_lock_height: u32,
        protocol_version: u8,
        fee: String,
        description: String,
        target_puzzle_hash: Bytes32,
        authentication_token_timeout: u8,
        pool_memoization: Program = Program::default(),
    }
);
message!(
    /// GET /v2/farmer query as 2.7.5 sends it for a v2 PlotNFT.
    GetFarmerRequestV2 {
        authentication_token: u64,
        launcher_id: Bytes32,
        authentication_token_v2: String = String::new(),
    }
);
message!(
    /// GET /v2/farmer answer.
    GetFarmerResponse {
        authentication_public_key: PublicKey,
        payout_instructions: String,
        current_difficulty: u64,
        current_points: u64,
    }
);
message!(
    /// The signed part of POST /v2/farmer.
    PostFarmerPayload {
        launcher_id: Bytes32,
        authentication_token: u64,
        authentication_public_key: PublicKey,
        payout_instructions: String,
        suggested_difficulty: Option<u64>,
    }
);
message!(
    /// POST /v2/farmer body.
    PostFarmerRequest { payload: PostFarmerPayload, signature: Signature }
);
message!(
    /// POST /v2/farmer answer.
    PostFarmerResponse { welcome_message: String }
);
message!(
    /// The body of PUT /v2/farmer without its signature.
    PutFarmerPayload {
        launcher_id: Bytes32,
        authentication_token: u64,
        authentication_public_key: Option<PublicKey>,
        payout_instructions: Option<String>,
        suggested_difficulty: Option<u64>,
        authentication_token_v2: String = String::new(),
    }
);
message!(
    /// PUT /v2/farmer body; v2 farmers send `signature: null` and authenticate with the token.
    PutFarmerRequest { payload: PutFarmerPayload, signature: Option<Signature> = None }
);
message!(
    /// PUT /v2/farmer answer: which fields the request provided.
    PutFarmerResponse {
        authentication_public_key: Option<bool>,
        payout_instructions: Option<bool>,
        suggested_difficulty: Option<bool>,
    }
);
message!(
    /// The signed part of POST /v2/partial.
    PostPartialPayload {
        launcher_id: Bytes32,
        authentication_token: u64,
        proof_of_space: ProofOfSpace,
        sp_hash: Bytes32,
        end_of_sub_slot: bool,
        harvester_id: Bytes32,
    }
);
message!(
    /// POST /v2/partial body, in 2.7.5's field order.
    PostPartialRequest {
        payload: PostPartialPayload,
        aggregate_signature: Signature,
        authentication_token_v2: String = String::new(),
    }
);
message!(
    /// POST /v2/partial answer.
    PostPartialResponse { new_difficulty: u64 }
);
message!(
    /// Any protocol error; always sent with HTTP 200.
    ErrorResponse { error_code: u16, error_message: Option<String> }
);
message!(
    /// What the optional login link signs.
    AuthenticationPayloadV1 {
        method_name: String,
        launcher_id: Bytes32,
        target_puzzle_hash: Bytes32,
        authentication_token: u64,
    }
);

/// The protocol's error codes (same numbers in the reference and 2.7.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum PoolErrorCode {
    RevertedSignagePoint = 1,
    TooLate = 2,
    NotFound = 3,
    InvalidProof = 4,
    ProofNotGoodEnough = 5,
    InvalidDifficulty = 6,
    InvalidSignature = 7,
    ServerException = 8,
    InvalidP2SingletonPuzzleHash = 9,
    FarmerNotKnown = 10,
    FarmerAlreadyKnown = 11,
    InvalidAuthenticationToken = 12,
    InvalidPayoutInstructions = 13,
    InvalidSingleton = 14,
    DelayTimeTooShort = 15,
    RequestFailed = 16,
}

impl PoolErrorCode {
    pub const ALL: [PoolErrorCode; 16] = [
        Self::RevertedSignagePoint,
        Self::TooLate,
        Self::NotFound,
        Self::InvalidProof,
        Self::ProofNotGoodEnough,
        Self::InvalidDifficulty,
        Self::InvalidSignature,
        Self::ServerException,
        Self::InvalidP2SingletonPuzzleHash,
        Self::FarmerNotKnown,
        Self::FarmerAlreadyKnown,
        Self::InvalidAuthenticationToken,
        Self::InvalidPayoutInstructions,
        Self::InvalidSingleton,
        Self::DelayTimeTooShort,
        Self::RequestFailed,
    ];

    pub fn code(self) -> u16 {
        self as u16
    }

    /// The name chia uses (`PoolErrorCode.NAME` in Python).
    pub fn name(self) -> &'static str {
        match self {
            Self::RevertedSignagePoint => "REVERTED_SIGNAGE_POINT",
            Self::TooLate => "TOO_LATE",
            Self::NotFound => "NOT_FOUND",
            Self::InvalidProof => "INVALID_PROOF",
            Self::ProofNotGoodEnough => "PROOF_NOT_GOOD_ENOUGH",
            Self::InvalidDifficulty => "INVALID_DIFFICULTY",
            Self::InvalidSignature => "INVALID_SIGNATURE",
            Self::ServerException => "SERVER_EXCEPTION",
            Self::InvalidP2SingletonPuzzleHash => "INVALID_P2_SINGLETON_PUZZLE_HASH",
            Self::FarmerNotKnown => "FARMER_NOT_KNOWN",
            Self::FarmerAlreadyKnown => "FARMER_ALREADY_KNOWN",
            Self::InvalidAuthenticationToken => "INVALID_AUTHENTICATION_TOKEN",
            Self::InvalidPayoutInstructions => "INVALID_PAYOUT_INSTRUCTIONS",
            Self::InvalidSingleton => "INVALID_SINGLETON",
            Self::DelayTimeTooShort => "DELAY_TIME_TOO_SHORT",
            Self::RequestFailed => "REQUEST_FAILED",
        }
    }

    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The error body for this code.
    pub fn response(self, message: impl Into<String>) -> ErrorResponse {
        ErrorResponse {
            error_code: self.code(),
            error_message: Some(message.into()),
        }
    }
}
