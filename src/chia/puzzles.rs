//! PlotNFT v2 puzzles (chia-blockchain 2.7.5 `chia/pools/plotnft_drivers.py`): the pool
//! configuration and [`PlotNftPuzzles`], which computes every puzzle hash of one PlotNFT by
//! tree-hash arithmetic (see `docs/plotnft-v2.md` §3).
//!
//! Hashes are computed with `curry_tree_hash` over precomputed argument hashes, never by building
//! CLVM, because the pool derives them for every member on every scan. Building the actual puzzle
//! reveals (needed only to spend) is in `super::reveals`; the embedded CLVM is in
//! `super::embedded`.

use chia_bls::PublicKey;
use chia_protocol::Bytes32;
use chia_puzzles::{
    BLS_WITH_TAPROOT_MEMBER_HASH, DELEGATED_PUZZLE_FEEDER_HASH, ENFORCE_DPUZ_WRAPPERS_HASH,
    FIXED_PUZZLE_MEMBER_HASH, ONE_OF_N_HASH, RESTRICTIONS_HASH, SINGLETON_MEMBER_HASH,
    SINGLETON_TOP_LAYER_V1_1_HASH,
};
use clvm_utils::{curry_tree_hash, tree_hash, tree_hash_atom, tree_hash_pair, TreeHash};
use clvmr::serde::node_from_bytes;
use clvmr::Allocator;

pub use super::embedded::*;

/// Errors in the PlotNFT parameters themselves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PuzzleError {
    #[error("pool_memoization is not one serialized CLVM program: {0}")]
    InvalidPoolMemoization(String),
    #[error("the {0:?} state needs a pool config, and this PlotNFT has none")]
    NoPoolConfig(PlotNftState),
    #[error("CLVM allocation failed: {0}")]
    Clvm(String),
}

/// The pool's identity as the wallet curries it into the PlotNFT: it must equal byte for byte
/// what `/pool_info` publishes as `(target_puzzle_hash, relative_lock_height, pool_memoization)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolConfig {
    pub pool_puzzle_hash: Bytes32,
    /// Blocks a leaving member waits in the "waiting room" (ASSERT_HEIGHT_RELATIVE).
    pub heightlock: u32,
    /// Serialized CLVM appended to the forward's CREATE_COIN: `80` (nil) = no memos, `ffffa0<h>8080`
    /// = hint `h`.
    pub pool_memoization: Vec<u8>,
}

/// Which spend rules the PlotNFT's inner puzzle currently has (doc §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlotNftState {
    /// No pool: the owner's BLS key controls everything.
    SelfPooling,
    /// Pooling; the owner may only move to [`PlotNftState::Exiting`].
    Pooling,
    /// The "waiting room": still forwards rewards to the pool, the owner may leave after the
    /// heightlock.
    Exiting,
}

/// Atom bytes of a CLVM integer (minimal big-endian two's complement, as `Program.to(int)`).
pub(crate) fn int_atom(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let mut out = Vec::with_capacity(9);
    if first < bytes.len() && bytes[first] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(&bytes[first..]);
    out
}

/// Tree hash of a proper list whose elements have the given tree hashes.
fn list_hash(items: &[TreeHash]) -> TreeHash {
    items.iter().rev().fold(tree_hash_atom(&[]), |rest, &item| {
        tree_hash_pair(item, rest)
    })
}

/// `H((q . X))` given `H(X)`.
pub(crate) fn quoted_hash(program: TreeHash) -> TreeHash {
    tree_hash_pair(tree_hash_atom(&[1]), program)
}

/// Hash of a nonce-0 `PuzzleWithRestrictions` around a member (or M-of-N) puzzle hash, with
/// optional DPUZ validators (no PlotNFT uses member validators) — doc §3.
fn pwr_hash(inner: TreeHash, dpuz_validators: &[TreeHash], top_level: bool) -> TreeHash {
    let mut puzzle = inner;
    if !dpuz_validators.is_empty() {
        puzzle = curry_tree_hash(
            TreeHash::new(RESTRICTIONS_HASH),
            &[list_hash(&[]), list_hash(dpuz_validators), puzzle],
        );
    }
    if top_level {
        puzzle = curry_tree_hash(TreeHash::new(DELEGATED_PUZZLE_FEEDER_HASH), &[puzzle]);
    }
    curry_tree_hash(INDEX_WRAPPER_HASH, &[tree_hash_atom(&[]), puzzle])
}

