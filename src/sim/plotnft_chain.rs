//! Puts a member's PlotNFT on the fake node: a singleton coin of the launcher (the parent, spent) and its odd
//! child at the PlotNFT's puzzle hash in the wanted state, as the pool's registration check expects.

use crate::chia::puzzles::{PlotNftPuzzles, PlotNftState, PoolConfig};
use crate::chia::reveals::{serialize, singleton_puzzle};
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
