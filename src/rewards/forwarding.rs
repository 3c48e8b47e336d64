//! Finding pool rewards at members' RewardPuzzle hashes and forwarding each to the pool's puzzle hash.
//!
//! Each forward is its own bundle (one PlotNFT spend + one reward spend, about 46 M cost): pool rewards come
//! at most one per block, so batching buys little, and a separate bundle per member means one member's stale
//! or changed PlotNFT can never block another's. A refused bundle leaves the reward `Found`; the next run
//! rebuilds it from the PlotNFT's current coin and last spend.
//!
//! Income is verified arrival: a reward counts as forwarded only when its spend created a coin of the whole
//! reward at the pool's puzzle hash (one of the reward coin's children). Spent any other way it is claimed
//! elsewhere and never paid out. Both are judged again until buried, so a reorg that swaps the spend is seen.

use std::collections::HashMap;

use chia_protocol::{Bytes32, Coin, CoinRecord};

use crate::chain::node::CoinQuery;
use crate::chia::forward::{build_forward_bundle, pool_reward_height};
use crate::pool::farmers::public_key;
use crate::pool::Handles;
use crate::store::farmers_v1::FarmerV1Record;
use crate::store::rewards::{ForwardState, RewardRecord};
use crate::store::{self, FarmerRecord, Membership};

use super::absorb_v1;
use super::error::RewardsError;

/// Meta key: rewards confirmed below this height have all been found.
const SCAN_HEIGHT: &str = "reward_scan_height";
/// A submitted bundle still unconfirmed after this many blocks is rebuilt (dropped from the mempool).
const RESUBMIT_AFTER_BLOCKS: u32 = 32;

/// Counts of one run, for the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ForwardRun {
    pub found: usize,
    pub submitted: usize,
    pub forwarded: usize,
    pub claimed_elsewhere: usize,
    pub refused: usize,
}

/// Finds new rewards and moves every unfinished forward one step on.
pub async fn run(pool: &Handles) -> Result<ForwardRun, RewardsError> {
    let mut stats = ForwardRun {
        found: discover(pool).await?,
        ..ForwardRun::default()
    };
    advance(pool, &mut stats).await?;
    Ok(stats)
}

/// Scans members' RewardPuzzle hashes (pooling and leaving members: a leaving member's rewards are forwarded
/// before it can take them) for pool reward coins buried `confirmation_depth` deep, spent ones included: a
/// reward someone else already forwarded (or claimed) is recorded as found and judged by its spend.
async fn discover(pool: &Handles) -> Result<usize, RewardsError> {
    let peak = pool.chain().synced_peak()?;
    let depth = pool.config().payouts.confirmation_depth;
    let (members, members_v1, from) = {
        let txn = pool.store().read()?;
        let farmers = store::farmers::all(&txn)?;
        let from = store::meta_u64(&txn, SCAN_HEIGHT)?;
        (farmers, store::farmers_v1::all(&txn)?, from)
    };
    // v1 members' rewards land at their p2_singleton puzzle hash and are absorbed (`absorb_v1`).
    let by_hash: HashMap<Bytes32, [u8; 32]> = members
        .iter()
        .filter(|f| f.membership != Membership::Left)
        .map(|f| (Bytes32::new(f.reward_puzzle_hash), f.launcher_id))
        .chain(
            members_v1
                .iter()
                .filter(|f| f.membership != Membership::Left)
                .map(|f| (Bytes32::new(f.p2_singleton_puzzle_hash), f.launcher_id)),
        )
        .collect();
    if by_hash.is_empty() {
        return Ok(0);
    }
    let start = from.map_or(pool.config().payouts.scan_start_height, |h| {
        u32::try_from(h).unwrap_or(u32::MAX)
    });
    let hashes: Vec<Bytes32> = by_hash.keys().copied().collect();
    let query = CoinQuery {
        include_spent_coins: true,
        start_height: Some(start),
        end_height: None,
    };
    super::crash_point("reward-scan-before");
    let records = pool
        .chain()
        .coin_records_by_puzzle_hashes(&hashes, query)
        .await?;
    super::crash_point("reward-scan-returned");
    let genesis = pool.settings().genesis_challenge;
    let buried = peak.height.saturating_sub(depth);
    let rewards: Vec<RewardRecord> = records
        .iter()
        // Only coinbase pool rewards can go through the pool path; anything else sent there is ignored.
        .filter(|r| r.coinbase && pool_reward_height(&genesis, &r.coin).is_some())
        .filter(|r| r.confirmed_block_index <= buried)
        .filter_map(|r| {
            Some(RewardRecord {
                coin_id: r.coin.coin_id().to_bytes(),
                parent_coin_id: r.coin.parent_coin_info.to_bytes(),
                puzzle_hash: r.coin.puzzle_hash.to_bytes(),
                amount: r.coin.amount,
                launcher_id: *by_hash.get(&r.coin.puzzle_hash)?,
                confirmed_height: r.confirmed_block_index,
                state: ForwardState::Found,
                failed_attempts: 0,
                payout_id: None,
            })
        })
        .collect();
    let next_start = u64::from(buried.saturating_add(1).max(start));
    let new = pool
        .store()
        .write(move |txn| {
            let mut new = 0;
            for reward in &rewards {
                // Keyed by coin id: a reward seen again (spent or not) is the same reward, counted once.
                if store::rewards::insert_if_absent(txn, reward)? {
                    new += 1;
                }
            }
            store::set_meta_u64(txn, SCAN_HEIGHT, next_start)?;
            Ok(new)
        })
        .await?;
    super::crash_point("reward-scan-recorded");
    Ok(new)
}

