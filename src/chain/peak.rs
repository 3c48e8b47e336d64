//! The peak, polled once per `peak_poll_interval` in the background so that readers never wait on the node.

use std::sync::{Mutex, Weak};
use std::time::SystemTime;

use chia_protocol::Bytes32;
use tokio::sync::watch;

use super::error::{ChainError, Service};
use super::{ChainClient, Inner};

/// What a partial check needs from the node's peak.
#[derive(Debug, Clone, PartialEq)]
pub struct PeakInfo {
    pub height: u32,
    /// The latest transaction block's height as the farmer computes it (pool-protocol §8.2.3): the peak's own
    /// height if it is a transaction block, else its `prev_transaction_block_height`.
    pub prev_tx_height: u32,
    pub sub_slot_iters: u64,
    pub difficulty: u64,
    pub synced: bool,
    pub sync_tip_height: u32,
    pub header_hash: Bytes32,
    /// Present if the peak is a transaction block.
    pub timestamp: Option<u64>,
    /// When this answer came in (local clock).
    pub fetched_at: SystemTime,
}

/// The poller's health, for `check` and the status page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PeakStatus {
    pub peak: Option<PeakInfo>,
    pub last_success: Option<SystemTime>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
}

pub(crate) struct PeakState {
    sender: watch::Sender<Option<PeakInfo>>,
    health: Mutex<PeakStatus>,
    /// Serialises fetches made before the first poll, so that they share one request.
    first_fetch: tokio::sync::Mutex<()>,
}

impl PeakState {
    pub(crate) fn new() -> Self {
        Self {
            sender: watch::Sender::new(None),
            health: Mutex::new(PeakStatus::default()),
            first_fetch: tokio::sync::Mutex::new(()),
        }
    }
}

/// The background poller; dropping it (or `stop`) ends the poll loop.
#[must_use = "the poller stops when this is dropped"]
pub struct BackgroundTask {
    handle: tokio::task::JoinHandle<()>,
}

impl BackgroundTask {
    pub fn stop(self) {}

    /// Whether the poller ended (it only does by panicking while the client lives).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

impl Drop for BackgroundTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl ChainClient {
    /// The last peak the poller saw, without touching the node.
    pub fn peak(&self) -> Option<PeakInfo> {
        self.inner.peak.sender.borrow().clone()
    }

    /// Notified once per new peak (new block, or a change of sync state or sub-slot iterations).
    pub fn subscribe_peak(&self) -> watch::Receiver<Option<PeakInfo>> {
        self.inner.peak.sender.subscribe()
    }

    pub fn peak_status(&self) -> PeakStatus {
        let mut status = self
            .inner
            .peak
            .health
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default();
        status.peak = self.peak();
        status
    }

    /// The peak if it is fresh and the node synced; otherwise the reason why not, as a typed error.
    pub fn synced_peak(&self) -> Result<PeakInfo, ChainError> {
        let peak = self.peak().ok_or(ChainError::NoPeak {
            service: Service::Node,
        })?;
        let age = SystemTime::now()
            .duration_since(peak.fetched_at)
            .unwrap_or_default();
        // Ten missed polls: the node is gone or hung, and the peak may be far behind.
        let limit = self.config().peak_poll_interval * 10;
        if age > limit {
            return Err(ChainError::PeakStale {
                age_secs: age.as_secs(),
                last_error: self.peak_status().last_error,
            });
        }
        if !peak.synced {
            return Err(ChainError::NotSynced {
                service: Service::Node,
                detail: Some(format!(
                    "peak {} of sync tip {}",
                    peak.height, peak.sync_tip_height
                )),
            });
        }
        Ok(peak)
    }

    /// The cached peak, or, before the poller has one, a fetch shared by all concurrent callers.
    pub(crate) async fn peak_or_fetch(&self) -> Result<PeakInfo, ChainError> {
        if let Some(peak) = self.peak() {
            return Ok(peak);
        }
        let _one_at_a_time = self.inner.peak.first_fetch.lock().await;
        if let Some(peak) = self.peak() {
            return Ok(peak);
        }
        self.refresh_peak().await?.ok_or(ChainError::NoPeak {
            service: Service::Node,
        })
    }

    /// Asks the node for its state now and updates the cached peak (the poller calls this).
    pub async fn refresh_peak(&self) -> Result<Option<PeakInfo>, ChainError> {
        let result = self.blockchain_state().await;
        let mut health = self
            .inner
            .peak
            .health
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let state = match result {
            Ok(state) => state,
            Err(e) => {
                if health.consecutive_failures == 0 {
                    tracing::warn!(error = %e, "full node state unavailable");
                }
                health.consecutive_failures = health.consecutive_failures.saturating_add(1);
                health.last_error = Some(e.to_string());
                return Err(e);
            }
        };
        if health.consecutive_failures > 0 {
            tracing::info!("full node answers again");
        }
        let now = SystemTime::now();
        health.consecutive_failures = 0;
        health.last_success = Some(now);
        drop(health);
        let Some(block) = state.peak else {
            return Ok(None);
        };
        let peak = PeakInfo {
            height: block.height,
            prev_tx_height: block.last_tx_height(),
            sub_slot_iters: state.sub_slot_iters,
            difficulty: state.difficulty,
            synced: state.synced,
            sync_tip_height: state.sync_tip_height,
            header_hash: block.header_hash,
            timestamp: block.timestamp,
            fetched_at: now,
        };
        let fresh = peak.clone();
        self.inner.peak.sender.send_if_modified(|current| {
            let changed = current.as_ref().is_none_or(|c| {
                (c.header_hash, c.synced, c.sub_slot_iters)
                    != (peak.header_hash, peak.synced, peak.sub_slot_iters)
            });
            if changed {
                tracing::debug!(height = peak.height, synced = peak.synced, "new peak");
            }
            *current = Some(peak);
            changed
        });
        Ok(Some(fresh))
    }

    /// Spawns the peak poller (which also prunes the signage point cache) on the current tokio runtime.
    /// The poller holds no strong reference: it ends when the last `ChainClient` clone is dropped.
    pub fn start_background(&self) -> Result<BackgroundTask, ChainError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| ChainError::Runtime("start_background needs a tokio runtime".into()))?;
        let weak = std::sync::Arc::downgrade(&self.inner);
        let handle = runtime.spawn(poll_loop(weak));
        Ok(BackgroundTask { handle })
    }
}

async fn poll_loop(weak: Weak<Inner>) {
    let mut constants_loaded = false;
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let client = ChainClient { inner };
        let interval = client.config().peak_poll_interval;
        if client.refresh_peak().await.is_ok() && !constants_loaded {
            // Warm the constants so that the first partial does not pay for them.
            constants_loaded = client.constants().await.is_ok();
        }
        client.signage_points().prune();
        drop(client);
        tokio::time::sleep(interval).await;
    }
}
