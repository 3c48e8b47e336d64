//! Puzzle reveals of a PlotNFT (CLVM built in an `Allocator`), needed only to spend it: the
//! RewardPuzzle, the two pool delegated puzzles, the pool member and the inner/full puzzles.
//! Every builder mirrors one hash in `super::puzzles`; the tests check they agree.

use chia_protocol::Bytes32;
use chia_puzzles::{
    BLS_WITH_TAPROOT_MEMBER, DELEGATED_PUZZLE_FEEDER, FIXED_PUZZLE_MEMBER, ONE_OF_N,
    SINGLETON_LAUNCHER_HASH, SINGLETON_MEMBER, SINGLETON_TOP_LAYER_V1_1,
    SINGLETON_TOP_LAYER_V1_1_HASH,
};
use clvm_utils::{tree_hash_atom, tree_hash_pair};
use clvmr::serde::{node_from_bytes, node_to_bytes};
use clvmr::{Allocator, NodePtr, SExp};

use super::puzzles::{
    PlotNftPuzzles, PlotNftState, PuzzleError, CLAIM_POOL_REWARDS_DPUZ,
    FORWARD_TO_POOL_PUZZLE_HASH_DPUZ, INDEX_WRAPPER,
};

fn clvm_err(e: clvmr::error::EvalErr) -> PuzzleError {
    PuzzleError::Clvm(e.to_string())
}

/// Standard currying: `(a (q . program) (c (q . arg1) (c (q . arg2) … 1)))`.
pub fn curry(
    a: &mut Allocator,
    program: NodePtr,
    args: &[NodePtr],
) -> Result<NodePtr, PuzzleError> {
    let q = a.one();
    let mut env = a.one();
    for &arg in args.iter().rev() {
        let quoted = a.new_pair(q, arg).map_err(clvm_err)?;
        let tail = a.new_pair(env, NodePtr::NIL).map_err(clvm_err)?;
        let items = a.new_pair(quoted, tail).map_err(clvm_err)?;
        let op_c = a.new_small_number(4).map_err(clvm_err)?;
        env = a.new_pair(op_c, items).map_err(clvm_err)?;
    }
    let quoted_program = a.new_pair(q, program).map_err(clvm_err)?;
    let tail = a.new_pair(env, NodePtr::NIL).map_err(clvm_err)?;
    let items = a.new_pair(quoted_program, tail).map_err(clvm_err)?;
    let op_a = a.new_small_number(2).map_err(clvm_err)?;
    a.new_pair(op_a, items).map_err(clvm_err)
}

/// Inverse of [`curry`]: `(program, args)` if `node` has exactly the standard curried shape.
pub fn uncurry(a: &Allocator, node: NodePtr) -> Option<(NodePtr, Vec<NodePtr>)> {
    let [op_a, quoted_program, mut env] = exact_list::<3>(a, node)?;
    if !is_atom(a, op_a, &[2]) {
        return None;
    }
    let program = unquote(a, quoted_program)?;
    let mut args = Vec::new();
    while !is_atom(a, env, &[1]) {
        let [op_c, quoted_arg, rest] = exact_list::<3>(a, env)?;
        if !is_atom(a, op_c, &[4]) {
            return None;
        }
        args.push(unquote(a, quoted_arg)?);
        env = rest;
    }
    Some((program, args))
}

fn is_atom(a: &Allocator, node: NodePtr, bytes: &[u8]) -> bool {
    matches!(a.sexp(node), SExp::Atom) && a.atom(node).as_ref() == bytes
}

/// `X` from `(q . X)`.
fn unquote(a: &Allocator, node: NodePtr) -> Option<NodePtr> {
    match a.sexp(node) {
        SExp::Pair(q, x) if is_atom(a, q, &[1]) => Some(x),
        _ => None,
    }
}

/// The items of a nil-terminated list of exactly `N` items.
fn exact_list<const N: usize>(a: &Allocator, mut node: NodePtr) -> Option<[NodePtr; N]> {
    let mut out = [NodePtr::NIL; N];
    for slot in &mut out {
        let SExp::Pair(first, rest) = a.sexp(node) else {
            return None;
        };
        *slot = first;
        node = rest;
    }
    is_atom(a, node, &[]).then_some(out)
}

/// Deserializes an embedded (trusted) puzzle.
pub fn load(a: &mut Allocator, bytes: &[u8]) -> Result<NodePtr, PuzzleError> {
    node_from_bytes(a, bytes).map_err(clvm_err)
}

pub fn atom(a: &mut Allocator, bytes: &[u8]) -> Result<NodePtr, PuzzleError> {
    a.new_atom(bytes).map_err(clvm_err)
}

