//! Signage points and end of sub-slots with what a partial check needs, read through from the node.
//!
//! The node only answers lookups by hash (`get_recent_signage_point_or_eos`), so this is a read-through cache:
//! the first partial for a signage point fetches it (concurrent ones share that fetch), every later partial
//! reads memory. End-of-slot records are cached per slot: they give a slot's sub-slot iterations and the
//! chain of slot challenges C_n → C_{n-1} → C_{n-2} that the v2 plot filter needs.

use std::time::{Duration, Instant, SystemTime};

use chia_protocol::Bytes32;

use super::error::{ChainError, Service};
use super::flight::Flights;
use super::ChainClient;

/// Entries kept at most (the node itself keeps 500 signage points and 50 end of slots).
const SP_CAPACITY: usize = 4096;
const SLOT_CAPACITY: usize = 512;
/// Retries of a not-yet-known signage point start this far apart and double up to one second.
const FIRST_RETRY: Duration = Duration::from_millis(250);
const MAX_RETRY: Duration = Duration::from_secs(1);

/// A signage point (or end of sub-slot) as a partial check uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpInfo {
    /// The farmer's `sp_hash`; for an end of sub-slot the challenge of the slot it opened.
    pub sp_hash: Bytes32,
    /// The slot challenge C_n (equal to `sp_hash` for an end of sub-slot).
    pub challenge_hash: Bytes32,
    /// 0 for an end of sub-slot, else 1..NUM_SPS_SUB_SLOT-1.
    pub signage_point_index: u8,
    /// The v2 plot filter challenge (C_{n-1} for index ≥ 16, C_{n-2} below); `None` when the node no longer
    /// has the earlier slots (or near genesis), which makes v2 proofs unverifiable.
    pub filter_challenge: Option<Bytes32>,
    /// When the node received it: node clock, unix seconds.
    pub time_received: f64,
    /// When this cache first learned of it.
    pub first_seen_local: SystemTime,
    /// No longer on the node's chain (a reorg); as of the last fetch (`recheck` refreshes it).
    pub reverted: bool,
    pub end_of_sub_slot: bool,
    /// Sub-slot iterations of its slot (the slot's end-of-slot value, else the peak's).
    pub sub_slot_iters: u64,
    /// The reward chain challenge the signage point follows (`None` for an end of sub-slot).
    pub rc_challenge: Option<Bytes32>,
    /// Its iterations into the sub-slot (0 for an end of sub-slot).
    pub cc_iterations: u64,
}

/// What an end of sub-slot says about the slot it opened.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SlotInfo {
    /// C_{n-1}: the challenge of the slot this end of sub-slot finished.
    prev_challenge: Bytes32,
    new_sub_slot_iters: Option<u64>,
    time_received: f64,
    reverted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SpKey {
    hash: Bytes32,
    end_of_sub_slot: bool,
}

#[derive(Default)]
pub(crate) struct SpState {
    points: Flights<SpKey, SpInfo>,
    slots: Flights<Bytes32, SlotInfo>,
}

impl SpState {
    pub(crate) fn sizes(&self) -> (usize, usize) {
        (self.points.len(), self.slots.len())
    }
}

/// Handle to the client's signage point cache (cheap to clone).
#[derive(Clone)]
pub struct SignagePointCache {
    client: ChainClient,
}

impl ChainClient {
    pub fn signage_points(&self) -> SignagePointCache {
        SignagePointCache {
            client: self.clone(),
        }
    }
}

impl SignagePointCache {
    /// The signage point (or, with `end_of_sub_slot`, the end of sub-slot whose challenge is `sp_hash`).
    /// A point the node does not know yet is retried for up to `sp_wait` (the node may lag the farmer), without
    /// blocking anything else; `Ok(None)` means it still was not there. Takes at most `sp_lookup_timeout`.
    pub async fn lookup(
        &self,
        sp_hash: Bytes32,
        end_of_sub_slot: bool,
    ) -> Result<Option<SpInfo>, ChainError> {
        self.bounded(self.wait_for(sp_hash, end_of_sub_slot)).await
    }

