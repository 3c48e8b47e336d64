//! The writer thread: group commits, and what happens when the disk fails under it.
//!
//! A batch whose write or commit fails is answered with the error (nothing in it was made durable) and the
//! store becomes "faulted": the cause is logged once, and the database is reopened (redb refuses every read and
//! write after an I/O error until then), at most once a second, with or without traffic. While faulted, each
//! batch first needs a probe write of fresh pages to commit (an empty commit proves nothing on a full disk);
//! batches meanwhile are refused at once. The probe that commits ends the fault with one log line. A fault
//! that outlasts `max_unwritable`, or a database that cannot be reopened, is fatal: `Store::fatal` resolves and
//! the process is expected to exit non-zero so that a supervisor restarts it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::{Database, WriteTransaction};

use super::open::{open_database, panic_message};
use super::{Shared, StoreError};

pub(super) type Completion = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// One queued write: run in the batch's transaction, or refused without running.
pub(super) trait WriteJob: Send {
    /// Runs the closure; its completion answers the caller once the batch is committed or abandoned.
    #[allow(clippy::type_complexity)]
    fn apply(
        self: Box<Self>,
        txn: &WriteTransaction,
    ) -> Result<Completion, (StoreError, Completion)>;
    fn refuse(self: Box<Self>, error: &StoreError);
}
pub(super) type Job = Box<dyn WriteJob>;

