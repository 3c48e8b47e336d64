//! Deadlines of one connection that hyper alone does not keep: a connection with no request in progress is
//! closed once it has been quiet for too long — `first` before its first request (also bounding headers sent
//! slowly, byte by byte), `idle` between requests of a kept-alive connection, and after a response its client
//! does not read. The request body has its own deadline (routes), and the TLS handshake too (server).
//! When the server is full, the open connection quiet the longest is closed to make room for a new one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// What a connection is doing, updated by its service as requests start and end.
pub struct Activity {
    start: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `start` when the last request ended (or the connection began).
    quiet_since_ms: AtomicU64,
    served: AtomicBool,
}

/// Marks a request in progress until dropped.
pub struct Busy(Arc<Activity>);

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            quiet_since_ms: AtomicU64::new(0),
            served: AtomicBool::new(false),
        })
    }

    pub fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.served.store(true, Ordering::SeqCst);
        Busy(Arc::clone(self))
    }

    /// Since when the connection has been quiet; None while a request is in progress.
    fn quiet_since(&self) -> Option<Instant> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        Some(self.start + Duration::from_millis(self.quiet_since_ms.load(Ordering::SeqCst)))
    }

    /// Resolves when the connection has had no request in progress for longer than its limit.
    pub async fn expired(&self, first: Duration, idle: Duration) {
        loop {
            let limit = if self.served.load(Ordering::SeqCst) {
                idle
            } else {
                first
            };
            if self.in_flight.load(Ordering::SeqCst) > 0 {
                // A request is being handled (its body has its own deadline): look again later.
                tokio::time::sleep(limit).await;
                continue;
            }
            let quiet_since =
                self.start + Duration::from_millis(self.quiet_since_ms.load(Ordering::SeqCst));
            let deadline = quiet_since + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let ms = u64::try_from(self.0.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.quiet_since_ms.store(ms, Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The open connections, so that a full server can close the one quiet the longest.
#[derive(Default)]
pub struct Registry {
    next: AtomicU64,
    open: Mutex<HashMap<u64, Entry>>,
}

/// What the registry keeps of a connection: what it is doing, and how to tell it to close.
type Entry = (Arc<Activity>, Arc<Notify>);

/// One open connection's place in the registry, given back when dropped.
pub struct Registration {
    registry: Arc<Registry>,
    id: u64,
    pub activity: Arc<Activity>,
    /// Notified when the connection is to close to make room.
    pub evicted: Arc<Notify>,
}

impl Registry {
    pub fn register(self: &Arc<Self>) -> Registration {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let activity = Activity::new();
        let evicted = Arc::new(Notify::new());
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, (Arc::clone(&activity), Arc::clone(&evicted)));
        Registration {
            registry: Arc::clone(self),
            id,
            activity,
            evicted,
        }
    }

    /// Tells the connection quiet the longest (no request in progress) to close; false if none is quiet.
    pub fn evict_quietest(&self) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let quietest = open
            .iter()
            .filter_map(|(id, (activity, _))| activity.quiet_since().map(|t| (t, *id)))
            .min()
            .map(|(_, id)| id);
        match quietest.and_then(|id| open.remove(&id)) {
            Some((_, evicted)) => {
                evicted.notify_one();
                true
            }
            None => false,
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn quiet_connections_expire_busy_ones_do_not() {
        let first = Duration::from_secs(10);
        let idle = Duration::from_secs(5);
        let a = Activity::new();
        let t0 = Instant::now();
        a.expired(first, idle).await;
        assert_eq!(
            t0.elapsed(),
            first,
            "no request: the first-request deadline"
        );

        let a = Activity::new();
        let busy = a.begin();
        let watcher = {
            let a = Arc::clone(&a);
            tokio::spawn(async move { a.expired(first, idle).await })
        };
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!watcher.is_finished(), "a request in progress is not idle");
        drop(busy);
        let t1 = Instant::now();
        watcher.await.unwrap();
        assert!(
            t1.elapsed() >= idle && t1.elapsed() <= idle + first,
            "closed after the keep-alive idle time: {:?}",
            t1.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_quietest_connection_makes_room() {
        let registry = Arc::new(Registry::default());
        let old = registry.register();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let busy = registry.register();
        let _request = busy.activity.begin();
        let young = registry.register();
        assert!(registry.evict_quietest());
        // The oldest quiet one was told (a stored notification completes at once).
        tokio::time::timeout(Duration::from_millis(1), old.evicted.notified())
            .await
            .expect("the oldest quiet connection is evicted");
        assert!(registry.evict_quietest(), "then the younger quiet one");
        tokio::time::timeout(Duration::from_millis(1), young.evicted.notified())
            .await
            .expect("evicted");
        assert!(
            !registry.evict_quietest(),
            "a connection in a request is never evicted"
        );
    }
}
