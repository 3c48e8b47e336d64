//! Opening the database file safely: a new file is made owner-only and appears whole (created under a temporary
//! name, then renamed), an empty or damaged file is refused with a message that says how to restore it, and no
//! panic from redb escapes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use redb::{Builder, ConcurrencyMode, Database, DatabaseError, StorageError};

use super::StoreError;

/// One writer process (the pool); other processes (`chia-pool backup`, `chia-pool check`) may open the file
/// read-only at the same time and read consistent snapshots.
pub(super) const MODE: ConcurrencyMode = ConcurrencyMode::SingleWriter;

/// How to get a sound database back, said with every refusal to open one.
pub fn restore_hint(path: &Path) -> String {
    format!(
        "stop the pool, move {p} aside and copy your latest backup (made by `chia-pool backup --to FILE`) to {p}; \
         `chia-pool check --db FILE` tells whether a file is sound. Without a backup, moving the file aside starts \
         an empty database: members must register again and unpaid points are lost",
        p = path.display()
    )
}

/// Opens an existing database or creates a new one at `path`. `verify` checks the checksum of every page first
/// (reads the whole file), so that a damaged file is refused now rather than met later.
pub(super) fn open_database(path: &Path, verify: bool) -> Result<Database, StoreError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() == 0 => {
            return Err(StoreError::Damaged {
                path: path.display().to_string(),
                reason: "the file is empty (0 bytes), not a pool database".into(),
                fix: restore_hint(path),
            })
        }
        Ok(meta) if !meta.is_file() => {
            return Err(StoreError::Storage(format!(
                "{} is not a file ([store] path)",
                path.display()
            )))
        }
        Ok(meta) => warn_if_shared(path, &meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_new(path)?,
        Err(e) => {
            return Err(StoreError::Storage(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    }
    guarded(path, || {
        Builder::new()
            .set_concurrency_mode(MODE)
            .set_check_integrity_on_open(verify)
            .open(path)
    })
}

/// Runs a redb open, turning its errors and panics into errors that name the file.
pub(super) fn guarded<T>(
    path: &Path,
    open: impl FnOnce() -> Result<T, DatabaseError>,
) -> Result<T, StoreError> {
    match quiet_catch(open) {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(open_error(path, e)),
        Err(panic) => Err(StoreError::Damaged {
            path: path.display().to_string(),
            reason: format!("reading it failed ({})", panic_message(&panic)),
            fix: restore_hint(path),
        }),
    }
}

fn open_error(path: &Path, e: DatabaseError) -> StoreError {
    let p = path.display().to_string();
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            StoreError::InUse { path: p }
        }
        // redb reports a file that is not (or no longer) a database as invalid data.
        DatabaseError::Storage(StorageError::Io(io))
            if !matches!(
                io.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            StoreError::Storage(format!("cannot read {p}: {io}"))
        }
        DatabaseError::RepairAborted => StoreError::Storage(format!(
            "{p} was not closed cleanly and must be repaired: start the pool (or `chia-pool check`) once with write \
             access to it"
        )),
        other => StoreError::Damaged {
            path: p,
            reason: other.to_string(),
            fix: restore_hint(path),
        },
    }
}

thread_local! {
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `catch_unwind` for reading a file that may be damaged: a panic there is an expected way for redb to say
/// so, reported as an error naming the file, so the panic hook does not print it as a crash.
pub(super) fn quiet_catch<T>(
    f: impl FnOnce() -> T,
) -> Result<T, Box<dyn std::any::Any + Send + 'static>> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    result
}

pub(super) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// Makes a new, empty database readable by the owner only. It is initialised under a temporary name and
/// renamed into place, so a crash never leaves a zero-length `path` behind (which is refused, not reused).
fn create_new(path: &Path) -> Result<(), StoreError> {
    let io = |what: &str, p: &Path, e: std::io::Error| {
        StoreError::Storage(format!("{what} {}: {e}", p.display()))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            create_private_dir(dir).map_err(|e| io("creating", dir, e))?;
        }
    }
    let temp = temp_path(path);
    let _ = std::fs::remove_file(&temp);
    create_owner_only(&temp).map_err(|e| io("creating", &temp, e))?;
    // redb initialises an empty file as a new database, keeping its permissions.
    let db = guarded(&temp, || {
        Builder::new().set_concurrency_mode(MODE).create(&temp)
    })?;
    drop(db);
    std::fs::rename(&temp, path).map_err(|e| io("renaming into place", path, e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Make the rename itself durable (best effort: not every platform can open a directory).
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    tracing::info!(path = %path.display(), "created a new database");
    Ok(())
}

/// Members' data is the operator's: say so when others may read it (files made by older versions).
fn warn_if_shared(path: &Path, meta: &std::fs::Metadata) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "{} is readable by other users (mode {:o}); `chmod 600` it",
                path.display(),
                mode & 0o777
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (path, meta);
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".new");
    path.with_file_name(name)
}

/// Creates a new, empty file only its owner can open: mode 0600 on Unix; on Windows an owner-only ACL, so
/// that a database in a directory made by someone else (the installer's ProgramData folder, which every local
/// user may read) is still private. The ACL is set before any data is written and survives the rename.
pub fn create_owner_only(path: &Path) -> std::io::Result<()> {
    drop(
        crate::platform::private_file_options()
            .write(true)
            .create_new(true)
            .open(path)?,
    );
    crate::platform::make_private(path)
}

/// Creates a directory (and its parents) readable by the owner only.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    // On Windows the mode above does not exist: an owner-only ACL that what is created inside inherits.
    crate::platform::make_private_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_and_its_directory_are_owner_only_and_an_empty_file_is_refused() {
        let base = std::env::temp_dir().join(format!("chia-pool-open-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let path = base.join("data").join("pool.redb");
        drop(open_database(&path, true).unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
        assert!(!temp_path(&path).exists());
        std::fs::write(&path, b"").unwrap();
        let err = open_database(&path, true).unwrap_err().to_string();
        assert!(
            err.contains("pool.redb") && err.contains("empty") && err.contains("backup"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&base);
    }
}