/// `ValidatorStackRestriction(wrappers)` = `ENFORCE_DPUZ_WRAPPERS(QUOTED_ADD_HASH, [H((q . w))…])`.
fn validator_stack_hash(wrappers: &[TreeHash]) -> TreeHash {
    let quoted: Vec<TreeHash> = wrappers
        .iter()
        .map(|&w| tree_hash_atom(&quoted_hash(w).to_bytes()))
        .collect();
    curry_tree_hash(
        TreeHash::new(ENFORCE_DPUZ_WRAPPERS_HASH),
        &[
            tree_hash_atom(&QUOTED_ADD_DPUZ_WRAPPER_HASH.to_bytes()),
            list_hash(&quoted),
        ],
    )
}

pub use super::singleton::{singleton_puzzle_hash, singleton_struct_hash};

/// The RewardPuzzle hash: the plots' `pool_contract_puzzle_hash` for this launcher, where pool
/// rewards land.
pub fn reward_puzzle_hash(launcher_id: Bytes32) -> Bytes32 {
    let member = curry_tree_hash(
        TreeHash::new(SINGLETON_MEMBER_HASH),
        &[singleton_struct_hash(launcher_id).into()],
    );
    pwr_hash(member, &[], true).into()
}

/// Hashes that exist only with a pool config.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PoolHashes {
    forward_dpuz: Bytes32,
    claim_dpuz: Bytes32,
    /// The pool member PWR (not top level): `INDEX_WRAPPER(0, FIXED_PUZZLE_MEMBER(H(claim)))`.
    pool_member: Bytes32,
    fixed_member: Bytes32,
    pooling_user_member: Bytes32,
    exiting_user_member: Bytes32,
    pooling_inner: Bytes32,
    exiting_inner: Bytes32,
    pooling_restriction: Bytes32,
    exiting_restriction: Bytes32,
}

/// All puzzle hashes of one PlotNFT's parameter set, computed once in [`PlotNftPuzzles::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotNftPuzzles {
    launcher_id: Bytes32,
    genesis_challenge: Bytes32,
    synthetic_pubkey: PublicKey,
    pool: Option<PoolConfig>,
    struct_hash: Bytes32,
    reward_puzzle_hash: Bytes32,
    bls_member: Bytes32,
    self_pooling_inner: Bytes32,
    pool_hashes: Option<PoolHashes>,
}

impl PlotNftPuzzles {
    /// Fails only if `pool.pool_memoization` is not exactly one serialized CLVM program.
    pub fn new(
        launcher_id: Bytes32,
        genesis_challenge: Bytes32,
        synthetic_pubkey: PublicKey,
        pool: Option<PoolConfig>,
    ) -> Result<Self, PuzzleError> {
        let struct_hash = singleton_struct_hash(launcher_id);
        let reward = reward_puzzle_hash(launcher_id);
        let bls_member = curry_tree_hash(
            TreeHash::new(BLS_WITH_TAPROOT_MEMBER_HASH),
            &[tree_hash_atom(&synthetic_pubkey.to_bytes())],
        );
        let self_pooling_inner = pwr_hash(bls_member, &[], true).into();
        let pool_hashes = match &pool {
            None => None,
            Some(config) => Some(Self::pool_hashes(
                config,
                &genesis_challenge,
                struct_hash,
                reward,
                bls_member,
            )?),
        };
        Ok(Self {
            launcher_id,
            genesis_challenge,
            synthetic_pubkey,
            pool,
            struct_hash,
            reward_puzzle_hash: reward,
            bls_member: bls_member.into(),
            self_pooling_inner,
            pool_hashes,
        })
    }

