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
pub(crate) mod tests {
    use super::super::puzzles::tests::{b32, load, puzzles_from_inputs};
    use super::*;
    use chia_protocol::Program;
    use serde_json::Value;

    const FORWARDING_JSON: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/reward_forwarding.json"
    );

    pub(crate) fn coin(v: &Value) -> Coin {
        Coin::new(
            b32(&v["parent_coin_info"]),
            b32(&v["puzzle_hash"]),
            v["amount"].as_u64().unwrap(),
        )
    }

    pub(crate) fn coin_spend(v: &Value) -> CoinSpend {
        let program = |key: &str| Program::from(hex::decode(v[key].as_str().unwrap()).unwrap());
        CoinSpend::new(
            coin(&v["coin"]),
            program("puzzle_reveal"),
            program("solution"),
        )
    }

    pub(crate) fn state_named(name: &str) -> PlotNftState {
        match name {
            "pooling" => PlotNftState::Pooling,
            "waiting_room" | "exiting" => PlotNftState::Exiting,
            "self_pooling" => PlotNftState::SelfPooling,
            other => panic!("unknown state {other}"),
        }
    }

    /// The singleton's last spend of a case, as the generator names it.
    pub(crate) fn last_spend(case: &Value) -> CoinSpend {
        let index = case["singleton_last_spend_index"].as_u64().unwrap() as usize;
        coin_spend(&case["launch_spends"][index])
    }

    fn cases() -> Vec<Value> {
        load(FORWARDING_JSON)["cases"].as_array().unwrap().clone()
    }

    #[test]
    fn launch_spend_decodes_to_the_named_state() {
        for case in cases() {
            let genesis = b32(&case["inputs"]["genesis_challenge"]);
            let expected = puzzles_from_inputs(&case["inputs"]);
            let state = state_named(case["state"].as_str().unwrap());
            let nft = PlotNft::from_parent_spend(&last_spend(&case), genesis, None).unwrap();
            assert_eq!(nft.state, state);
            assert_eq!(nft.puzzles, expected);
            assert_eq!(nft.coin, coin(&case["singleton_coin"]));
            check_lineage(&nft.coin, &last_spend(&case), expected.launcher_id()).unwrap();
            // Knowing the parameters beforehand gives the same answer.
            let hinted = PlotNft::from_parent_spend(&last_spend(&case), genesis, Some(&expected));
            assert_eq!(hinted.unwrap(), nft);
        }
    }

    #[test]
    fn forward_spend_keeps_the_state() {
        for case in cases() {
            let genesis = b32(&case["inputs"]["genesis_challenge"]);
            let current = PlotNft::from_parent_spend(&last_spend(&case), genesis, None).unwrap();
            let forward = coin_spend(&case["forward_spends"][0]);
            let next =
                PlotNft::from_parent_spend(&forward, genesis, Some(&current.puzzles)).unwrap();
            assert_eq!(next.state, current.state);
            assert_eq!(next.coin.parent_coin_info, current.coin.coin_id());
            assert_eq!(next.coin.puzzle_hash, current.coin.puzzle_hash);
            assert_eq!(
                next.lineage_proof.parent_inner_puzzle_hash,
                current.inner_puzzle_hash().unwrap()
            );
            check_lineage(&next.coin, &forward, current.launcher_id()).unwrap();
            // A forward only memos the struct hash: without the parameters it cannot be read.
            assert!(matches!(
                PlotNft::from_parent_spend(&forward, genesis, None),
                Err(PlotNftError::InvalidMemoization(_))
            ));
        }
    }

    #[test]
    fn non_plotnft_spends_are_typed_errors() {
        for case in cases() {
            let genesis = b32(&case["inputs"]["genesis_challenge"]);
            let launcher = coin_spend(&case["launch_spends"][0]);
            let reward = coin_spend(&case["forward_spends"][1]);
            for spend in [&launcher, &reward] {
                assert_eq!(
                    PlotNft::from_parent_spend(spend, genesis, None),
                    Err(PlotNftError::NotSingleton)
                );
                let child = Coin::new(spend.coin.coin_id(), Bytes32::default(), 1);
                let id = b32(&case["inputs"]["launcher_id"]);
                assert_eq!(
                    check_lineage(&child, spend, id),
                    Err(PlotNftError::NotSingleton)
                );
            }
        }
    }

    #[test]
    fn wrong_launcher_is_a_typed_error() {
        for case in cases() {
            let genesis = b32(&case["inputs"]["genesis_challenge"]);
            let parent = last_spend(&case);
            let nft = PlotNft::from_parent_spend(&parent, genesis, None).unwrap();
            let other = Bytes32::new([7; 32]);
            assert_eq!(
                check_lineage(&nft.coin, &parent, other),
                Err(PlotNftError::WrongLauncherId {
                    expected: other,
                    found: nft.launcher_id()
                })
            );
            let stranger = PlotNftPuzzles::new(
                other,
                genesis,
                *nft.puzzles.synthetic_pubkey(),
                nft.pool_config().cloned(),
            )
            .unwrap();
            assert!(matches!(
                PlotNft::from_parent_spend(&parent, genesis, Some(&stranger)),
                Err(PlotNftError::WrongLauncherId { .. })
            ));
            let mut even = nft.coin;
            even.amount = 2;
            assert_eq!(
                check_lineage(&even, &parent, nft.launcher_id()),
                Err(PlotNftError::EvenAmount(2))
            );
            let mut orphan = nft.coin;
            orphan.parent_coin_info = Bytes32::default();
            assert_eq!(
                check_lineage(&orphan, &parent, nft.launcher_id()),
                Err(PlotNftError::NotAChild)
            );
        }
    }

    #[test]
    fn garbage_and_tampering_are_typed_errors() {
        let case = &cases()[0];
        let genesis = b32(&case["inputs"]["genesis_challenge"]);
        let good = last_spend(case);
        let with = |puzzle: Vec<u8>, solution: Vec<u8>, ph: Option<Bytes32>| {
            let mut spend = good.clone();
            spend.puzzle_reveal = Program::from(puzzle);
            spend.solution = Program::from(solution);
            if let Some(ph) = ph {
                spend.coin.puzzle_hash = ph;
            }
            PlotNft::from_parent_spend(&spend, genesis, None)
        };
        let reveal = good.puzzle_reveal.to_vec();
        let solution = good.solution.to_vec();
        for garbage in [
            vec![],
            vec![0xff],
            vec![0xff, 0x80],
            vec![0x80, 0x80],
            vec![0xc0, 0x01],
        ] {
            assert!(matches!(
                with(garbage.clone(), solution.clone(), None),
                Err(PlotNftError::Spend(SpendError::InvalidClvm { .. }))
            ));
            assert!(matches!(
                with(reveal.clone(), garbage, None),
                Err(PlotNftError::Spend(SpendError::InvalidClvm { .. }))
            ));
        }
        // A reveal that is not the coin's puzzle.
        let launcher = b32(&case["inputs"]["launcher_id"]);
        let at = reveal
            .windows(32)
            .position(|w| w == launcher.as_ref())
            .expect("the reveal curries the launcher id");
        let mut tampered = reveal.clone();
        tampered[at] ^= 1;
        assert_eq!(
            with(tampered, solution.clone(), None),
            Err(PlotNftError::RevealMismatch)
        );
        // A singleton solution without inner solution.
        assert_eq!(
            with(reveal.clone(), vec![0x80], None),
            Err(PlotNftError::MalformedSolution)
        );
        // Non-singleton puzzles: an atom, a quoted program.
        for puzzle in [vec![0x01], hex::decode("ff0180").unwrap()] {
            let mut a = Allocator::new();
            let node = clvmr::serde::node_from_bytes(&mut a, &puzzle).unwrap();
            let ph = Bytes32::from(tree_hash(&a, node));
            assert_eq!(
                with(puzzle, solution.clone(), Some(ph)),
                Err(PlotNftError::NotSingleton)
            );
        }
    }
}
