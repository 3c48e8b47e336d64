//! Cheap refusals in front of expensive work, so that no cheap request buys pairings, proof checks or node
//! calls: short-lived memories of answers already worked out (no PlotNFT at a launcher, unknown signage
//! points per launcher, proofs already checked), answers shared per launcher and block (`PerBlock`: a v1
//! registration's chain walk) and a bounded pool for signature checks that answers "busy" instead of
//! queueing without end.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::chia::messages::PoolErrorCode;

use super::PoolError;

/// Entries each memory holds at most; past that, expired ones are dropped, and if none are, all are.
const MAX_ENTRIES: usize = 100_000;

/// A map whose entries expire `ttl` after they were written.
pub struct Recent<K, V> {
    ttl: Duration,
    map: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        Self::make_room(&mut map, self.ttl);
        map.insert(key, (Instant::now(), value));
    }

    /// Applies `change` to the live value (or `fresh` when there is none) and returns it; the entry keeps
    /// the time it was first written, so a window does not slide while it is being counted.
    pub fn update(&self, key: K, fresh: V, change: impl FnOnce(&mut V)) -> V {
        self.update_with(key, fresh, |v| {
            change(v);
            v.clone()
        })
    }

    /// As `update`, returning what `change` returns.
    pub fn update_with<R>(&self, key: K, fresh: V, change: impl FnOnce(&mut V) -> R) -> R {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        Self::make_room(&mut map, self.ttl);
        let ttl = self.ttl;
        let entry = map
            .entry(key)
            .or_insert_with(|| (Instant::now(), fresh.clone()));
        if entry.0.elapsed() >= ttl {
            *entry = (Instant::now(), fresh);
        }
        change(&mut entry.1)
    }

    fn make_room(map: &mut HashMap<K, (Instant, V)>, ttl: Duration) {
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
    }
}

/// Answers worked out once per key and chain height and shared by everyone who asks meanwhile (single
/// flight): concurrent requests for one launcher cost one chain walk, and repeats cost none until a new block
/// could change the answer.
pub struct PerBlock<K, V> {
    recent: Recent<K, (Option<u32>, Arc<tokio::sync::OnceCell<V>>)>,
}

impl<K: Eq + Hash, V: Clone> PerBlock<K, V> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            recent: Recent::new(ttl),
        }
    }

    /// The answer for `key` at chain `height`, worked out by `work` if nobody has yet. `work`'s `Err` is a
    /// passing failure (the node unreachable): it is handed back and not kept, and the next asker works again.
    pub async fn get_or_work<E, F, Fut>(&self, key: K, height: Option<u32>, work: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        let cell = self
            .recent
            .update_with(key, (height, Arc::default()), |(at, cell)| {
                if *at != height {
                    *at = height;
                    *cell = Arc::default();
                }
                Arc::clone(cell)
            });
        cell.get_or_try_init(work).await.cloned()
    }
}

/// One launcher's node lookups of signage points the pool had not cached, over a window of about a block.
///
/// A fresh signage point is unknown to the cache until its first partial asks, and a farmer with many plots
/// sends several proofs for it at once: those share one (single-flight) node call and must all get through.
/// What is bounded is the number of *distinct* unknown points a launcher makes the node look up, in flight or
/// not found, which is what random `sp_hash` values would cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpLookups {
    in_flight: Vec<[u8; 32]>,
    not_found: u32,
}

impl SpLookups {
    /// May this launcher look up `sp_hash` now? Joining a lookup already in flight is always allowed.
    pub fn admit(&mut self, sp_hash: [u8; 32], limit: u32) -> bool {
        if self.in_flight.contains(&sp_hash) {
            return true;
        }
        let used = self.not_found.saturating_add(self.in_flight.len() as u32);
        if used >= limit {
            return false;
        }
        self.in_flight.push(sp_hash);
        true
    }

    /// The lookup of `sp_hash` ended; a point the node did not have keeps using up the allowance.
    pub fn finish(&mut self, sp_hash: [u8; 32], found: bool) {
        if let Some(at) = self.in_flight.iter().position(|h| *h == sp_hash) {
            self.in_flight.swap_remove(at);
            if !found {
                self.not_found = self.not_found.saturating_add(1);
            }
        }
    }
}

/// What is known of a proof recently sent (keyed by a hash of the proof and its signage point).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofSeen {
    /// The proof checked out with this quality string; the signature has not yet.
    Checked(chia_protocol::Bytes32),
    /// Accepted and recorded: a resend is a duplicate.
    Accepted,
    /// The proof checked out but came with this many bad signatures.
    BadSignatures(chia_protocol::Bytes32, u32),
}

impl ProofSeen {
    fn quality(&self) -> Option<chia_protocol::Bytes32> {
        match self {
            Self::Checked(q) | Self::BadSignatures(q, _) => Some(*q),
            Self::Accepted => None,
        }
    }
}

/// Bad signatures one proof may come with before further resends of it are refused unchecked (an honest
/// farmer's signature never fails; a resend with a new bad signature would spoil a whole batch).
const BAD_SIGNATURES_ALLOWED: u32 = 2;

/// Identifies a proof at its signage point: the same key means the same proof check.
pub fn proof_key(
    pos: &chia_protocol::ProofOfSpace,
    sp_hash: &chia_protocol::Bytes32,
    end_of_sub_slot: bool,
) -> [u8; 32] {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(chia_traits::Streamable::to_bytes(pos).unwrap_or_default());
    hasher.update(sp_hash);
    hasher.update([u8::from(end_of_sub_slot)]);
    hasher.finalize().into()
}