/// A proper list of the given nodes.
pub fn list(a: &mut Allocator, items: &[NodePtr]) -> Result<NodePtr, PuzzleError> {
    let mut out = NodePtr::NIL;
    for &item in items.iter().rev() {
        out = a.new_pair(item, out).map_err(clvm_err)?;
    }
    Ok(out)
}

pub fn serialize(a: &Allocator, node: NodePtr) -> Result<Vec<u8>, PuzzleError> {
    node_to_bytes(a, node).map_err(clvm_err)
}

/// `(SINGLETON_TOP_LAYER_V1_1_HASH . (launcher_id . SINGLETON_LAUNCHER_HASH))`.
pub fn singleton_struct(a: &mut Allocator, launcher_id: Bytes32) -> Result<NodePtr, PuzzleError> {
    singleton_struct_of(a, SINGLETON_TOP_LAYER_V1_1_HASH, launcher_id)
}

/// The singleton struct of the top layer whose hash is `top_layer` (v1.0 for PlotNFT v1).
pub fn singleton_struct_of(
    a: &mut Allocator,
    top_layer: [u8; 32],
    launcher_id: Bytes32,
) -> Result<NodePtr, PuzzleError> {
    let mod_hash = atom(a, &top_layer)?;
    let launcher = atom(a, &launcher_id)?;
    let launcher_hash = atom(a, &SINGLETON_LAUNCHER_HASH)?;
    let rest = a.new_pair(launcher, launcher_hash).map_err(clvm_err)?;
    a.new_pair(mod_hash, rest).map_err(clvm_err)
}

/// A nonce-0 `PuzzleWithRestrictions` without restrictions: `INDEX_WRAPPER(0, [FEEDER(]inner[)])`.
fn pwr(a: &mut Allocator, inner: NodePtr, top_level: bool) -> Result<NodePtr, PuzzleError> {
    let inner = if top_level {
        let feeder = load(a, &DELEGATED_PUZZLE_FEEDER)?;
        curry(a, feeder, &[inner])?
    } else {
        inner
    };
    let wrapper = load(a, &INDEX_WRAPPER)?;
    curry(a, wrapper, &[NodePtr::NIL, inner])
}

/// The full singleton puzzle around an inner puzzle.
pub fn singleton_puzzle(
    a: &mut Allocator,
    launcher_id: Bytes32,
    inner: NodePtr,
) -> Result<NodePtr, PuzzleError> {
    let top = load(a, &SINGLETON_TOP_LAYER_V1_1)?;
    let st = singleton_struct(a, launcher_id)?;
    curry(a, top, &[st, inner])
}

impl PlotNftPuzzles {
    /// RewardPuzzle = `INDEX_WRAPPER(0, FEEDER(SINGLETON_MEMBER(struct)))`.
    pub fn reward_puzzle(&self, a: &mut Allocator) -> Result<NodePtr, PuzzleError> {
        let member = load(a, &SINGLETON_MEMBER)?;
        let st = singleton_struct(a, self.launcher_id())?;
        let member = curry(a, member, &[st])?;
        pwr(a, member, true)
    }

    /// Serialized RewardPuzzle (what a reward coin spend reveals).
    pub fn reward_puzzle_reveal(&self) -> Result<Vec<u8>, PuzzleError> {
        let mut a = Allocator::new();
        let node = self.reward_puzzle(&mut a)?;
        serialize(&a, node)
    }

    /// `FORWARD_TO_POOL_PUZZLE_HASH_DPUZ(pool_puzzle_hash, pool_memoization)`.
    pub fn forward_dpuz(&self, a: &mut Allocator) -> Result<NodePtr, PuzzleError> {
        let pool = self
            .pool_config()
            .ok_or(PuzzleError::NoPoolConfig(PlotNftState::Pooling))?;
        let dpuz = load(a, &FORWARD_TO_POOL_PUZZLE_HASH_DPUZ)?;
        let ph = atom(a, &pool.pool_puzzle_hash)?;
        let memoization = node_from_bytes(a, &pool.pool_memoization)
            .map_err(|e| PuzzleError::InvalidPoolMemoization(e.to_string()))?;
        curry(a, dpuz, &[ph, memoization])
    }

    /// `CLAIM_POOL_REWARDS_DPUZ(genesis[0:16], SINGLETON_MOD_HASH, struct_hash, reward_hash,
    /// H(forward))`.
    pub fn claim_dpuz(&self, a: &mut Allocator) -> Result<NodePtr, PuzzleError> {
        let forward_hash = self.forward_dpuz_hash()?;
        let dpuz = load(a, &CLAIM_POOL_REWARDS_DPUZ)?;
        let args = [
            atom(a, &self.genesis_challenge()[..16])?,
            atom(a, &SINGLETON_TOP_LAYER_V1_1_HASH)?,
            atom(a, &self.singleton_struct_hash())?,
            atom(a, &self.reward_puzzle_hash())?,
            atom(a, &forward_hash)?,
        ];
        curry(a, dpuz, &args)
    }

