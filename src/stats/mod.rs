//! In-memory aggregates behind the status pages, the JSON endpoints and the metrics.
//!
//! Two sources feed them, in one direction only: the pool logic reports each partial's outcome and each
//! background job's run (hooks), and a refresh job rebuilds a `Snapshot` from the store every
//! `[status] refresh_secs`. Readers take an `Arc<Snapshot>` and never touch the store or the chain.

pub mod activity;
pub mod snapshot;
pub mod space;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::chia::messages::PoolErrorCode;
use crate::metrics;
use crate::pool::{unix_now, unix_now_ms, Pool};
// The states the pages show, named where readers of the snapshot find them (HTTP does not import the store).
pub use crate::store::payouts::BatchState;
pub use crate::store::rewards::ForwardState;
pub use crate::store::Membership;
use activity::Activity;
pub use snapshot::Snapshot;

/// Errors the operator view lists.
const RECENT_ERRORS: usize = 50;

/// When a background job last ran well, and its last failure.
#[derive(Debug, Clone, Default)]
pub struct JobStatus {
    pub last_success: Option<u64>,
    pub last_error: Option<(u64, String)>,
}

/// The shared aggregates; cheap to clone.
#[derive(Clone)]
pub struct Stats {
    inner: Arc<Inner>,
}