/// Refuses a resend without any work; otherwise the quality string already computed for it, if any.
pub fn screen_resend(
    seen: Option<&ProofSeen>,
) -> Result<Option<chia_protocol::Bytes32>, PoolError> {
    match seen {
        Some(ProofSeen::Accepted) => Err(duplicate()),
        Some(ProofSeen::BadSignatures(_, n)) if *n >= BAD_SIGNATURES_ALLOWED => {
            Err(PoolError::new(
                PoolErrorCode::InvalidSignature,
                "this proof was sent with bad signatures several times; it is no longer checked",
            ))
        }
        other => Ok(other.and_then(ProofSeen::quality)),
    }
}

pub fn note_bad_signature(
    proofs: &Recent<[u8; 32], ProofSeen>,
    key: [u8; 32],
    quality: chia_protocol::Bytes32,
) {
    proofs.update(key, ProofSeen::BadSignatures(quality, 0), |seen| {
        *seen = match seen {
            ProofSeen::BadSignatures(q, n) => ProofSeen::BadSignatures(*q, *n + 1),
            _ => ProofSeen::BadSignatures(quality, 1),
        }
    });
}

pub fn duplicate() -> PoolError {
    PoolError::new(
        PoolErrorCode::RequestFailed,
        "duplicate partial: this proof was already accepted and counts once",
    )
}

/// CPU work (pairings) on tokio's blocking threads, at most `capacity` at once (running or waiting);
/// beyond that the request is answered "busy" at once.
#[derive(Clone)]
pub struct CpuGate {
    permits: Arc<Semaphore>,
}

impl CpuGate {
    pub fn new(capacity: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(capacity.max(1))),
        }
    }

    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let permit = Arc::clone(&self.permits)
            .try_acquire_owned()
            .map_err(|_| busy())?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| PoolError::internal("a signature check failed", e))
    }
}

/// The answer when a bounded queue is full: the farmer retries later.
pub fn busy() -> PoolError {
    PoolError::new(
        PoolErrorCode::ServerException,
        "the pool is busy; try again in a few seconds",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_proofs_for_one_fresh_signage_point_all_get_through() {
        let mut s = SpLookups::default();
        let fresh = [7; 32];
        for _ in 0..20 {
            assert!(
                s.admit(fresh, 3),
                "proofs of one signage point share its lookup"
            );
        }
        s.finish(fresh, true);
        assert_eq!(s, SpLookups::default(), "a found point costs nothing");
    }

    #[test]
    fn distinct_unknown_signage_points_are_bounded() {
        let mut s = SpLookups::default();
        assert!(s.admit([1; 32], 3));
        assert!(s.admit([2; 32], 3));
        assert!(s.admit([3; 32], 3));
        assert!(
            !s.admit([4; 32], 3),
            "a fourth distinct point while three are in flight"
        );
        s.finish([1; 32], true);
        assert!(s.admit([4; 32], 3), "a found point frees its place");
        s.finish([2; 32], false);
        s.finish([3; 32], false);
        s.finish([4; 32], false);
        assert!(
            !s.admit([5; 32], 3),
            "three points the node did not have use up the window"
        );
        assert!(
            !s.admit([2; 32], 3),
            "a point not found is not looked up again in the window"
        );
    }

    #[test]
    fn entries_expire_and_windows_count() {
        let recent: Recent<u8, u32> = Recent::new(Duration::from_millis(50));
        recent.insert(1, 7);
        assert_eq!(recent.get(&1), Some(7));
        assert_eq!(recent.update(2, 0, |n| *n += 1), 1);
        assert_eq!(recent.update(2, 0, |n| *n += 1), 2);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(recent.get(&1), None);
        assert_eq!(recent.update(2, 0, |n| *n += 1), 1, "a new window");
    }

    #[test]
    fn resends_are_screened() {
        let proofs: Recent<[u8; 32], ProofSeen> = Recent::new(Duration::from_secs(60));
        let q = chia_protocol::Bytes32::new([3; 32]);
        assert_eq!(screen_resend(None), Ok(None));
        proofs.insert([1; 32], ProofSeen::Checked(q));
        assert_eq!(screen_resend(proofs.get(&[1; 32]).as_ref()), Ok(Some(q)));
        note_bad_signature(&proofs, [1; 32], q);
        assert_eq!(screen_resend(proofs.get(&[1; 32]).as_ref()), Ok(Some(q)));
        note_bad_signature(&proofs, [1; 32], q);
        let refused = screen_resend(proofs.get(&[1; 32]).as_ref()).unwrap_err();
        assert_eq!(refused.code, PoolErrorCode::InvalidSignature);
        proofs.insert([2; 32], ProofSeen::Accepted);
        assert_eq!(
            screen_resend(proofs.get(&[2; 32]).as_ref()),
            Err(duplicate())
        );
    }

    #[tokio::test]
    async fn gate_answers_busy_when_full() {
        let gate = CpuGate::new(1);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let held = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.run(move || rx.recv().is_ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = gate.run(|| ()).await.unwrap_err();
        assert_eq!(refused.code, PoolErrorCode::ServerException);
        assert!(refused.message.contains("busy"));
        tx.send(()).unwrap();
        assert!(held.await.unwrap().unwrap());
        assert!(gate.run(|| 1).await.is_ok());
    }
}
