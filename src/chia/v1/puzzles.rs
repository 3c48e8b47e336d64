//! PlotNFT v1 (chia-blockchain 2.7.5 `chia/pools/pool_puzzles.py`, `pool_wallet_info.py`): the on-chain
//! `PoolState`, the p2_singleton puzzle hash farmers put in their plots, and the pool-member / waiting-room
//! inner puzzle hashes inside the singleton.
//!
//! v1 PlotNFTs are singletons of the top layer v1.0 (`SINGLETON_TOP_LAYER`), not v1.1 as v2 PlotNFTs are.
//! Hashes are tree-hash arithmetic over curried arguments, as in `super::super::puzzles`.

use std::io::Cursor;

use chia_bls::PublicKey;
use chia_protocol::Bytes32;
use chia_puzzles::{
    P2_SINGLETON_OR_DELAYED_PUZHASH_HASH, POOL_MEMBER_INNERPUZ_HASH,
    POOL_WAITINGROOM_INNERPUZ_HASH, SINGLETON_LAUNCHER_HASH, SINGLETON_TOP_LAYER_HASH,
};
use chia_traits::Streamable;
use clvm_utils::{curry_tree_hash, tree_hash_atom, TreeHash};

use crate::chia::puzzles::int_atom;
use crate::chia::singleton::singleton_puzzle_hash_of;

/// `PoolSingletonState` of `pool_wallet_info.py`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PoolSingletonState {
    SelfPooling = 1,
    LeavingPool = 2,
    FarmingToPool = 3,
}

/// The `PoolState` a v1 PlotNFT carries on chain (launcher extra data and every travel spend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolState {
    pub version: u8,
    /// A [`PoolSingletonState`] number; kept raw because chia's Streamable accepts any byte.
    pub state: u8,
    /// The pool's puzzle hash while pooling or leaving; the owner's own when self-pooling.
    pub target_puzzle_hash: Bytes32,
    pub owner_pubkey: PublicKey,
    pub pool_url: Option<String>,
    /// Blocks a leaving member waits in the waiting room; 0 when self-pooling.
    pub relative_lock_height: u32,
}

/// Why bytes are not a `PoolState`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a PoolState: {0}")]
pub struct PoolStateError(pub String);

impl PoolState {
    /// The state, when it is one chia defines.
    pub fn singleton_state(&self) -> Option<PoolSingletonState> {
        match self.state {
            1 => Some(PoolSingletonState::SelfPooling),
            2 => Some(PoolSingletonState::LeavingPool),
            3 => Some(PoolSingletonState::FarmingToPool),
            _ => None,
        }
    }

    /// Whether the inner puzzle is the waiting room: chia picks it for LEAVING_POOL and SELF_POOLING and the
    /// pool-member puzzle for every other number (`pool_state_to_inner_puzzle`).
    pub fn uses_waiting_room(&self) -> bool {
        self.state == PoolSingletonState::SelfPooling as u8
            || self.state == PoolSingletonState::LeavingPool as u8
    }

    /// Parses Streamable bytes, `PoolState.from_bytes`; trailing bytes are an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PoolStateError> {
        let err = |e: chia_traits::Error| PoolStateError(e.to_string());
        let mut input = Cursor::new(bytes);
        let state = Self {
            version: u8::parse::<false>(&mut input).map_err(err)?,
            state: u8::parse::<false>(&mut input).map_err(err)?,
            target_puzzle_hash: Bytes32::parse::<false>(&mut input).map_err(err)?,
            owner_pubkey: PublicKey::parse::<false>(&mut input).map_err(err)?,
            pool_url: Option::<String>::parse::<false>(&mut input).map_err(err)?,
            relative_lock_height: u32::parse::<false>(&mut input).map_err(err)?,
        };
        if input.position() != bytes.len() as u64 {
            return Err(PoolStateError("trailing bytes".into()));
        }
        Ok(state)
    }

    /// Streamable bytes, `bytes(pool_state)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Streaming these field types cannot fail except for a URL longer than 4 GiB.
        let _ = self.version.stream(&mut out);
        let _ = self.state.stream(&mut out);
        let _ = self.target_puzzle_hash.stream(&mut out);
        let _ = self.owner_pubkey.stream(&mut out);
        let _ = self.pool_url.stream(&mut out);
        let _ = self.relative_lock_height.stream(&mut out);
        out
    }
}

