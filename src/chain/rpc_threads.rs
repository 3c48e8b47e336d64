//! The threads that run blocking HTTPS calls, so that no tokio worker ever waits on the network.
//!
//! A fixed set of named std threads fed by one queue rather than `spawn_blocking`: the calls do not compete
//! with proof verification for tokio's blocking pool, the number of concurrent node connections is bounded by
//! the thread count, and a stuck node can tie up at most these threads.
//!
//! The queue is bounded and has two levels. Calls made inside `low_priority` (registration, which anyone can
//! ask for) wait behind every other call (the peak poller, partials, payouts) and are refused at once when
//! many are already waiting, so that a flood of registrations cannot delay the work that earns money.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::oneshot;

use super::error::ChainError;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Calls waiting at normal priority before further ones are refused.
const NORMAL_QUEUE: usize = 4096;
/// Calls waiting at low priority before further ones are refused.
const LOW_QUEUE: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Priority {
    Low,
}

tokio::task_local! {
    static PRIORITY: Priority;
}

/// Runs `f` with its chain calls queued behind all others; they fail fast when that queue is full.
pub async fn low_priority<F: Future>(f: F) -> F::Output {
    PRIORITY.scope(Priority::Low, f).await
}

#[derive(Default)]
struct Queues {
    normal: VecDeque<Job>,
    low: VecDeque<Job>,
    closed: bool,
}

struct Shared {
    queues: Mutex<Queues>,
    ready: Condvar,
}

pub(crate) struct BlockingPool {
    shared: Arc<Shared>,
}

impl BlockingPool {
    /// Starts `threads` workers (at least one). They exit when the pool is dropped and the queue is drained.
    pub(crate) fn new(threads: usize) -> Result<Self, ChainError> {
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues::default()),
            ready: Condvar::new(),
        });
        for i in 0..threads.max(1) {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("chain-rpc-{i}"))
                .spawn(move || worker(&shared))
                .map_err(|e| ChainError::Runtime(format!("cannot start RPC thread: {e}")))?;
        }
        Ok(Self { shared })
    }

    /// Runs `f` on a pool thread and waits for it without blocking the async caller.
    /// If the caller is cancelled the call still completes on its thread; its result is discarded.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, ChainError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        let low = PRIORITY.try_with(|p| *p == Priority::Low).unwrap_or(false);
        {
            let mut queues = self
                .shared
                .queues
                .lock()
                .map_err(|_| ChainError::Runtime("RPC threads have stopped".into()))?;
            let (queue, bound) = if low {
                (&mut queues.low, LOW_QUEUE)
            } else {
                (&mut queues.normal, NORMAL_QUEUE)
            };
            if queue.len() >= bound {
                return Err(ChainError::Runtime(format!(
                    "{} node calls are already waiting; refusing more for now",
                    queue.len()
                )));
            }
            queue.push_back(job);
        }
        self.shared.ready.notify_one();
        rx.await
            .map_err(|_| ChainError::Runtime("an RPC call panicked on its thread".into()))
    }
}

impl Drop for BlockingPool {
    fn drop(&mut self) {
        if let Ok(mut queues) = self.shared.queues.lock() {
            queues.closed = true;
        }
        self.shared.ready.notify_all();
    }
}

fn worker(shared: &Shared) {
    loop {
        // Hold the lock only while taking a job, not while running it.
        let job = {
            let Ok(mut queues) = shared.queues.lock() else {
                return;
            };
            loop {
                if let Some(job) = queues.normal.pop_front().or_else(|| queues.low.pop_front()) {
                    break job;
                }
                if queues.closed {
                    return;
                }
                queues = match shared.ready.wait(queues) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
        };
        // A panicking call must not take the thread with it; its caller sees the dropped sender.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
            tracing::error!("an RPC call panicked; the thread goes on");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn low_priority_waits_behind_normal_and_is_bounded() {
        let pool = Arc::new(BlockingPool::new(1).unwrap());
        // Hold the only thread until released.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let blocker = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { pool.run(move || gate.recv().is_ok()).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for i in 0..LOW_QUEUE {
            let (pool, order) = (Arc::clone(&pool), Arc::clone(&order));
            waiting.push(tokio::spawn(low_priority(async move {
                pool.run(move || order.lock().unwrap().push(("low", i)))
                    .await
            })));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let refused = low_priority(pool.run(|| ())).await;
        assert!(refused.is_err(), "the low queue is full");
        let normal = {
            let (pool, order) = (Arc::clone(&pool), Arc::clone(&order));
            tokio::spawn(async move {
                pool.run(move || order.lock().unwrap().push(("normal", 0)))
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        release.send(()).unwrap();
        assert!(blocker.await.unwrap().unwrap());
        normal.await.unwrap().unwrap();
        let done = AtomicUsize::new(0);
        for w in waiting {
            w.await.unwrap().unwrap();
            done.fetch_add(1, Ordering::Relaxed);
        }
        let order = order.lock().unwrap();
        assert_eq!(order[0], ("normal", 0), "normal calls go first: {order:?}");
        assert_eq!(order.len(), LOW_QUEUE + 1);
    }
}