/// What the chain says about a spent reward: forwarded to the pool in full, or claimed elsewhere.
fn judge(
    reward: &RewardRecord,
    spent_height: u32,
    children: &[&CoinRecord],
    pool_puzzle_hash: Bytes32,
) -> ForwardState {
    let to_pool = children
        .iter()
        .any(|c| c.coin.puzzle_hash == pool_puzzle_hash && c.coin.amount == reward.amount);
    if to_pool {
        ForwardState::Forwarded { spent_height }
    } else {
        ForwardState::ClaimedElsewhere {
            spent_height,
            destinations: children
                .iter()
                .map(|c| (c.coin.puzzle_hash.to_bytes(), c.coin.amount))
                .collect(),
        }
    }
}

/// Judges every unsettled reward by the chain (spent how, or not spent), then (re)submits forwards.
async fn advance(pool: &Handles, stats: &mut ForwardRun) -> Result<(), RewardsError> {
    let peak = pool.chain().synced_peak()?;
    let (rewards, farmers, members_v1) = {
        let txn = pool.store().read()?;
        let rewards = store::rewards::all(&txn)?;
        let farmers: HashMap<[u8; 32], FarmerRecord> = store::farmers::all(&txn)?
            .into_iter()
            .map(|f| (f.launcher_id, f))
            .collect();
        let members_v1: HashMap<[u8; 32], FarmerV1Record> = store::farmers_v1::all(&txn)?
            .into_iter()
            .map(|f| (f.launcher_id, f))
            .collect();
        (rewards, farmers, members_v1)
    };
    let depth = pool.config().payouts.confirmation_depth;
    // Settled: shared in a payout, or spent and buried (a reorg can no longer change how).
    let open: Vec<RewardRecord> = rewards
        .into_iter()
        .filter(|r| {
            r.payout_id.is_none()
                && r.state
                    .spent_height()
                    .is_none_or(|h| h.saturating_add(depth) > peak.height)
        })
        .collect();
    if open.is_empty() {
        return Ok(());
    }
    let ids: Vec<Bytes32> = open.iter().map(|r| Bytes32::new(r.coin_id)).collect();
    let chain = pool.chain();
    super::crash_point("reward-check-before");
    let records: HashMap<Bytes32, CoinRecord> = chain
        .coin_records_by_names(&ids, CoinQuery::all())
        .await?
        .into_iter()
        .map(|r| (r.coin.coin_id(), r))
        .collect();
    let spent: Vec<Bytes32> = records
        .values()
        .filter(|r| r.spent_block_index > 0)
        .map(|r| r.coin.coin_id())
        .collect();
    let children: Vec<CoinRecord> = if spent.is_empty() {
        Vec::new()
    } else {
        chain
            .coin_records_by_parent_ids(&spent, CoinQuery::all())
            .await?
    };
    super::crash_point("reward-check-returned");
    let pool_ph = pool.settings().plotnft_pool.pool_puzzle_hash;

    // One forward per PlotNFT at a time: each spends the singleton's current coin.
    let mut busy: Vec<[u8; 32]> = Vec::new();
    for reward in open {
        let coin_id = Bytes32::new(reward.coin_id);
        let now = match records.get(&coin_id) {
            Some(r) if r.spent_block_index > 0 => {
                if members_v1.contains_key(&reward.launcher_id) {
                    Some(absorb_v1::judge(pool, &reward, r.spent_block_index).await?)
                } else {
                    let kids: Vec<&CoinRecord> = children
                        .iter()
                        .filter(|c| c.coin.parent_coin_info == coin_id)
                        .collect();
                    Some(judge(&reward, r.spent_block_index, &kids, pool_ph))
                }
            }
            Some(_) => None,
            // The reward's own block was reorged away: nothing is known; it may come back.
            None => {
                if reward.state.spent_height().is_some() {
                    set_state(pool, reward.coin_id, ForwardState::Found, false).await?;
                }
                continue;
            }
        };
        if let Some(state) = now {
            if state != reward.state {
                match &state {
                    ForwardState::Forwarded { spent_height } => {
                        tracing::info!(reward = %hex::encode(reward.coin_id), spent_height, "reward forwarded to the pool");
                        stats.forwarded += 1;
                    }
                    ForwardState::ClaimedElsewhere {
                        spent_height,
                        destinations,
                    } => {
                        tracing::warn!(
                            reward = %hex::encode(reward.coin_id),
                            launcher_id = %hex::encode(reward.launcher_id),
                            amount = reward.amount,
                            spent_height,
                            to = ?destinations.iter().map(|(ph, a)| format!("0x{}: {a}", hex::encode(ph))).collect::<Vec<_>>(),
                            "a pool reward was claimed elsewhere: it is not pool income and is never paid out"
                        );
                        stats.claimed_elsewhere += 1;
                    }
                    _ => {}
                }
                set_state(pool, reward.coin_id, state, false).await?;
                super::crash_point("reward-judged");
            }
            continue;
        }
        // Unspent on chain.
        if reward.state.spent_height().is_some() {
            tracing::warn!(reward = %hex::encode(reward.coin_id), "a reorg undid the spend of a reward; forwarding it again");
        }
        if let ForwardState::Submitted { at_height, .. } = reward.state {
            if peak.height < at_height.saturating_add(RESUBMIT_AFTER_BLOCKS) {
                busy.push(reward.launcher_id);
                continue;
            }
        }
        if busy.contains(&reward.launcher_id) {
            continue;
        }
        let submitted = if let Some(farmer) = farmers.get(&reward.launcher_id) {
            submit(pool, farmer, &reward).await
        } else if let Some(member) = members_v1.get(&reward.launcher_id) {
            absorb_v1::submit(pool, member, &reward).await
        } else {
            continue;
        };
        busy.push(reward.launcher_id);
        match submitted {
            Ok(bundle_name) => {
                let state = ForwardState::Submitted {
                    bundle_name,
                    at_height: peak.height,
                };
                set_state(pool, reward.coin_id, state, false).await?;
                super::crash_point("forward-recorded");
                stats.submitted += 1;
            }
            Err(why) => {
                tracing::warn!(
                    launcher_id = %hex::encode(reward.launcher_id),
                    reward = %hex::encode(reward.coin_id),
                    "forward not accepted, retried later: {why}"
                );
                set_state(pool, reward.coin_id, ForwardState::Found, true).await?;
                stats.refused += 1;
            }
        }
    }
    Ok(())
}