    async fn wait_for(
        &self,
        sp_hash: Bytes32,
        end_of_sub_slot: bool,
    ) -> Result<Option<SpInfo>, ChainError> {
        let deadline = Instant::now() + self.client.config().sp_wait;
        let mut pause = FIRST_RETRY;
        loop {
            if let Some(info) = self.get(sp_hash, end_of_sub_slot, false).await? {
                return Ok(Some(info));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(MAX_RETRY);
        }
    }

    /// One try: the cache, else one (shared) node lookup.
    pub async fn lookup_once(
        &self,
        sp_hash: Bytes32,
        end_of_sub_slot: bool,
    ) -> Result<Option<SpInfo>, ChainError> {
        self.bounded(self.get(sp_hash, end_of_sub_slot, false))
            .await
    }

    /// Gives up after `sp_lookup_timeout`; a node fetch under way goes on and fills the cache.
    async fn bounded<T>(
        &self,
        lookup: impl std::future::Future<Output = Result<T, ChainError>>,
    ) -> Result<T, ChainError> {
        let limit = self.client.config().sp_lookup_timeout;
        tokio::time::timeout(limit, lookup)
            .await
            .map_err(|_| ChainError::Timeout {
                service: Service::Node,
                endpoint: "get_recent_signage_point_or_eos".into(),
                after: limit,
            })?
    }

    /// Asks the node again (for confirming partials later): `reverted` and `time_received` are refreshed and
    /// the cache updated. `Ok(None)` if the node no longer has it.
    pub async fn recheck(
        &self,
        sp_hash: Bytes32,
        end_of_sub_slot: bool,
    ) -> Result<Option<SpInfo>, ChainError> {
        let key = SpKey {
            hash: sp_hash,
            end_of_sub_slot,
        };
        let first_seen = self
            .cached(sp_hash, end_of_sub_slot)
            .map(|i| i.first_seen_local);
        let fresh = self
            .bounded(self.get(sp_hash, end_of_sub_slot, true))
            .await?;
        match (fresh, first_seen) {
            (Some(mut info), Some(first)) => {
                info.first_seen_local = first;
                self.client
                    .inner
                    .signage
                    .points
                    .update(&key, |cached| cached.first_seen_local = first);
                Ok(Some(info))
            }
            (fresh, _) => Ok(fresh),
        }
    }

    /// What the cache holds, with no node call.
    pub fn cached(&self, sp_hash: Bytes32, end_of_sub_slot: bool) -> Option<SpInfo> {
        self.client
            .inner
            .signage
            .points
            .peek(&SpKey {
                hash: sp_hash,
                end_of_sub_slot,
            })
            .flatten()
    }

    /// Drops entries older than the node's own cache lifetime (the poller calls this).
    pub fn prune(&self) {
        let config = self.client.config();
        let state = &self.client.inner.signage;
        state.points.prune(config.sp_max_age, SP_CAPACITY);
        state.slots.prune(config.slot_max_age, SLOT_CAPACITY);
    }

    pub fn len(&self) -> usize {
        self.client.inner.signage.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    async fn get(
        &self,
        sp_hash: Bytes32,
        end_of_sub_slot: bool,
        refresh: bool,
    ) -> Result<Option<SpInfo>, ChainError> {
        let key = SpKey {
            hash: sp_hash,
            end_of_sub_slot,
        };
        let client = self.client.clone();
        let ttl = client.config().sp_negative_ttl;
        self.client
            .inner
            .signage
            .points
            .get(key, refresh, ttl, move || fetch_point(client, key, refresh))
            .await
    }
}

async fn fetch_point(
    client: ChainClient,
    key: SpKey,
    refresh: bool,
) -> Result<Option<SpInfo>, ChainError> {
    let first_seen_local = SystemTime::now();
    if key.end_of_sub_slot {
        let Some(slot) = slot(&client, key.hash, refresh).await? else {
            return Ok(None);
        };
        let sub_slot_iters = match slot.new_sub_slot_iters {
            Some(ssi) => ssi,
            None => peak_sub_slot_iters(&client).await?,
        };
        let filter_challenge = filter_challenge(&client, key.hash, 0, Some(&slot)).await?;
        return Ok(Some(SpInfo {
            sp_hash: key.hash,
            challenge_hash: key.hash,
            signage_point_index: 0,
            filter_challenge,
            time_received: slot.time_received,
            first_seen_local,
            reverted: slot.reverted,
            end_of_sub_slot: true,
            sub_slot_iters,
            rc_challenge: None,
            cc_iterations: 0,
        }));
    }

    let Some(record) = client.signage_point(key.hash).await? else {
        return Ok(None);
    };
    let challenge = record.cc_vdf.challenge;
    let slot_n = slot(&client, challenge, false).await?;
    let sub_slot_iters = match slot_n.as_ref().and_then(|s| s.new_sub_slot_iters) {
        Some(ssi) => ssi,
        None => peak_sub_slot_iters(&client).await?,
    };
    let constants = client.constants().await?;
    let sps = u64::from(constants.num_sps_sub_slot);
    let interval = sub_slot_iters / sps;
    let iterations = record.cc_vdf.number_of_iterations;
    // The node stores a signage point only if its iterations are exactly index × (ssi / 64).
    let index = (interval > 0 && iterations % interval == 0)
        .then(|| iterations / interval)
        .filter(|i| (1..sps).contains(i))
        .and_then(|i| u8::try_from(i).ok())
        .ok_or_else(|| {
            ChainError::bad_response(
                Service::Node,
                "get_recent_signage_point_or_eos",
                format!(
                    "signage point {} has {iterations} iterations, not a multiple of {sub_slot_iters}/{sps} \
                     in 1..{sps}",
                    key.hash
                ),
            )
        })?;
    let filter_challenge = filter_challenge(&client, challenge, index, slot_n.as_ref()).await?;
    Ok(Some(SpInfo {
        sp_hash: key.hash,
        challenge_hash: challenge,
        signage_point_index: index,
        filter_challenge,
        time_received: record.time_received,
        first_seen_local,
        reverted: record.reverted,
        end_of_sub_slot: false,
        sub_slot_iters,
        rc_challenge: Some(record.rc_challenge),
        cc_iterations: iterations,
    }))
}

/// The end of sub-slot that opened the slot with challenge `challenge`, cached per slot.
async fn slot(
    client: &ChainClient,
    challenge: Bytes32,
    refresh: bool,
) -> Result<Option<SlotInfo>, ChainError> {
    let fetcher = client.clone();
    let ttl = client.config().sp_negative_ttl;
    client
        .inner
        .signage
        .slots
        .get(challenge, refresh, ttl, move || async move {
            let record = fetcher.end_of_sub_slot(challenge).await?;
            Ok(record.map(|r| SlotInfo {
                prev_challenge: r.challenge_chain.challenge_chain_end_of_slot_vdf.challenge,
                new_sub_slot_iters: r.challenge_chain.new_sub_slot_iters,
                time_received: r.time_received,
                reverted: r.reverted,
            }))
        })
        .await
}

/// The node's `get_filter_challenge`: window 0 (index < FILTER_WINDOW_SIZE) uses C_{n-2}, later windows C_{n-1}.
async fn filter_challenge(
    client: &ChainClient,
    challenge: Bytes32,
    index: u8,
    slot_n: Option<&SlotInfo>,
) -> Result<Option<Bytes32>, ChainError> {
    let constants = client.constants().await?;
    let genesis = constants.genesis_challenge;
    let Some(slot_n) = slot_n.filter(|_| challenge != genesis) else {
        return Ok(None);
    };
    if index >= constants.filter_window_size {
        return Ok(Some(slot_n.prev_challenge));
    }
    if slot_n.prev_challenge == genesis {
        return Ok(None);
    }
    Ok(slot(client, slot_n.prev_challenge, false)
        .await?
        .map(|prev| prev.prev_challenge))
}

/// The current sub-slot iterations: from the poller's peak, else asked now (once for all callers).
async fn peak_sub_slot_iters(client: &ChainClient) -> Result<u64, ChainError> {
    Ok(client.peak_or_fetch().await?.sub_slot_iters)
}
