//! Partial signature checks on dedicated threads, batched under load.
//!
//! Each worker takes the oldest waiting check and whatever else is queued (up to `MAX_BATCH`) and verifies
//! them with one random-weighted pairing product: at low load a batch is one check and costs what a single
//! verification costs; under load the final exponentiation is shared and throughput rises.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use super::PoolError;
use crate::chia::signatures::{verify_partials_batch, PartialSignatureCheck};

const MAX_BATCH: usize = 32;
/// Checks waiting before further ones are answered "busy".
const QUEUE: usize = 4096;

struct Job {
    check: PartialSignatureCheck,
    reply: tokio::sync::oneshot::Sender<bool>,
}

/// Handle to the verification threads; cheap to clone.
#[derive(Clone)]
pub struct SignatureVerifier {
    jobs: mpsc::SyncSender<Job>,
}

impl SignatureVerifier {
    /// Starts `threads` workers (at least one).
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("sig-verify-{i}"))
                .spawn(move || worker(&rx))?;
        }
        Ok(Self { jobs: tx })
    }

    /// True when the aggregate signature is valid; false also if the workers are gone; "busy" when the
    /// queue is full.
    pub async fn verify(&self, check: PartialSignatureCheck) -> Result<bool, PoolError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        match self.jobs.try_send(Job { check, reply }) {
            Ok(()) => Ok(answer.await.unwrap_or(false)),
            Err(mpsc::TrySendError::Full(_)) => Err(super::guards::busy()),
            Err(mpsc::TrySendError::Disconnected(_)) => Ok(false),
        }
    }
}

fn worker(jobs: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let batch = {
            let Ok(rx) = jobs.lock() else { return };
            let Ok(first) = rx.recv() else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        let checks: Vec<PartialSignatureCheck> = batch.iter().map(|j| j.check.clone()).collect();
        let verdicts = verify_partials_batch(&checks, &fresh_seed());
        for (job, ok) in batch.into_iter().zip(verdicts) {
            let _ = job.reply.send(ok);
        }
    }
}

/// Unpredictable batch weights: senders must not be able to pick signatures that cancel out.
fn fresh_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    if getrandom::fill(&mut seed).is_err() {
        // No system randomness: fall back to a clock-derived seed rather than a fixed one.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        seed[..16].copy_from_slice(&nanos.to_le_bytes());
    }
    seed
}
