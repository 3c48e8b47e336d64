//! Authentication tokens: PASETO v4.local (encrypted and authenticated) binding a launcher id to an expiry.
//!
//! The key is 32 random bytes kept in a file only its owner can read (never on the command line). Tokens are
//! checked with no I/O; every failure is the protocol's INVALID_AUTHENTICATION_TOKEN, which makes 2.7.5
//! farmers fetch a new one.

use pasetors::keys::SymmetricKey;
use pasetors::token::UntrustedToken;
use pasetors::version4::{LocalToken, V4};
use pasetors::Local;
use std::path::Path;

/// Binds tokens to this use so that a token minted for something else with the same key never verifies.
const IMPLICIT_ASSERTION: &[u8] = b"chia-pool farmer authentication v1";
/// Tokens stay valid this long past their expiry, for clocks that disagree a little.
pub const EXPIRY_GRACE_SECS: u64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum TokenKeyError {
    #[error("cannot read the token key file {path}: {source}; run `chia-pool init` to create one")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the token key file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("token key file {path} must hold 64 hex characters (32 bytes); run `chia-pool init --force-new-key` to make a new one")]
    Format { path: String },
    #[error(
        "token key file {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    Permissions { path: String, mode: u32 },
    #[error("no system randomness for a new key: {0}")]
    Random(String),
}

/// Why a token was refused; all map to INVALID_AUTHENTICATION_TOKEN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("authentication token is not a token this pool issued")]
    Invalid,
    #[error("authentication token expired at {expired_at}; get a new one from GET /v2/auth")]
    Expired { expired_at: u64 },
    #[error("authentication token was issued for another launcher id")]
    WrongLauncher,
}

/// Issues and checks tokens.
pub struct TokenAuthority {
    key: SymmetricKey<V4>,
    lifetime_secs: u64,
    assertion: &'static [u8],
}

impl std::fmt::Debug for TokenAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAuthority")
            .field("lifetime_secs", &self.lifetime_secs)
            .finish()
    }
}

impl TokenAuthority {
    pub fn new(key: &[u8; 32], lifetime_secs: u64) -> Self {
        Self::for_purpose(key, lifetime_secs, IMPLICIT_ASSERTION)
    }

    /// Tokens bound to another use (`assertion`): they never verify where farmer tokens are expected.
    pub fn for_purpose(key: &[u8; 32], lifetime_secs: u64, assertion: &'static [u8]) -> Self {
        // A 32-byte slice is always a valid v4 symmetric key.
        let key = SymmetricKey::<V4>::from(key).expect("32-byte key");
        Self {
            key,
            lifetime_secs,
            assertion,
        }
    }

    /// A token for `launcher_id` and its expiry (unix seconds).
    pub fn issue(&self, launcher_id: &[u8; 32], now: u64) -> (String, u64) {
        let expiration = now.saturating_add(self.lifetime_secs);
        let payload = format!(
            "{{\"sub\":\"{}\",\"exp\":{expiration}}}",
            hex::encode(launcher_id)
        );
        // Encryption only fails on an empty payload or missing randomness; the payload is never empty.
        let token = LocalToken::encrypt(&self.key, payload.as_bytes(), None, Some(self.assertion))
            .unwrap_or_default();
        (token, expiration)
    }

    /// Checks that `token` was issued by us for `launcher_id` and has not expired.
    pub fn verify(&self, token: &str, launcher_id: &[u8; 32], now: u64) -> Result<(), TokenError> {
        let untrusted =
            UntrustedToken::<Local, V4>::try_from(token).map_err(|_| TokenError::Invalid)?;
        let trusted = LocalToken::decrypt(&self.key, &untrusted, None, Some(self.assertion))
            .map_err(|_| TokenError::Invalid)?;
        #[derive(serde::Deserialize)]
        struct Claims {
            sub: String,
            exp: u64,
        }
        let claims: Claims =
            serde_json::from_str(trusted.payload()).map_err(|_| TokenError::Invalid)?;
        if claims.sub != hex::encode(launcher_id) {
            return Err(TokenError::WrongLauncher);
        }
        if now > claims.exp.saturating_add(EXPIRY_GRACE_SECS) {
            return Err(TokenError::Expired {
                expired_at: claims.exp,
            });
        }
        Ok(())
    }
}

/// Writes a fresh random key file readable by its owner only; refuses to overwrite unless `replace`.
pub fn create_key_file(path: &Path, replace: bool) -> Result<(), TokenKeyError> {
    let display = path.display().to_string();
    if path.exists() && !replace {
        return Ok(());
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| TokenKeyError::Random(e.to_string()))?;
    let write_err = |source| TokenKeyError::Write {
        path: display.clone(),
        source,
    };
    let mut options = crate::platform::private_file_options();
    options.write(true).create(true).truncate(true);
    use std::io::Write;
    let mut file = options.open(path).map_err(write_err)?;
    // Before the key goes in: a replaced file keeps its old permissions, and Windows sets the ACL by path.
    crate::platform::make_private(path).map_err(write_err)?;
    file.write_all(format!("{}\n", hex::encode(key)).as_bytes())
        .map_err(write_err)?;
    Ok(())
}

/// Reads the key file, refusing one that other users can read.
pub fn load_key_file(path: &Path) -> Result<[u8; 32], TokenKeyError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| TokenKeyError::Read {
        path: display.clone(),
        source,
    })?;
    if let Some(mode) = std::fs::metadata(path)
        .ok()
        .and_then(|meta| crate::platform::shared_mode(&meta))
    {
        return Err(TokenKeyError::Permissions {
            path: display,
            mode,
        });
    }
    let bytes = hex::decode(text.trim()).map_err(|_| TokenKeyError::Format {
        path: display.clone(),
    })?;
    bytes
        .try_into()
        .map_err(|_| TokenKeyError::Format { path: display })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_and_verify() {
        let auth = TokenAuthority::new(&[7; 32], 600);
        let launcher = [1u8; 32];
        let (token, exp) = auth.issue(&launcher, 1_000);
        assert_eq!(exp, 1_600);
        assert!(token.starts_with("v4.local."));
        assert_eq!(auth.verify(&token, &launcher, 1_500), Ok(()));
        assert_eq!(
            auth.verify(&token, &launcher, 1_600 + EXPIRY_GRACE_SECS),
            Ok(())
        );
        assert_eq!(
            auth.verify(&token, &launcher, 1_601 + EXPIRY_GRACE_SECS),
            Err(TokenError::Expired { expired_at: 1_600 })
        );
        assert_eq!(
            auth.verify(&token, &[2; 32], 1_500),
            Err(TokenError::WrongLauncher)
        );
        let other = TokenAuthority::new(&[8; 32], 600);
        assert_eq!(
            other.verify(&token, &launcher, 1_500),
            Err(TokenError::Invalid)
        );
        for bad in [
            "",
            "v4.local.",
            "garbage",
            "v4.public.abc",
            &token[..token.len() - 2],
        ] {
            assert_eq!(
                auth.verify(bad, &launcher, 1_500),
                Err(TokenError::Invalid),
                "{bad}"
            );
        }
    }

    #[test]
    fn key_file_is_private_and_round_trips() {
        let dir = std::env::temp_dir().join(format!("chia-pool-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token.key");
        let _ = std::fs::remove_file(&path);
        create_key_file(&path, false).unwrap();
        let key = load_key_file(&path).unwrap();
        create_key_file(&path, false).unwrap();
        assert_eq!(
            load_key_file(&path).unwrap(),
            key,
            "init does not replace an existing key"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                load_key_file(&path),
                Err(TokenKeyError::Permissions { .. })
            ));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
