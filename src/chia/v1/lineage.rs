//! Following a v1 PlotNFT's singleton from its launcher, spend by spend, to its current coin and `PoolState`.
//!
//! Unlike the 2.7.5 wallet, which believes the `PoolState` a spend announces, each step runs the spend and
//! takes the state only when the singleton coin it created is the puzzle that state gives: a pool-member
//! travel spend always goes to the waiting room it committed to, whatever `PoolState` its solution names.

use chia_protocol::{Bytes32, Coin, CoinSpend};
use clvm_utils::tree_hash;
use clvmr::serde::node_from_bytes;
use clvmr::{Allocator, SExp};

use super::puzzles::{PlotNftV1, PoolState};
use super::spends::{launcher_info, solution_to_pool_state, V1SpendError};
use crate::chia::conditions::{atom_u64, parse_program, spend_conditions, SpendError, CREATE_COIN};

/// Why a spend does not continue a v1 PlotNFT's lineage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum V1LineageError {
    #[error(transparent)]
    Spend(#[from] V1SpendError),
    #[error("running the spend failed: {0}")]
    Run(#[from] SpendError),
    #[error("the puzzle reveal does not hash to the spent coin's puzzle hash")]
    RevealMismatch,
    #[error("the spent coin is not the PlotNFT's current singleton coin")]
    NotTheSingleton,
    #[error("the spend creates {0} odd coins; a PlotNFT spend creates exactly one")]
    OddChildCount(usize),
    #[error("malformed CREATE_COIN: {0}")]
    MalformedCreateCoin(&'static str),
    #[error("the created singleton's puzzle hash is not the one of the PoolState the spend names")]
    StateMismatch,
}

/// A v1 PlotNFT's singleton coin (unspent when read from the chain's tip) and the state it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingletonV1 {
    pub coin: Coin,
    pub plotnft: PlotNftV1,
    pub pool_state: PoolState,
    /// What a spend of `coin` must prove about its parent.
    pub lineage_proof: LineageProofV1,
}

/// The singleton top layer's proof of parentage: `(launcher_parent launcher_amount)` for the eve coin,
/// `(parent_parent parent_inner_puzzle_hash parent_amount)` after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineageProofV1 {
    Eve {
        launcher_parent: Bytes32,
        launcher_amount: u64,
    },
    Lineage {
        parent_parent: Bytes32,
        parent_inner_puzzle_hash: Bytes32,
        parent_amount: u64,
    },
}

impl SingletonV1 {
    /// The singleton a v1 PlotNFT launcher spend creates.
    pub fn from_launcher_spend(
        spend: &CoinSpend,
        genesis_challenge: Bytes32,
    ) -> Result<Self, V1LineageError> {
        let info = launcher_info(spend)?;
        let launcher_id = spend.coin.coin_id();
        let plotnft = info.plotnft(launcher_id, genesis_challenge);
        let child = odd_child(spend)?;
        if child.puzzle_hash != info.singleton_puzzle_hash
            || plotnft.puzzle_hash(&info.pool_state) != child.puzzle_hash
        {
            return Err(V1LineageError::StateMismatch);
        }
        Ok(Self {
            coin: child,
            plotnft,
            pool_state: info.pool_state,
            lineage_proof: LineageProofV1::Eve {
                launcher_parent: spend.coin.parent_coin_info,
                launcher_amount: spend.coin.amount,
            },
        })
    }

    /// The singleton `spend` (a spend of this singleton's coin) creates: a travel moves it to the state it
    /// names, an absorb leaves the state as it is.
    pub fn next(&self, spend: &CoinSpend) -> Result<Self, V1LineageError> {
        if spend.coin != self.coin {
            return Err(V1LineageError::NotTheSingleton);
        }
        let state = solution_to_pool_state(spend)?.unwrap_or_else(|| self.pool_state.clone());
        let child = odd_child(spend)?;
        if self.plotnft.puzzle_hash(&state) != child.puzzle_hash {
            return Err(V1LineageError::StateMismatch);
        }
        Ok(Self {
            coin: child,
            plotnft: self.plotnft.clone(),
            lineage_proof: LineageProofV1::Lineage {
                parent_parent: spend.coin.parent_coin_info,
                parent_inner_puzzle_hash: self.plotnft.inner_puzzle_hash(&self.pool_state),
                parent_amount: spend.coin.amount,
            },
            pool_state: state,
        })
    }

    /// Whether the singleton pools with the pool of this target puzzle hash and relative lock height, the
    /// join rule of pool-reference (`FARMING_TO_POOL`, both values equal to the pool's).
    pub fn is_farming_to(&self, target_puzzle_hash: Bytes32, relative_lock_height: u32) -> bool {
        self.pool_state.state == super::puzzles::PoolSingletonState::FarmingToPool as u8
            && self.pool_state.target_puzzle_hash == target_puzzle_hash
            && self.pool_state.relative_lock_height == relative_lock_height
    }
}

/// The one odd coin a spend creates, found by running it (its reveal must be the spent coin's puzzle).
fn odd_child(spend: &CoinSpend) -> Result<Coin, V1LineageError> {
    let mut a = Allocator::new();
    let puzzle = parse_program(&mut a, &spend.puzzle_reveal, "puzzle reveal")?;
    if Bytes32::from(tree_hash(&a, puzzle)) != spend.coin.puzzle_hash {
        return Err(V1LineageError::RevealMismatch);
    }
    let mut odd = Vec::new();
    for condition in spend_conditions(spend)? {
        if condition.opcode != CREATE_COIN {
            continue;
        }
        let [puzzle_hash, amount, ..] = condition.args.as_slice() else {
            return Err(V1LineageError::MalformedCreateCoin(
                "fewer than two arguments",
            ));
        };
        let puzzle_hash = node_from_bytes(&mut a, puzzle_hash)
            .ok()
            .filter(|&n| matches!(a.sexp(n), SExp::Atom))
            .and_then(|n| <[u8; 32]>::try_from(a.atom(n).as_ref()).ok())
            .ok_or(V1LineageError::MalformedCreateCoin(
                "the puzzle hash is not 32 bytes",
            ))?;
        let amount = node_from_bytes(&mut a, amount)
            .ok()
            .and_then(|n| atom_u64(&a, n))
            .ok_or(V1LineageError::MalformedCreateCoin(
                "the amount is not a uint64",
            ))?;
        if amount % 2 == 1 {
            odd.push(Coin::new(
                spend.coin.coin_id(),
                Bytes32::new(puzzle_hash),
                amount,
            ));
        }
    }
    match odd.as_slice() {
        [child] => Ok(*child),
        other => Err(V1LineageError::OddChildCount(other.len())),
    }
}
