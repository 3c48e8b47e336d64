//! Puts a member's PlotNFT on the fake node: a singleton coin of the launcher (the parent, spent) and its odd
//! child at the PlotNFT's puzzle hash in the wanted state, as the pool's registration check expects.

use crate::chia::memo::plotnft_memo_node;
use crate::chia::puzzles::{PlotNftPuzzles, PlotNftState, PoolConfig, PuzzleError};
use crate::chia::reveals::{atom, list, serialize, singleton_puzzle};
use chia_bls::PublicKey;
use chia_protocol::{Bytes32, Coin, CoinRecord, Program};
use clvm_utils::tree_hash;
use clvmr::{Allocator, NodePtr};

use super::node::NodeState;

/// Creates the PlotNFT coin of `launcher_id` in `state` (pooling to `pool` unless `state` says otherwise)
/// at the current peak height, returning it.
pub fn add_plotnft(
    node: &mut NodeState,
    launcher_id: Bytes32,
    key: PublicKey,
    pool: &PoolConfig,
    state: PlotNftState,
) -> Coin {
    let genesis = node.genesis_challenge();
    let puzzles =
        PlotNftPuzzles::new(launcher_id, genesis, key, Some(pool.clone())).expect("puzzles");
    let height = node.peak().height;
    // The parent: a singleton of this launcher (its inner puzzle does not matter to the lineage check).
    let mut a = Allocator::new();
    let parent_puzzle =
        singleton_puzzle(&mut a, launcher_id, NodePtr::NIL).expect("singleton puzzle");
    let parent = Coin::new(
        launcher_id,
        Bytes32::new(tree_hash(&a, parent_puzzle).to_bytes()),
        1,
    );
    node.add_coin_record(CoinRecord::new(parent, height, 0, false, 1_700_000_000));
    node.spend_coin(
        parent.coin_id(),
        height,
        Program::new(serialize(&a, parent_puzzle).expect("serialize").into()),
        Program::new(vec![0x80].into()),
    );
    let child = Coin::new(
        parent.coin_id(),
        puzzles.puzzle_hash(state).expect("puzzle hash"),
        1,
    );
    node.add_coin_record(CoinRecord::new(child, height, 0, false, 1_700_000_000));
    child
}

/// Like `add_plotnft`, but the parent is a real singleton spend: its inner puzzle creates the PlotNFT with
/// its CHIP-0043 memo, so the pool can follow the PlotNFT from that spend and spend it (reward forwards).
pub fn add_spendable_plotnft(
    node: &mut NodeState,
    launcher_id: Bytes32,
    key: PublicKey,
    pool: &PoolConfig,
    state: PlotNftState,
) -> Result<Coin, PuzzleError> {
    let genesis = node.genesis_challenge();
    let puzzles = PlotNftPuzzles::new(launcher_id, genesis, key, Some(pool.clone()))?;
    let height = node.peak().height;
    let mut a = Allocator::new();
    // Inner puzzle `(q . ((51 <inner puzzle hash> 1 (<launcher id> . <memo>))))`.
    let memo = plotnft_memo_node(&mut a, &puzzles, state)?;
    let hint = atom(&mut a, launcher_id.as_ref())?;
    let memos = a
        .new_pair(hint, memo)
        .map_err(|e| PuzzleError::Clvm(e.to_string()))?;
    let create_coin = atom(&mut a, &[51])?;
    let inner_ph = atom(&mut a, puzzles.inner_puzzle_hash(state)?.as_ref())?;
    let one = atom(&mut a, &[1])?;
    let condition = list(&mut a, &[create_coin, inner_ph, one, memos])?;
    let conditions = list(&mut a, &[condition])?;
    let quote = atom(&mut a, &[1])?;
    let inner = a
        .new_pair(quote, conditions)
        .map_err(|e| PuzzleError::Clvm(e.to_string()))?;
    let parent_puzzle = singleton_puzzle(&mut a, launcher_id, inner)?;
    let parent = Coin::new(
        launcher_id,
        Bytes32::new(tree_hash(&a, parent_puzzle).to_bytes()),
        1,
    );
    node.add_coin_record(CoinRecord::new(parent, height, 0, false, 1_700_000_000));
    // Solution `(() 1 ())`: the inner solution (the third item) is not used by a quoted puzzle.
    node.spend_coin(
        parent.coin_id(),
        height,
        Program::new(serialize(&a, parent_puzzle)?.into()),
        Program::new(vec![0xff, 0x80, 0xff, 0x01, 0xff, 0x80, 0x80].into()),
    );
    let child = Coin::new(parent.coin_id(), puzzles.puzzle_hash(state)?, 1);
    node.add_coin_record(CoinRecord::new(child, height, 0, false, 1_700_000_000));
    Ok(child)
}
