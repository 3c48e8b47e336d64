//! `pool.toml`: the schema, its defaults and validation with messages that name the key and the fix.
//!
//! Every key has a default, so an empty file is a valid configuration for a pool beside a local chia install;
//! `pool.toml.example` documents each key. Unknown keys are refused so that typos do not pass silently.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::chia::address::{decode_puzzle_hash, AddressError};
use crate::chia::wire::decode_hex;
use chia_protocol::Bytes32;

mod acme;

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

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port the farmer API listens on.
    pub listen: SocketAddr,
    /// PEM certificate chain and key; both unset = plain HTTP (behind a TLS-terminating reverse proxy).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub max_connections: usize,
    /// Largest request body accepted, in bytes (a partial is about 1.5 KB).
    pub max_body_bytes: u64,
    /// Seconds a client may take to send its request headers (and TLS handshake).
    pub header_timeout_secs: u64,
    /// New connections per second one address may open (bursts of ten times that pass). A farmer opens one
    /// per partial; many farmers behind one address need a higher value.
    pub connections_per_ip_per_sec: u32,
    /// Connections one address (IPv6: one /64) may hold open at once, so that it cannot take them all.
    pub max_connections_per_ip: usize,
    /// Requests per second one address may send, sustained (bursts of ten times that pass).
    pub requests_per_ip_per_sec: u32,
    /// Seconds a kept-alive connection may wait for its next request.
    pub idle_timeout_secs: u64,
    /// Seconds a client may take to send a whole request body.
    pub body_timeout_secs: u64,
    /// Reverse proxies (exact addresses) whose X-Forwarded-For header names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            tls_cert: None,
            tls_key: None,
            max_connections: 4096,
            max_body_bytes: 64 * 1024,
            header_timeout_secs: 10,
            connections_per_ip_per_sec: 50,
            max_connections_per_ip: 64,
            requests_per_ip_per_sec: 20,
            idle_timeout_secs: 15,
            body_timeout_secs: 10,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChiaConfig {
    /// The CHIA_ROOT whose private CA and daemon certificate authenticate us to the node and wallet.
    /// Default: $CHIA_ROOT, else ~/.chia/mainnet.
    pub root: Option<PathBuf>,
    pub node_url: String,
    pub wallet_url: String,
    /// The pool wallet's key; unset = whichever key the wallet has logged in.
    pub wallet_fingerprint: Option<u32>,
    /// Seconds per RPC call before it is abandoned.
    pub rpc_timeout_secs: u64,
}

impl Default for ChiaConfig {
    fn default() -> Self {
        Self {
            root: None,
            node_url: "https://localhost:8555".into(),
            wallet_url: "https://localhost:9256".into(),
            wallet_fingerprint: None,
            rpc_timeout_secs: 30,
        }
    }
}

impl ChiaConfig {
    /// The CHIA_ROOT to use: the configured one, $CHIA_ROOT, or ~/.chia/mainnet.
    pub fn resolved_root(&self) -> PathBuf {
        if let Some(root) = &self.root {
            return expand_home(root);
        }
        if let Some(env) = std::env::var_os("CHIA_ROOT") {
            return expand_home(Path::new(&env));
        }
        home_dir().join(".chia").join("mainnet")
    }
}

fn home_dir() -> PathBuf {
    crate::platform::home_dir()
}

