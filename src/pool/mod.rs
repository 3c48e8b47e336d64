//! The pool's rules: registration, authentication, partial validation and crediting, difficulty, and the
//! background jobs that confirm partials and follow members' PlotNFTs.
//!
//! Handlers call `Pool`; `Pool` calls the store and the chain client; nothing here speaks HTTP.

pub mod confirm;
pub mod difficulty;
pub mod farmers;
pub mod guards;
pub mod handles;
pub mod jobs;
pub mod login;
pub mod partials;
pub mod payout_instructions;
pub mod pool_info;
pub mod registration;
pub mod relocate;
pub mod supervisor;
pub mod tokens;
pub mod v1;
pub mod verdict;
pub mod verifier;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use chia_protocol::Bytes32;

use crate::chain::ChainClient;
use crate::chia::constants::ConsensusConstants;
use crate::chia::messages::{ErrorResponse, PoolErrorCode};
use crate::chia::puzzles::PoolConfig as PlotNftPoolConfig;
use crate::config::Config;
use crate::stats::Stats;
use crate::store::Store;
use difficulty::DifficultyPolicy;
pub use handles::Handles;
use tokens::TokenAuthority;
use verifier::SignatureVerifier;

/// A request the pool refuses, with the protocol code the farmer acts on and a message that says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct PoolError {
    pub code: PoolErrorCode,
    pub message: String,
}

impl PoolError {
    pub fn new(code: PoolErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn response(&self) -> ErrorResponse {
        self.code.response(self.message.clone())
    }

    /// The node did not answer or failed: the farmer hears only that (the node's address, RPC and TLS
    /// details are the operator's business and go to the log).
    pub fn node_unavailable(error: impl std::fmt::Display) -> Self {
        // Once per ten seconds at most: a flood of requests must not become a flood of log lines.
        use std::sync::atomic::{AtomicU64, Ordering};
        static LAST_LOGGED: AtomicU64 = AtomicU64::new(0);
        let now = unix_now();
        let last = LAST_LOGGED.load(Ordering::Relaxed);
        if now >= last + 10
            && LAST_LOGGED
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!("a farmer's request needed the node, which failed: {error}");
        } else {
            tracing::debug!("a farmer's request needed the node, which failed: {error}");
        }
        Self::new(
            PoolErrorCode::ServerException,
            "the pool cannot reach its chia node right now; try again in a minute",
        )
    }

    /// An internal failure the farmer cannot fix; the details go to the log, not to the farmer.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        log_once_per_burst(context, &error);
        Self::new(
            PoolErrorCode::ServerException,
            format!("{context}; the pool operator has been told, try again later"),
        )
    }
}

/// Logs an internal failure, but a failure that repeats (a full disk, a node outage) only once per 30 s per
/// context, with how many were not logged in between.
fn log_once_per_burst(context: &str, error: &dyn std::fmt::Display) {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    static SEEN: Mutex<Option<HashMap<String, (Instant, u64)>>> = Mutex::new(None);
    const BURST: Duration = Duration::from_secs(30);
    let Ok(mut seen) = SEEN.lock() else {
        tracing::error!("{context}: {error}");
        return;
    };
    let seen = seen.get_or_insert_with(HashMap::new);
    match seen.get_mut(context) {
        Some((last, quiet)) if last.elapsed() < BURST => *quiet += 1,
        Some((last, quiet)) => {
            if *quiet > 0 {
                tracing::error!("{context}: {error} (and {quiet} more like it before)");
            } else {
                tracing::error!("{context}: {error}");
            }
            *last = Instant::now();
            *quiet = 0;
        }
        None => {
            if seen.len() > 1000 {
                seen.clear();
            }
            tracing::error!("{context}: {error}");
            seen.insert(context.to_string(), (Instant::now(), 0));
        }
    }
}

/// What the pool is, on chain and to farmers.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub config: Config,
    pub genesis_challenge: Bytes32,
    /// `xch` or `txch`: which addresses payout instructions may use.
    pub address_prefix: String,
    pub plotnft_pool: PlotNftPoolConfig,
    pub difficulty: DifficultyPolicy,
}

