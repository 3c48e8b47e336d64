//! The tables of `pool.toml` and their defaults: one struct per `[section]`, each key documented where it is
//! declared. The rules that hold between values live in `validate.rs`.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    /// The pool protocols served: `v1` at the root (PlotNFT v1 members), `v2` under `/v2/`.
    pub protocols: Vec<Protocol>,
}

/// A pool protocol version the pool can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    V1,
    V2,
}

impl PoolConfig {
    pub fn serves(&self, protocol: Protocol) -> bool {
        self.protocols.contains(&protocol)
    }
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            name: "chia-pool".into(),
            description: "A Chia pool for PlotNFT v1 and v2".into(),
            logo_url: "https://www.chia.net/img/chia_logo.svg".into(),
            welcome_message: "Welcome to the pool!".into(),
            fee_basis_points: 100,
            min_difficulty: 1,
            default_difficulty: 1,
            max_difficulty: 100_000_000,
            reward_address: String::new(),
            pool_memoization: "80".into(),
            relative_lock_height: 100,
            protocols: vec![Protocol::V1, Protocol::V2],
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