/// `~/x` → `$HOME/x`, as chia writes its paths.
pub fn expand_home(path: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => home_dir().join(rest),
        Err(_) => path.to_path_buf(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// The database file; relative paths are relative to the directory of pool.toml.
    pub path: PathBuf,
    /// Seconds the database may stay unwritable (disk full, I/O errors) before the pool exits non-zero.
    pub max_unwritable_secs: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("pool.redb"),
            max_unwritable_secs: 120,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolConfig {
    pub name: String,
    pub description: String,
    pub logo_url: String,
    pub welcome_message: String,
    /// Pool fee in 1/10 000 of the rewards (100 = 1 %).
    pub fee_basis_points: u16,
    pub min_difficulty: u64,
    pub default_difficulty: u64,
    /// Highest difficulty a farmer may suggest or the controller may set.
    pub max_difficulty: u64,
    /// Where forwarded rewards go: an xch1…/txch1… address or a 32-byte hex puzzle hash. Farmers' PlotNFTs
    /// commit to it: changing it later strands every member, so choose once.
    pub reward_address: String,
    /// Serialized CLVM appended to the forward's CREATE_COIN (hex; `80` = nil = no memo).
    pub pool_memoization: String,
    /// Blocks a leaving farmer waits in the waiting room (the 2.7.5 wallet refuses more than 1000).
    pub relative_lock_height: u32,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            name: "chia-pool".into(),
            description: "A Chia pool for PlotNFT v2".into(),
            logo_url: "https://www.chia.net/img/chia_logo.svg".into(),
            welcome_message: "Welcome to the pool!".into(),
            fee_basis_points: 100,
            min_difficulty: 1,
            default_difficulty: 1,
            max_difficulty: 100_000_000,
            reward_address: String::new(),
            pool_memoization: "80".into(),
            relative_lock_height: 100,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PartialsConfig {
    /// Seconds after the node first saw the signage point within which a partial is on time.
    pub time_limit_secs: u64,
    /// Seconds before a partial is confirmed (its signage point re-checked on chain) and counts for payouts.
    pub confirmation_delay_secs: u64,
    /// Difficulty controller: aim for this many partials per farmer per `time_target_secs`.
    pub partials_target: u32,
    pub time_target_secs: u64,
    /// Largest factor a single difficulty adjustment may change by.
    pub max_difficulty_step: u64,
}

impl Default for PartialsConfig {
    fn default() -> Self {
        Self {
            time_limit_secs: 25,
            confirmation_delay_secs: 600,
            partials_target: 20,
            time_target_secs: 3600,
            max_difficulty_step: 4,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PayoutsConfig {
    /// Seconds between payout runs.
    pub interval_secs: u64,
    /// Balances below this many mojo are carried over to the next payout.
    pub minimum_payout_mojos: u64,
    pub max_additions_per_transaction: u32,
    /// Blockchain fee per payout transaction, in mojo.
    pub transaction_fee_mojos: u64,
    /// Blocks a reward or singleton state must be buried under before it is used.
    pub confirmation_depth: u32,
    /// Chain height to start scanning for PlotNFTs and rewards on a new database (0 = the current peak).
    pub scan_start_height: u32,
    /// Where the pool fee is sent, as one more output of the payout transactions (an address or 64 hex
    /// characters); empty = the fee stays in the pool wallet.
    pub fee_address: String,
}

impl Default for PayoutsConfig {
    fn default() -> Self {
        Self {
            interval_secs: 3600,
            minimum_payout_mojos: 10_000_000_000,
            max_additions_per_transaction: 400,
            transaction_fee_mojos: 0,
            confirmation_depth: 6,
            scan_start_height: 0,
            fee_address: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// File holding the 32-byte token key (written by `init`, readable by the owner only).
    pub token_key_file: PathBuf,
    /// Token lifetime in minutes (sent to farmers as authentication_token_timeout; at most 255).
    pub token_timeout_minutes: u8,
    /// How far a GET /auth timestamp may be from our clock, in seconds (stops replays of old requests).
    pub max_clock_skew_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            token_key_file: PathBuf::from("token.key"),
            token_timeout_minutes: 10,
            max_clock_skew_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusConfig {
    /// Address of the operator view and /metrics (plain HTTP; keep it on loopback or a private network).
    pub admin_listen: SocketAddr,
    /// Seconds between rebuilds of the status figures from the database.
    pub refresh_secs: u64,
    /// Hours a farmer's login (from a login link) lasts.
    pub session_hours: u64,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self {
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            refresh_secs: 15,
            session_hours: 24,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// A tracing filter: error, warn, info, debug, trace, or per-module directives.
    pub level: String,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
        }
    }
}

/// `[acme]`: the pool obtains and renews its own certificate (RFC 8555). Every key is optional so that a
/// missing `domains` can be reported by name; `Config::validate` holds the rules.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcmeConfig {
    /// DNS names the certificate is for; a non-empty list turns ACME on.
    pub domains: Option<Vec<String>>,
    /// `mailto:` address the CA may write to about the account.
    pub contact: Option<String>,
    /// The ACME directory URL (default: Let's Encrypt production).
    pub directory: Option<String>,
    /// Extra PEM roots trusted for the ACME server's own HTTPS (a private CA); public roots always count.
    pub directory_ca: Option<PathBuf>,
    /// `tls-alpn-01` (on the API listener) or `http-01` (on `http_listen`).
    pub challenge: Option<String>,
    /// Where http-01 challenges are answered; everything else there is redirected to https.
    pub http_listen: Option<String>,
    /// Account key and certificates, owner-only.
    pub dir: Option<PathBuf>,
    pub renew_before_days: Option<i64>,
}

/// Let's Encrypt's production directory, used when `[acme] directory` is unset.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// How the CA checks that the pool controls its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    TlsAlpn01,
    Http01,
}

/// `[acme]` after validation, with defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeSettings {
    pub domains: Vec<String>,
    pub contact: Option<String>,
    pub directory: String,
    pub directory_ca: Option<PathBuf>,
    pub challenge: Challenge,
    pub http_listen: SocketAddr,
    pub dir: PathBuf,
    pub renew_before_days: i64,
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

    /// Checks every value that could break the pool at run time; the reward address is checked by
    /// `pool_identity` because a pool may start without one and learn it from its wallet.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        if s.tls_cert.is_some() != s.tls_key.is_some() {
            return Err(invalid(
                "server",
                if s.tls_cert.is_some() {
                    "tls_key"
                } else {
                    "tls_cert"
                },
                "(unset)",
                "set both tls_cert and tls_key for HTTPS, or neither for plain HTTP",
            ));
        }
        if self.store.max_unwritable_secs == 0 {
            return Err(invalid(
                "store",
                "max_unwritable_secs",
                0,
                "must be at least 1",
            ));
        }
        self.acme_settings()?;
        if s.max_connections == 0 {
            return Err(invalid(
                "server",
                "max_connections",
                0,
                "must be at least 1",
            ));
        }
        if s.max_connections_per_ip == 0 {
            return Err(invalid(
                "server",
                "max_connections_per_ip",
                0,
                "must be at least 1",
            ));
        }
        for (key, value) in [
            ("header_timeout_secs", s.header_timeout_secs),
            ("idle_timeout_secs", s.idle_timeout_secs),
            ("body_timeout_secs", s.body_timeout_secs),
            (
                "requests_per_ip_per_sec",
                u64::from(s.requests_per_ip_per_sec),
            ),
            (
                "connections_per_ip_per_sec",
                u64::from(s.connections_per_ip_per_sec),
            ),
        ] {
            if value == 0 {
                return Err(invalid("server", key, 0, "must be at least 1"));
            }
        }
        if s.max_body_bytes < 4096 {
            return Err(invalid(
                "server",
                "max_body_bytes",
                s.max_body_bytes,
                "must be at least 4096",
            ));
        }
        for (key, url) in [
            ("node_url", &self.chia.node_url),
            ("wallet_url", &self.chia.wallet_url),
        ] {
            if !url.starts_with("https://") {
                return Err(invalid(
                    "chia",
                    key,
                    url,
                    "chia RPC is HTTPS only: use https://host:port",
                ));
            }
        }
        let p = &self.pool;
        if p.fee_basis_points > 10_000 {
            return Err(invalid(
                "pool",
                "fee_basis_points",
                p.fee_basis_points,
                "must be 0..=10000 (100 = 1 %)",
            ));
        }
        if p.min_difficulty == 0 {
            return Err(invalid("pool", "min_difficulty", 0, "must be at least 1"));
        }
        if p.default_difficulty < p.min_difficulty {
            return Err(invalid(
                "pool",
                "default_difficulty",
                p.default_difficulty,
                format!("must be at least min_difficulty ({})", p.min_difficulty),
            ));
        }
        if p.max_difficulty < p.default_difficulty {
            return Err(invalid(
                "pool",
                "max_difficulty",
                p.max_difficulty,
                format!(
                    "must be at least default_difficulty ({})",
                    p.default_difficulty
                ),
            ));
        }
        if p.relative_lock_height == 0 || p.relative_lock_height > 1000 {
            return Err(invalid(
                "pool",
                "relative_lock_height",
                p.relative_lock_height,
                "must be 1..=1000 (chia wallets refuse to join a pool above 1000)",
            ));
        }
        self.pool_memoization()?;
        if !p.reward_address.is_empty() {
            self.reward_puzzle_hash()?;
        }
        let pa = &self.partials;
        if pa.time_limit_secs == 0 {
            return Err(invalid(
                "partials",
                "time_limit_secs",
                0,
                "must be at least 1",
            ));
        }
        if pa.partials_target < 2 || pa.time_target_secs == 0 {
            return Err(invalid(
                "partials",
                "partials_target",
                pa.partials_target,
                "needs partials_target >= 2 and time_target_secs >= 1",
            ));
        }
        if pa.max_difficulty_step < 2 {
            return Err(invalid(
                "partials",
                "max_difficulty_step",
                pa.max_difficulty_step,
                "must be at least 2",
            ));
        }
        let po = &self.payouts;
        if po.max_additions_per_transaction == 0 || po.max_additions_per_transaction > 1000 {
            return Err(invalid(
                "payouts",
                "max_additions_per_transaction",
                po.max_additions_per_transaction,
                "must be 1..=1000",
            ));
        }
        self.fee_puzzle_hash()?;
        if po.interval_secs < 60 {
            return Err(invalid(
                "payouts",
                "interval_secs",
                po.interval_secs,
                "must be at least 60",
            ));
        }
        if self.auth.token_timeout_minutes == 0 {
            return Err(invalid(
                "auth",
                "token_timeout_minutes",
                0,
                "must be 1..=255",
            ));
        }
        if self.logging.level.trim().is_empty() {
            return Err(invalid(
                "logging",
                "level",
                "\"\"",
                "use error, warn, info, debug or trace",
            ));
        }
        Ok(())
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
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_valid() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.server.listen.port(), 8080);
        assert_eq!(c.pool_memoization().unwrap(), vec![0x80]);
        assert_eq!(c.reward_puzzle_hash().unwrap(), None);
    }

    #[test]
    fn errors_name_section_key_and_fix() {
        let cases = [
            ("[pool]\nfee_basis_points = 20000", "fee_basis_points"),
            (
                "[pool]\nrelative_lock_height = 5000",
                "relative_lock_height",
            ),
            ("[pool]\npool_memoization = \"zz\"", "pool_memoization"),
            ("[pool]\npool_memoization = \"ff\"", "pool_memoization"),
            ("[pool]\nreward_address = \"xch1nope\"", "reward_address"),
            ("[payouts]\nfee_address = \"xch1nope\"", "fee_address"),
            ("[server]\ntls_cert = \"a.pem\"", "tls_key"),
            ("[chia]\nnode_url = \"http://localhost:8555\"", "node_url"),
            (
                "[pool]\nmin_difficulty = 10\ndefault_difficulty = 5",
                "default_difficulty",
            ),
        ];
        for (text, key) in cases {
            let err = Config::parse(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
        let err = Config::parse("[pool]\nfee = 1").unwrap_err().to_string();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn reward_address_accepts_hex_and_bech32m() {
        let hex = "14149c71b239194d2e7496dcde66fef56f26e53b75eb967f650e9e48becbb2c1";
        let c = Config::parse(&format!("[pool]\nreward_address = \"0x{hex}\"")).unwrap();
        let ph = c.reward_puzzle_hash().unwrap().unwrap();
        assert_eq!(hex::encode(ph), hex);
        let addr = crate::chia::address::encode_puzzle_hash(&ph, "xch");
        let c = Config::parse(&format!("[pool]\nreward_address = \"{addr}\"")).unwrap();
        assert_eq!(c.reward_puzzle_hash().unwrap(), Some(ph));
    }
}

#[cfg(test)]
mod example_tests {
    use super::Config;

    /// The example `init` writes parses, and spells out exactly the defaults.
    #[test]
    fn example_is_valid_and_matches_defaults() {
        let example = Config::parse(include_str!("../pool.toml.example")).unwrap();
        let defaults = Config::default();
        assert_eq!(format!("{example:?}"), format!("{defaults:?}"));
    }
}
