//! Pool rewards won by v1 members: absorbed into the pool with the singleton's absorb spend
//! (`crate::chia::v1::absorb`), and income only on verified arrival, as for v2 forwards. A v1 absorb pays the
//! pool from the singleton's spend, not from the reward coin's: the reward counts as absorbed when its
//! p2_singleton spend names the inner puzzle of a singleton of this launcher and that singleton, spent in the
//! same block, created a coin of the whole reward at the pool's puzzle hash.

use chia_bls::Signature;
use chia_protocol::{Bytes32, Coin, CoinSpend, SpendBundle};
use clvmr::{Allocator, SExp};

use crate::chain::node::CoinQuery;
use crate::chia::conditions::{list_items, parse_program};
use crate::chia::messages::PoolErrorCode;
use crate::chia::v1::absorb::absorb_spends;
use crate::chia::v1::puzzles::singleton_puzzle_hash;
use crate::pool::{Handles, PoolError};
use crate::store::farmers_v1::FarmerV1Record;
use crate::store::rewards::{ForwardState, RewardRecord};

use super::error::RewardsError;

/// The singleton puzzle hash a p2_singleton spend of this launcher names (its singleton path's
/// `(singleton_inner_puzzle_hash coin_id)` solution); `None` for any other spend (the delayed escape).
fn absorbing_singleton(spend: &CoinSpend, launcher_id: Bytes32) -> Option<Bytes32> {
    let mut a = Allocator::new();
    let solution = parse_program(&mut a, &spend.solution, "solution").ok()?;
    let first = *list_items(&a, solution).first()?;
    match a.sexp(first) {
        SExp::Atom => {
            let inner = <[u8; 32]>::try_from(a.atom(first).as_ref()).ok()?;
            Some(singleton_puzzle_hash(launcher_id, Bytes32::new(inner)))
        }
        SExp::Pair(..) => None,
    }
}

/// What the chain says about a spent v1 reward: absorbed into the pool, or claimed elsewhere.
pub(super) async fn judge(
    pool: &Handles,
    reward: &RewardRecord,
    spent_height: u32,
) -> Result<ForwardState, RewardsError> {
    let chain = pool.chain();
    let spend = chain
        .puzzle_and_solution(Bytes32::new(reward.coin_id), spent_height)
        .await?;
    let pool_ph = pool.settings().plotnft_pool.pool_puzzle_hash;
    if let Some(singleton_ph) = absorbing_singleton(&spend, Bytes32::new(reward.launcher_id)) {
        let query = CoinQuery {
            include_spent_coins: true,
            start_height: Some(spent_height),
            end_height: Some(spent_height.saturating_add(1)),
        };
        let arrivals = chain.coin_records_by_puzzle_hash(pool_ph, query).await?;
        for arrival in arrivals
            .iter()
            .filter(|a| a.coin.amount == reward.amount && a.confirmed_block_index == spent_height)
        {
            let parent = chain
                .coin_record_by_name(arrival.coin.parent_coin_info)
                .await?;
            if parent.is_some_and(|p| {
                p.coin.puzzle_hash == singleton_ph && p.spent_block_index == spent_height
            }) {
                return Ok(ForwardState::Forwarded { spent_height });
            }
        }
    }
    Ok(ForwardState::ClaimedElsewhere {
        spent_height,
        destinations: Vec::new(),
    })
}

/// Builds the absorb from the PlotNFT's current singleton (read again from its launcher) and pushes it.
pub(super) async fn submit(
    pool: &Handles,
    member: &FarmerV1Record,
    reward: &RewardRecord,
) -> Result<[u8; 32], RewardsError> {
    let launcher_id = Bytes32::new(member.launcher_id);
    let (singleton, _) = pool
        .singleton_v1_tip(launcher_id, None)
        .await
        .map_err(|e| RewardsError::member(&member.launcher_id, e))?;
    let reward_coin = Coin::new(
        Bytes32::new(reward.parent_coin_id),
        Bytes32::new(reward.puzzle_hash),
        reward.amount,
    );
    let spends = absorb_spends(&singleton, &reward_coin).map_err(|e| {
        RewardsError::member(
            &member.launcher_id,
            PoolError::new(PoolErrorCode::InvalidSingleton, e.to_string()),
        )
    })?;
    // Neither spend needs a signature: the empty aggregate.
    let bundle = SpendBundle::new(spends.to_vec(), Signature::default());
    let name = bundle.name().to_bytes();
    pool.chain().push_tx(&bundle).await?;
    tracing::info!(
        launcher_id = %hex::encode(launcher_id),
        amount = reward.amount,
        bundle = %hex::encode(name),
        "v1 reward absorb submitted"
    );
    Ok(name)
}
