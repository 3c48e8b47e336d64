//! Settings of the chain client. `ChainConfig::new(chia_root)` gives chia's defaults.

use std::path::PathBuf;
use std::time::Duration;

/// Where the node and wallet are and how patient to be with them.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainConfig {
    /// A CHIA_ROOT (e.g. `~/.chia/mainnet`); certificates are read from `config/ssl/` under it.
    pub chia_root: PathBuf,
    /// Full node RPC, default `https://localhost:8555`.
    pub node_url: String,
    /// Wallet RPC, default `https://localhost:9256`.
    pub wallet_url: String,
    /// Overrides of the certificate paths chia uses (`config/ssl/ca/private_ca.crt`,
    /// `config/ssl/daemon/private_daemon.crt` / `.key`), for installations that moved them in config.yaml.
    pub ca_cert: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub timeouts: Timeouts,
    /// Attempts per call for failures that may pass (connection refused or reset, timeout), at least 1.
    pub max_attempts: u32,
    /// First pause between attempts; doubles each time, capped at 2 s.
    pub retry_backoff: Duration,
    /// Threads that run the blocking HTTPS calls (also the limit of concurrent calls).
    pub rpc_threads: usize,
    /// How often the peak poller asks for `get_blockchain_state`.
    pub peak_poll_interval: Duration,
    /// How long a lookup waits for a signage point the node does not know yet (it may lag the farmer).
    pub sp_wait: Duration,
    /// The most one signage point lookup may take, waiting included, even when the node hangs (the fetch goes
    /// on in the background and fills the cache). Keeps the partial path bounded.
    pub sp_lookup_timeout: Duration,
    /// How long "the node does not know this signage point" is remembered; shorter than the first retry of a
    /// waiting lookup (250 ms), so that each retry asks the node again.
    pub sp_negative_ttl: Duration,
    /// Signage points older than this are dropped from the cache (the node keeps its last 500, ≈ 78 min).
    pub sp_max_age: Duration,
    /// End-of-slot entries older than this are dropped (the node keeps its last 50, ≈ 8 h).
    pub slot_max_age: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect plus TLS handshake.
    pub connect: Duration,
    /// Whole request, including reading the answer.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(60),
        }
    }
}

pub const DEFAULT_NODE_URL: &str = "https://localhost:8555";
pub const DEFAULT_WALLET_URL: &str = "https://localhost:9256";

impl ChainConfig {
    pub fn new(chia_root: impl Into<PathBuf>) -> Self {
        Self {
            chia_root: chia_root.into(),
            node_url: DEFAULT_NODE_URL.to_string(),
            wallet_url: DEFAULT_WALLET_URL.to_string(),
            ca_cert: None,
            client_cert: None,
            client_key: None,
            timeouts: Timeouts::default(),
            max_attempts: 3,
            retry_backoff: Duration::from_millis(100),
            rpc_threads: 8,
            peak_poll_interval: Duration::from_millis(1500),
            sp_wait: Duration::from_secs(4),
            sp_lookup_timeout: Duration::from_secs(8),
            sp_negative_ttl: Duration::from_millis(200),
            sp_max_age: Duration::from_secs(90 * 60),
            slot_max_age: Duration::from_secs(9 * 3600),
        }
    }

    /// `$CHIA_ROOT`, else `~/.chia/mainnet` as chia itself resolves it.
    pub fn default_chia_root() -> PathBuf {
        if let Some(root) = std::env::var_os("CHIA_ROOT") {
            return PathBuf::from(root);
        }
        crate::platform::home_dir().join(".chia").join("mainnet")
    }

    pub fn ca_cert_path(&self) -> PathBuf {
        self.ca_cert
            .clone()
            .unwrap_or_else(|| self.chia_root.join("config/ssl/ca/private_ca.crt"))
    }

    pub fn client_cert_path(&self) -> PathBuf {
        self.client_cert
            .clone()
            .unwrap_or_else(|| self.chia_root.join("config/ssl/daemon/private_daemon.crt"))
    }

    pub fn client_key_path(&self) -> PathBuf {
        self.client_key
            .clone()
            .unwrap_or_else(|| self.chia_root.join("config/ssl/daemon/private_daemon.key"))
    }
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self::new(Self::default_chia_root())
    }
}