    /// The pool member PWR (not top level): `INDEX_WRAPPER(0, FIXED_PUZZLE_MEMBER(H(claim)))`.
    pub fn pool_member_puzzle(&self, a: &mut Allocator) -> Result<NodePtr, PuzzleError> {
        let claim_hash = self.claim_dpuz_hash()?;
        let member = load(a, &FIXED_PUZZLE_MEMBER)?;
        let claim_hash = atom(a, &claim_hash)?;
        let member = curry(a, member, &[claim_hash])?;
        pwr(a, member, false)
    }

    /// The inner (custody) puzzle in `state`. Pooling and exiting reveal only the 1-of-2 merkle
    /// root, so no member reveal is needed here.
    pub fn inner_puzzle(
        &self,
        a: &mut Allocator,
        state: PlotNftState,
    ) -> Result<NodePtr, PuzzleError> {
        let custody = match state {
            PlotNftState::SelfPooling => {
                let bls = load(a, &BLS_WITH_TAPROOT_MEMBER)?;
                let key = atom(a, &self.synthetic_pubkey().to_bytes())?;
                curry(a, bls, &[key])?
            }
            PlotNftState::Pooling | PlotNftState::Exiting => {
                let root = self.merkle_root(state)?;
                let one_of_n = load(a, &ONE_OF_N)?;
                let root = atom(a, &root)?;
                curry(a, one_of_n, &[root])?
            }
        };
        pwr(a, custody, true)
    }

    /// Root of the 1-of-2 tree `[user member, pool member]` (user first, leaves `sha256(1 ‖ h)`).
    pub fn merkle_root(&self, state: PlotNftState) -> Result<Bytes32, PuzzleError> {
        Ok(tree_hash_pair(
            tree_hash_atom(&self.user_member_hash(state)?),
            tree_hash_atom(&self.pool_member_hash()?),
        )
        .into())
    }

    /// The full PlotNFT puzzle (singleton v1.1 around the inner puzzle) in `state`.
    pub fn puzzle(&self, a: &mut Allocator, state: PlotNftState) -> Result<NodePtr, PuzzleError> {
        let inner = self.inner_puzzle(a, state)?;
        singleton_puzzle(a, self.launcher_id(), inner)
    }
}

#[cfg(test)]
mod tests {
    use super::super::puzzles::tests::{b32, load as load_json, puzzles_from_inputs};
    use super::*;
    use clvm_utils::tree_hash;

    const PUZZLES_JSON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/puzzles.json");

    #[test]
    fn reveals_hash_to_the_computed_hashes() {
        let v = load_json(PUZZLES_JSON);
        for case in v["cases"].as_array().unwrap() {
            let p = puzzles_from_inputs(&case["inputs"]);
            let expected_reveal = case["reward_puzzle_reveal"].as_str().unwrap();
            assert_eq!(
                hex::encode(p.reward_puzzle_reveal().unwrap()),
                expected_reveal
            );

            let mut a = Allocator::new();
            let reward = p.reward_puzzle(&mut a).unwrap();
            assert_eq!(Bytes32::from(tree_hash(&a, reward)), p.reward_puzzle_hash());
            let forward = p.forward_dpuz(&mut a).unwrap();
            assert_eq!(
                Bytes32::from(tree_hash(&a, forward)),
                p.forward_dpuz_hash().unwrap()
            );
            let claim = p.claim_dpuz(&mut a).unwrap();
            assert_eq!(
                Bytes32::from(tree_hash(&a, claim)),
                p.claim_dpuz_hash().unwrap()
            );
            let member = p.pool_member_puzzle(&mut a).unwrap();
            assert_eq!(
                Bytes32::from(tree_hash(&a, member)),
                p.pool_member_hash().unwrap()
            );
            for state in p.states() {
                let inner = p.inner_puzzle(&mut a, *state).unwrap();
                assert_eq!(
                    Bytes32::from(tree_hash(&a, inner)),
                    p.inner_puzzle_hash(*state).unwrap()
                );
                let full = p.puzzle(&mut a, *state).unwrap();
                assert_eq!(
                    Bytes32::from(tree_hash(&a, full)),
                    p.puzzle_hash(*state).unwrap()
                );
            }
            assert_eq!(
                p.puzzle_hash(PlotNftState::Pooling).unwrap(),
                b32(&case["pooling"]["puzzle_hash"])
            );
        }
    }
}
