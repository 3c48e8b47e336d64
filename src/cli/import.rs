//! `chia-pool import pool-reference --sqlite FILE`: the members of a pool-reference pool (its SQLite `farmer`
//! table) taken over without rejoining. Each member is checked on chain as a v1 registration is (its
//! singleton followed from the launcher, farming to this pool, the same p2_singleton); those that cannot be
//! verified are listed, not imported. `--dry-run` prints what would be imported and writes nothing.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chia_bls::PublicKey;
use chia_protocol::Bytes32;

use crate::chain::ChainClient;
use crate::pool::v1::tracking::singleton_record;
use crate::pool::{payout_instructions, unix_now, Handles};
use crate::store::farmers_v1::FarmerV1Record;
use crate::store::{self, Membership, Store};

use super::serve::{pool_settings, wait_for_node};
use super::{chain_config, load_config};

/// One row of pool-reference's `farmer` table, as stored (hex text, integers).
struct Row {
    launcher_id: String,
    p2_singleton_puzzle_hash: String,
    authentication_public_key: String,
    payout_instructions: String,
    points: i64,
    difficulty: i64,
    is_pool_member: i64,
}

fn read_rows(sqlite: &Path) -> anyhow::Result<Vec<Row>> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let db = rusqlite::Connection::open_with_flags(sqlite, flags)
        .with_context(|| format!("opening {}", sqlite.display()))?;
    let mut query = db
        .prepare(
            "SELECT launcher_id, p2_singleton_puzzle_hash, authentication_public_key, payout_instructions, \
             points, difficulty, is_pool_member FROM farmer ORDER BY launcher_id",
        )
        .context("reading the farmer table (is this a pool-reference database?)")?;
    let rows = query.query_map([], |r| {
        Ok(Row {
            launcher_id: r.get(0)?,
            p2_singleton_puzzle_hash: r.get(1)?,
            authentication_public_key: r.get(2)?,
            payout_instructions: r.get(3)?,
            points: r.get(4)?,
            difficulty: r.get(5)?,
            is_pool_member: r.get(6)?,
        })
    })?;
    rows.collect::<Result<Vec<_>, _>>()
        .context("reading the farmer table")
}

fn hex32(text: &str) -> Option<[u8; 32]> {
    hex::decode(text.trim_start_matches("0x"))
        .ok()?
        .try_into()
        .ok()
}

/// The member as this pool would register it, or why it cannot be verified.
async fn verify(pool: &Handles, row: &Row) -> Result<FarmerV1Record, String> {
    if row.is_pool_member == 0 {
        return Err("pool-reference no longer counts it as a member".into());
    }
    let launcher = hex32(&row.launcher_id).ok_or("the launcher id is not 32 bytes of hex")?;
    let key = hex::decode(row.authentication_public_key.trim_start_matches("0x"))
        .ok()
        .and_then(|b| <[u8; 48]>::try_from(b.as_slice()).ok())
        .filter(|b| PublicKey::from_bytes(b).is_ok())
        .ok_or("the authentication key is not a BLS public key")?;
    let settings = pool.settings();
    let payout = payout_instructions::parse(&row.payout_instructions, &settings.address_prefix)
        .map_err(|e| e.message)?;
    let (tip, created) = pool
        .singleton_v1_tip(Bytes32::new(launcher), None)
        .await
        .map_err(|e| e.message)?;
    let ours = &settings.plotnft_pool;
    if !tip.is_farming_to(ours.pool_puzzle_hash, ours.heightlock) {
        return Err(format!(
            "its PlotNFT does not farm to this pool (state {}, target 0x{}, relative lock height {})",
            tip.pool_state.state,
            hex::encode(tip.pool_state.target_puzzle_hash),
            tip.pool_state.relative_lock_height
        ));
    }
    let p2 = tip.plotnft.p2_singleton_puzzle_hash().to_bytes();
    if hex32(&row.p2_singleton_puzzle_hash) != Some(p2) {
        return Err(format!(
            "its p2_singleton puzzle hash on chain is 0x{}, not the database's",
            hex::encode(p2)
        ));
    }
    let c = &settings.config.pool;
    let points = u64::try_from(row.points).unwrap_or(0);
    Ok(FarmerV1Record {
        launcher_id: launcher,
        owner_public_key: tip.pool_state.owner_pubkey.to_bytes(),
        authentication_public_key: key,
        payout_instructions: hex::encode(payout),
        payout_puzzle_hash: payout.to_bytes(),
        difficulty: u64::try_from(row.difficulty)
            .unwrap_or(0)
            .clamp(c.min_difficulty, c.max_difficulty),
        p2_singleton_puzzle_hash: p2,
        membership: Membership::Pooling,
        singleton: singleton_record(&tip, created),
        joined_at: unix_now(),
        recent_partials: Vec::new(),
        points,
        carried: 0,
        lifetime_points: points,
    })
}

/// `chia-pool import pool-reference --sqlite FILE [--dry-run]` (the pool must be stopped).
pub fn import_pool_reference(
    config_path: &Path,
    sqlite: &Path,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let (config, _) = load_config(config_path)?;
    let rows = read_rows(sqlite)?;
    let target = config
        .reward_puzzle_hash()?
        .context("set [pool] reward_address: the imported members' PlotNFTs must farm to it")?;
    let store = Store::open(&config.store.path).with_context(|| {
        format!(
            "opening {} (stop the pool first)",
            config.store.path.display()
        )
    })?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (verified, refused) = runtime.block_on(async {
        let chain =
            ChainClient::new(chain_config(&config)).context("connecting to the chia node")?;
        let (network, constants) =
            tokio::time::timeout(Duration::from_secs(60), wait_for_node(&chain))
                .await
                .context("the chia node did not answer within a minute")?;
        let settings = pool_settings(&config, &network, target)?;
        let pool = Handles::new(store.clone(), chain, settings, constants);
        let (mut verified, mut refused) = (Vec::new(), Vec::new());
        for row in &rows {
            match verify(&pool, row).await {
                Ok(record) => verified.push(record),
                Err(why) => refused.push((row.launcher_id.clone(), why)),
            }
        }
        Ok::<_, anyhow::Error>((verified, refused))
    })?;
    println!(
        "pool-reference database {}: {} farmers",
        sqlite.display(),
        rows.len()
    );
    println!("verified on chain ({}):", verified.len());
    for f in &verified {
        println!(
            "  0x{} points {} difficulty {} payout 0x{}",
            hex::encode(f.launcher_id),
            f.points,
            f.difficulty,
            hex::encode(f.payout_puzzle_hash)
        );
    }
    println!("not imported, cannot be verified ({}):", refused.len());
    for (launcher, why) in &refused {
        println!("  {launcher}: {why}");
    }
    if dry_run {
        println!("dry run: nothing was written");
        store.close();
        return Ok(ExitCode::SUCCESS);
    }
    let stored = store.write_blocking(move |txn| {
        let mut stored = 0;
        for f in verified {
            if store::farmers_v1::register(txn, f)? {
                stored += 1;
            }
        }
        Ok(stored)
    })?;
    store.close();
    println!("imported {stored} (the others were already members)");
    Ok(ExitCode::SUCCESS)
}
