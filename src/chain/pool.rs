//! The threads that run blocking HTTPS calls, so that no tokio worker ever waits on the network.
//!
//! A fixed set of named std threads fed by one channel rather than `spawn_blocking`: the calls do not compete
//! with proof verification for tokio's blocking pool, the number of concurrent node connections is bounded by
//! the thread count, and a stuck node can tie up at most these threads.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::error::ChainError;

type Job = Box<dyn FnOnce() + Send + 'static>;

pub(crate) struct BlockingPool {
    sender: mpsc::Sender<Job>,
}

impl BlockingPool {
    /// Starts `threads` workers (at least one). They exit when the pool is dropped and the queue is drained.
    pub(crate) fn new(threads: usize) -> Result<Self, ChainError> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads.max(1) {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("chain-rpc-{i}"))
                .spawn(move || worker(&receiver))
                .map_err(|e| ChainError::Runtime(format!("cannot start RPC thread: {e}")))?;
        }
        Ok(Self { sender })
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
        self.sender
            .send(job)
            .map_err(|_| ChainError::Runtime("RPC threads have stopped".into()))?;
        rx.await
            .map_err(|_| ChainError::Runtime("an RPC call panicked on its thread".into()))
    }
}

fn worker(receiver: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // Hold the lock only while taking a job, not while running it.
        let job = match receiver.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // A panicking call must not take the thread with it; its caller sees the dropped sender.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
            tracing::error!("an RPC call panicked; the thread goes on");
        }
    }
}
