//! Background jobs of the pool: confirming partials after the delay (see `confirm`) and following members'
//! PlotNFTs.

use std::collections::HashMap;
use std::time::Duration;

use chia_protocol::{Bytes32, CoinRecord};

use crate::chain::node::CoinQuery;
use crate::chia::plotnft::PlotNft;
use crate::chia::puzzles::PlotNftState;
use crate::store::{self, FarmerRecord, Membership, SingletonRecord};

use super::confirm::Confirmer;
use super::farmers::public_key;
use super::relocate::{relocate, Misses};
use super::{Handles, PoolError};
use crate::stats::Stats;

/// Why a job run stopped (the next run tries again).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Chain(#[from] crate::chain::ChainError),
    #[error(transparent)]
    Member(#[from] PoolError),
    #[error("a member's PlotNFT puzzle cannot be built: {0}")]
    Puzzle(#[from] crate::chia::puzzles::PuzzleError),
    #[error("several genuine singleton coins claim launcher {0}; the PlotNFT is left as it was")]
    AmbiguousSingleton(String),
}

/// Spends followed per PlotNFT per run (a PlotNFT moves once per forward or state change).
const MAX_HOPS: usize = 32;

/// The coin records of `ids` (PlotNFT singletons' current coins), by coin id, in one chunked lookup.
pub(super) async fn coins_by_id(
    pool: &Handles,
    ids: &[Bytes32],
) -> Result<HashMap<Bytes32, CoinRecord>, crate::chain::error::ChainError> {
    Ok(pool
        .chain()
        .coin_records_by_names(ids, CoinQuery::all())
        .await?
        .into_iter()
        .map(|r| (r.coin.coin_id(), r))
        .collect())
}

/// Starts the job loops on the current tokio runtime. They take the pool's narrow handles and report to
/// its figures; nothing else of the pool.
pub fn spawn(pool: &Handles, stats: &Stats) {
    let stats = stats.clone();
    // Check a few times per confirmation delay, at most every 30 s.
    let confirm_every =
        Duration::from_secs((pool.config().partials.confirmation_delay_secs / 4).clamp(1, 30));
    let p = pool.clone();
    let s = stats.clone();
    super::supervisor::spawn("partial confirmation", move || {
        let (p, stats) = (p.clone(), s.clone());
        async move {
            let mut confirmer = Confirmer::new();
            loop {
                let result = confirmer.run(&p).await;
                match &result {
                    Ok(s) if s.confirmed + s.rejected > 0 => tracing::info!(
                        confirmed = s.confirmed,
                        rejected = s.rejected,
                        undecided = s.undecided,
                        node_calls = s.node_calls,
                        "partials settled"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("partial confirmation paused: {e}"),
                }
                let error = result.as_ref().err().map(|e| e.to_string());
                stats.job_done("confirm_partials", error.as_deref().map_or(Ok(()), Err));
                tokio::time::sleep(confirm_every).await;
            }
        }
    });
    // PlotNFTs move only in blocks: follow them at each new peak (and at least once a minute).
    let p = pool.clone();
    super::supervisor::spawn("PlotNFT tracking", move || {
        let (p, stats) = (p.clone(), stats.clone());
        async move {
            let mut peaks = p.chain().subscribe_peak();
            let mut misses = Misses::default();
            loop {
                let result = track_singletons(&p, &mut misses).await;
                if let Err(e) = &result {
                    tracing::warn!("PlotNFT tracking paused: {e}");
                }
                let error = result.as_ref().err().map(|e| e.to_string());
                stats.job_done("track_plotnfts", error.as_deref().map_or(Ok(()), Err));
                let result = super::v1::tracking::track_v1_singletons(&p).await;
                if let Err(e) = &result {
                    tracing::warn!("v1 PlotNFT tracking paused: {e}");
                }
                let error = result.as_ref().err().map(|e| e.to_string());
                stats.job_done("track_plotnfts_v1", error.as_deref().map_or(Ok(()), Err));
                let _ = tokio::time::timeout(Duration::from_secs(60), peaks.changed()).await;
                // Let a burst of peaks settle into one run.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    });
}

/// Follows every member's PlotNFT from its last known coin through the spends since, updating membership:
/// pooling to us, leaving (waiting room), or left. All current coins are looked up in one (chunked) query; a
/// spend is acted on once it is `confirmation_depth` blocks deep. The height of the last complete run is kept
/// in the database.
pub async fn track_singletons(pool: &Handles, misses: &mut Misses) -> Result<(), JobError> {
    let peak = pool.chain().synced_peak()?;
    let farmers: Vec<FarmerRecord> = {
        let txn = pool.store().read()?;
        store::farmers::all(&txn)?
    };
    let followed: Vec<&FarmerRecord> = farmers
        .iter()
        .filter(|f| f.membership != Membership::Left && f.singleton.is_some())
        .collect();
    let ids: Vec<Bytes32> = followed
        .iter()
        .filter_map(|f| f.singleton.as_ref().map(|s| Bytes32::new(s.coin_id)))
        .collect();
    let records = coins_by_id(pool, &ids).await?;
    let depth = pool.config().payouts.confirmation_depth;
    for farmer in followed {
        let Some(current) = farmer.singleton.as_ref() else {
            continue;
        };
        let known = records.get(&Bytes32::new(current.coin_id));
        if known.is_some() {
            misses.found(&farmer.launcher_id);
        }
        let update = match known {
            // Gone from the chain (a reorg): look the PlotNFT up again by its puzzle hashes.
            None => relocate(pool, farmer, peak.height, misses).await,
            Some(r) if r.spent_block_index == 0 => Ok(None),
            Some(r) if r.spent_block_index.saturating_add(depth) > peak.height => Ok(None),
            Some(r) => follow(pool, farmer, *r, peak.height, depth).await,
        };
        match update {
            Ok(Some((membership, singleton))) => save(pool, farmer, membership, singleton).await?,
            Ok(None) => {}
            // One farmer's trouble (a node hiccup, an odd spend) must not stop the others.
            Err(e) => {
                tracing::warn!(launcher_id = %hex::encode(farmer.launcher_id), "cannot follow PlotNFT: {e}")
            }
        }
    }
    let height = u64::from(peak.height);
    pool.store()
        .write(move |txn| store::set_meta_u64(txn, "singletons_tracked_height", height))
        .await?;
    Ok(())
}

async fn save(
    pool: &Handles,
    farmer: &FarmerRecord,
    membership: Membership,
    singleton: SingletonRecord,
) -> Result<(), JobError> {
    if membership == farmer.membership && Some(&singleton) == farmer.singleton.as_ref() {
        return Ok(());
    }
    note_membership(&farmer.launcher_id, farmer.membership, membership, 2);
    let key = farmer.launcher_id;
    pool.store()
        .write(move |txn| {
            if let Some(mut f) = store::farmers::get_for_update(txn, &key)? {
                f.membership = membership;
                f.singleton = Some(singleton);
                store::farmers::put(txn, &f)?;
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// Logs a member's change of membership, for either PlotNFT version.
pub(super) fn note_membership(
    launcher_id: &[u8; 32],
    from: Membership,
    to: Membership,
    version: u8,
) {
    if from != to {
        tracing::info!(
            launcher_id = %hex::encode(launcher_id),
            version,
            "membership {from:?} -> {to:?}"
        );
    }
}

/// Decodes the spends from `record` (the farmer's current coin, spent) onwards, as far as they are buried.
async fn follow(
    pool: &Handles,
    farmer: &FarmerRecord,
    mut record: CoinRecord,
    peak_height: u32,
    depth: u32,
) -> Result<Option<(Membership, SingletonRecord)>, JobError> {
    let Some(mut singleton) = farmer.singleton.clone() else {
        return Ok(None);
    };
    let launcher_id = Bytes32::new(farmer.launcher_id);
    let key = public_key(farmer)?;
    let puzzles = pool.member_puzzles(launcher_id, &key)?;
    let ours = pool.settings().plotnft_pool.clone();
    let mut membership = farmer.membership;
    let chain = pool.chain();
    for _ in 0..MAX_HOPS {
        let spent_at = record.spent_block_index;
        if spent_at == 0 || spent_at.saturating_add(depth) > peak_height {
            break;
        }
        let spend = chain
            .puzzle_and_solution(record.coin.coin_id(), spent_at)
            .await?;
        let next = match PlotNft::from_parent_spend(
            &spend,
            pool.settings().genesis_challenge,
            Some(&puzzles),
        ) {
            Ok(next) => next,
            Err(e) => {
                // Melted, or moved to a puzzle we cannot decode: it no longer pools with us.
                tracing::info!(launcher_id = %hex::encode(launcher_id), "PlotNFT left: {e}");
                return Ok(Some((Membership::Left, singleton)));
            }
        };
        membership = match (next.state, next.pool_config()) {
            (PlotNftState::Pooling, Some(cfg)) if *cfg == ours => Membership::Pooling,
            (PlotNftState::Exiting, Some(cfg)) if *cfg == ours => Membership::Leaving,
            _ => Membership::Left,
        };
        singleton = SingletonRecord {
            coin_id: next.coin.coin_id().to_bytes(),
            parent_coin_id: next.coin.parent_coin_info.to_bytes(),
            puzzle_hash: next.coin.puzzle_hash.to_bytes(),
            created_height: spent_at,
            exit_height: (membership == Membership::Leaving)
                .then(|| spent_at.saturating_add(ours.heightlock)),
        };
        if membership == Membership::Left {
            break;
        }
        match chain.coin_record_by_name(next.coin.coin_id()).await? {
            Some(child) => record = child,
            None => break,
        }
    }
    Ok(Some((membership, singleton)))
}
