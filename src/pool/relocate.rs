//! Finding a member's PlotNFT again after its known coin left the chain (a reorg undid the spend that made it,
//! or a lookup missed it): only the launcher's genuine singleton counts, as at registration, and "not found"
//! changes nothing until it has held for `confirmation_depth` blocks over several peaks.
//!
//! Anyone can send a coin with an odd amount to a member's pooling or exiting puzzle hash; taking such a coin
//! for the PlotNFT would mark a member leaving (code 14) for good.

use std::collections::HashMap;

use chia_protocol::{Bytes32, CoinRecord};

use crate::chain::node::CoinQuery;
use crate::chia::puzzles::PlotNftState;
use crate::store::{FarmerRecord, Membership, SingletonRecord};

use super::farmers::public_key;
use super::jobs::JobError;
use super::Handles;

/// Lookups in a row that must all miss before a member is taken to have left.
const MISSES_BEFORE_LEFT: u32 = 3;

/// Members whose PlotNFT was not found: (peak height of the first miss, misses so far).
#[derive(Debug, Default)]
pub struct Misses(HashMap<[u8; 32], (u32, u32)>);

impl Misses {
    /// The member's coin was seen again.
    pub fn found(&mut self, launcher_id: &[u8; 32]) {
        self.0.remove(launcher_id);
    }
}

/// The member's current PlotNFT coin at our pooling or exiting puzzle hash, lineage-checked. `Ok(None)`: no
/// change (yet).
pub async fn relocate(
    pool: &Handles,
    farmer: &FarmerRecord,
    peak_height: u32,
    misses: &mut Misses,
) -> Result<Option<(Membership, SingletonRecord)>, JobError> {
    let launcher_id = Bytes32::new(farmer.launcher_id);
    let key = public_key(farmer)?;
    let puzzles = pool.member_puzzles(launcher_id, &key)?;
    let hash = |s| puzzles.puzzle_hash(s);
    let (pooling, exiting) = (hash(PlotNftState::Pooling)?, hash(PlotNftState::Exiting)?);
    let records = pool
        .chain()
        .coin_records_by_puzzle_hashes(&[pooling, exiting], CoinQuery::unspent())
        .await?;
    let mut genuine: Vec<&CoinRecord> = Vec::new();
    for record in records.iter().filter(|r| r.coin.amount % 2 == 1) {
        match pool.lineage_ok(record, launcher_id).await {
            Ok(()) => genuine.push(record),
            Err(why) => tracing::warn!(
                launcher_id = %hex::encode(launcher_id),
                coin = %hex::encode(record.coin.coin_id()),
                "ignoring a coin at a member's PlotNFT puzzle hash: {why}"
            ),
        }
    }
    match genuine.as_slice() {
        [record] => {
            misses.found(&farmer.launcher_id);
            let coin = record.coin;
            let leaving = coin.puzzle_hash == exiting;
            let membership = if leaving {
                Membership::Leaving
            } else {
                Membership::Pooling
            };
            let heightlock = pool.settings().plotnft_pool.heightlock;
            return Ok(Some((
                membership,
                SingletonRecord {
                    coin_id: coin.coin_id().to_bytes(),
                    parent_coin_id: coin.parent_coin_info.to_bytes(),
                    puzzle_hash: coin.puzzle_hash.to_bytes(),
                    created_height: record.confirmed_block_index,
                    exit_height: leaving
                        .then(|| record.confirmed_block_index.saturating_add(heightlock)),
                },
            )));
        }
        [] => {}
        _ => {
            return Err(JobError::AmbiguousSingleton(hex::encode(
                farmer.launcher_id,
            )))
        }
    }
    // Not found: the undone spend is usually included again within a few blocks.
    let depth = pool.config().payouts.confirmation_depth;
    let (first, count) = misses
        .0
        .entry(farmer.launcher_id)
        .or_insert((peak_height, 0));
    *count += 1;
    if *count < MISSES_BEFORE_LEFT || peak_height < first.saturating_add(depth) {
        tracing::info!(
            launcher_id = %hex::encode(launcher_id),
            misses = *count,
            "PlotNFT not found at the pool's puzzle hashes; looking again at later peaks"
        );
        return Ok(None);
    }
    tracing::info!(
        launcher_id = %hex::encode(launcher_id),
        since_height = *first,
        "PlotNFT not found at the pool's puzzle hashes for {depth} blocks: it left"
    );
    misses.found(&farmer.launcher_id);
    let singleton = farmer.singleton.clone().unwrap_or(SingletonRecord {
        coin_id: [0; 32],
        parent_coin_id: [0; 32],
        puzzle_hash: farmer.reward_puzzle_hash,
        created_height: 0,
        exit_height: None,
    });
    Ok(Some((Membership::Left, singleton)))
}
