//! `chia-pool rewards`: the operator's view of members' points, reward coins and their forwarding, and a dry
//! run of the next payout. Reads the database only (stop the pool first, or copy the file: redb locks it).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::rewards::payout::{plan, Entitlement};
use crate::rewards::payouts::entitlement;
use crate::store::payouts::BatchState;
use crate::store::rewards::ForwardState;
use crate::store::{self, Store};

use super::load_config;

const MOJO_PER_XCH: f64 = 1e12;

pub fn rewards(path: &Path) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(path)?;
    let store = Store::open(&config.store.path)
        .with_context(|| format!("opening {}", config.store.path.display()))?;
    let txn = store.read()?;
    let farmers = store::farmers::all(&txn)?;
    let rewards = store::rewards::all(&txn)?;
    let payouts = store::payouts::all(&txn)?;
    drop(txn);
    store.close();

    println!("farmers ({}):", farmers.len());
    println!(
        "  {:<66} {:>9} {:>14} {:>10}",
        "launcher", "membership", "unpaid points", "difficulty"
    );
    for f in &farmers {
        println!(
            "  0x{} {:>9} {:>14} {:>10}",
            hex::encode(f.launcher_id),
            format!("{:?}", f.membership),
            f.points,
            f.difficulty
        );
    }
    println!("reward coins ({}):", rewards.len());
    let mut forwarded = 0u64;
    for r in &rewards {
        let state = match r.state {
            ForwardState::Found => "found, not forwarded yet".to_string(),
            ForwardState::Submitted {
                bundle_name,
                at_height,
            } => {
                format!(
                    "forward 0x{} submitted at height {at_height}",
                    hex::encode(bundle_name)
                )
            }
            ForwardState::Forwarded { spent_height } => {
                if r.payout_id.is_none() {
                    forwarded = forwarded.saturating_add(r.amount);
                }
                match r.payout_id {
                    Some(id) => {
                        format!("forwarded at height {spent_height}, paid out in payout {id}")
                    }
                    None => format!("forwarded at height {spent_height}"),
                }
            }
        };
        let retries = if r.failed_attempts > 0 {
            format!(" ({} refused attempts)", r.failed_attempts)
        } else {
            String::new()
        };
        println!(
            "  0x{} {:.6} XCH of 0x{}: {state}{retries}",
            hex::encode(r.coin_id),
            r.amount as f64 / MOJO_PER_XCH,
            hex::encode(r.launcher_id)
        );
    }

    let entitlements: Vec<Entitlement> = farmers.iter().map(entitlement).collect();
    println!("payouts ({}):", payouts.len());
    for p in &payouts {
        let done = p
            .batches
            .iter()
            .filter(|b| matches!(b.state, BatchState::Confirmed { .. }))
            .count();
        let paid: u64 = p.lines.iter().map(|l| l.paid).sum();
        println!(
            "  #{}: {:.6} XCH shared, fee {:.6}, paid {:.6} to {} farmers; {}/{} transactions confirmed{}",
            p.id,
            p.rewards as f64 / MOJO_PER_XCH,
            p.fee as f64 / MOJO_PER_XCH,
            paid as f64 / MOJO_PER_XCH,
            p.lines.iter().filter(|l| l.paid > 0).count(),
            done,
            p.batches.len(),
            if p.finished() { "" } else { " (in progress)" }
        );
    }
    let carried: u64 = farmers.iter().map(|f| f.carried).sum();
    println!("carried balances: {:.6} XCH", carried as f64 / MOJO_PER_XCH);
    println!(
        "forwarded, not yet paid out: {:.6} XCH",
        forwarded as f64 / MOJO_PER_XCH
    );
    let dry = plan(
        forwarded,
        config.pool.fee_basis_points,
        config.payouts.minimum_payout_mojos,
        &entitlements,
    );
    if dry.rewards == 0 {
        println!("dry run: nothing to share yet (no forwarded rewards or no confirmed points)");
    } else {
        println!(
            "dry run of a payout of it: fee {:.6} XCH, {} payments in {} transactions",
            dry.fee as f64 / MOJO_PER_XCH,
            dry.shares.iter().filter(|s| s.paid > 0).count(),
            dry.batches(config.payouts.max_additions_per_transaction as usize)
                .len()
        );
    }
    for s in dry.shares.iter().filter(|s| s.share > 0 || s.carried > 0) {
        println!(
            "  0x{}: share {:.6} XCH, pay {:.6}, carry {:.6}",
            hex::encode(s.payout_puzzle_hash),
            s.share as f64 / MOJO_PER_XCH,
            s.paid as f64 / MOJO_PER_XCH,
            s.carried as f64 / MOJO_PER_XCH
        );
    }
    Ok(ExitCode::SUCCESS)
}
