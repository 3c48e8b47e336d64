//! The ACME directory on disk: the account (its key and URL, per ACME directory) and the current certificate
//! with its key in one file, so a crash never leaves a chain beside a key it does not match. The certificate
//! file is named after the CA's directory URL, so moving from staging to production never serves a staging
//! certificate. The directory is
//! owner-only (0700) and every file in it 0600, whatever the umask; files are replaced atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

const ACCOUNT_FILE: &str = "account.json";

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
    cert_file: String,
}

/// `certificate-<first 8 bytes of SHA-256 of the directory URL, hex>.pem`.
fn cert_file(directory: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(directory.as_bytes());
    format!("certificate-{}.pem", hex::encode(&digest[..8]))
}

fn err(path: &Path, source: std::io::Error) -> StorageError {
    StorageError {
        path: path.to_path_buf(),
        source,
    }
}

impl Storage {
    /// Creates the directory if needed and makes it owner-only.
    pub fn open(dir: &Path, directory: &str) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        restrict(dir, 0o700).map_err(|e| err(dir, e))?;
        // Files left with wider modes (copied in by hand) are narrowed too.
        for entry in std::fs::read_dir(dir).map_err(|e| err(dir, e))?.flatten() {
            let path = entry.path();
            if path.is_file() {
                restrict(&path, 0o600).map_err(|e| err(&path, e))?;
            }
        }
        Ok(Self::existing(dir, directory))
    }

    /// The directory as it is, without creating or changing it (for `check`).
    pub fn existing(dir: &Path, directory: &str) -> Self {
        Self {
            dir: dir.to_path_buf(),
            cert_file: cert_file(directory),
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
        std::fs::read(self.dir.join(&self.cert_file)).ok()
    }

    pub fn save_certificate(&self, chain_pem: &str, key_pem: &str) -> Result<(), StorageError> {
        let mut both = String::with_capacity(chain_pem.len() + key_pem.len() + 1);
        both.push_str(key_pem.trim_end());
        both.push('\n');
        both.push_str(chain_pem);
        self.write(&self.cert_file, both.as_bytes())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_kept_per_ca_and_owner_only() {
        let dir =
            std::env::temp_dir().join(format!("chia-pool-acme-storage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let staging = Storage::open(&dir, "https://staging.example/dir").unwrap();
        staging.save_certificate("CHAIN\n", "KEY\n").unwrap();
        assert_eq!(staging.load_certificate().unwrap(), b"KEY\nCHAIN\n");
        let production = Storage::open(&dir, "https://production.example/dir").unwrap();
        assert!(
            production.load_certificate().is_none(),
            "a staging certificate is not production's"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                assert_eq!(mode(&entry.path()), 0o600);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
