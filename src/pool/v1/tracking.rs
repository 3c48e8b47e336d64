//! Following v1 members' PlotNFTs after they joined: when a member's singleton coin was spent (and the spend
//! is `confirmation_depth` deep) or vanished (a reorg), the singleton is read again from its launcher, and the
//! `PoolState` it is in decides the membership: farming to us, leaving us (waiting room), or left.

use chia_protocol::{Bytes32, Coin};

use crate::chia::puzzles::PoolConfig as PlotNftPoolConfig;
use crate::chia::v1::lineage::SingletonV1;
use crate::chia::v1::puzzles::{PoolSingletonState, PoolState};
use crate::store::farmers_v1::{FarmerV1Record, SingletonV1Record};
use crate::store::{self, Membership};

use super::super::jobs::{note_membership, JobError};
use super::super::Handles;

/// Where a v1 PlotNFT in `state` stands with respect to this pool.
pub fn membership_of(state: &PoolState, ours: &PlotNftPoolConfig) -> Membership {
    let ours = state.target_puzzle_hash == ours.pool_puzzle_hash
        && state.relative_lock_height == ours.heightlock;
    match state.singleton_state() {
        Some(PoolSingletonState::FarmingToPool) if ours => Membership::Pooling,
        Some(PoolSingletonState::LeavingPool) if ours => Membership::Leaving,
        _ => Membership::Left,
    }
}

/// The stored form of a singleton read from the chain.
pub fn singleton_record(s: &SingletonV1, created_height: u32) -> SingletonV1Record {
    SingletonV1Record {
        parent_coin_id: s.coin.parent_coin_info.to_bytes(),
        puzzle_hash: s.coin.puzzle_hash.to_bytes(),
        amount: s.coin.amount,
        created_height,
        pool_state: s.pool_state.to_bytes(),
        delay_time: s.plotnft.delay_time,
        delay_puzzle_hash: s.plotnft.delay_puzzle_hash.to_bytes(),
    }
}

fn coin_id(s: &SingletonV1Record) -> Bytes32 {
    Coin::new(
        Bytes32::new(s.parent_coin_id),
        Bytes32::new(s.puzzle_hash),
        s.amount,
    )
    .coin_id()
}

/// One run over every v1 member that has not left; one member's trouble does not stop the others.
pub async fn track_v1_singletons(pool: &Handles) -> Result<(), JobError> {
    let peak = pool.chain().synced_peak()?;
    let members: Vec<FarmerV1Record> = {
        let txn = pool.store().read()?;
        store::farmers_v1::all(&txn)?
            .into_iter()
            .filter(|f| f.membership != Membership::Left)
            .collect()
    };
    if members.is_empty() {
        return Ok(());
    }
    let ids: Vec<Bytes32> = members.iter().map(|f| coin_id(&f.singleton)).collect();
    let records = super::super::jobs::coins_by_id(pool, &ids).await?;
    let depth = pool.config().payouts.confirmation_depth;
    let settled = peak.height.saturating_sub(depth);
    for member in &members {
        let moved = match records.get(&coin_id(&member.singleton)) {
            None => true,
            Some(r) => r.spent_block_index != 0 && r.spent_block_index <= settled,
        };
        if !moved {
            continue;
        }
        let launcher_id = Bytes32::new(member.launcher_id);
        match pool.singleton_v1_tip(launcher_id, Some(settled)).await {
            Ok((tip, created)) => save(pool, member, &tip, created).await?,
            Err(e) => tracing::warn!(
                launcher_id = %hex::encode(launcher_id),
                "cannot follow v1 PlotNFT: {}",
                e.message
            ),
        }
    }
    Ok(())
}

async fn save(
    pool: &Handles,
    member: &FarmerV1Record,
    tip: &SingletonV1,
    created_height: u32,
) -> Result<(), JobError> {
    let membership = membership_of(&tip.pool_state, &pool.settings().plotnft_pool);
    let singleton = singleton_record(tip, created_height);
    if membership == member.membership && singleton == member.singleton {
        return Ok(());
    }
    note_membership(&member.launcher_id, member.membership, membership, 1);
    let key = member.launcher_id;
    pool.store()
        .write(move |txn| {
            if let Some(mut f) = store::farmers_v1::get_for_update(txn, &key)? {
                f.membership = membership;
                f.singleton = singleton;
                store::farmers_v1::put(txn, &f)?;
            }
            Ok(())
        })
        .await?;
    Ok(())
}