struct Inner {
    started_at: u64,
    activity: Mutex<Activity>,
    snapshot: RwLock<Arc<Snapshot>>,
    jobs: Mutex<HashMap<&'static str, JobStatus>>,
    errors: Mutex<VecDeque<(u64, String)>>,
    /// Efforts of blocks seen while running (reward coin id → effort), and whether the first refresh ran
    /// (blocks present then are history, without an effort).
    efforts: Mutex<(HashMap<[u8; 32], f64>, bool)>,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                started_at: unix_now(),
                activity: Mutex::new(Activity::default()),
                snapshot: RwLock::new(Arc::new(Snapshot::default())),
                jobs: Mutex::new(HashMap::new()),
                errors: Mutex::new(VecDeque::new()),
                efforts: Mutex::new((HashMap::new(), false)),
            }),
        }
    }

    pub fn started_at(&self) -> u64 {
        self.inner.started_at
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.inner.snapshot.read() {
            Ok(s) => Arc::clone(&s),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Hook: a partial was answered. `accepted` carries the difficulty it was credited at.
    pub fn partial(&self, launcher_id: &[u8; 32], outcome: Result<u64, (PoolErrorCode, &str)>) {
        let m = metrics::global();
        let mut a = lock(&self.inner.activity);
        match outcome {
            Ok(difficulty) => {
                m.partial("accepted");
                a.accepted(difficulty);
                a.known.insert(*launcher_id);
            }
            Err((code, message)) => {
                m.partial(code.name());
                a.rejected(launcher_id, code, message, unix_now());
            }
        }
    }

    /// Hook: a farmer registered; its refusals get a per-farmer entry from now on.
    pub fn member_joined(&self, launcher_id: &[u8; 32]) {
        lock(&self.inner.activity).known.insert(*launcher_id);
    }

    /// Refusals per minute over the window (pool) and the refusal summary of one farmer.
    pub fn rejects(&self) -> Vec<activity::Rejects> {
        lock(&self.inner.activity).pool.series(unix_now())
    }

    pub fn farmer_rejects(&self, launcher_id: &[u8; 32]) -> Option<activity::FarmerRejects> {
        lock(&self.inner.activity).farmers.get(launcher_id).cloned()
    }

    /// Points accepted since the last block found (or since start).
    pub fn round_points(&self) -> u64 {
        let a = lock(&self.inner.activity);
        a.points_since_start.saturating_sub(a.points_at_last_block)
    }

    /// Hook: a background job finished a run.
    pub fn job_done(&self, job: &'static str, result: Result<(), &str>) {
        let now = unix_now();
        let mut jobs = lock(&self.inner.jobs);
        let status = jobs.entry(job).or_default();
        match result {
            Ok(()) => {
                status.last_success = Some(now);
                metrics::global().job_succeeded(job, now);
            }
            Err(e) => {
                status.last_error = Some((now, e.to_string()));
                drop(jobs);
                self.error(format!("{job}: {e}"));
            }
        }
    }

    pub fn jobs(&self) -> Vec<(&'static str, JobStatus)> {
        let mut jobs: Vec<_> = lock(&self.inner.jobs)
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        jobs.sort_by_key(|(k, _)| *k);
        jobs
    }

    /// Records an error for the operator view.
    pub fn error(&self, message: String) {
        let mut errors = lock(&self.inner.errors);
        if errors.len() >= RECENT_ERRORS {
            errors.pop_front();
        }
        errors.push_back((unix_now(), message));
    }

    pub fn recent_errors(&self) -> Vec<(u64, String)> {
        lock(&self.inner.errors).iter().rev().cloned().collect()
    }

    /// Rebuilds the snapshot from the store (on a blocking thread) and publishes it.
    pub async fn refresh(&self, pool: &Pool) -> Result<(), String> {
        let store = pool.store().clone();
        let efforts = lock(&self.inner.efforts).0.clone();
        let now_ms = unix_now_ms();
        let snap = tokio::task::spawn_blocking(move || {
            let txn = store.read().map_err(|e| e.to_string())?;
            snapshot::build(&txn, now_ms, &efforts).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())??;
        let snap = self.note_new_blocks(pool, snap);
        self.publish_metrics(&snap);
        {
            let mut a = lock(&self.inner.activity);
            a.known = snap.by_launcher.keys().copied().collect();
            a.farmers.retain(|k, _| snap.by_launcher.contains_key(k));
        }
        match self.inner.snapshot.write() {
            Ok(mut s) => *s = Arc::new(snap),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(snap),
        }
        Ok(())
    }

    /// Blocks that appeared since the last refresh close a round: their effort is the round's points over the
    /// points a block is expected to cost at the current chain difficulty.
    fn note_new_blocks(&self, pool: &Pool, mut snap: Snapshot) -> Snapshot {
        let mut efforts = lock(&self.inner.efforts);
        let first = !efforts.1;
        efforts.1 = true;
        let new: Vec<usize> = (0..snap.blocks.len())
            .filter(|&i| snap.blocks[i].effort.is_none())
            .filter(|&i| !efforts.0.contains_key(&snap.blocks[i].reward.coin_id))
            .collect();
        if first {
            // Blocks already in the database when we started: their rounds were not watched.
            for &i in &new {
                efforts.0.insert(snap.blocks[i].reward.coin_id, f64::NAN);
            }
            return snap;
        }
        if new.is_empty() {
            return snap;
        }
        let expected = pool.chain().peak().map_or(0.0, |p| {
            space::points_per_block(pool.constants(), p.difficulty, p.sub_slot_iters)
        });
        let mut a = lock(&self.inner.activity);
        let round = a.points_since_start.saturating_sub(a.points_at_last_block);
        a.points_at_last_block = a.points_since_start;
        // Several blocks in one refresh share the round.
        let effort = if expected > 0.0 {
            round as f64 / expected / new.len() as f64
        } else {
            f64::NAN
        };
        for i in new {
            efforts.0.insert(snap.blocks[i].reward.coin_id, effort);
            snap.blocks[i].effort = Some(effort);
        }
        snap
    }

    fn publish_metrics(&self, snap: &Snapshot) {
        let m = metrics::global();
        metrics::Metrics::set_states(
            &m.members,
            &[
                ("pooling", snap.members(Membership::Pooling) as u64),
                ("leaving", snap.members(Membership::Leaving) as u64),
                ("left", snap.members(Membership::Left) as u64),
            ],
        );
        let r = &snap.rewards;
        metrics::Metrics::set_states(
            &m.forwards,
            &[
                ("found", r.found),
                ("submitted", r.submitted),
                ("forwarded", r.forwarded),
            ],
        );
        let batches: Vec<(&str, u64)> = ["planned", "signed", "pushed", "confirmed"]
            .into_iter()
            .map(|s| (s, snap.payout_batches.get(s).copied().unwrap_or(0)))
            .collect();
        metrics::Metrics::set_states(&m.payout_batches, &batches);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts the refresh job on the current tokio runtime.
pub fn spawn(pool: &Pool) {
    let every = Duration::from_secs(pool.config().status.refresh_secs.max(1));
    let p = pool.clone();
    // Under the supervisor: a panic while building the snapshot restarts the job instead of freezing the pages.
    crate::pool::supervisor::spawn("status refresh", move || {
        let p = p.clone();
        async move { refresh_loop(p, every).await }
    });
}

async fn refresh_loop(p: Pool, every: Duration) {
    loop {
        let result = p.stats().refresh(&p).await;
        if let Err(e) = &result {
            tracing::warn!("status refresh failed: {e}");
        }
        p.stats().job_done(
            "status_refresh",
            result.as_ref().map(|_| ()).map_err(String::as_str),
        );
        tokio::time::sleep(every).await;
    }
}
