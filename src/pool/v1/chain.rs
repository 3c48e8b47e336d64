//! A v1 PlotNFT read from the chain: its launcher's spend, then every spend of its singleton up to the
//! unspent coin, each checked by `crate::chia::v1::lineage` (a coin that is not the launcher's singleton never
//! passes).

use chia_protocol::Bytes32;

use crate::chia::messages::PoolErrorCode;
use crate::chia::v1::lineage::SingletonV1;

use super::super::{Handles, PoolError};

/// Spends of one singleton followed at most (a PlotNFT that absorbed a reward every day for 27 years).
const MAX_SPENDS: usize = 10_000;

impl Handles {
    /// The launcher's v1 singleton as it stands at the chain's tip, with the height its coin was created at;
    /// with `settled`, as it stands after the spends at or below that height only (spends above it may still
    /// be undone by a reorg).
    pub(crate) async fn singleton_v1_tip(
        &self,
        launcher_id: Bytes32,
        settled: Option<u32>,
    ) -> Result<(SingletonV1, u32), PoolError> {
        let unsettled = |spent_at: u32| spent_at == 0 || settled.is_some_and(|h| spent_at > h);
        let chain = self.chain();
        let not_found = |what: &str| {
            PoolError::new(
                PoolErrorCode::NotFound,
                format!(
                    "{what} of launcher 0x{} is not on chain; create the PlotNFT and wait for it to confirm",
                    hex::encode(launcher_id)
                ),
            )
        };
        let invalid = |e: crate::chia::v1::lineage::V1LineageError| {
            PoolError::new(
                PoolErrorCode::InvalidSingleton,
                format!(
                    "launcher 0x{} is not a v1 PlotNFT's: {e}",
                    hex::encode(launcher_id)
                ),
            )
        };
        let launcher = chain
            .coin_record_by_name(launcher_id)
            .await
            .map_err(PoolError::node_unavailable)?
            .ok_or_else(|| not_found("the launcher coin"))?;
        if unsettled(launcher.spent_block_index) {
            return Err(not_found("the launcher's spend"));
        }
        let spend = chain
            .puzzle_and_solution(launcher_id, launcher.spent_block_index)
            .await
            .map_err(PoolError::node_unavailable)?;
        let mut singleton =
            SingletonV1::from_launcher_spend(&spend, self.settings().genesis_challenge)
                .map_err(invalid)?;
        for _ in 0..MAX_SPENDS {
            let record = chain
                .coin_record_by_name(singleton.coin.coin_id())
                .await
                .map_err(PoolError::node_unavailable)?
                .ok_or_else(|| not_found("the singleton coin"))?;
            if unsettled(record.spent_block_index) {
                return Ok((singleton, record.confirmed_block_index));
            }
            let spend = chain
                .puzzle_and_solution(singleton.coin.coin_id(), record.spent_block_index)
                .await
                .map_err(PoolError::node_unavailable)?;
            singleton = singleton.next(&spend).map_err(invalid)?;
        }
        Err(PoolError::new(
            PoolErrorCode::InvalidSingleton,
            format!("the singleton of launcher 0x{} has more than {MAX_SPENDS} spends; contact the pool operator", hex::encode(launcher_id)),
        ))
    }
}