/// Shared state of a running pool; cheap to clone.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    /// What background work uses; the pool's own accessors read through it.
    handles: Handles,
    tokens: TokenAuthority,
    sessions: TokenAuthority,
    verifier: SignatureVerifier,
    stats: Stats,
    cpu: guards::CpuGate,
    /// Registrations refused for want of a PlotNFT, by (launcher, key), with the peak height they were
    /// refused at: reused until the next block.
    no_plotnft: guards::Recent<(Bytes32, [u8; 48]), (u32, PoolError)>,
    /// Signage points a launcher asked for that the node did not know, counted per launcher.
    unknown_sp: guards::Recent<Bytes32, guards::SpLookups>,
    /// Proofs recently checked, by hash of the proof and its signage point.
    proofs: guards::Recent<[u8; 32], guards::ProofSeen>,
    /// v1 registrations' chain walks (the owner key is on chain, so the walk comes before the signature):
    /// one per launcher and block, whatever the number of requests.
    v1_walks: guards::PerBlock<Bytes32, v1::Walked>,
}

/// How long a negative answer from the chain (or a v1 walk, within one block) is reused: about one block.
const NEGATIVE_TTL: std::time::Duration = std::time::Duration::from_secs(20);

impl Pool {
    pub fn new(
        settings: PoolSettings,
        constants: Arc<ConsensusConstants>,
        store: Store,
        chain: ChainClient,
        token_key: &[u8; 32],
        verifier: SignatureVerifier,
    ) -> Self {
        let lifetime = u64::from(settings.config.auth.token_timeout_minutes) * 60;
        let session_secs = settings.config.status.session_hours.saturating_mul(3600);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let proof_ttl =
            std::time::Duration::from_secs(settings.config.partials.time_limit_secs + 60);
        Self {
            inner: Arc::new(Inner {
                handles: Handles::new(store, chain, settings, constants),
                tokens: TokenAuthority::new(token_key, lifetime),
                sessions: TokenAuthority::for_purpose(
                    token_key,
                    session_secs,
                    login::SESSION_ASSERTION,
                ),
                verifier,
                stats: Stats::new(),
                // A pairing takes about a millisecond: 32 per core in flight is a few tens of milliseconds of
                // work, enough that a burst of honest requests (20 farmers retrying at once) is not told "busy",
                // while a flood still meets the gate long before the CPU queue grows.
                cpu: guards::CpuGate::new(threads * 32),
                no_plotnft: guards::Recent::new(NEGATIVE_TTL),
                unknown_sp: guards::Recent::new(NEGATIVE_TTL),
                proofs: guards::Recent::new(proof_ttl),
                v1_walks: guards::PerBlock::new(NEGATIVE_TTL),
            }),
        }
    }

    /// The narrow view background work takes (store, chain client, settings, clock).
    pub fn handles(&self) -> &Handles {
        &self.inner.handles
    }
    pub fn settings(&self) -> &PoolSettings {
        self.inner.handles.settings()
    }
    pub fn config(&self) -> &Config {
        self.inner.handles.config()
    }
    pub fn constants(&self) -> &ConsensusConstants {
        self.inner.handles.constants()
    }
    pub fn store(&self) -> &Store {
        self.inner.handles.store()
    }
    pub fn chain(&self) -> &ChainClient {
        self.inner.handles.chain()
    }
    /// The status aggregates (pages, JSON, metrics read them; the pool logic reports into them).
    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }
    pub(crate) fn sessions(&self) -> &TokenAuthority {
        &self.inner.sessions
    }
    pub(crate) fn tokens(&self) -> &TokenAuthority {
        &self.inner.tokens
    }
    pub(crate) fn verifier(&self) -> &SignatureVerifier {
        &self.inner.verifier
    }
    pub(crate) fn cpu(&self) -> &guards::CpuGate {
        &self.inner.cpu
    }
    pub(crate) fn no_plotnft(&self) -> &guards::Recent<(Bytes32, [u8; 48]), (u32, PoolError)> {
        &self.inner.no_plotnft
    }
    pub(crate) fn unknown_sp(&self) -> &guards::Recent<Bytes32, guards::SpLookups> {
        &self.inner.unknown_sp
    }
    pub(crate) fn proofs(&self) -> &guards::Recent<[u8; 32], guards::ProofSeen> {
        &self.inner.proofs
    }
    pub(crate) fn v1_walks(&self) -> &guards::PerBlock<Bytes32, v1::Walked> {
        &self.inner.v1_walks
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
