//! The ACME directory on disk: the account (its key and URL, per ACME directory) and the current certificate
//! with its key in one file, so a crash never leaves a chain beside a key it does not match. The directory is
//! owner-only (0700) and every file in it 0600, whatever the umask; files are replaced atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

const ACCOUNT_FILE: &str = "account.json";
const CERT_FILE: &str = "certificate.pem";

#[derive(Debug, thiserror::Error)]
#[error("{path}: {source} ([acme] dir)")]
pub struct StorageError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// The saved account: which directory it belongs to, and instant-acme's credentials (JSON).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct SavedAccount {
    pub directory: String,
    pub credentials: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct Storage {
    dir: PathBuf,
}

fn err(path: &Path, source: std::io::Error) -> StorageError {
    StorageError {
        path: path.to_path_buf(),
        source,
    }
}

impl Storage {
    /// Creates the directory if needed and makes it owner-only.
    pub fn open(dir: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        restrict(dir, 0o700).map_err(|e| err(dir, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory as it is, without creating or changing it (for `check`).
    pub fn existing(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn load_account(&self) -> Option<SavedAccount> {
        let text = std::fs::read(self.dir.join(ACCOUNT_FILE)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    pub fn save_account(&self, account: &SavedAccount) -> Result<(), StorageError> {
        let text = serde_json::to_vec_pretty(account).map_err(|e| {
            err(
                &self.dir.join(ACCOUNT_FILE),
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })?;
        self.write(ACCOUNT_FILE, &text)
    }

    /// The stored certificate chain and key (PEM), if any.
    pub fn load_certificate(&self) -> Option<Vec<u8>> {
        std::fs::read(self.dir.join(CERT_FILE)).ok()
    }

    pub fn save_certificate(&self, chain_pem: &str, key_pem: &str) -> Result<(), StorageError> {
        let mut both = String::with_capacity(chain_pem.len() + key_pem.len() + 1);
        both.push_str(key_pem.trim_end());
        both.push('\n');
        both.push_str(chain_pem);
        self.write(CERT_FILE, both.as_bytes())
    }

    /// Writes a temporary file with mode 0600 and renames it over `name`.
    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let target = self.dir.join(name);
        let temp = self.dir.join(format!(".{name}.tmp"));
        let result = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&temp)?;
            // The umask may have narrowed the mode (or a stale temp file had another): set it outright.
            restrict(&temp, 0o600)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&temp, &target)
        })();
        result.map_err(|e| err(&target, e))
    }
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}
