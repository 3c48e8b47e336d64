//! Running coin spends: the conditions a spend produces and the cost of a spend bundle as the
//! 2.7.5 mempool counts it (`get_conditions_from_spendbundle`: execution + condition costs + 12 000
//! per byte of the unquoted `solution_generator` program).

use chia_protocol::{CoinSpend, Program, SpendBundle};
use clvmr::serde::{node_from_bytes, node_to_bytes};
use clvmr::{run_program, Allocator, ChiaDialect, ClvmFlags, NodePtr, SExp, MEMPOOL_MODE};

use super::puzzles::int_atom;

/// `MAX_BLOCK_COST_CLVM`: no valid spend costs more.
pub const MAX_BLOCK_COST_CLVM: u64 = 11_000_000_000;
/// The mempool's limit for one spend bundle (half a block).
pub const MAX_SPEND_BUNDLE_COST: u64 = MAX_BLOCK_COST_CLVM / 2;
pub const COST_PER_BYTE: u64 = 12_000;
/// Before the second hard fork (not scheduled in 2.7.5).
pub const CREATE_COIN_COST: u64 = 1_800_000;
pub const AGG_SIG_COST: u64 = 1_200_000;

pub const CREATE_COIN: u64 = 51;
const AGG_SIG_OPCODES: std::ops::RangeInclusive<u64> = 43..=50;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpendError {
    #[error("{what} is not one serialized CLVM program: {reason}")]
    InvalidClvm { what: &'static str, reason: String },
    #[error("the puzzle failed or exceeded its cost limit: {0}")]
    PuzzleFailed(String),
    #[error("malformed condition: {0}")]
    MalformedCondition(&'static str),
    #[error("spend bundle cost exceeds {MAX_BLOCK_COST_CLVM}")]
    CostExceeded,
}

/// One condition: its opcode and each argument as serialized CLVM (so memo lists stay intact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub opcode: u64,
    pub args: Vec<Vec<u8>>,
}

/// Deserializes a program received from the network (no back-references, no trailing bytes).
pub fn parse_program(
    a: &mut Allocator,
    program: &Program,
    what: &'static str,
) -> Result<NodePtr, SpendError> {
    node_from_bytes(a, program.as_slice()).map_err(|e| SpendError::InvalidClvm {
        what,
        reason: e.to_string(),
    })
}

/// Runs `puzzle` on `solution` with a cost limit; returns (cost, output).
pub fn run(
    a: &mut Allocator,
    puzzle: NodePtr,
    solution: NodePtr,
    max_cost: u64,
    flags: ClvmFlags,
) -> Result<(u64, NodePtr), SpendError> {
    let dialect = ChiaDialect::new(flags);
    run_program(a, &dialect, puzzle, solution, max_cost)
        .map(|r| (r.0, r.1))
        .map_err(|e| SpendError::PuzzleFailed(e.to_string()))
}

/// Items of a list, stopping at its terminating atom (as Python's `Program.as_iter`).
pub fn list_items(a: &Allocator, mut node: NodePtr) -> Vec<NodePtr> {
    let mut out = Vec::new();
    while let SExp::Pair(first, rest) = a.sexp(node) {
        out.push(first);
        node = rest;
    }
    out
}

/// A non-negative CLVM integer atom that fits in a `u64` (redundant leading zeros allowed).
pub fn atom_u64(a: &Allocator, node: NodePtr) -> Option<u64> {
    let SExp::Atom = a.sexp(node) else {
        return None;
    };
    let atom = a.atom(node);
    let bytes: &[u8] = atom.as_ref();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let significant = &bytes[bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len())..];
    if significant.len() > 8 {
        return None;
    }
    Some(
        significant
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    )
}

