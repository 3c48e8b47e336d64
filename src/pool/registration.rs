//! POST /farmer's on-chain check: the launcher's PlotNFT exists, pools to us with the registering key, and is
//! the real singleton of that launcher (plotnft-v2 §6.2), not a look-alike coin another singleton minted.

use chia_bls::PublicKey;
use chia_protocol::{Bytes32, CoinRecord};

use crate::chain::node::CoinQuery;
use crate::chia::messages::PoolErrorCode;
use crate::chia::plotnft::check_lineage;
use crate::chia::puzzles::{PlotNftPuzzles, PlotNftState};
use crate::store::SingletonRecord;

use super::{Handles, Pool, PoolError};

/// Coins at a PlotNFT's puzzle hash whose lineage one registration checks (one node call each).
const MAX_LINEAGE_CHECKS: usize = 3;

impl Pool {
    /// The PlotNFT's current coin, if it pools to this pool under `authentication_public_key`.
    pub(crate) async fn verify_plotnft_on_chain(
        &self,
        launcher_id: Bytes32,
        authentication_public_key: &PublicKey,
    ) -> Result<SingletonRecord, PoolError> {
        let puzzles = self.member_puzzles(launcher_id, authentication_public_key)?;
        let hash = |state| {
            puzzles
                .puzzle_hash(state)
                .map_err(|e| PoolError::internal("computing PlotNFT puzzle hashes failed", e))
        };
        let pooling = hash(PlotNftState::Pooling)?;
        let exiting = hash(PlotNftState::Exiting)?;
        let records = self
            .chain()
            .coin_records_by_puzzle_hashes(&[pooling, exiting], CoinQuery::unspent())
            .await
            .map_err(PoolError::node_unavailable)?;
        // PlotNFTs have an odd amount; anyone can send even "dust" to these hashes, which must not block anyone.
        let odd: Vec<&CoinRecord> = records.iter().filter(|r| r.coin.amount % 2 == 1).collect();
        if odd.iter().all(|r| r.coin.puzzle_hash == exiting) && !odd.is_empty() {
            return Err(PoolError::new(
                PoolErrorCode::InvalidSingleton,
                "this PlotNFT is leaving the pool (waiting room); join the pool again before registering",
            ));
        }
        let mut candidates: Vec<&CoinRecord> = odd
            .into_iter()
            .filter(|r| r.coin.puzzle_hash == pooling)
            .collect();
        let found = candidates.len();
        if candidates.is_empty() {
            return Err(PoolError::new(
                PoolErrorCode::NotFound,
                format!(
                    "no PlotNFT of launcher 0x{} pools to this pool with this authentication key (expected an \
                     unspent coin with puzzle hash 0x{}); join the pool first and wait for the transaction to confirm",
                    hex::encode(launcher_id),
                    hex::encode(pooling)
                ),
            ));
        }
        // Anyone can put coins at this puzzle hash. Look at the oldest few only (the PlotNFT's coin is there
        // since it joined; planted ones come later) and log one line, not one per coin.
        candidates.sort_by_key(|r| r.confirmed_block_index);
        candidates.truncate(MAX_LINEAGE_CHECKS);
        let mut genuine = Vec::new();
        let mut rejected = Vec::new();
        for record in candidates {
            match self.handles().lineage_ok(record, launcher_id).await {
                Ok(()) => genuine.push(record),
                Err(why) => rejected.push(why),
            }
        }
        if !rejected.is_empty() || found > MAX_LINEAGE_CHECKS {
            tracing::warn!(
                launcher_id = %hex::encode(launcher_id),
                "{found} coins at this PlotNFT's puzzle hash; checked {}, {} not the singleton (first reason: {})",
                found.min(MAX_LINEAGE_CHECKS),
                rejected.len(),
                rejected.first().map_or("-", String::as_str)
            );
        }
        match genuine.as_slice() {
            [record] => Ok(SingletonRecord {
                coin_id: record.coin.coin_id().to_bytes(),
                parent_coin_id: record.coin.parent_coin_info.to_bytes(),
                puzzle_hash: record.coin.puzzle_hash.to_bytes(),
                created_height: record.confirmed_block_index,
                exit_height: None,
            }),
            [] => Err(PoolError::new(
                PoolErrorCode::InvalidSingleton,
                "the coin at this PlotNFT's puzzle hash is not the singleton of this launcher",
            )),
            _ => Err(PoolError::new(
                PoolErrorCode::InvalidSingleton,
                "several singleton coins claim this launcher; contact the pool operator",
            )),
        }
    }

    /// The puzzles of a member's PlotNFT as it pools to us.
    pub fn member_puzzles(
        &self,
        launcher_id: Bytes32,
        key: &PublicKey,
    ) -> Result<PlotNftPuzzles, PoolError> {
        self.handles().member_puzzles(launcher_id, key)
    }
}

impl Handles {
    /// The coin is the launcher's singleton: its parent's spend is a singleton spend of this launcher.
    pub(crate) async fn lineage_ok(
        &self,
        record: &CoinRecord,
        launcher_id: Bytes32,
    ) -> Result<(), String> {
        // The parent was spent in the block that created the child.
        let parent_spend = self
            .chain()
            .puzzle_and_solution(record.coin.parent_coin_info, record.confirmed_block_index)
            .await
            .map_err(|e| e.to_string())?;
        check_lineage(&record.coin, &parent_spend, launcher_id).map_err(|e| e.to_string())
    }
}