/// Full singleton v1.0 puzzle hash around an inner puzzle hash (`puzzle_for_singleton`).
pub fn singleton_puzzle_hash(launcher_id: Bytes32, inner_puzzle_hash: Bytes32) -> Bytes32 {
    singleton_puzzle_hash_of(SINGLETON_TOP_LAYER_HASH, launcher_id, inner_puzzle_hash)
}

/// `launcher_id_to_p2_puzzle_hash`: where pool rewards of this PlotNFT land, the plots'
/// `pool_contract_puzzle_hash`.
pub fn p2_singleton_puzzle_hash(
    launcher_id: Bytes32,
    delay_time: u64,
    delay_puzzle_hash: Bytes32,
) -> Bytes32 {
    curry_tree_hash(
        TreeHash::new(P2_SINGLETON_OR_DELAYED_PUZHASH_HASH),
        &[
            tree_hash_atom(&SINGLETON_TOP_LAYER_HASH),
            tree_hash_atom(&launcher_id),
            tree_hash_atom(&SINGLETON_LAUNCHER_HASH),
            tree_hash_atom(&int_atom(delay_time)),
            tree_hash_atom(&delay_puzzle_hash),
        ],
    )
    .into()
}

/// The fixed parameters of one v1 PlotNFT: everything its puzzles depend on besides the `PoolState`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotNftV1 {
    pub launcher_id: Bytes32,
    pub genesis_challenge: Bytes32,
    /// The p2_singleton's escape delay in seconds and the puzzle hash it escapes to (launcher extra data).
    pub delay_time: u64,
    pub delay_puzzle_hash: Bytes32,
}

impl PlotNftV1 {
    pub fn p2_singleton_puzzle_hash(&self) -> Bytes32 {
        p2_singleton_puzzle_hash(self.launcher_id, self.delay_time, self.delay_puzzle_hash)
    }

    /// The first 16 bytes of the genesis challenge and 16 zeros: the parent prefix of pool reward coins.
    pub fn pool_reward_prefix(&self) -> [u8; 32] {
        let mut prefix = [0u8; 32];
        prefix[..16].copy_from_slice(&self.genesis_challenge[..16]);
        prefix
    }

    /// `create_waiting_room_inner_puzzle(...)`'s tree hash for a state.
    pub fn waiting_room_inner_puzzle_hash(&self, state: &PoolState) -> Bytes32 {
        let lock = int_atom(u64::from(state.relative_lock_height));
        self.curried_inner(POOL_WAITINGROOM_INNERPUZ_HASH, state, &lock)
    }

    /// `create_pooling_inner_puzzle(...)`'s tree hash for a state: commits to its waiting room.
    pub fn pool_member_inner_puzzle_hash(&self, state: &PoolState) -> Bytes32 {
        let waiting_room = self.waiting_room_inner_puzzle_hash(state);
        self.curried_inner(POOL_MEMBER_INNERPUZ_HASH, state, &waiting_room)
    }

    /// Both inner puzzles curry `(target p2_singleton owner_pubkey pool_reward_prefix last)`.
    fn curried_inner(&self, module: [u8; 32], state: &PoolState, last: &[u8]) -> Bytes32 {
        curry_tree_hash(
            TreeHash::new(module),
            &[
                tree_hash_atom(&state.target_puzzle_hash),
                tree_hash_atom(&self.p2_singleton_puzzle_hash()),
                tree_hash_atom(&state.owner_pubkey.to_bytes()),
                tree_hash_atom(&self.pool_reward_prefix()),
                tree_hash_atom(last),
            ],
        )
        .into()
    }

    /// `pool_state_to_inner_puzzle(...)`'s tree hash.
    pub fn inner_puzzle_hash(&self, state: &PoolState) -> Bytes32 {
        if state.uses_waiting_room() {
            self.waiting_room_inner_puzzle_hash(state)
        } else {
            self.pool_member_inner_puzzle_hash(state)
        }
    }

    /// The singleton coin's puzzle hash while it is in `state`.
    pub fn puzzle_hash(&self, state: &PoolState) -> Bytes32 {
        singleton_puzzle_hash(self.launcher_id, self.inner_puzzle_hash(state))
    }
}
