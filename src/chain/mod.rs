//! The chain client: the one place that talks to the operator's chia full node and wallet.
//!
//! * Transport: blocking HTTPS JSON-RPC (ureq + rustls/ring) with chia's mutual TLS ([`tls`]), run on the
//!   client's own threads ([`pool`]) and exposed as async methods; timeouts, bounded retries, typed errors.
//! * Calls: node endpoints in [`node`], wallet endpoints in [`wallet`], all as methods of [`ChainClient`].
//! * Caches, so a partial check needs no node round trip: constants once per client
//!   ([`ChainClient::constants`]), the peak once per block ([`peak`], filled by [`ChainClient::start_background`]),
//!   signage points and end of slots with single-flight read-through and short negative caching ([`signage`]).
//! * [`diagnostics`]: what `chia-pool check` prints.
//!
//! No pool policy lives here: callers decide what "too late" or "not synced enough" means.

pub mod blocks;
pub mod config;
pub mod diagnostics;
mod endpoint;
pub mod error;
mod flight;
pub mod json;
pub mod node;
mod node_records;
pub mod peak;
mod rpc_threads;
pub use rpc_threads::low_priority;
pub mod signage;
pub mod tls;
mod transport;
pub mod wallet;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::chia::constants::ConsensusConstants;
use crate::chia::wire::FieldError;

pub use config::{ChainConfig, Timeouts};
pub use diagnostics::Diagnostics;
pub use error::{ChainError, Service, TlsProblem};
pub use node::{
    AdditionsAndRemovals, BlockInfo, BlockchainState, CoinQuery, EndOfSlotRecord, NetworkInfo,
    PushTxStatus, SignagePointRecord,
};
pub use peak::{BackgroundTask, PeakInfo, PeakStatus};
pub use signage::{SignagePointCache, SpInfo};
pub use transport::MAX_REQUEST_BYTES;
pub use wallet::{
    Addition, SentTo, TransactionInfo, TransactionRequest, WalletBalance, WalletSyncStatus,
};

use rpc_threads::BlockingPool;
use transport::{Retry, RpcService};

/// Handle to the node and wallet. Cheap to clone; all clones share connections, threads and caches.
#[derive(Clone)]
pub struct ChainClient {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    config: ChainConfig,
    node: Arc<RpcService>,
    wallet: Arc<RpcService>,
    pool: BlockingPool,
    constants: tokio::sync::OnceCell<Arc<ConsensusConstants>>,
    peak: peak::PeakState,
    signage: signage::SpState,
}

/// Counters for the status page and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChainStats {
    /// HTTP requests sent to the node (every attempt, including retries).
    pub node_requests: u64,
    pub node_failures: u64,
    pub wallet_requests: u64,
    pub wallet_failures: u64,
    /// Signage point / end-of-slot entries currently cached.
    pub cached_signage_points: usize,
    pub cached_slots: usize,
}

impl ChainClient {
    /// Reads the certificates and starts the RPC threads; does not contact the node (see `diagnose`).
    pub fn new(config: ChainConfig) -> Result<Self, ChainError> {
        let files = tls::TlsFiles::from_config(&config);
        let tls_config = tls::client_config(&files)?;
        let node = RpcService::new(
            Service::Node,
            &config.node_url,
            Arc::clone(&tls_config),
            files.clone(),
            &config,
        )?;
        let wallet = RpcService::new(
            Service::Wallet,
            &config.wallet_url,
            tls_config,
            files,
            &config,
        )?;
        let pool = BlockingPool::new(config.rpc_threads)?;
        Ok(Self {
            inner: Arc::new(Inner {
                node: Arc::new(node),
                wallet: Arc::new(wallet),
                pool,
                constants: tokio::sync::OnceCell::new(),
                peak: peak::PeakState::new(),
                signage: signage::SpState::default(),
                config,
            }),
        })
    }

    pub fn config(&self) -> &ChainConfig {
        &self.inner.config
    }

    pub fn stats(&self) -> ChainStats {
        let (cached_signage_points, cached_slots) = self.inner.signage.sizes();
        ChainStats {
            node_requests: self.inner.node.requests.load(Ordering::Relaxed),
            node_failures: self.inner.node.failures.load(Ordering::Relaxed),
            wallet_requests: self.inner.wallet.requests.load(Ordering::Relaxed),
            wallet_failures: self.inner.wallet.failures.load(Ordering::Relaxed),
            cached_signage_points,
            cached_slots,
        }
    }

    /// The consensus constants, fetched from the node once per client.
    pub async fn constants(&self) -> Result<Arc<ConsensusConstants>, ChainError> {
        self.inner
            .constants
            .get_or_try_init(|| async { self.fetch_constants().await.map(Arc::new) })
            .await
            .cloned()
    }

    /// One call: POST on a chain thread, then `parse` the answer there too (big answers are not parsed on
    /// tokio's workers). `not_found` turns the matching `success: false` answers into `Ok(None)`. Endpoints
    /// call this through `ask` and `find` (endpoint.rs).
    async fn call<T: Send + 'static>(
        &self,
        service: Service,
        endpoint: &'static str,
        body: Value,
        retry: Retry,
        not_found: impl Fn(&ChainError) -> bool + Send + 'static,
        parse: impl FnOnce(Map<String, Value>) -> Result<T, FieldError> + Send + 'static,
    ) -> Result<Option<T>, ChainError> {
        let rpc = Arc::clone(match service {
            Service::Node => &self.inner.node,
            Service::Wallet => &self.inner.wallet,
        });
        self.inner
            .pool
            .run(move || match rpc.call(endpoint, &body, retry) {
                Ok(answer) => parse(answer)
                    .map(Some)
                    .map_err(|e| ChainError::bad_response(service, endpoint, e.to_string())),
                Err(e) if not_found(&e) => Ok(None),
                Err(e) => Err(e),
            })
            .await?
    }

    fn node_url(&self) -> &str {
        self.inner.node.url()
    }

    fn wallet_url(&self) -> &str {
        self.inner.wallet.url()
    }
}