/// Parses a puzzle's output into conditions.
pub fn parse_conditions(a: &Allocator, output: NodePtr) -> Result<Vec<Condition>, SpendError> {
    list_items(a, output)
        .into_iter()
        .map(|condition| {
            let SExp::Pair(opcode, rest) = a.sexp(condition) else {
                return Err(SpendError::MalformedCondition("a condition is an atom"));
            };
            let opcode = atom_u64(a, opcode).ok_or(SpendError::MalformedCondition(
                "opcode is not a small integer",
            ))?;
            let args = list_items(a, rest)
                .into_iter()
                .map(|arg| {
                    node_to_bytes(a, arg).map_err(|e| SpendError::InvalidClvm {
                        what: "condition argument",
                        reason: e.to_string(),
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(Condition { opcode, args })
        })
        .collect()
}

/// The conditions a coin spend produces, running its puzzle in mempool mode.
pub fn spend_conditions(spend: &CoinSpend) -> Result<Vec<Condition>, SpendError> {
    let mut a = Allocator::new();
    let (_, output) = run_coin_spend(&mut a, spend, MAX_BLOCK_COST_CLVM)?;
    parse_conditions(&a, output)
}

fn run_coin_spend(
    a: &mut Allocator,
    spend: &CoinSpend,
    max_cost: u64,
) -> Result<(u64, NodePtr), SpendError> {
    let puzzle = parse_program(a, &spend.puzzle_reveal, "puzzle reveal")?;
    let solution = parse_program(a, &spend.solution, "solution")?;
    run(a, puzzle, solution, max_cost, MEMPOOL_MODE)
}

/// Length of a serialized atom holding `bytes`.
fn serialized_atom_len(bytes: &[u8]) -> u64 {
    let len = bytes.len() as u64;
    match bytes {
        [] => 1,
        [b] if *b <= 0x7f => 1,
        _ if len <= 0x3f => 1 + len,
        _ if len <= 0x1fff => 2 + len,
        _ if len <= 0xf_ffff => 3 + len,
        _ if len <= 0x7ff_ffff => 4 + len,
        _ => 5 + len,
    }
}

/// Cost of a spend bundle as the 2.7.5 mempool computes it: CLVM execution, 1.8 M per
/// CREATE_COIN and 1.2 M per AGG_SIG_*, and 12 000 per byte of the generator
/// `(q . (((parent puzzle amount solution) …)))` minus its 2-byte quote. Used to batch forwards
/// under [`MAX_SPEND_BUNDLE_COST`].
pub fn spend_bundle_cost(bundle: &SpendBundle) -> Result<u64, SpendError> {
    // `(q . (spends))` = ff 01 ff <list> 80, the list's own terminator, less the quote's 2 bytes.
    let mut generator_len: u64 = 3;
    let mut cost: u64 = 0;
    let mut a = Allocator::new();
    for spend in &bundle.coin_spends {
        // ff (list cons) ff a0<parent> ff <puzzle> ff <amount> ff <solution> 80
        generator_len += 5
            + 33
            + 1
            + spend.puzzle_reveal.len() as u64
            + serialized_atom_len(&int_atom(spend.coin.amount))
            + spend.solution.len() as u64;
        let checkpoint = a.checkpoint();
        let budget = MAX_BLOCK_COST_CLVM.saturating_sub(cost);
        let (exec_cost, output) = run_coin_spend(&mut a, spend, budget)?;
        cost += exec_cost;
        for condition in parse_conditions(&a, output)? {
            if condition.opcode == CREATE_COIN {
                cost += CREATE_COIN_COST;
            } else if AGG_SIG_OPCODES.contains(&condition.opcode) {
                cost += AGG_SIG_COST;
            }
        }
        a.restore_checkpoint(&checkpoint);
    }
    cost = cost
        .checked_add(generator_len * COST_PER_BYTE)
        .ok_or(SpendError::CostExceeded)?;
    if cost > MAX_BLOCK_COST_CLVM {
        return Err(SpendError::CostExceeded);
    }
    Ok(cost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chia_protocol::{Bytes32, Coin};

    #[test]
    fn atom_lengths() {
        assert_eq!(serialized_atom_len(&[]), 1);
        assert_eq!(serialized_atom_len(&[0x7f]), 1);
        assert_eq!(serialized_atom_len(&[0x80]), 2);
        assert_eq!(serialized_atom_len(&[0; 6]), 7);
        assert_eq!(serialized_atom_len(&[0; 64]), 66);
    }

    fn spend(puzzle: &str, solution: &str) -> CoinSpend {
        CoinSpend::new(
            Coin::new(Bytes32::default(), Bytes32::default(), 1),
            Program::from(hex::decode(puzzle).unwrap()),
            Program::from(hex::decode(solution).unwrap()),
        )
    }

    #[test]
    fn conditions_of_a_quoted_puzzle() {
        // (q (51 0x00 1 (h)) (73 1))
        let s = spend("ff01ffff33ff00ff01ffff008080ffff49ff018080", "80");
        let conditions = spend_conditions(&s).unwrap();
        assert_eq!(conditions.len(), 2);
        assert_eq!(conditions[0].opcode, 51);
        assert_eq!(
            conditions[0].args,
            vec![vec![0x00], vec![0x01], vec![0xff, 0x00, 0x80]]
        );
        assert_eq!(
            conditions[1],
            Condition {
                opcode: 73,
                args: vec![vec![0x01]]
            }
        );
    }

    #[test]
    fn garbage_is_a_typed_error() {
        for (puzzle, solution) in [("ff01", "80"), ("80", "ff"), ("8080", "80"), ("", "80")] {
            assert!(matches!(
                spend_conditions(&spend(puzzle, solution)),
                Err(SpendError::InvalidClvm { .. })
            ));
        }
        // (x) raises
        assert!(matches!(
            spend_conditions(&spend("ff0880", "80")),
            Err(SpendError::PuzzleFailed(_))
        ));
        // (q . (1 2)): a condition that is an atom
        assert_eq!(
            spend_conditions(&spend("ff01ff01ff0280", "80")),
            Err(SpendError::MalformedCondition("a condition is an atom"))
        );
    }
}
