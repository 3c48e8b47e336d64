//! Farmer login links (`chia plotnft get_login_link`) and the browser sessions they open.
//!
//! chia-blockchain 2.7.5 builds the link as `<pool_url>/v2/login?launcher_id=<hex>&authentication_token=<n>
//! &signature=<hex>` (`/login` for v1 pools): `n = floor(floor(unix_time / 60) / authentication_token_timeout)`,
//! and the signature is AugSchemeMPL by the PlotNFT's v2 authentication key (the owner key's unhardened child
//! 12381, the same key that signs GET /auth) over `sha256(AuthenticationPayloadV1("get_login", launcher_id,
//! target_puzzle_hash, n))`. A link is fresh while `|n − now's n| ≤ authentication_token_timeout`, the window
//! chia's own `validate_authentication_token` allows.

use std::num::NonZeroU8;

use chia_bls::{verify, Signature};
use chia_protocol::Bytes32;

use crate::chia::signatures::auth_signing_public_key;
use crate::chia::v1::messages::{authentication_payload_hash, authentication_token};
use crate::chia::wire::{decode_hex, decode_hex_array};

use super::farmers::public_key;
use super::{unix_now, Pool};

/// Binds session cookies to their use: a farmer API token is never a session and the reverse.
pub const SESSION_ASSERTION: &[u8] = b"chia-pool status page session v1";

/// Why a login link was refused; each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("the link is incomplete or garbled ({0}); copy the whole link `chia plotnft get_login_link` printed")]
    Malformed(String),
    #[error("launcher {0} is not registered with this pool")]
    UnknownFarmer(String),
    #[error("the link's signature does not verify: it was changed after `chia plotnft get_login_link` made it, or made for another pool; make a new one")]
    BadSignature,
    #[error("the link has expired: its time is about {minutes} minutes away from the pool's clock; make a new one with `chia plotnft get_login_link` (and check the farmer's clock)")]
    Stale { minutes: u64 },
    #[error("the pool cannot check the link right now: {0}")]
    Internal(String),
}

/// A parsed login link query.
#[derive(Debug, Clone)]
pub struct LoginLink {
    pub launcher_id: Bytes32,
    pub authentication_token: u64,
    pub signature: Signature,
}

impl LoginLink {
    pub fn from_query(query: &str) -> Result<Self, LoginError> {
        let (mut launcher, mut token, mut signature) = (None, None, None);
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "launcher_id" => launcher = Some(v.into_owned()),
                "authentication_token" => token = Some(v.into_owned()),
                "signature" => signature = Some(v.into_owned()),
                _ => {}
            }
        }
        let missing = |name: &str| LoginError::Malformed(format!("{name} is missing"));
        let launcher = launcher.ok_or_else(|| missing("launcher_id"))?;
        let token = token.ok_or_else(|| missing("authentication_token"))?;
        let signature = signature.ok_or_else(|| missing("signature"))?;
        let launcher_id = decode_hex_array::<32>(&launcher)
            .map(Bytes32::new)
            .map_err(|e| LoginError::Malformed(format!("launcher_id: {e}")))?;
        let authentication_token = token.parse::<u64>().map_err(|_| {
            LoginError::Malformed("authentication_token must be a whole number".into())
        })?;
        let bytes =
            decode_hex(&signature).map_err(|e| LoginError::Malformed(format!("signature: {e}")))?;
        let bytes: [u8; 96] = bytes
            .try_into()
            .map_err(|_| LoginError::Malformed("signature must be 96 bytes".into()))?;
        let signature = Signature::from_bytes(&bytes)
            .map_err(|_| LoginError::Malformed("signature is not a BLS signature".into()))?;
        Ok(Self {
            launcher_id,
            authentication_token,
            signature,
        })
    }
}

/// chia's `get_current_authentication_token` (the v1 token), with a timeout of 0 taken as 1.
pub fn current_authentication_token(unix_secs: u64, timeout_minutes: u8) -> u64 {
    authentication_token(
        unix_secs,
        NonZeroU8::new(timeout_minutes).unwrap_or(NonZeroU8::MIN),
    )
}

impl Pool {
    /// Checks a login link; on success a session token (for the cookie) and its lifetime in seconds.
    pub fn login(&self, link: &LoginLink) -> Result<(String, u64), LoginError> {
        let internal = |e: super::PoolError| LoginError::Internal(e.message);
        // A v2 member signs with its key's child 12381, a v1 member with the authentication key it registered.
        let key = match self.farmer(&link.launcher_id).map_err(internal)? {
            Some(farmer) => auth_signing_public_key(&public_key(&farmer).map_err(internal)?),
            None => {
                let farmer = self
                    .farmer_v1(&link.launcher_id)
                    .map_err(internal)?
                    .ok_or_else(|| LoginError::UnknownFarmer(hex::encode(link.launcher_id)))?;
                super::v1::stored_key(&farmer.authentication_public_key).map_err(internal)?
            }
        };
        let message = authentication_payload_hash(
            "get_login",
            link.launcher_id,
            self.settings().plotnft_pool.pool_puzzle_hash,
            link.authentication_token,
        );
        if !verify(&link.signature, &key, message) {
            return Err(LoginError::BadSignature);
        }
        let timeout = self.config().auth.token_timeout_minutes;
        let now = unix_now();
        let current = current_authentication_token(now, timeout);
        if current.abs_diff(link.authentication_token) > u64::from(timeout) {
            let minutes = current
                .abs_diff(link.authentication_token)
                .saturating_mul(u64::from(timeout.max(1)));
            return Err(LoginError::Stale { minutes });
        }
        let (token, expires) = self.sessions().issue(&link.launcher_id.to_bytes(), now);
        Ok((token, expires.saturating_sub(now)))
    }

    /// The launcher a session cookie logs in, when it is valid for `launcher_id`.
    pub fn session_is_for(&self, session: &str, launcher_id: &[u8; 32]) -> bool {
        self.sessions()
            .verify(session, launcher_id, unix_now())
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authentication_token_is_chias() {
        // int(int(t / 60) / 10) for t = 1_700_000_000.
        assert_eq!(current_authentication_token(1_700_000_000, 10), 2_833_333);
        assert_eq!(current_authentication_token(59, 10), 0);
        assert_eq!(
            current_authentication_token(600, 0),
            10,
            "timeout 0 treated as 1"
        );
    }

    #[test]
    fn malformed_links_say_what_is_wrong() {
        let e = LoginLink::from_query("launcher_id=00&authentication_token=1").unwrap_err();
        assert!(e.to_string().contains("signature is missing"), "{e}");
        let q = format!(
            "launcher_id={}&authentication_token=x&signature={}",
            "11".repeat(32),
            "c0"
        );
        let e = LoginLink::from_query(&q).unwrap_err();
        assert!(e.to_string().contains("whole number"), "{e}");
    }
}
