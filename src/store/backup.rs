//! A consistent copy of a database that may be in use, and a check of a database file.
//!
//! The pool opens its file in redb's single-writer mode, in which other processes may open it read-only at the
//! same time. `backup` does so and copies every table, row by row, from one read transaction (a snapshot of
//! the last commit, which the running pool's later commits do not disturb) into a new file, then checks the
//! copy and renames it into place. `check_file` reads every row and, for a file not in use, also verifies the
//! checksum of every page on a private copy, leaving the original untouched.

use std::path::{Path, PathBuf};

use redb::{
    Builder, Database, Key, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, ReadableTable,
    TableDefinition, TableHandle, Value, WriteTransaction,
};

use super::open::{guarded, panic_message, quiet_catch, restore_hint, MODE};
use super::{
    farmers, farmers_v1, partials, payouts, rejections, rewards, StoreError, META, SCHEMA_VERSION,
};

/// What a backup or a check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub farmers: u64,
    pub partials: u64,
    pub rewards: u64,
    pub payouts: u64,
    /// Every row of every table.
    pub rows: u64,
    /// Whether every page's checksum was verified (not done on a file in use).
    pub pages_verified: bool,
}

/// Every table of the schema; a file with another table is refused rather than copied in part.
/// A table added to the schema must be added here and to `copy_all` (the test below fails until it is).
const TABLES: [&str; 9] = [
    "meta",
    "farmers",
    "farmers_v1",
    "payout_changes",
    "partials",
    "partials_by_proof",
    "rewards",
    "payouts",
    "confirmation_stats",
];

/// Copies the database at `source` (running pool or not) into a new file `dest`, which must not exist.
pub fn backup(source: &Path, dest: &Path) -> Result<Summary, StoreError> {
    if dest.exists() {
        return Err(StoreError::Storage(format!(
            "{} already exists; choose a new file name",
            dest.display()
        )));
    }
    let snapshot = Snapshot::take(source)?;
    let txn = &snapshot.txn;
    let temp = partial_name(dest);
    let _ = std::fs::remove_file(&temp);
    create_owner_only(&temp)?;
    let result = (|| {
        let copy = guarded(&temp, || Builder::new().create(&temp))?;
        let out = copy.begin_write()?;
        let rows = guard(source, || copy_all(txn, &out))?;
        out.commit()?;
        drop(copy);
        Ok::<u64, StoreError>(rows)
    })();
    drop(snapshot);
    let rows = match result {
        Ok(rows) => rows,
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
    };
    let summary = match check_file(&temp) {
        Ok(s) if s.rows == rows => s,
        Ok(s) => {
            let _ = std::fs::remove_file(&temp);
            return Err(StoreError::Storage(format!(
                "the copy has {} rows where the database had {rows}",
                s.rows
            )));
        }
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
    };
    std::fs::rename(&temp, dest)
        .map_err(|e| StoreError::Storage(format!("renaming to {}: {e}", dest.display())))?;
    Ok(summary)
}