pub(super) struct Queued<F, T> {
    pub(super) f: F,
    pub(super) reply: tokio::sync::oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> WriteJob for Queued<F, T>
where
    T: Send + 'static,
    F: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
{
    fn apply(
        self: Box<Self>,
        txn: &WriteTransaction,
    ) -> Result<Completion, (StoreError, Completion)> {
        let Queued { f, reply } = *self;
        let outcome = f(txn);
        let failed = outcome.as_ref().err().cloned();
        let completion: Completion = Box::new(move |batch_error| {
            let result = match batch_error {
                Some(e) => Err(e.clone()),
                None => outcome,
            };
            let _ = reply.send(result);
        });
        match failed {
            Some(e) => Err((e, completion)),
            None => Ok(completion),
        }
    }

    fn refuse(self: Box<Self>, error: &StoreError) {
        let _ = self.reply.send(Err(error.clone()));
    }
}

/// How many queued writes one commit may take.
const MAX_BATCH: usize = 512;
/// Reopen attempts are at least this far apart; batches in between are refused at once.
const REOPEN_EVERY: Duration = Duration::from_secs(1);
/// The size of the probe write that decides whether a faulted database takes writes again.
const PROBE_BYTES: usize = 16 * 1024;
/// While faulted, a reminder is logged this often.
const REMIND_EVERY: Duration = Duration::from_secs(30);

struct Fault {
    since: Instant,
    cause: StoreError,
    refused: u64,
    /// The open database may be poisoned: reopen it before the next try.
    reopen: bool,
    last_reopen: Option<Instant>,
    last_log: Instant,
}

pub(super) fn run(shared: &Shared, jobs: &mpsc::Receiver<Job>) {
    let mut fault: Option<Fault> = None;
    loop {
        let first = match fault.as_mut().filter(|f| f.reopen) {
            // Reopen without waiting for a write, so that reads heal too.
            Some(f) => match jobs.recv_timeout(REOPEN_EVERY) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if reopen_if_due(shared, f).is_err() {
                        check_deadline(shared, f);
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            },
            None => match jobs.recv() {
                Ok(job) => job,
                Err(_) => break,
            },
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if shared.is_fatal() {
            refuse(
                batch,
                &StoreError::Unavailable("the database is unusable".into()),
            );
            continue;
        }
        if let Some(f) = fault.as_mut() {
            let healed = reopen_if_due(shared, f).and_then(|()| probe(shared));
            if let Err(e) = healed {
                f.refused += batch.len() as u64;
                f.reopen = true;
                let e = match e {
                    StoreError::Unavailable(_) => e,
                    other => StoreError::Unavailable(other.to_string()),
                };
                refuse(batch, &e);
                check_deadline(shared, f);
                continue;
            }
            tracing::warn!(
                refused = f.refused,
                "database writable again after {:.0} s",
                f.since.elapsed().as_secs_f64()
            );
            fault = None;
        }
        let Some(db) = shared.current() else {
            refuse(
                batch,
                &StoreError::Unavailable("the database is closed".into()),
            );
            continue;
        };
        let count = batch.len() as u64;
        match run_batch(&db, batch) {
            Ok(Batch::Refused | Batch::Committed) => {}
            Err(e) => match fault.as_mut() {
                None => {
                    tracing::error!(
                        "database write failed, the writes in this batch were refused and the database is being \
                         reopened: {e}"
                    );
                    fault = Some(Fault {
                        since: Instant::now(),
                        cause: e,
                        refused: count,
                        reopen: true,
                        last_reopen: None,
                        last_log: Instant::now(),
                    });
                }
                Some(f) => {
                    f.refused += count;
                    f.cause = e;
                    f.reopen = true;
                    check_deadline(shared, f);
                }
            },
        }
    }
}

/// Reopens the database when the last failure may have poisoned it and the last attempt is old enough.
fn reopen_if_due(shared: &Shared, f: &mut Fault) -> Result<(), StoreError> {
    if !f.reopen {
        return Ok(());
    }
    if f.last_reopen.is_some_and(|t| t.elapsed() < REOPEN_EVERY) {
        return Err(StoreError::Unavailable(f.cause.to_string()));
    }
    f.last_reopen = Some(Instant::now());
    if !shared.path.exists() {
        // Never create a new, empty database under a running pool.
        let message = format!(
            "the database file {} has disappeared; {}",
            shared.path.display(),
            super::restore_hint(&shared.path)
        );
        shared.set_fatal(message.clone());
        return Err(StoreError::Unavailable(message));
    }
    // Readers between the two steps see the database as unavailable, briefly.
    let old = shared.take();
    drop(old);
    let mut last = None;
    for _ in 0..20 {
        match open_database(&shared.path, false) {
            Ok(db) => {
                shared.put(Arc::new(db));
                f.reopen = false;
                return Ok(());
            }
            // A reader may still hold the old file open for a moment.
            Err(StoreError::InUse { .. }) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                last = Some(e);
                break;
            }
        }
    }
    let e = last.unwrap_or_else(|| {
        StoreError::Unavailable("the old database handle is still in use".into())
    });
    tracing::error!("reopening the database failed: {e}");
    if matches!(e, StoreError::Damaged { .. }) {
        shared.set_fatal(e.to_string());
    }
    Err(StoreError::Unavailable(e.to_string()))
}

/// Whether the database takes a real write again: a commit of fresh pages (an empty commit only rewrites the
/// header, which succeeds on a disk that has no room).
fn probe(shared: &Shared) -> Result<(), StoreError> {
    let db = shared
        .current()
        .ok_or_else(|| StoreError::Unavailable("the database is being reopened".into()))?;
    let stamp = super::unix_now_ms().to_be_bytes();
    let page: Vec<u8> = stamp.iter().copied().cycle().take(PROBE_BYTES).collect();
    catch_unwind(AssertUnwindSafe(|| {
        let txn = db.begin_write()?;
        txn.open_table(super::META)?
            .insert("writable_probe", page.as_slice())?;
        txn.commit()?;
        Ok(())
    }))
    .unwrap_or_else(|p| {
        Err(StoreError::Storage(format!(
            "a probe write panicked: {}",
            panic_message(&p)
        )))
    })
}

fn check_deadline(shared: &Shared, f: &mut Fault) {
    let elapsed = f.since.elapsed();
    if elapsed > shared.max_unwritable {
        let message = format!(
            "the database could not be written for {:.0} s ({} writes refused): {}",
            elapsed.as_secs_f64(),
            f.refused,
            f.cause
        );
        tracing::error!("{message}; stopping so that a supervisor can restart the pool");
        shared.set_fatal(message);
    } else if f.last_log.elapsed() > REMIND_EVERY {
        f.last_log = Instant::now();
        tracing::error!(
            refused = f.refused,
            "the database still cannot be written after {:.0} s: {}",
            elapsed.as_secs_f64(),
            f.cause
        );
    }
}

fn refuse(batch: Vec<Job>, error: &StoreError) {
    for job in batch {
        job.refuse(error);
    }
}

/// How a batch ended.
enum Batch {
    Committed,
    /// A job refused for a logical reason (a corrupt row): nothing committed, the disk is fine.
    Refused,
}

/// Runs every job of a batch in one write transaction and commits it. On any failure, every job is answered
/// with the error and nothing is committed; a storage failure or a panic is returned as a fault.
fn run_batch(db: &Database, batch: Vec<Job>) -> Result<Batch, StoreError> {
    let started = std::time::Instant::now();
    let size = batch.len();
    let txn = match catch_unwind(AssertUnwindSafe(|| db.begin_write())) {
        Ok(Ok(txn)) => txn,
        Ok(Err(e)) => {
            let e = StoreError::from(e);
            refuse(batch, &e);
            return Err(e);
        }
        Err(p) => {
            let e =
                StoreError::Storage(format!("starting a write panicked: {}", panic_message(&p)));
            refuse(batch, &e);
            return Err(e);
        }
    };
    let mut completions: Vec<Completion> = Vec::with_capacity(batch.len());
    let mut failure: Option<StoreError> = None;
    let mut jobs = batch.into_iter();
    for job in jobs.by_ref() {
        // A panicking job drops its reply channel: its caller sees the write as abandoned.
        match catch_unwind(AssertUnwindSafe(|| job.apply(&txn))) {
            Ok(Ok(done)) => completions.push(done),
            Ok(Err((e, done))) => {
                failure = Some(e);
                completions.push(done);
                break;
            }
            Err(p) => {
                failure = Some(StoreError::Storage(format!(
                    "a database write panicked: {}",
                    panic_message(&p)
                )));
                break;
            }
        }
    }
    let outcome = match failure {
        Some(e) => {
            let _ = catch_unwind(AssertUnwindSafe(|| txn.abort()));
            Err(e)
        }
        None => match catch_unwind(AssertUnwindSafe(|| txn.commit())) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::from(e)),
            Err(p) => Err(StoreError::Storage(format!(
                "a commit panicked: {}",
                panic_message(&p)
            ))),
        },
    };
    if outcome.is_ok() {
        let m = crate::metrics::global();
        m.store_commit_seconds
            .observe(started.elapsed().as_secs_f64());
        m.store_batch_size.observe(size as f64);
    }
    for done in completions {
        done(outcome.as_ref().err());
    }
    // The transaction is abandoned: the jobs after a failing one were not run.
    if let Err(e) = &outcome {
        for job in jobs {
            job.refuse(e);
        }
    }
    match outcome {
        Ok(()) => Ok(Batch::Committed),
        Err(e @ (StoreError::Storage(_) | StoreError::Unavailable(_))) => Err(e),
        Err(_) => Ok(Batch::Refused),
    }
}
