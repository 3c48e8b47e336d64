//! CHIP-0043 memos of PlotNFTs (doc §4): built as 2.7.5's `PuzzleWithRestrictions.memo()` does,
//! and parsed back as `PuzzleWithRestrictions.from_memo` + `PlotNFT.get_next_from_coin_spend` do.
//!
//! A memo is `("CHIP-0043" nonce restriction_hints further_branching puzzle_hint [additional])`
//! with restriction hint `(member_not_dpuz puzhash memo)`, member hint `(puzhash memo)` and 1-of-N
//! hint `(m (member_memo…))`. PlotNFT additional memos: `(pubkey pool_ph heightlock memoization)`
//! when pooling, `(pubkey)` when self-pooling.

use chia_bls::PublicKey;
use chia_protocol::Bytes32;
use clvmr::{Allocator, NodePtr, SExp};

use super::puzzles::{int_atom, PlotNftPuzzles, PlotNftState, PoolConfig, PuzzleError};
use super::reveals::{atom, list, serialize};

const NAMESPACE: &[u8] = b"CHIP-0043";
/// Nesting a PlotNFT memo never approaches; bounds recursion on hostile input.
const MAX_DEPTH: usize = 8;
/// Longest list the parser walks; a PlotNFT memo's lists have at most 6 items.
const MAX_ITEMS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoError {
    #[error("memo is not a CHIP-0043 PuzzleWithRestrictions memo")]
    NotChip0043,
    #[error("malformed CHIP-0043 memo: {0}")]
    Malformed(&'static str),
    #[error("CHIP-0043 memo has no PlotNFT additional memos")]
    NoAdditionalMemos,
    #[error("memo's synthetic public key is not a valid G1 point")]
    InvalidPublicKey,
    #[error(transparent)]
    Puzzle(#[from] PuzzleError),
}

/// Serialized PWR memo of `p` in `state` (what the wallet puts after the hint in CREATE_COIN).
pub fn plotnft_memo(p: &PlotNftPuzzles, state: PlotNftState) -> Result<Vec<u8>, PuzzleError> {
    let mut a = Allocator::new();
    let node = plotnft_memo_node(&mut a, p, state)?;
    serialize(&a, node)
}

/// The memo as a CLVM node.
pub fn plotnft_memo_node(
    a: &mut Allocator,
    p: &PlotNftPuzzles,
    state: PlotNftState,
) -> Result<NodePtr, PuzzleError> {
    let pubkey = atom(a, &p.synthetic_pubkey().to_bytes())?;
    let bls_hint = member_hint(a, p.bls_member_hash())?;
    if state == PlotNftState::SelfPooling {
        let additional = list(a, &[pubkey])?;
        return pwr_memo(a, NodePtr::NIL, false, bls_hint, Some(additional));
    }
    let pool = p.pool_config().ok_or(PuzzleError::NoPoolConfig(state))?;
    // User member: one DPUZ validator (member_not_dpuz = false) whose memo lists its two
    // wrappers' memos, both nil.
    let restriction_hash = atom(a, &p.user_restriction_hash(state)?)?;
    let wrapper_memos = list(a, &[NodePtr::NIL, NodePtr::NIL])?;
    let restriction = list(a, &[NodePtr::NIL, restriction_hash, wrapper_memos])?;
    let restrictions = list(a, &[restriction])?;
    let user = pwr_memo(a, restrictions, false, bls_hint, None)?;
    let fixed_hint = member_hint(a, p.fixed_puzzle_member_hash()?)?;
    let pool_member = pwr_memo(a, NodePtr::NIL, false, fixed_hint, None)?;
    let members = list(a, &[user, pool_member])?;
    let one = a.one();
    let m_of_n = list(a, &[one, members])?;
    let pool_ph = atom(a, &pool.pool_puzzle_hash)?;
    let heightlock = atom(a, &int_atom(pool.heightlock.into()))?;
    let memoization = clvmr::serde::node_from_bytes(a, &pool.pool_memoization)
        .map_err(|e| PuzzleError::InvalidPoolMemoization(e.to_string()))?;
    let additional = list(a, &[pubkey, pool_ph, heightlock, memoization])?;
    pwr_memo(a, NodePtr::NIL, true, m_of_n, Some(additional))
}

fn member_hint(a: &mut Allocator, puzzle_hash: Bytes32) -> Result<NodePtr, PuzzleError> {
    let ph = atom(a, &puzzle_hash)?;
    list(a, &[ph, NodePtr::NIL])
}

/// A nonce-0 PWR memo.
fn pwr_memo(
    a: &mut Allocator,
    restriction_hints: NodePtr,
    further_branching: bool,
    puzzle_hint: NodePtr,
    additional: Option<NodePtr>,
) -> Result<NodePtr, PuzzleError> {
    let namespace = atom(a, NAMESPACE)?;
    let branching = if further_branching {
        a.one()
    } else {
        NodePtr::NIL
    };
    let mut items = vec![
        namespace,
        NodePtr::NIL,
        restriction_hints,
        branching,
        puzzle_hint,
    ];
    items.extend(additional);
    list(a, &items)
}

/// What a PlotNFT memo says, before checking it against the created puzzle hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedMemo {
    pub synthetic_pubkey: PublicKey,
    pub pool: Option<PoolConfig>,
    /// Every restriction and member puzzle hash hinted anywhere in the tree (Python's
    /// `unknown_puzzles`); the exiting user restriction among them marks the waiting room.
    pub hinted_hashes: Vec<Bytes32>,
}

impl DecodedMemo {
    /// The parameter set and state the memo describes (still to be checked against the chain).
    pub fn to_puzzles(
        &self,
        launcher_id: Bytes32,
        genesis_challenge: Bytes32,
    ) -> Result<(PlotNftPuzzles, PlotNftState), PuzzleError> {
        let p = PlotNftPuzzles::new(
            launcher_id,
            genesis_challenge,
            self.synthetic_pubkey,
            self.pool.clone(),
        )?;
        let state = if self.pool.is_none() {
            PlotNftState::SelfPooling
        } else if self
            .hinted_hashes
            .contains(&p.user_restriction_hash(PlotNftState::Exiting)?)
        {
            PlotNftState::Exiting
        } else {
            PlotNftState::Pooling
        };
        Ok((p, state))
    }
}

/// Parses a PlotNFT PWR memo (the memo blob without its leading hint).
pub fn decode_plotnft_memo(a: &Allocator, memo: NodePtr) -> Result<DecodedMemo, MemoError> {
    let mut hinted_hashes = Vec::new();
    let parsed = parse_pwr(a, memo, 0, &mut hinted_hashes)?;
    let additional = parsed.additional.ok_or(MemoError::NoAdditionalMemos)?;
    let additional = items(a, additional)?;
    let pubkey = additional.first().ok_or(MemoError::NoAdditionalMemos)?;
    let pubkey: [u8; 48] = atom_bytes(a, *pubkey)
        .and_then(|b| <[u8; 48]>::try_from(b).ok())
        .ok_or(MemoError::InvalidPublicKey)?;
    let synthetic_pubkey =
        PublicKey::from_bytes(&pubkey).map_err(|_| MemoError::InvalidPublicKey)?;
    let pool = if parsed.further_branching {
        let [_, pool_ph, heightlock, memoization, ..] = additional[..] else {
            return Err(MemoError::Malformed(
                "pooling additional memos need 4 items",
            ));
        };
        Some(PoolConfig {
            pool_puzzle_hash: bytes32(a, pool_ph)?,
            heightlock: atom_bytes(a, heightlock)
                .and_then(|b| u32_from_clvm_int(&b))
                .ok_or(MemoError::Malformed("heightlock is not a u32"))?,
            pool_memoization: serialize(a, memoization)?,
        })
    } else {
        None
    };
    Ok(DecodedMemo {
        synthetic_pubkey,
        pool,
        hinted_hashes,
    })
}

struct ParsedPwr {
    further_branching: bool,
    additional: Option<NodePtr>,
}

fn parse_pwr(
    a: &Allocator,
    memo: NodePtr,
    depth: usize,
    hinted: &mut Vec<Bytes32>,
) -> Result<ParsedPwr, MemoError> {
    if depth > MAX_DEPTH {
        return Err(MemoError::Malformed("memo nested too deeply"));
    }
    let SExp::Pair(namespace, rest) = a.sexp(memo) else {
        return Err(MemoError::NotChip0043);
    };
    if atom_bytes(a, namespace).as_deref() != Some(NAMESPACE) {
        return Err(MemoError::NotChip0043);
    }
    let fields = items(a, rest)?;
    let [nonce, restriction_hints, branching, puzzle_hint, ..] = fields[..] else {
        return Err(MemoError::Malformed(
            "PWR memo needs nonce, restrictions, branching, hint",
        ));
    };
    if atom_bytes(a, nonce).is_none() {
        return Err(MemoError::Malformed("nonce is not an integer"));
    }
    for hint in items(a, restriction_hints)? {
        let [_member_not_dpuz, puzzle_hash, _memo] = items(a, hint)?[..] else {
            return Err(MemoError::Malformed(
                "restriction hint is not (kind puzhash memo)",
            ));
        };
        hinted.push(bytes32(a, puzzle_hash)?);
    }
    let further_branching = atom_bytes(a, branching).is_none_or(|b| !b.is_empty());
    if further_branching {
        let [m, members] = items(a, puzzle_hint)?[..] else {
            return Err(MemoError::Malformed("M-of-N hint is not (m members)"));
        };
        if atom_bytes(a, m).is_none() {
            return Err(MemoError::Malformed("M is not an integer"));
        }
        for member in items(a, members)? {
            parse_pwr(a, member, depth + 1, hinted)?;
        }
    } else {
        let [puzzle_hash, _memo] = items(a, puzzle_hint)?[..] else {
            return Err(MemoError::Malformed("member hint is not (puzhash memo)"));
        };
        hinted.push(bytes32(a, puzzle_hash)?);
    }
    Ok(ParsedPwr {
        further_branching,
        additional: fields.get(4).copied(),
    })
}

/// The items of a list, stopping at its terminating atom (as Python's `as_iter`).
fn items(a: &Allocator, mut node: NodePtr) -> Result<Vec<NodePtr>, MemoError> {
    let mut out = Vec::new();
    while let SExp::Pair(first, rest) = a.sexp(node) {
        if out.len() == MAX_ITEMS {
            return Err(MemoError::Malformed("list too long"));
        }
        out.push(first);
        node = rest;
    }
    Ok(out)
}

fn atom_bytes(a: &Allocator, node: NodePtr) -> Option<Vec<u8>> {
    match a.sexp(node) {
        SExp::Atom => Some(a.atom(node).as_ref().to_vec()),
        SExp::Pair(..) => None,
    }
}

fn bytes32(a: &Allocator, node: NodePtr) -> Result<Bytes32, MemoError> {
    atom_bytes(a, node)
        .and_then(|b| Bytes32::try_from(b.as_slice()).ok())
        .ok_or(MemoError::Malformed("expected a 32-byte hash"))
}

/// A CLVM integer (signed big-endian, possibly with redundant leading zeros) in `u32` range.
fn u32_from_clvm_int(bytes: &[u8]) -> Option<u32> {
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let significant = &bytes[bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len())..];
    if significant.len() > 4 {
        return None;
    }
    Some(
        significant
            .iter()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b)),
    )
}

