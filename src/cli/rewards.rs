//! `chia-pool rewards`: the operator's view of members' points, reward coins and their forwarding (claims
//! elsewhere included), payouts and what holds them up, payout instruction changes, the ledger, and a dry run
//! of the next payout. `--verify` also checks the ledger against the chain and fails loudly on a mismatch.
//! Reads the database only (stop the pool first, or copy the file: redb locks it).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::chain::ChainClient;
use crate::rewards::ledger::{self, Scope};
use crate::rewards::payouts::entitlement;
use crate::rewards::shares::{plan, Entitlement};
use crate::store::payouts::BatchState;
use crate::store::rewards::ForwardState;
use crate::store::{self, Store};

use super::{chain_config, load_config};

const MOJO_PER_XCH: f64 = 1e12;

fn xch(mojo: u64) -> f64 {
    mojo as f64 / MOJO_PER_XCH
}

pub fn rewards(path: &Path, verify: bool) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(path)?;
    let store = Store::open(&config.store.path)
        .with_context(|| format!("opening {}", config.store.path.display()))?;
    let txn = store.read()?;
    let farmers = store::farmers::all(&txn)?;
    let rewards = store::rewards::all(&txn)?;
    let payouts = store::payouts::all(&txn)?;
    let changes = store::farmers::payout_changes(&txn)?;
    let farmers_v1 = store::farmers_v1::all(&txn)?;
    let carried_balances = ledger::carried_balances(&txn)?;
    drop(txn);

    // One list of members, each with its PlotNFT version: v1 members share the ledger.
    let members: Vec<(u8, [u8; 32], String, u64, u64)> = farmers
        .iter()
        .map(|f| {
            (
                2,
                f.launcher_id,
                format!("{:?}", f.membership),
                f.points,
                f.difficulty,
            )
        })
        .chain(farmers_v1.iter().map(|f| {
            (
                1,
                f.launcher_id,
                format!("{:?}", f.membership),
                f.points,
                f.difficulty,
            )
        }))
        .collect();
    println!("farmers ({}):", members.len());
    println!(
        "  {:<66} {:>7} {:>9} {:>14} {:>10}",
        "launcher", "PlotNFT", "membership", "unpaid points", "difficulty"
    );
    for (version, launcher_id, membership, points, difficulty) in &members {
        println!(
            "  0x{} {:>7} {membership:>9} {points:>14} {difficulty:>10}",
            hex::encode(launcher_id),
            format!("v{version}"),
        );
    }
    println!("payout instruction changes ({}):", changes.len());
    for c in &changes {
        println!(
            "  0x{} at unix ms {}: 0x{} -> 0x{}",
            hex::encode(c.launcher_id),
            c.at_ms,
            hex::encode(c.old_puzzle_hash),
            hex::encode(c.new_puzzle_hash)
        );
    }
    println!("reward coins ({}):", rewards.len());
    let mut forwarded = 0u64;
    for r in &rewards {
        let state = match &r.state {
            ForwardState::Found => "found, not forwarded yet".to_string(),
            ForwardState::Submitted {
                bundle_name,
                at_height,
            } => format!(
                "forward 0x{} submitted at height {at_height}",
                hex::encode(bundle_name)
            ),
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
            ForwardState::ClaimedElsewhere {
                spent_height,
                destinations,
            } => {
                let to: Vec<String> = destinations
                    .iter()
                    .map(|(ph, a)| format!("{:.6} XCH to 0x{}", xch(*a), hex::encode(ph)))
                    .collect();
                format!(
                    "CLAIMED ELSEWHERE at height {spent_height} ({}), never paid out",
                    if to.is_empty() {
                        "destination not shown by the chain".to_string()
                    } else {
                        to.join(", ")
                    }
                )
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
            xch(r.amount),
            hex::encode(r.launcher_id)
        );
    }

    println!("payouts ({}):", payouts.len());
    for p in &payouts {
        let done = p
            .batches
            .iter()
            .filter(|b| matches!(b.state, BatchState::Confirmed { .. }))
            .count();
        let paid: u64 = p.lines.iter().map(|l| l.paid).sum();
        let fee_to = p
            .fee_puzzle_hash
            .map(|ph| format!(" sent to 0x{}", hex::encode(ph)))
            .unwrap_or_default();
        println!(
            "  #{}: {:.6} XCH shared, fee {:.6}{fee_to}, paid {:.6} to {} farmers; {}/{} transactions confirmed{}",
            p.id,
            xch(p.rewards),
            xch(p.fee),
            xch(paid),
            p.lines.iter().filter(|l| l.paid > 0).count(),
            done,
            p.batches.len(),
            if p.finished() { "" } else { " (in progress)" }
        );
        for (i, b) in p.batches.iter().enumerate() {
            if !b.abandoned.is_empty() {
                println!(
                    "    transaction {i}: {} abandoned (proven never to land), paid by a new one",
                    b.abandoned.len()
                );
            }
            if !b.waiting.is_empty() && !matches!(b.state, BatchState::Confirmed { .. }) {
                println!("    transaction {i} WAITS: {}", b.waiting);
            }
        }
    }
    let carried: u64 = carried_balances.iter().sum();
    println!("carried balances: {:.6} XCH", xch(carried));
    println!("forwarded, not yet paid out: {:.6} XCH", xch(forwarded));
    let mut ok = true;
    match ledger::check_balances(&rewards, &payouts, carried_balances) {
        Ok(l) => println!("ledger ok: {l}"),
        Err(e) => {
            ok = false;
            println!("LEDGER MISMATCH (payouts are paused): {e}");
        }
    }
    if verify && ok {
        let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
        let checked = runtime.block_on(async {
            let chain = ChainClient::new(chain_config(&config))?;
            Ok::<_, anyhow::Error>(ledger::check(&store, &chain, Scope::All).await)
        })?;
        match checked {
            Ok(l) => println!(
                "ledger verified on chain: {} confirmed payout outputs found",
                l.outputs_on_chain
            ),
            Err(e) => {
                ok = false;
                println!("LEDGER MISMATCH (payouts are paused): {e}");
            }
        }
    }
    store.close();

    let entitlements: Vec<Entitlement> = farmers.iter().map(entitlement).collect();
    let dry = plan(
        forwarded,
        config.pool.fee_basis_points,
        config.payouts.minimum_payout_mojos,
        &entitlements,
    );
    let fee_to = config.fee_puzzle_hash()?.map(|ph| ph.to_bytes());
    if dry.rewards == 0 {
        println!("dry run: nothing to share yet (no forwarded rewards or no confirmed points)");
    } else {
        println!(
            "dry run of a payout of it: fee {:.6} XCH, {} outputs in {} transactions",
            xch(dry.fee),
            dry.outputs(fee_to).len(),
            dry.batches(
                config.payouts.max_additions_per_transaction as usize,
                fee_to
            )
            .len()
        );
    }
    for s in dry.shares.iter().filter(|s| s.share > 0 || s.carried > 0) {
        println!(
            "  0x{}: share {:.6} XCH, pay {:.6}, carry {:.6}",
            hex::encode(s.payout_puzzle_hash),
            xch(s.share),
            xch(s.paid),
            xch(s.carried)
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
