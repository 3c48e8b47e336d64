//! A read-through cache with single-flight: concurrent lookups of one key share one fetch, answers are kept
//! until pruned, "not found" is kept for a short time, errors are not kept.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::error::ChainError;

type Outcome<V> = Result<Option<V>, ChainError>;

enum Slot<V> {
    Found { value: V, stored: Instant },
    Missing { until: Instant },
    Pending(watch::Receiver<Option<Outcome<V>>>),
}

pub(crate) struct Flights<K, V> {
    map: Arc<Mutex<HashMap<K, Slot<V>>>>,
}

impl<K, V> Default for Flights<K, V> {
    fn default() -> Self {
        Self {
            map: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

fn lock<K, V>(map: &Mutex<HashMap<K, Slot<V>>>) -> MutexGuard<'_, HashMap<K, Slot<V>>> {
    // The map is consistent after every statement, so a panic elsewhere does not poison its meaning.
    map.lock().unwrap_or_else(|e| e.into_inner())
}

impl<K, V> Flights<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The cached answer without fetching: `Some(Some(v))` found, `Some(None)` recently not found.
    pub(crate) fn peek(&self, key: &K) -> Option<Option<V>> {
        match lock(&self.map).get(key) {
            Some(Slot::Found { value, .. }) => Some(Some(value.clone())),
            Some(Slot::Missing { until }) if *until > Instant::now() => Some(None),
            _ => None,
        }
    }

    /// The cached answer, or the answer of a fetch (started here, or joined if one is running).
    /// With `refresh` a cached answer is ignored. The fetch runs as its own task, so it completes and fills
    /// the cache even if every caller gives up.
    pub(crate) async fn get<F, Fut>(
        &self,
        key: K,
        refresh: bool,
        negative_ttl: Duration,
        fetch: F,
    ) -> Outcome<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Outcome<V>> + Send + 'static,
    {
        let mut receiver = {
            let mut map = lock(&self.map);
            match map.get(&key) {
                Some(Slot::Found { value, .. }) if !refresh => return Ok(Some(value.clone())),
                Some(Slot::Missing { until }) if !refresh && *until > Instant::now() => {
                    return Ok(None)
                }
                // A fetch whose task died (runtime shutting down) leaves a closed channel: start another.
                Some(Slot::Pending(receiver)) if receiver.has_changed().is_ok() => receiver.clone(),
                _ => {
                    let (sender, receiver) = watch::channel(None);
                    map.insert(key.clone(), Slot::Pending(receiver.clone()));
                    let future = fetch();
                    let cache = Arc::clone(&self.map);
                    tokio::spawn(async move {
                        let outcome = future.await;
                        {
                            let mut map = lock(&cache);
                            match &outcome {
                                Ok(Some(value)) => {
                                    map.insert(
                                        key,
                                        Slot::Found {
                                            value: value.clone(),
                                            stored: Instant::now(),
                                        },
                                    );
                                }
                                Ok(None) => {
                                    map.insert(
                                        key,
                                        Slot::Missing {
                                            until: Instant::now() + negative_ttl,
                                        },
                                    );
                                }
                                Err(_) => {
                                    map.remove(&key);
                                }
                            }
                        }
                        sender.send_replace(Some(outcome));
                    });
                    receiver
                }
            }
        };
        let outcome = receiver.wait_for(Option::is_some).await.map_err(|_| {
            ChainError::Runtime("a node lookup was cancelled (runtime shutting down?)".into())
        })?;
        match &*outcome {
            Some(result) => result.clone(),
            None => Err(ChainError::Runtime(
                "a node lookup ended without an answer".into(),
            )),
        }
    }

    /// Replaces a found answer in place (used to keep the first-seen time across rechecks).
    pub(crate) fn update(&self, key: &K, change: impl FnOnce(&mut V)) {
        if let Some(Slot::Found { value, .. }) = lock(&self.map).get_mut(key) {
            change(value);
        }
    }

    /// Drops answers stored longer than `max_age` ago and expired "not found" marks; if still more than
    /// `capacity` entries remain, drops the oldest answers.
    pub(crate) fn prune(&self, max_age: Duration, capacity: usize) {
        let now = Instant::now();
        let mut map = lock(&self.map);
        map.retain(|_, slot| match slot {
            Slot::Found { stored, .. } => now.duration_since(*stored) <= max_age,
            Slot::Missing { until } => *until > now,
            Slot::Pending(_) => true,
        });
        if map.len() > capacity {
            let mut ages: Vec<(Instant, K)> = map
                .iter()
                .filter_map(|(k, slot)| match slot {
                    Slot::Found { stored, .. } => Some((*stored, k.clone())),
                    _ => None,
                })
                .collect();
            ages.sort_by_key(|(stored, _)| *stored);
            let excess = map.len() - capacity;
            for (_, key) in ages.into_iter().take(excess) {
                map.remove(&key);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.map).len()
    }
}
