//! Finding pool rewards at members' RewardPuzzle hashes and forwarding each to the pool's puzzle hash.
//!
//! Each forward is its own bundle (one PlotNFT spend + one reward spend, about 46 M cost): pool rewards come
//! at most one per block, so batching buys little, and a separate bundle per member means one member's stale
//! or changed PlotNFT can never block another's. A refused bundle leaves the reward `Found`; the next run
//! rebuilds it from the PlotNFT's current coin and last spend.

use std::collections::HashMap;

use chia_protocol::{Bytes32, Coin, CoinRecord};

use crate::chain::node::CoinQuery;
use crate::chia::forward::{build_forward_bundle, pool_reward_height};
use crate::pool::farmers::public_key;
use crate::pool::Pool;
use crate::store::rewards::{ForwardState, RewardRecord};
use crate::store::{self, FarmerRecord, Membership};

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
    pub refused: usize,
}

/// Finds new rewards and moves every unfinished forward one step on.
pub async fn run(pool: &Pool) -> Result<ForwardRun, String> {
    let mut stats = ForwardRun {
        found: discover(pool).await?,
        ..ForwardRun::default()
    };
    advance(pool, &mut stats).await?;
    Ok(stats)
}

/// Scans members' RewardPuzzle hashes (pooling and leaving members: a leaving member's rewards are forwarded
/// before it can take them) for pool reward coins buried `confirmation_depth` deep.
async fn discover(pool: &Pool) -> Result<usize, String> {
    let peak = pool.chain().synced_peak().map_err(|e| e.to_string())?;
    let depth = pool.config().payouts.confirmation_depth;
    let (members, from) = {
        let txn = pool.store().read().map_err(|e| e.to_string())?;
        let farmers = store::farmers::all(&txn).map_err(|e| e.to_string())?;
        let from = store::meta_u64(&txn, SCAN_HEIGHT).map_err(|e| e.to_string())?;
        (farmers, from)
    };
    let by_hash: HashMap<Bytes32, [u8; 32]> = members
        .iter()
        .filter(|f| f.membership != Membership::Left)
        .map(|f| (Bytes32::new(f.reward_puzzle_hash), f.launcher_id))
        .collect();
    if by_hash.is_empty() {
        return Ok(0);
    }
    let start = from.map_or(pool.config().payouts.scan_start_height, |h| {
        u32::try_from(h).unwrap_or(u32::MAX)
    });
    let hashes: Vec<Bytes32> = by_hash.keys().copied().collect();
    let query = CoinQuery {
        include_spent_coins: false,
        start_height: Some(start),
        end_height: None,
    };
    let records = pool
        .chain()
        .coin_records_by_puzzle_hashes(&hashes, query)
        .await
        .map_err(|e| e.to_string())?;
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
    pool.store()
        .write(move |txn| {
            let mut new = 0;
            for reward in &rewards {
                if store::rewards::insert_if_absent(txn, reward)? {
                    new += 1;
                }
            }
            store::set_meta_u64(txn, SCAN_HEIGHT, next_start)?;
            Ok(new)
        })
        .await
        .map_err(|e| e.to_string())
}

/// Marks forwarded rewards, (re)submits the others.
async fn advance(pool: &Pool, stats: &mut ForwardRun) -> Result<(), String> {
    let peak = pool.chain().synced_peak().map_err(|e| e.to_string())?;
    let (rewards, farmers) = {
        let txn = pool.store().read().map_err(|e| e.to_string())?;
        let rewards = store::rewards::all(&txn).map_err(|e| e.to_string())?;
        let farmers: HashMap<[u8; 32], FarmerRecord> = store::farmers::all(&txn)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|f| (f.launcher_id, f))
            .collect();
        (rewards, farmers)
    };
    // One forward per PlotNFT at a time: each spends the singleton's current coin.
    let mut busy: Vec<[u8; 32]> = Vec::new();
    let depth = pool.config().payouts.confirmation_depth;
    for reward in rewards {
        let forwarded = matches!(reward.state, ForwardState::Forwarded { .. });
        if let ForwardState::Forwarded { spent_height } = reward.state {
            // Settled once buried; until then a reorg can undo the forward, which sends it back to `Found`.
            if reward.payout_id.is_some() || spent_height.saturating_add(depth) <= peak.height {
                continue;
            }
        }
        let coin_id = Bytes32::new(reward.coin_id);
        let record = pool
            .chain()
            .coin_record_by_name(coin_id)
            .await
            .map_err(|e| e.to_string())?;
        match record {
            Some(r) if forwarded && r.spent_block_index > 0 => continue,
            Some(_) if forwarded => {
                // Forwarded again below, in this same pass.
                tracing::warn!(reward = %hex::encode(reward.coin_id), "a reorg undid a reward forward; forwarding it again");
            }
            Some(r) if r.spent_block_index > 0 => {
                let spent_height = r.spent_block_index;
                set_state(
                    pool,
                    reward.coin_id,
                    ForwardState::Forwarded { spent_height },
                    false,
                )
                .await?;
                stats.forwarded += 1;
                continue;
            }
            // Reorged away: it will be found again if it comes back.
            None => continue,
            Some(_) => {}
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
        let Some(farmer) = farmers.get(&reward.launcher_id) else {
            continue;
        };
        busy.push(reward.launcher_id);
        match submit(pool, farmer, &reward).await {
            Ok(bundle_name) => {
                let state = ForwardState::Submitted {
                    bundle_name,
                    at_height: peak.height,
                };
                set_state(pool, reward.coin_id, state, false).await?;
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
    pool: &Pool,
    farmer: &FarmerRecord,
    reward: &RewardRecord,
) -> Result<[u8; 32], String> {
    let singleton = farmer
        .singleton
        .as_ref()
        .ok_or("the PlotNFT's coin is not known yet")?;
    let launcher_id = Bytes32::new(farmer.launcher_id);
    let plotnft_coin = Coin::new(
        Bytes32::new(singleton.parent_coin_id),
        Bytes32::new(singleton.puzzle_hash),
        1,
    );
    if plotnft_coin.coin_id().to_bytes() != singleton.coin_id {
        return Err("the stored PlotNFT coin is inconsistent".into());
    }
    let chain = pool.chain();
    let current: Option<CoinRecord> = chain
        .coin_record_by_name(plotnft_coin.coin_id())
        .await
        .map_err(|e| e.to_string())?;
    match current {
        Some(r) if r.spent_block_index == 0 => {}
        // Spent (a forward or a state change the tracker has not followed yet) or reorged: wait for it.
        _ => return Err("the PlotNFT moved since it was last followed".into()),
    }
    let parent_spend = chain
        .puzzle_and_solution(plotnft_coin.parent_coin_info, singleton.created_height)
        .await
        .map_err(|e| e.to_string())?;
    let key = public_key(farmer).map_err(|e| e.message)?;
    let puzzles = pool
        .member_puzzles(launcher_id, &key)
        .map_err(|e| e.message)?;
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
    )
    .map_err(|e| e.to_string())?;
    let name = bundle.name().to_bytes();
    chain.push_tx(&bundle).await.map_err(|e| e.to_string())?;
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
    pool: &Pool,
    coin_id: [u8; 32],
    state: ForwardState,
    failed: bool,
) -> Result<(), String> {
    pool.store()
        .write(move |txn| {
            if let Some(mut r) = store::rewards::get_for_update(txn, &coin_id)? {
                r.state = state;
                if failed {
                    r.failed_attempts = r.failed_attempts.saturating_add(1);
                }
                store::rewards::put(txn, &r)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())
}
