//! The absorb of a pool reward paid to a v1 PlotNFT's p2_singleton: chia-blockchain 2.7.5's
//! `pool_puzzles.create_absorb_spend`, built from the puzzles `chia-puzzles` ships.
//!
//! Two coin spends, singleton first: the singleton (pool-member or waiting-room inner puzzle) with inner solution
//! `(reward_amount height)` or `(0 reward_amount height)`, which sends the reward to the `PoolState`'s target
//! puzzle hash, and the reward coin's p2_singleton with `(singleton_inner_puzzle_hash reward_coin_id)`. Neither
//! needs a signature.

use chia_protocol::{Bytes32, Coin, CoinSpend, Program};
use chia_puzzles::{
    P2_SINGLETON_OR_DELAYED_PUZHASH, POOL_MEMBER_INNERPUZ, POOL_WAITINGROOM_INNERPUZ,
    SINGLETON_LAUNCHER_HASH, SINGLETON_TOP_LAYER, SINGLETON_TOP_LAYER_HASH,
};
use clvm_utils::tree_hash;
use clvmr::{Allocator, NodePtr};

use super::lineage::{LineageProofV1, SingletonV1};
use crate::chia::forward::pool_reward_height;
use crate::chia::puzzles::{int_atom, PuzzleError};
use crate::chia::reveals::{atom, curry, list, load, serialize, singleton_struct_of};

/// Why a coin cannot be absorbed by this PlotNFT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbsorbError {
    #[error("the coin is not at this PlotNFT's p2_singleton puzzle hash")]
    NotThisPlotNft,
    #[error(
        "the coin is not a pool reward (its parent is not a pool reward parent of this network)"
    )]
    NotAPoolReward,
    #[error("the built inner puzzle does not hash to the singleton's; the PlotNFT record is inconsistent")]
    InnerPuzzleMismatch,
    #[error(transparent)]
    Puzzle(#[from] PuzzleError),
}

fn int(a: &mut Allocator, value: u64) -> Result<NodePtr, PuzzleError> {
    atom(a, &int_atom(value))
}

/// The singleton's inner puzzle, as `pool_state_to_inner_puzzle` curries it.
fn inner_puzzle(a: &mut Allocator, s: &SingletonV1) -> Result<NodePtr, PuzzleError> {
    let (nft, state) = (&s.plotnft, &s.pool_state);
    let (module, last) = if state.uses_waiting_room() {
        let lock = int_atom(u64::from(state.relative_lock_height));
        (&POOL_WAITINGROOM_INNERPUZ[..], lock)
    } else {
        let waiting_room = nft.waiting_room_inner_puzzle_hash(state);
        (&POOL_MEMBER_INNERPUZ[..], waiting_room.to_vec())
    };
    let module = load(a, module)?;
    let args = [
        atom(a, &state.target_puzzle_hash)?,
        atom(a, &nft.p2_singleton_puzzle_hash())?,
        atom(a, &state.owner_pubkey.to_bytes())?,
        atom(a, &nft.pool_reward_prefix())?,
        atom(a, &last)?,
    ];
    curry(a, module, &args)
}

fn lineage_proof(a: &mut Allocator, proof: LineageProofV1) -> Result<NodePtr, PuzzleError> {
    let items = match proof {
        LineageProofV1::Eve {
            launcher_parent,
            launcher_amount,
        } => vec![atom(a, &launcher_parent)?, int(a, launcher_amount)?],
        LineageProofV1::Lineage {
            parent_parent,
            parent_inner_puzzle_hash,
            parent_amount,
        } => vec![
            atom(a, &parent_parent)?,
            atom(a, &parent_inner_puzzle_hash)?,
            int(a, parent_amount)?,
        ],
    };
    list(a, &items)
}

/// The two spends that absorb `reward_coin` into the pool, singleton spend first.
pub fn absorb_spends(
    singleton: &SingletonV1,
    reward_coin: &Coin,
) -> Result<[CoinSpend; 2], AbsorbError> {
    let nft = &singleton.plotnft;
    if reward_coin.puzzle_hash != nft.p2_singleton_puzzle_hash() {
        return Err(AbsorbError::NotThisPlotNft);
    }
    let height = pool_reward_height(&nft.genesis_challenge, reward_coin)
        .ok_or(AbsorbError::NotAPoolReward)?;
    let mut a = Allocator::new();
    let inner = inner_puzzle(&mut a, singleton)?;
    let inner_hash = Bytes32::from(tree_hash(&a, inner));
    if inner_hash != nft.inner_puzzle_hash(&singleton.pool_state) {
        return Err(AbsorbError::InnerPuzzleMismatch);
    }
    let top = load(&mut a, &SINGLETON_TOP_LAYER)?;
    let st = singleton_struct_of(&mut a, SINGLETON_TOP_LAYER_HASH, nft.launcher_id)?;
    let full = curry(&mut a, top, &[st, inner])?;

    let amount = int(&mut a, reward_coin.amount)?;
    let height = int(&mut a, u64::from(height))?;
    let inner_solution = if singleton.pool_state.uses_waiting_room() {
        list(&mut a, &[NodePtr::NIL, amount, height])?
    } else {
        list(&mut a, &[amount, height])?
    };
    let proof = lineage_proof(&mut a, singleton.lineage_proof)?;
    let my_amount = int(&mut a, singleton.coin.amount)?;
    let solution = list(&mut a, &[proof, my_amount, inner_solution])?;

    let p2 = load(&mut a, &P2_SINGLETON_OR_DELAYED_PUZHASH)?;
    let p2_args = [
        atom(&mut a, &SINGLETON_TOP_LAYER_HASH)?,
        atom(&mut a, &nft.launcher_id)?,
        atom(&mut a, &SINGLETON_LAUNCHER_HASH)?,
        int(&mut a, nft.delay_time)?,
        atom(&mut a, &nft.delay_puzzle_hash)?,
    ];
    let p2 = curry(&mut a, p2, &p2_args)?;
    let p2_inner = atom(&mut a, &inner_hash)?;
    let reward_id = atom(&mut a, &reward_coin.coin_id())?;
    let p2_solution = list(&mut a, &[p2_inner, reward_id])?;

    let program = |node| serialize(&a, node).map(Program::from);
    Ok([
        CoinSpend::new(singleton.coin, program(full)?, program(solution)?),
        CoinSpend::new(*reward_coin, program(p2)?, program(p2_solution)?),
    ])
}
