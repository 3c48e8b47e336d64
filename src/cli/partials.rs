//! `chia-pool partials`: the operator's view of how each farmer's partials fared at confirmation, with the
//! reasons for those rejected. Reads the database only (stop the pool first, or copy the file: redb locks it).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::store::{self, Store};

use super::load_config;

pub fn partials(path: &Path) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(path)?;
    let store = Store::open(&config.store.path)
        .with_context(|| format!("opening {}", config.store.path.display()))?;
    let txn = store.read()?;
    let stats = store::rejections::all(&txn)?;
    drop(txn);
    store.close();

    let (confirmed, rejected) = stats.iter().fold((0u64, 0u64), |(c, r), s| {
        (c.saturating_add(s.confirmed), r.saturating_add(s.rejected))
    });
    println!(
        "partials settled: {confirmed} confirmed, {rejected} rejected at confirmation ({})",
        share(rejected, confirmed.saturating_add(rejected))
    );
    println!(
        "  {:<66} {:>10} {:>9} {:>7}",
        "launcher", "confirmed", "rejected", "share"
    );
    for s in &stats {
        println!(
            "  0x{} {:>10} {:>9} {:>7}",
            hex::encode(s.launcher_id),
            s.confirmed,
            s.rejected,
            share(s.rejected, s.confirmed.saturating_add(s.rejected))
        );
        for (reason, n) in &s.reasons {
            println!("      {n} rejected: {reason}");
        }
        for r in s.recent.iter().rev().take(5) {
            println!(
                "      latest: arrived {} ms, {} 0x{}, difficulty {}: {}",
                r.arrived_ms,
                if r.end_of_sub_slot {
                    "end of sub-slot"
                } else {
                    "signage point"
                },
                hex::encode(r.sp_hash),
                r.difficulty,
                r.reason
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".into();
    }
    let per_mille = part.saturating_mul(1000) / whole;
    format!("{}.{}%", per_mille / 10, per_mille % 10)
}
