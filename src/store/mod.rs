//! The pool's database: one redb file, one writer thread that group-commits.
//!
//! Every durable change is a closure run by the writer inside a write transaction shared with whatever else is
//! queued at that moment, then committed once (one fsync for many partials). A closure must make its logical
//! checks before it writes and express logical outcomes in its `Ok` value: an `Err` means the storage itself
//! failed, and then the whole batch is abandoned and every caller in it gets the error.
//! Reads use redb's MVCC read transactions from any thread. Opening is in `open`, faults in `writer`, copies
//! and checks in `backup`.

pub mod backup;
pub mod farmers;
pub mod farmers_v1;
mod open;
pub mod partials;
pub mod payouts;
pub mod records;
pub mod rejections;
pub mod rewards;
mod writer;

#[cfg(test)]
mod damage_tests;

use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::time::Duration;
use writer::{Job, Queued};

pub use open::{create_owner_only, create_private_dir, restore_hint};
pub use records::{FarmerRecord, Membership, PartialRecord, PartialState, SingletonRecord};

/// A consistent read of the whole database, for readers outside the store (the status snapshot) that call the
/// table modules' read functions.
pub type ReadTxn = redb::ReadTransaction;

/// Bumped whenever a table's layout changes; `open` refuses a file with another version.
pub const SCHEMA_VERSION: u32 = 2;
/// How long the database may stay unwritable before the process gives up (see `writer`).
pub const DEFAULT_MAX_UNWRITABLE: Duration = Duration::from_secs(120);

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
    #[error("database {path} is damaged: {reason}. To restore: {fix}")]
    Damaged {
        path: String,
        reason: String,
        fix: String,
    },
    #[error(
        "database {path} is in use by another process (is a chia-pool already running on it?)"
    )]
    InUse { path: String },
    #[error("the database cannot be written at the moment, nothing was recorded: {0}")]
    Unavailable(String),
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

/// What the writer thread and every handle share.
struct Shared {
    path: PathBuf,
    /// None while the writer reopens the file after a fault.
    db: RwLock<Option<Arc<Database>>>,
    max_unwritable: Duration,
    fatal: tokio::sync::watch::Sender<Option<String>>,
}

impl Shared {
    fn current(&self) -> Option<Arc<Database>> {
        self.db.read().ok().and_then(|g| g.clone())
    }
    fn take(&self) -> Option<Arc<Database>> {
        self.db.write().ok().and_then(|mut g| g.take())
    }
    fn put(&self, db: Arc<Database>) {
        if let Ok(mut g) = self.db.write() {
            *g = Some(db);
        }
    }
    fn is_fatal(&self) -> bool {
        self.fatal.borrow().is_some()
    }
    fn set_fatal(&self, message: String) {
        self.fatal.send_if_modified(|m| {
            let first = m.is_none();
            if first {
                *m = Some(message);
            }
            first
        });
    }
}

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    jobs: mpsc::Sender<Job>,
    writer: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl Store {
    /// Opens (or creates) the database file, checks its schema version and starts the writer thread.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, false, DEFAULT_MAX_UNWRITABLE)
    }

    /// `open`, with `verify` checking every page's checksum first (the whole file is read) and the time the
    /// database may stay unwritable before `fatal` resolves.
    pub fn open_with(
        path: &Path,
        verify: bool,
        max_unwritable: Duration,
    ) -> Result<Self, StoreError> {
        let db = open::open_database(path, verify)?;
        open::guarded(path, || Ok(check_schema(&db, path)))??;
        let (fatal, _) = tokio::sync::watch::channel(None);
        let shared = Arc::new(Shared {
            path: path.to_path_buf(),
            db: RwLock::new(Some(Arc::new(db))),
            max_unwritable,
            fatal,
        });
        let (tx, rx) = mpsc::channel::<Job>();
        let writer_shared = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                let run = std::panic::AssertUnwindSafe(|| writer::run(&writer_shared, &rx));
                if let Err(p) = std::panic::catch_unwind(run) {
                    // Never a live process whose every write fails: the pool stops (see `fatal`).
                    writer_shared.set_fatal(format!(
                        "the database writer stopped: {}",
                        open::panic_message(&p)
                    ));
                }
            })
            .map_err(|e| StoreError::Storage(format!("starting the writer thread: {e}")))?;
        Ok(Self {
            shared,
            jobs: tx,
            writer: Arc::new(Mutex::new(Some(writer))),
        })
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Closes the database once queued writes are committed. Call it on the last handle: the writer stops
    /// when every handle is gone, and this waits for that so the file can be reopened at once.
    pub fn close(self) {
        let Store {
            shared,
            jobs,
            writer,
        } = self;
        drop(jobs);
        let handle = writer.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
        drop(shared.take());
    }

    /// Commits what is queued and closes the file cleanly; later writes and reads are refused. For the end of
    /// the process, when other handles may still exist.
    pub async fn shut_down(&self) -> Result<(), StoreError> {
        let flushed = self.flush().await;
        if let Some(db) = self.shared.take() {
            // A reader or the writer may hold the handle for a moment.
            let mut db = db;
            for _ in 0..100 {
                match Arc::try_unwrap(db) {
                    Ok(db) => {
                        db.close()?;
                        return flushed;
                    }
                    Err(shared) => db = shared,
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            return Err(StoreError::Storage(
                "the database was still in use at shutdown".into(),
            ));
        }
        flushed
    }

    /// Resolves, with the reason, once the database is beyond repair in this process (see `writer`).
    pub async fn fatal(&self) -> String {
        let mut rx = self.shared.fatal.subscribe();
        loop {
            if let Some(m) = rx.borrow_and_update().clone() {
                return m;
            }
            if rx.changed().await.is_err() {
                // Unreachable while `self` holds the sender; never resolve rather than spin.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Waits until every write queued before this call is committed (or refused).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.write(|_| Ok(())).await
    }

    pub fn read(&self) -> Result<ReadTransaction, StoreError> {
        let db = self
            .shared
            .current()
            .ok_or_else(|| StoreError::Unavailable("the database is being reopened".into()))?;
        Ok(db.begin_read()?)
    }

    /// Runs `f` in the next group commit and returns its result once the commit is durable.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(f, tx)?;
        rx.await.map_err(|_| abandoned())?
    }

    /// `write` for code running on a blocking thread.
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(f, tx)?;
        rx.blocking_recv().map_err(|_| abandoned())?
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
        self.jobs
            .send(Box::new(Queued { f, reply }))
            .map_err(|_| StoreError::WriterGone)
    }
}

/// A write whose job was dropped unanswered (it panicked): nothing of it was committed.
fn abandoned() -> StoreError {
    StoreError::Storage("the write failed and was not recorded".into())
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
    // Create every table up front so that readers never meet a missing table (and list it in backup::TABLES).
    farmers::create_tables(&txn)?;
    farmers::create_change_tables(&txn)?;
    farmers_v1::create_tables(&txn)?;
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

/// Reads raw bytes from the meta table; None when never written.
pub fn meta_bytes(txn: &ReadTransaction, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let table = txn.open_table(META)?;
    let value = table.get(key)?;
    Ok(value.map(|v| v.value().to_vec()))
}

/// Unix milliseconds, for probe values and temporary names (the store depends on nothing above it).
fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