/// Reads every row of the database at `path`; when no pool has it open, also verifies every page's checksum
/// (on a temporary copy, so the file itself is never written).
pub fn check_file(path: &Path) -> Result<Summary, StoreError> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() == 0 => {
            return Err(StoreError::Damaged {
                path: path.display().to_string(),
                reason: "the file is empty (0 bytes), not a pool database".into(),
                fix: restore_hint(path),
            })
        }
        Ok(_) => {}
        Err(e) => {
            return Err(StoreError::Storage(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    }
    let snapshot = Snapshot::take(path)?;
    let mut summary = guard(path, || read_all(&snapshot.txn))?;
    summary.pages_verified = snapshot._copy.is_some();
    Ok(summary)
}

/// A read transaction on a database, with what keeps it open. Beside a running pool it reads the live file
/// (read-only); otherwise it reads a private copy, checked page by page and repaired if the pool had crashed,
/// so that the file itself is never written.
struct Snapshot {
    txn: ReadTransaction,
    _db: Box<dyn std::any::Any>,
    /// Dropped last (fields drop in order), once the database no longer holds the copy open.
    _copy: Option<tempfile::TempDir>,
}

impl Snapshot {
    fn take(path: &Path) -> Result<Self, StoreError> {
        if in_use(path) {
            let db = open_read_only(path)?;
            let txn = db.begin_read()?;
            return Ok(Self {
                txn,
                _db: Box::new(db),
                _copy: None,
            });
        }
        // In a directory of its own, created exclusively and owner-only: a copy of the pool's data is as private
        // as the file itself, two checks in one process (or one millisecond) each get their own, and no handle
        // of ours is open on the copy when redb opens it (Windows refuses to share some).
        let dir = tempfile::Builder::new()
            .prefix("chia-pool-check-")
            .tempdir()
            .map_err(|e| {
                StoreError::Storage(format!(
                    "making a temporary directory to check {}: {e}",
                    path.display()
                ))
            })?;
        let copy = dir.path().join("pool.redb");
        std::fs::copy(path, &copy).map_err(|e| {
            StoreError::Storage(format!("copying {} to check it: {e}", path.display()))
        })?;
        let db = guarded(path, || {
            Builder::new().set_check_integrity_on_open(true).open(&copy)
        })?;
        let txn = db.begin_read()?;
        Ok(Self {
            txn,
            _db: Box::new(db),
            _copy: Some(dir),
        })
    }
}

/// Whether a writer (a running pool) has the file open.
fn in_use(path: &Path) -> bool {
    matches!(
        guarded(path, || Builder::new()
            .set_concurrency_mode(MODE)
            .open_read_only(path)
            .and_then(|ro| {
                drop(ro);
                // A read-only open succeeds beside a writer too; an exclusive-mode read-only open does not.
                Builder::new().open_read_only(path)
            })),
        Err(StoreError::InUse { .. })
    )
}

fn open_read_only(path: &Path) -> Result<ReadOnlyDatabase, StoreError> {
    if !path.exists() {
        return Err(StoreError::Storage(format!(
            "{} does not exist",
            path.display()
        )));
    }
    guarded(path, || {
        Builder::new()
            .set_concurrency_mode(MODE)
            .open_read_only(path)
    })
}

/// Runs `f`, turning a panic (a damaged page met while reading) into a clear error.
fn guard<T>(path: &Path, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    quiet_catch(f).unwrap_or_else(|p| {
        Err(StoreError::Damaged {
            path: path.display().to_string(),
            reason: format!("reading it failed ({})", panic_message(&p)),
            fix: restore_hint(path),
        })
    })
}

fn copy_all(from: &ReadTransaction, to: &WriteTransaction) -> Result<u64, StoreError> {
    check_tables(from)?;
    Ok(copy(from, to, META)?
        + copy(from, to, farmers::FARMERS)?
        + copy(from, to, farmers_v1::FARMERS_V1)?
        + copy(from, to, farmers::PAYOUT_CHANGES)?
        + copy(from, to, partials::PARTIALS)?
        + copy(from, to, partials::BY_PROOF)?
        + copy(from, to, rewards::REWARDS)?
        + copy(from, to, payouts::PAYOUTS)?
        + copy(from, to, rejections::STATS)?)
}

fn copy<K: Key + 'static, V: Value + 'static>(
    from: &ReadTransaction,
    to: &WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<u64, StoreError> {
    let source = from.open_table(def)?;
    let mut dest = to.open_table(def)?;
    let mut n = 0;
    for row in source.iter()? {
        let (k, v) = row?;
        dest.insert(k.value(), v.value())?;
        n += 1;
    }
    Ok(n)
}

fn check_tables(txn: &ReadTransaction) -> Result<(), StoreError> {
    for table in txn.list_tables()? {
        if !TABLES.contains(&table.name()) {
            return Err(StoreError::Corrupt(format!(
                "unknown table {:?}: written by another chia-pool version?",
                table.name()
            )));
        }
    }
    Ok(())
}

/// Decodes every row of every table (a damaged row fails here rather than in the running pool).
fn read_all(txn: &ReadTransaction) -> Result<Summary, StoreError> {
    check_tables(txn)?;
    let version = super::meta_bytes(txn, "schema_version")?;
    if version.as_deref() != Some(SCHEMA_VERSION.to_be_bytes().as_slice()) {
        return Err(StoreError::Corrupt(format!(
            "schema version {version:?} is not {SCHEMA_VERSION}"
        )));
    }
    let farmers = (farmers::all(txn)?.len() + farmers_v1::all(txn)?.len()) as u64;
    let (p, c, r) = partials::stats(txn)?;
    let rewards = rewards::all(txn)?.len() as u64;
    let payouts = payouts::all(txn)?.len() as u64;
    let mut rows = 0;
    rows += txn.open_table(META)?.iter()?.count() as u64;
    rows += txn.open_table(partials::BY_PROOF)?.iter()?.count() as u64;
    rows += txn.open_table(farmers::PAYOUT_CHANGES)?.iter()?.count() as u64;
    rows += txn.open_table(rejections::STATS)?.iter()?.count() as u64;
    Ok(Summary {
        farmers,
        partials: p + c + r,
        rewards,
        payouts,
        rows: rows + farmers + p + c + r + rewards + payouts,
        pages_verified: false,
    })
}

fn partial_name(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dest.with_file_name(name)
}

fn create_owner_only(path: &Path) -> Result<(), StoreError> {
    super::open::create_owner_only(path)
        .map_err(|e| StoreError::Storage(format!("creating {}: {e}", path.display())))
}

/// Used by tests: a database copy must open as a pool database.
pub fn open_copy(path: &Path) -> Result<Database, StoreError> {
    guarded(path, || Builder::new().open(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_open_by_the_pool_is_in_use_and_can_be_copied() {
        let dir = std::env::temp_dir().join(format!("chia-pool-backup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("pool.redb");
        let store = crate::store::Store::open(&path).unwrap();
        assert!(in_use(&path));
        // Every table's rows reach the copy: here the payout-change trail.
        let change = farmers::PayoutChange {
            launcher_id: [7; 32],
            old_puzzle_hash: [1; 32],
            new_puzzle_hash: [2; 32],
            at_ms: 1_700_000_000_000,
        };
        let recorded = change.clone();
        store
            .write_blocking(move |txn| farmers::record_payout_change(txn, &recorded))
            .unwrap();
        let copy = dir.join("copy.redb");
        let summary = backup(&path, &copy).unwrap();
        assert!(summary.rows >= 2 && summary.pages_verified, "{summary:?}");
        let copied = crate::store::Store::open(&copy).unwrap();
        let trail = farmers::payout_changes(&copied.read().unwrap()).unwrap();
        copied.close();
        assert_eq!(
            trail,
            vec![change],
            "the payout-change trail is in the backup"
        );
        assert!(check_file(&path).is_ok_and(|s| !s.pages_verified));
        store.close();
        assert!(!in_use(&path));
        assert!(check_file(&path).is_ok_and(|s| s.pages_verified));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn checks_running_at_once_each_read_their_own_copy() {
        // Two checks started in the same millisecond once shared a temporary copy and read each other's pages.
        let dir = std::env::temp_dir().join(format!("chia-pool-checks-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let paths: Vec<PathBuf> = (0..6u8)
            .map(|i| {
                let path = dir.join(format!("pool-{i}.redb"));
                let store = crate::store::Store::open(&path).unwrap();
                for n in 0..=i {
                    let change = farmers::PayoutChange {
                        launcher_id: [n; 32],
                        old_puzzle_hash: [1; 32],
                        new_puzzle_hash: [2; 32],
                        at_ms: 1_700_000_000_000 + u64::from(n),
                    };
                    store
                        .write_blocking(move |txn| farmers::record_payout_change(txn, &change))
                        .unwrap();
                }
                store.close();
                path
            })
            .collect();
        let rows = |path: &PathBuf| check_file(path).map(|s| (s.rows, s.pages_verified));
        let alone: Vec<_> = paths.iter().map(|p| rows(p).unwrap()).collect();
        for _ in 0..5 {
            let together: Vec<_> = std::thread::scope(|s| {
                let running: Vec<_> = paths.iter().map(|p| s.spawn(move || rows(p))).collect();
                running
                    .into_iter()
                    .map(|h| h.join().unwrap().unwrap())
                    .collect()
            });
            assert_eq!(together, alone);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
