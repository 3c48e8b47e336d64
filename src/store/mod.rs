//! The pool's database: one redb file, one writer thread that group-commits.
//!
//! Every durable change is a closure run by the writer inside a write transaction shared with whatever else is
//! queued at that moment, then committed once (one fsync for many partials). A closure must make its logical
//! checks before it writes and express logical outcomes in its `Ok` value: an `Err` means the storage itself
//! failed, and then the whole batch is abandoned and every caller in it gets the error.
//! Reads use redb's MVCC read transactions from any thread.

pub mod farmers;
pub mod partials;
pub mod payouts;
pub mod records;
pub mod rejections;
pub mod rewards;

use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;

pub use records::{FarmerRecord, Membership, PartialRecord, PartialState, SingletonRecord};

/// Bumped whenever a table's layout changes; `open` refuses a file with another version.
pub const SCHEMA_VERSION: u32 = 1;
/// How many queued writes one commit may take.
const MAX_BATCH: usize = 512;

pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Storage(String),
    #[error("database content is corrupt: {0}")]
    Corrupt(String),
    #[error("database {path} has schema version {found}; this chia-pool uses {expected}: {fix}")]
    Schema {
        path: String,
        found: u32,
        expected: u32,
        fix: &'static str,
    },
    #[error("the database writer has stopped")]
    WriterGone,
}

macro_rules! storage_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Storage(e.to_string())
            }
        }
    )*};
}
storage_error_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

type Completion = Box<dyn FnOnce(Option<&StoreError>) + Send>;
type Job =
    Box<dyn FnOnce(&WriteTransaction) -> Result<Completion, (StoreError, Completion)> + Send>;

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    jobs: mpsc::Sender<Job>,
    writer: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl Store {
    /// Opens (or creates) the database file, checks its schema version and starts the writer thread.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Storage(format!("creating {}: {e}", dir.display())))?;
        }
        let db = Database::create(path)
            .map_err(|e| StoreError::Storage(format!("{}: {e}", path.display())))?;
        check_schema(&db, path)?;
        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel::<Job>();
        let writer_db = Arc::clone(&db);
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(&writer_db, &rx))
            .map_err(|e| StoreError::Storage(format!("starting the writer thread: {e}")))?;
        Ok(Self {
            db,
            jobs: tx,
            writer: Arc::new(std::sync::Mutex::new(Some(writer))),
        })
    }

    /// Closes the database once queued writes are committed. Call it on the last handle: the writer stops
    /// when every handle is gone, and this waits for that so the file can be reopened at once.
    pub fn close(self) {
        let Store { db, jobs, writer } = self;
        drop(jobs);
        drop(db);
        let handle = writer.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    pub fn read(&self) -> Result<ReadTransaction, StoreError> {
        Ok(self.db.begin_read()?)
    }

    /// Runs `f` in the next group commit and returns its result once the commit is durable.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(f, tx)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// `write` for code running on a blocking thread.
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(f, tx)?;
        rx.blocking_recv().map_err(|_| StoreError::WriterGone)?
    }

    fn submit<T, F>(
        &self,
        f: F,
        reply: tokio::sync::oneshot::Sender<Result<T, StoreError>>,
    ) -> Result<(), StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let job: Job = Box::new(move |txn| {
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
        });
        self.jobs.send(job).map_err(|_| StoreError::WriterGone)
    }
}

fn writer_loop(db: &Database, jobs: &mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(db, batch);
    }
}

fn run_batch(db: &Database, batch: Vec<Job>) {
    let txn = match db.begin_write() {
        Ok(txn) => txn,
        Err(e) => {
            let err = StoreError::from(e);
            tracing::error!("cannot start a database write: {err}");
            // Dropping the jobs closes their reply channels: callers see the writer as gone, never hang.
            drop(batch);
            return;
        }
    };
    let mut completions = Vec::with_capacity(batch.len());
    let mut failure: Option<StoreError> = None;
    for job in batch {
        match job(&txn) {
            Ok(done) => completions.push(done),
            Err((e, done)) => {
                failure.get_or_insert(e);
                completions.push(done);
            }
        }
    }
    let outcome = match failure {
        Some(e) => {
            tracing::error!("database write failed, batch abandoned: {e}");
            let _ = txn.abort();
            Some(e)
        }
        None => txn.commit().err().map(StoreError::from),
    };
    if let Some(e) = &outcome {
        tracing::error!("database commit failed: {e}");
    }
    for done in completions {
        done(outcome.as_ref());
    }
}

fn check_schema(db: &Database, path: &Path) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        let found = meta
            .get("schema_version")?
            .map(|v| {
                let bytes: [u8; 4] = v
                    .value()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("schema_version".into()))?;
                Ok::<u32, StoreError>(u32::from_be_bytes(bytes))
            })
            .transpose()?;
        match found {
            None => {
                meta.insert("schema_version", SCHEMA_VERSION.to_be_bytes().as_slice())?;
            }
            Some(v) if v == SCHEMA_VERSION => {}
            Some(v) => {
                return Err(StoreError::Schema {
                    path: path.display().to_string(),
                    found: v,
                    expected: SCHEMA_VERSION,
                    fix: if v > SCHEMA_VERSION {
                        "it was written by a newer chia-pool; run that version"
                    } else {
                        "upgrade with a chia-pool release that migrates it"
                    },
                })
            }
        }
    }
    // Create every table up front so that readers never meet a missing table.
    farmers::create_tables(&txn)?;
    partials::create_tables(&txn)?;
    rewards::create_tables(&txn)?;
    payouts::create_tables(&txn)?;
    rejections::create_tables(&txn)?;
    txn.commit()?;
    Ok(())
}

/// Reads a u64 from the meta table (heights, counters); None when never written.
pub fn meta_u64(txn: &ReadTransaction, key: &str) -> Result<Option<u64>, StoreError> {
    let table = txn.open_table(META)?;
    let value = table.get(key)?;
    value
        .map(|v| {
            let bytes: [u8; 8] = v
                .value()
                .try_into()
                .map_err(|_| StoreError::Corrupt(format!("meta {key}")))?;
            Ok(u64::from_be_bytes(bytes))
        })
        .transpose()
}

pub fn set_meta_u64(txn: &WriteTransaction, key: &str, value: u64) -> Result<(), StoreError> {
    let mut table = txn.open_table(META)?;
    table.insert(key, value.to_be_bytes().as_slice())?;
    Ok(())
}
