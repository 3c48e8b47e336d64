//! What differs between operating systems, in one place: owner-only files (Unix modes, Windows ACLs), the
//! open-file limit, stop signals and default locations. The rest of the crate calls these and carries no `cfg`.

use std::path::{Path, PathBuf};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;
#[cfg(windows)]
pub use windows::service;

/// The user's home: `$HOME` on Unix, `%USERPROFILE%` on Windows (where chia keeps `.chia\mainnet`).
pub fn home_dir() -> PathBuf {
    imp::home_dir()
}

/// Where a packaged pool keeps its state: `/var/lib/chia-pool` (systemd's StateDirectory) or
/// `%ProgramData%\chia-pool`.
pub fn default_data_dir() -> PathBuf {
    imp::default_data_dir()
}

/// Options that create a file only its owner can open (mode 0600 on Unix; on Windows `make_private` must
/// follow, since the ACL is set on the path).
pub fn private_file_options() -> std::fs::OpenOptions {
    imp::private_file_options()
}

/// Lets only the owner (Unix) or only the current account (Windows ACL, inheritance cut) read `path`.
pub fn make_private(path: &Path) -> std::io::Result<()> {
    imp::make_private(path, false)
}

/// `make_private` for a directory; on Windows what is created inside inherits the owner-only ACL.
pub fn make_private_dir(path: &Path) -> std::io::Result<()> {
    imp::make_private(path, true)
}

/// The Unix mode bits of a file others may read (group or world), if they may; `None` on Windows, where the
/// ACL set by `make_private` is not re-checked.
pub fn shared_mode(meta: &std::fs::Metadata) -> Option<u32> {
    imp::shared_mode(meta)
}

/// How `make_private` protects a file, in words for `init`'s output.
pub fn protection_description() -> String {
    imp::protection_description()
}

/// Raises the soft open-file limit as far as the hard limit allows; the limit now in force, if there is one.
pub fn raise_open_file_limit() -> Option<u64> {
    imp::raise_open_file_limit()
}

/// Resolves at the first stop signal: Ctrl-C everywhere, SIGTERM on Unix (a service stop on Windows arrives
/// through the service's control handler instead).
pub async fn stop_signal() {
    imp::stop_signal().await
}
