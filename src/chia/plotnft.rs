//! A PlotNFT's state read from chain data: the next state from the singleton's last coin spend
//! (2.7.5 `PlotNFT.get_next_from_coin_spend`, doc §4) and the lineage check the pool does on
//! registration (doc §6.2). Everything here parses untrusted network data, so every malformed
//! input is a [`PlotNftError`], never a panic.

use chia_protocol::{Bytes32, Coin, CoinSpend};
use chia_puzzle_types::LineageProof;
use chia_puzzles::{SINGLETON_LAUNCHER_HASH, SINGLETON_TOP_LAYER_V1_1_HASH};
use clvm_utils::tree_hash;
use clvmr::{Allocator, ClvmFlags, NodePtr, SExp};

use super::conditions::{
    atom_u64, list_items, parse_program, run, SpendError, MAX_BLOCK_COST_CLVM,
};
use super::memo::{decode_plotnft_memo, MemoError};
use super::puzzles::{PlotNftPuzzles, PlotNftState, PoolConfig, PuzzleError};
use super::reveals::uncurry;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlotNftError {
    #[error("malformed coin spend: {0}")]
    Spend(#[from] SpendError),
    #[error("the puzzle reveal does not hash to the spent coin's puzzle hash")]
    RevealMismatch,
    #[error("the puzzle is not a curried singleton top layer v1.1")]
    NotSingleton,
    #[error("the singleton struct does not name the v1.1 top layer and the standard launcher")]
    NonStandardSingletonStruct,
    #[error("the singleton's launcher id is {found}, expected {expected}")]
    WrongLauncherId { expected: Bytes32, found: Bytes32 },
    #[error("the singleton solution has no inner solution")]
    MalformedSolution,
    #[error("the spend creates {0} odd coins; a PlotNFT spend creates exactly one")]
    OddChildCount(usize),
    #[error("the PlotNFT was melted")]
    Melted,
    #[error("malformed CREATE_COIN: {0}")]
    MalformedCreateCoin(&'static str),
    #[error("the created puzzle is no known state and its memo is not a PlotNFT memo: {0}")]
    InvalidMemoization(MemoError),
    #[error("the memo describes a PlotNFT whose inner puzzle hash is not the created one")]
    MemoMismatch,
    #[error("the coin is not a child of the given parent spend")]
    NotAChild,
    #[error("PlotNFT coins have an odd amount, this one has {0}")]
    EvenAmount(u64),
    #[error(transparent)]
    Puzzle(#[from] PuzzleError),
}

/// A PlotNFT coin with everything needed to spend it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotNft {
    /// The (unspent) coin the decoded spend created.
    pub coin: Coin,
    /// Lineage proof for spending `coin`: its parent's parent id, inner puzzle hash and amount.
    pub lineage_proof: LineageProof,
    /// Parameters; the pool config is `None` exactly when self-pooling.
    pub puzzles: PlotNftPuzzles,
    pub state: PlotNftState,
}

impl PlotNft {
    pub fn launcher_id(&self) -> Bytes32 {
        self.puzzles.launcher_id()
    }

    pub fn pool_config(&self) -> Option<&PoolConfig> {
        self.puzzles.pool_config()
    }

    /// Inner puzzle hash of `coin` in its current state.
    pub fn inner_puzzle_hash(&self) -> Result<Bytes32, PuzzleError> {
        self.puzzles.inner_puzzle_hash(self.state)
    }

    /// Decodes the PlotNFT that `parent_spend` (a spend of a PlotNFT or of its eve coin) created.
    ///
    /// `previous` is what the caller already knows of this PlotNFT (e.g. the launcher id, key and
    /// pool config from its registration). A created puzzle hash equal to one of its states is
    /// that state; this is how spends that only memo the struct hash (reward forwards, entering
    /// the waiting room) are followed. Otherwise the CHIP-0043 memo must describe the created
    /// puzzle. Unlike 2.7.5, which trusts `previous` to be the parent's state, a state is only
    /// taken when its hash matches, and only odd CREATE_COINs count (even ones are not the
    /// singleton).
    pub fn from_parent_spend(
        parent_spend: &CoinSpend,
        genesis_challenge: Bytes32,
        previous: Option<&PlotNftPuzzles>,
    ) -> Result<Self, PlotNftError> {
        let mut a = Allocator::new();
        let singleton = uncurry_plotnft_spend(&mut a, parent_spend)?;
        if let Some(previous) = previous {
            if previous.launcher_id() != singleton.launcher_id {
                return Err(PlotNftError::WrongLauncherId {
                    expected: previous.launcher_id(),
                    found: singleton.launcher_id,
                });
            }
        }
        let solution = parse_program(&mut a, &parent_spend.solution, "solution")?;
        let inner_solution = *list_items(&a, solution)
            .get(2)
            .ok_or(PlotNftError::MalformedSolution)?;
        // Consensus-like flags (heap limited): this spend was already accepted on chain.
        let (_, output) = run(
            &mut a,
            singleton.inner_puzzle,
            inner_solution,
            MAX_BLOCK_COST_CLVM,
            ClvmFlags::LIMIT_HEAP,
        )?;
        let child = odd_child(&a, output)?;

        let known = previous.and_then(|p| {
            p.states()
                .iter()
                .find(|&&s| p.inner_puzzle_hash(s).ok() == Some(child.inner_puzzle_hash))
                .map(|&s| (p, s))
        });
        let (puzzles, state) = match known {
            Some((p, PlotNftState::SelfPooling)) => (p.with_pool(None)?, PlotNftState::SelfPooling),
            Some((p, state)) => (p.clone(), state),
            None => {
                let memo = child
                    .memo
                    .ok_or(PlotNftError::InvalidMemoization(MemoError::NotChip0043))?;
                let decoded =
                    decode_plotnft_memo(&a, memo).map_err(PlotNftError::InvalidMemoization)?;
                let (p, state) = decoded.to_puzzles(singleton.launcher_id, genesis_challenge)?;
                if p.inner_puzzle_hash(state)? != child.inner_puzzle_hash {
                    return Err(PlotNftError::MemoMismatch);
                }
                (p, state)
            }
        };
        Ok(PlotNft {
            coin: Coin::new(
                parent_spend.coin.coin_id(),
                puzzles.puzzle_hash(state)?,
                child.amount,
            ),
            lineage_proof: LineageProof {
                parent_parent_coin_info: parent_spend.coin.parent_coin_info,
                parent_inner_puzzle_hash: singleton.inner_puzzle_hash,
                parent_amount: parent_spend.coin.amount,
            },
            puzzles,
            state,
        })
    }
}

/// Registration lineage check (doc §6.2): `coin` is an odd child of `parent_spend`, whose puzzle
/// is singleton v1.1 with the standard launcher and `launcher_id`. With the puzzle hash check the
/// caller does (`coin.puzzle_hash` = the expected PlotNFT hash), this proves the coin is the
/// singleton of that launcher, not a look-alike minted by another singleton.
pub fn check_lineage(
    coin: &Coin,
    parent_spend: &CoinSpend,
    launcher_id: Bytes32,
) -> Result<(), PlotNftError> {
    if coin.parent_coin_info != parent_spend.coin.coin_id() {
        return Err(PlotNftError::NotAChild);
    }
    if coin.amount % 2 == 0 {
        return Err(PlotNftError::EvenAmount(coin.amount));
    }
    let mut a = Allocator::new();
    let singleton = uncurry_plotnft_spend(&mut a, parent_spend)?;
    if singleton.launcher_id != launcher_id {
        return Err(PlotNftError::WrongLauncherId {
            expected: launcher_id,
            found: singleton.launcher_id,
        });
    }
    Ok(())
}

struct Singleton {
    launcher_id: Bytes32,
    inner_puzzle: NodePtr,
    inner_puzzle_hash: Bytes32,
}

/// Parses a spend's puzzle reveal as a standard singleton v1.1 and checks it is the spent coin's.
fn uncurry_plotnft_spend(a: &mut Allocator, spend: &CoinSpend) -> Result<Singleton, PlotNftError> {
    let puzzle = parse_program(a, &spend.puzzle_reveal, "puzzle reveal")?;
    if Bytes32::from(tree_hash(a, puzzle)) != spend.coin.puzzle_hash {
        return Err(PlotNftError::RevealMismatch);
    }
    let (program, args) = uncurry(a, puzzle).ok_or(PlotNftError::NotSingleton)?;
    let [singleton_struct, inner_puzzle] = args[..] else {
        return Err(PlotNftError::NotSingleton);
    };
    if tree_hash(a, program).to_bytes() != SINGLETON_TOP_LAYER_V1_1_HASH {
        return Err(PlotNftError::NotSingleton);
    }
    let SExp::Pair(mod_hash, rest) = a.sexp(singleton_struct) else {
        return Err(PlotNftError::NonStandardSingletonStruct);
    };
    let SExp::Pair(launcher_id, launcher_hash) = a.sexp(rest) else {
        return Err(PlotNftError::NonStandardSingletonStruct);
    };
    // 2.7.5 checks only the launcher hash; a struct naming another top layer would make the
    // singleton compute its children's puzzle hashes from that, so it is no PlotNFT either.
    if atom32(a, mod_hash) != Some(SINGLETON_TOP_LAYER_V1_1_HASH.into())
        || atom32(a, launcher_hash) != Some(SINGLETON_LAUNCHER_HASH.into())
    {
        return Err(PlotNftError::NonStandardSingletonStruct);
    }
    let launcher_id = atom32(a, launcher_id).ok_or(PlotNftError::NonStandardSingletonStruct)?;
    Ok(Singleton {
        launcher_id,
        inner_puzzle,
        inner_puzzle_hash: tree_hash(a, inner_puzzle).into(),
    })
}

fn atom32(a: &Allocator, node: NodePtr) -> Option<Bytes32> {
    match a.sexp(node) {
        SExp::Atom => Bytes32::try_from(a.atom(node).as_ref()).ok(),
        SExp::Pair(..) => None,
    }
}

struct Child {
    inner_puzzle_hash: Bytes32,
    amount: u64,
    /// `pwr_memo` from a memo list `(hint . pwr_memo)`, when there is one.
    memo: Option<NodePtr>,
}

/// The single odd CREATE_COIN among the inner puzzle's conditions.
fn odd_child(a: &Allocator, conditions: NodePtr) -> Result<Child, PlotNftError> {
    let mut children = Vec::new();
    for condition in list_items(a, conditions) {
        let SExp::Pair(opcode, rest) = a.sexp(condition) else {
            continue;
        };
        if !matches!(a.sexp(opcode), SExp::Atom) || a.atom(opcode).as_ref() != [51] {
            continue;
        }
        let args = list_items(a, rest);
        let (Some(&puzzle_hash), Some(&amount)) = (args.first(), args.get(1)) else {
            return Err(PlotNftError::MalformedCreateCoin(
                "missing puzzle hash or amount",
            ));
        };
        let amount = match atom_u64(a, amount) {
            Some(amount) => amount,
            // The singleton top layer's melt condition.
            None if matches!(a.sexp(amount), SExp::Atom) && a.atom(amount).as_ref() == [0x8f] => {
                return Err(PlotNftError::Melted)
            }
            None => return Err(PlotNftError::MalformedCreateCoin("amount is not a u64")),
        };
        if amount % 2 == 0 {
            continue;
        }
        let inner_puzzle_hash = atom32(a, puzzle_hash).ok_or(PlotNftError::MalformedCreateCoin(
            "puzzle hash is not 32 bytes",
        ))?;
        let memo = args.get(2).and_then(|&memos| match a.sexp(memos) {
            SExp::Pair(_hint, pwr_memo) => Some(pwr_memo),
            SExp::Atom => None,
        });
        children.push(Child {
            inner_puzzle_hash,
            amount,
            memo,
        });
    }
    if children.len() != 1 {
        return Err(PlotNftError::OddChildCount(children.len()));
    }
    children.pop().ok_or(PlotNftError::OddChildCount(0))
}

#[cfg(test)]
#[path = "plotnft_tests.rs"]
pub(crate) mod tests;
