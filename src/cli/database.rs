//! `chia-pool backup` and `chia-pool check --db`: a consistent copy of the database, running pool or not, and
//! a verification of a database file.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::store::backup::{self, Summary};

/// `chia-pool backup --to FILE`: copies the database (read-only beside a running pool) into a new file.
pub fn backup(config: &Path, db: Option<&Path>, to: &Path) -> anyhow::Result<ExitCode> {
    let source = match db {
        Some(db) => db.to_path_buf(),
        None => super::load_config(config)?.0.store.path,
    };
    let summary = backup::backup(&source, to)
        .with_context(|| format!("backing up {} to {}", source.display(), to.display()))?;
    println!(
        "backup ok: {} -> {} ({})",
        source.display(),
        to.display(),
        describe(&summary)
    );
    Ok(ExitCode::SUCCESS)
}

/// `chia-pool check --db FILE`: every row readable and, for a file not in use, every page's checksum.
pub fn check_db(path: &Path) -> anyhow::Result<ExitCode> {
    match backup::check_file(path) {
        Ok(summary) => {
            println!("database ok: {} ({})", path.display(), describe(&summary));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("database ERROR: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

pub(super) fn describe(s: &Summary) -> String {
    format!(
        "{} farmers, {} partials, {} reward coins, {} payouts; {}",
        s.farmers,
        s.partials,
        s.rewards,
        s.payouts,
        if s.pages_verified {
            "every page verified"
        } else {
            "in use by a running pool: rows read, pages not verified (check a backup for that)"
        }
    )
}
