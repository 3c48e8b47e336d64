//! Singleton top layer puzzle hashes: v1.1 for PlotNFT v2, v1.0 (`SINGLETON_TOP_LAYER`) for PlotNFT v1, by
//! tree-hash arithmetic.

use chia_protocol::Bytes32;
use chia_puzzles::{SINGLETON_LAUNCHER_HASH, SINGLETON_TOP_LAYER_V1_1_HASH};
use clvm_utils::{curry_tree_hash, tree_hash_atom, tree_hash_pair, TreeHash};

/// `H((SINGLETON_TOP_LAYER_V1_1_HASH . (launcher_id . SINGLETON_LAUNCHER_HASH)))`.
pub fn singleton_struct_hash(launcher_id: Bytes32) -> Bytes32 {
    singleton_struct_hash_of(SINGLETON_TOP_LAYER_V1_1_HASH, launcher_id)
}

/// Full singleton v1.1 puzzle hash for an inner puzzle hash.
pub fn singleton_puzzle_hash(launcher_id: Bytes32, inner_puzzle_hash: Bytes32) -> Bytes32 {
    singleton_puzzle_hash_of(
        SINGLETON_TOP_LAYER_V1_1_HASH,
        launcher_id,
        inner_puzzle_hash,
    )
}

/// The singleton struct hash for the top layer whose hash is `top_layer` (v1.1 here, v1.0 for PlotNFT v1).
pub fn singleton_struct_hash_of(top_layer: [u8; 32], launcher_id: Bytes32) -> Bytes32 {
    tree_hash_pair(
        tree_hash_atom(&top_layer),
        tree_hash_pair(
            tree_hash_atom(&launcher_id),
            tree_hash_atom(&SINGLETON_LAUNCHER_HASH),
        ),
    )
    .into()
}

/// The full singleton puzzle hash of the top layer `top_layer` around an inner puzzle hash.
pub fn singleton_puzzle_hash_of(
    top_layer: [u8; 32],
    launcher_id: Bytes32,
    inner_puzzle_hash: Bytes32,
) -> Bytes32 {
    curry_tree_hash(
        TreeHash::new(top_layer),
        &[
            singleton_struct_hash_of(top_layer, launcher_id).into(),
            inner_puzzle_hash.into(),
        ],
    )
    .into()
}
