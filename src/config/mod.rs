//! `pool.toml`: the schema, its defaults and validation with messages that name the key and the fix.
//!
//! Every key has a default, so an empty file is a valid configuration for a pool beside a local chia install;
//! `pool.toml.example` documents each key. Unknown keys are refused so that typos do not pass silently.

use serde::Deserialize;
use std::path::{Path, PathBuf};

use crate::chia::address::{decode_puzzle_hash, AddressError};
use crate::chia::wire::decode_hex;
use chia_protocol::Bytes32;

mod acme;
mod tables;
mod validate;

pub use tables::*;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("[{section}] {key} = {value}: {reason}")]
    Invalid {
        section: &'static str,
        key: &'static str,
        value: String,
        reason: String,
    },
}

fn invalid(
    section: &'static str,
    key: &'static str,
    value: impl ToString,
    reason: impl Into<String>,
) -> ConfigError {
    ConfigError::Invalid {
        section,
        key,
        value: value.to_string(),
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub chia: ChiaConfig,
    pub store: StoreConfig,
    pub pool: PoolConfig,
    pub partials: PartialsConfig,
    pub payouts: PayoutsConfig,
    pub auth: AuthConfig,
    pub logging: LoggingConfig,
    pub status: StatusConfig,
    /// Automatic HTTPS; None (no `[acme]` table) = certificates from `[server] tls_cert` / `tls_key` or none.
    pub acme: Option<AcmeConfig>,
}

/// The pool's on-chain identity derived from the config: what PlotNFTs commit to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolIdentity {
    pub target_puzzle_hash: Bytes32,
    pub relative_lock_height: u32,
    pub pool_memoization: Vec<u8>,
}

impl Config {
    /// Reads and validates a config file; relative paths inside it are made relative to its directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Self::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        Ok(config)
    }

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("pool.toml"),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &Path| {
            let p = expand_home(p);
            if p.is_relative() {
                base.join(p)
            } else {
                p
            }
        };
        self.store.path = fix(&self.store.path);
        self.auth.token_key_file = fix(&self.auth.token_key_file);
        self.server.tls_cert = self.server.tls_cert.as_deref().map(fix);
        self.server.tls_key = self.server.tls_key.as_deref().map(fix);
        self.chia.root = self.chia.root.as_deref().map(fix);
        if let Some(acme) = &mut self.acme {
            acme.directory_ca = acme.directory_ca.as_deref().map(fix);
            acme.dir = Some(fix(acme.dir.as_deref().unwrap_or(Path::new("acme"))));
        }
    }

    /// The validated `[acme]` table; None when ACME is off (no table). Errors name the key and its value.
    pub fn acme_settings(&self) -> Result<Option<AcmeSettings>, ConfigError> {
        let Some(a) = &self.acme else {
            return Ok(None);
        };
        acme::settings(a, &self.server)
    }

    pub fn pool_memoization(&self) -> Result<Vec<u8>, ConfigError> {
        let text = &self.pool.pool_memoization;
        let bytes = decode_hex(text).map_err(|e| invalid("pool", "pool_memoization", text, e))?;
        let mut allocator = clvmr::Allocator::new();
        clvmr::serde::node_from_bytes(&mut allocator, &bytes).map_err(|_| {
            invalid(
                "pool",
                "pool_memoization",
                text,
                "must be a serialized CLVM program in hex (80 = nil, no memo)",
            )
        })?;
        Ok(bytes)
    }

    /// The configured fee address as a puzzle hash; None when the fee stays in the pool wallet.
    pub fn fee_puzzle_hash(&self) -> Result<Option<Bytes32>, ConfigError> {
        let text = self.payouts.fee_address.trim();
        if text.is_empty() {
            return Ok(None);
        }
        decode_puzzle_hash(text)
            .map(Some)
            .map_err(|e: AddressError| {
                invalid(
                    "payouts",
                    "fee_address",
                    text,
                    format!("{e}; use an xch1… address or 64 hex characters, or leave it empty"),
                )
            })
    }

    /// The configured reward address as a puzzle hash; None when it is not set.
    pub fn reward_puzzle_hash(&self) -> Result<Option<Bytes32>, ConfigError> {
        let text = self.pool.reward_address.trim();
        if text.is_empty() {
            return Ok(None);
        }
        decode_puzzle_hash(text)
            .map(Some)
            .map_err(|e: AddressError| {
                invalid(
                    "pool",
                    "reward_address",
                    text,
                    format!("{e}; use an xch1… address or 64 hex characters"),
                )
            })
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