#[cfg(test)]
mod tests {
    use super::super::puzzles::tests::{load, puzzles_from_inputs};
    use super::*;
    use clvmr::serde::node_from_bytes;

    const PUZZLES_JSON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/puzzles.json");

    #[test]
    fn pooling_memo_of_every_case_round_trips() {
        let v = load(PUZZLES_JSON);
        for case in v["cases"].as_array().unwrap() {
            let p = puzzles_from_inputs(&case["inputs"]);
            let expected = case["pooling"]["memo"].as_str().unwrap();
            assert_eq!(
                hex::encode(plotnft_memo(&p, PlotNftState::Pooling).unwrap()),
                expected
            );
            for state in p.states() {
                let bytes = plotnft_memo(&p, *state).unwrap();
                let mut a = Allocator::new();
                let node = node_from_bytes(&mut a, &bytes).unwrap();
                let decoded = decode_plotnft_memo(&a, node).unwrap();
                let (q, decoded_state) = decoded
                    .to_puzzles(p.launcher_id(), p.genesis_challenge())
                    .unwrap();
                assert_eq!(decoded_state, *state);
                assert_eq!(q.inner_puzzle_hash(*state), p.inner_puzzle_hash(*state));
            }
        }
    }

    #[test]
    fn malformed_memos_are_typed_errors() {
        let cases: [(&str, MemoError); 5] = [
            ("80", MemoError::NotChip0043),
            ("ff83666f6f80", MemoError::NotChip0043),
            // ("CHIP-0043" 0 () 0) — too short
            (
                "ff89434849502d30303433ff80ff80ff8080",
                MemoError::Malformed("PWR memo needs nonce, restrictions, branching, hint"),
            ),
            // member hint with a 1-byte puzzle hash
            (
                "ff89434849502d30303433ff80ff80ff80ffff01ff808080",
                MemoError::Malformed("expected a 32-byte hash"),
            ),
            // valid self-pooling shape without additional memos
            (
                concat!(
                    "ff89434849502d30303433ff80ff80ff80ffffa0",
                    "0000000000000000000000000000000000000000000000000000000000000000",
                    "ff808080"
                ),
                MemoError::NoAdditionalMemos,
            ),
        ];
        for (hex_memo, expected) in cases {
            let mut a = Allocator::new();
            let node = node_from_bytes(&mut a, &hex::decode(hex_memo).unwrap()).unwrap();
            assert_eq!(decode_plotnft_memo(&a, node), Err(expected), "{hex_memo}");
        }
    }

    #[test]
    fn clvm_ints_to_u32() {
        assert_eq!(u32_from_clvm_int(&[]), Some(0));
        assert_eq!(u32_from_clvm_int(&[0x00, 0x80]), Some(128));
        assert_eq!(
            u32_from_clvm_int(&[0x00, 0xff, 0xff, 0xff, 0xff]),
            Some(u32::MAX)
        );
        assert_eq!(u32_from_clvm_int(&[0x01, 0x00, 0x00, 0x00, 0x00]), None);
        assert_eq!(u32_from_clvm_int(&[0x80]), None);
    }
}