    fn pool_hashes(
        config: &PoolConfig,
        genesis_challenge: &Bytes32,
        struct_hash: Bytes32,
        reward: Bytes32,
        bls_member: TreeHash,
    ) -> Result<PoolHashes, PuzzleError> {
        let memoization = memoization_hash(&config.pool_memoization)?;
        let forward = curry_tree_hash(
            FORWARD_TO_POOL_PUZZLE_HASH_DPUZ_HASH,
            &[tree_hash_atom(&config.pool_puzzle_hash), memoization],
        );
        let claim = curry_tree_hash(
            CLAIM_POOL_REWARDS_DPUZ_HASH,
            &[
                tree_hash_atom(&genesis_challenge[..16]),
                tree_hash_atom(&SINGLETON_TOP_LAYER_V1_1_HASH),
                tree_hash_atom(&struct_hash),
                tree_hash_atom(&reward),
                tree_hash_atom(&forward.to_bytes()),
            ],
        );
        let fixed_member = curry_tree_hash(
            TreeHash::new(FIXED_PUZZLE_MEMBER_HASH),
            &[tree_hash_atom(&claim.to_bytes())],
        );
        let pool_member = pwr_hash(fixed_member, &[], false);
        // The inner puzzle = INDEX_WRAPPER(0, FEEDER(ONE_OF_N(root of [user member, pool member]))).
        let inner = |user_member: TreeHash| {
            let root = tree_hash_pair(
                tree_hash_atom(&user_member.to_bytes()),
                tree_hash_atom(&pool_member.to_bytes()),
            );
            let one_of_n = curry_tree_hash(
                TreeHash::new(ONE_OF_N_HASH),
                &[tree_hash_atom(&root.to_bytes())],
            );
            pwr_hash(one_of_n, &[], true)
        };
        // Exiting first: the pooling user restriction names the waiting-room inner puzzle hash.
        let heightlock = curry_tree_hash(
            HEIGHTLOCK_HASH,
            &[tree_hash_atom(&int_atom(config.heightlock.into()))],
        );
        let exiting_restriction = validator_stack_hash(&[heightlock, SEND_MESSAGE_BANNED_HASH]);
        let exiting_user = pwr_hash(bls_member, &[exiting_restriction], false);
        let exiting_inner = inner(exiting_user);
        let destinations = curry_tree_hash(
            FIXED_CREATE_COIN_DESTINATIONS_HASH,
            &[tree_hash_atom(&exiting_inner.to_bytes())],
        );
        let pooling_restriction = validator_stack_hash(&[destinations, SEND_MESSAGE_BANNED_HASH]);
        let pooling_user = pwr_hash(bls_member, &[pooling_restriction], false);
        Ok(PoolHashes {
            forward_dpuz: forward.into(),
            claim_dpuz: claim.into(),
            pool_member: pool_member.into(),
            fixed_member: fixed_member.into(),
            pooling_user_member: pooling_user.into(),
            exiting_user_member: exiting_user.into(),
            pooling_inner: inner(pooling_user).into(),
            exiting_inner: exiting_inner.into(),
            pooling_restriction: pooling_restriction.into(),
            exiting_restriction: exiting_restriction.into(),
        })
    }

    pub fn launcher_id(&self) -> Bytes32 {
        self.launcher_id
    }

    pub fn genesis_challenge(&self) -> Bytes32 {
        self.genesis_challenge
    }

    pub fn synthetic_pubkey(&self) -> &PublicKey {
        &self.synthetic_pubkey
    }

    pub fn pool_config(&self) -> Option<&PoolConfig> {
        self.pool.as_ref()
    }

    /// The same parameters with another pool config (or none).
    pub fn with_pool(&self, pool: Option<PoolConfig>) -> Result<Self, PuzzleError> {
        Self::new(
            self.launcher_id,
            self.genesis_challenge,
            self.synthetic_pubkey,
            pool,
        )
    }

    pub fn singleton_struct_hash(&self) -> Bytes32 {
        self.struct_hash
    }

    pub fn reward_puzzle_hash(&self) -> Bytes32 {
        self.reward_puzzle_hash
    }

    /// `BLS_WITH_TAPROOT_MEMBER(synthetic_pubkey)`.
    pub fn bls_member_hash(&self) -> Bytes32 {
        self.bls_member
    }

    fn pool_hashes_for(&self, state: PlotNftState) -> Result<&PoolHashes, PuzzleError> {
        self.pool_hashes
            .as_ref()
            .ok_or(PuzzleError::NoPoolConfig(state))
    }