/// Builds the forward from the PlotNFT's current coin and its last spend, and pushes it to the node.
async fn submit(
    pool: &Handles,
    farmer: &FarmerRecord,
    reward: &RewardRecord,
) -> Result<[u8; 32], RewardsError> {
    let moved = |why| RewardsError::PlotNftMoved {
        launcher: hex::encode(farmer.launcher_id),
        why,
    };
    let singleton = farmer
        .singleton
        .as_ref()
        .ok_or_else(|| moved("is not known yet"))?;
    let launcher_id = Bytes32::new(farmer.launcher_id);
    let plotnft_coin = Coin::new(
        Bytes32::new(singleton.parent_coin_id),
        Bytes32::new(singleton.puzzle_hash),
        1,
    );
    if plotnft_coin.coin_id().to_bytes() != singleton.coin_id {
        return Err(moved("is stored inconsistently"));
    }
    let chain = pool.chain();
    let current: Option<CoinRecord> = chain.coin_record_by_name(plotnft_coin.coin_id()).await?;
    match current {
        Some(r) if r.spent_block_index == 0 => {}
        // Spent (a forward or a state change the tracker has not followed yet) or reorged: wait for it.
        _ => return Err(moved("moved since it was last followed")),
    }
    let parent_spend = chain
        .puzzle_and_solution(plotnft_coin.parent_coin_info, singleton.created_height)
        .await?;
    let key = public_key(farmer).map_err(|e| RewardsError::member(&farmer.launcher_id, e))?;
    let puzzles = pool
        .member_puzzles(launcher_id, &key)
        .map_err(|e| RewardsError::member(&farmer.launcher_id, e))?;
    let reward_coin = Coin::new(
        Bytes32::new(reward.parent_coin_id),
        Bytes32::new(reward.puzzle_hash),
        reward.amount,
    );
    let bundle = build_forward_bundle(
        &plotnft_coin,
        &parent_spend,
        &pool.settings().plotnft_pool,
        pool.settings().genesis_challenge,
        &reward_coin,
        Some(&puzzles),
    )?;
    let name = bundle.name().to_bytes();
    super::crash_point("forward-push-before");
    chain.push_tx(&bundle).await?;
    // Pushed but not yet recorded: a restart rebuilds the same bundle, which the mempool already has.
    super::crash_point("forward-pushed");
    tracing::info!(
        launcher_id = %hex::encode(launcher_id),
        amount = reward.amount,
        bundle = %hex::encode(name),
        "reward forward submitted"
    );
    Ok(name)
}

async fn set_state(
    pool: &Handles,
    coin_id: [u8; 32],
    state: ForwardState,
    failed: bool,
) -> Result<(), RewardsError> {
    pool.store()
        .write(move |txn| {
            if let Some(mut r) = store::rewards::get_for_update(txn, &coin_id)? {
                // A reward already shared in a payout is settled: nothing moves it any more.
                if r.payout_id.is_none() {
                    r.state = state;
                    if failed {
                        r.failed_attempts = r.failed_attempts.saturating_add(1);
                    }
                    store::rewards::put(txn, &r)?;
                }
            }
            Ok(())
        })
        .await?;
    Ok(())
}