    /// `FORWARD_TO_POOL_PUZZLE_HASH_DPUZ(pool_puzzle_hash, pool_memoization)`: the message the
    /// PlotNFT sends to the reward coin.
    pub fn forward_dpuz_hash(&self) -> Result<Bytes32, PuzzleError> {
        Ok(self.pool_hashes_for(PlotNftState::Pooling)?.forward_dpuz)
    }

    pub fn claim_dpuz_hash(&self) -> Result<Bytes32, PuzzleError> {
        Ok(self.pool_hashes_for(PlotNftState::Pooling)?.claim_dpuz)
    }

    /// The pool member PWR hash (a leaf of the 1-of-2 tree).
    pub fn pool_member_hash(&self) -> Result<Bytes32, PuzzleError> {
        Ok(self.pool_hashes_for(PlotNftState::Pooling)?.pool_member)
    }

    /// The user member PWR hash (the other leaf) of the pooling or exiting inner puzzle.
    pub fn user_member_hash(&self, state: PlotNftState) -> Result<Bytes32, PuzzleError> {
        let hashes = self.pool_hashes_for(state)?;
        match state {
            PlotNftState::Pooling => Ok(hashes.pooling_user_member),
            PlotNftState::Exiting => Ok(hashes.exiting_user_member),
            PlotNftState::SelfPooling => Err(PuzzleError::NoPoolConfig(state)),
        }
    }

    /// `FIXED_PUZZLE_MEMBER(H(claim))`, the member inside the pool member PWR.
    pub fn fixed_puzzle_member_hash(&self) -> Result<Bytes32, PuzzleError> {
        Ok(self.pool_hashes_for(PlotNftState::Pooling)?.fixed_member)
    }

    /// The user member's DPUZ validator (`ValidatorStackRestriction`): wrappers
    /// `[FixedCreateCoinDestinations(waiting room), SendMessageBanned]` when pooling,
    /// `[Heightlock(heightlock), SendMessageBanned]` when exiting. A CHIP-0043 memo naming the
    /// exiting one marks the waiting-room state.
    pub fn user_restriction_hash(&self, state: PlotNftState) -> Result<Bytes32, PuzzleError> {
        let hashes = self.pool_hashes_for(state)?;
        match state {
            PlotNftState::Pooling => Ok(hashes.pooling_restriction),
            PlotNftState::Exiting => Ok(hashes.exiting_restriction),
            PlotNftState::SelfPooling => Err(PuzzleError::NoPoolConfig(state)),
        }
    }

    /// Inner (custody) puzzle hash in `state`; pooling and exiting need a pool config.
    pub fn inner_puzzle_hash(&self, state: PlotNftState) -> Result<Bytes32, PuzzleError> {
        match state {
            PlotNftState::SelfPooling => Ok(self.self_pooling_inner),
            PlotNftState::Pooling => Ok(self.pool_hashes_for(state)?.pooling_inner),
            PlotNftState::Exiting => Ok(self.pool_hashes_for(state)?.exiting_inner),
        }
    }

    /// Full singleton puzzle hash (the PlotNFT coin's puzzle hash) in `state`.
    pub fn puzzle_hash(&self, state: PlotNftState) -> Result<Bytes32, PuzzleError> {
        let inner = self.inner_puzzle_hash(state)?;
        Ok(curry_tree_hash(
            TreeHash::new(SINGLETON_TOP_LAYER_V1_1_HASH),
            &[self.struct_hash.into(), inner.into()],
        )
        .into())
    }

    /// The states this parameter set can be in: self-pooling always, pooling and exiting with a
    /// pool config.
    pub fn states(&self) -> &'static [PlotNftState] {
        if self.pool.is_some() {
            &[
                PlotNftState::Pooling,
                PlotNftState::Exiting,
                PlotNftState::SelfPooling,
            ]
        } else {
            &[PlotNftState::SelfPooling]
        }
    }
}

/// Tree hash of a serialized pool memoization; rejects trailing bytes and back-references, which
/// the wallet never produces.
fn memoization_hash(bytes: &[u8]) -> Result<TreeHash, PuzzleError> {
    let mut a = Allocator::new();
    let node = node_from_bytes(&mut a, bytes)
        .map_err(|e| PuzzleError::InvalidPoolMemoization(e.to_string()))?;
    Ok(tree_hash(&a, node))
}

#[cfg(test)]
#[path = "puzzles_tests.rs"]
pub(crate) mod tests;
