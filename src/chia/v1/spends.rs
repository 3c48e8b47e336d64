//! A v1 PlotNFT's `PoolState` read from its singleton's spends, as chia-blockchain 2.7.5's wallet reads it
//! (`pool_puzzles.py` `solution_to_pool_state`, `get_delayed_puz_info_from_launcher_spend`).
//!
//! The launcher's solution is `(singleton_puzzle_hash amount extra_data)` with `extra_data` a key-value list:
//! `p` the `PoolState` bytes, `t` the p2_singleton delay in seconds, `h` the delayed puzzle hash. A later spend
//! of the singleton carries a new `PoolState` only when it travels: the pool-member inner solution
//! `((("p" . state)) 0)`, the waiting-room one `(1 (("p" . state)) next_inner_hash)`; absorbs carry none.

use chia_protocol::{Bytes32, CoinSpend};
use chia_puzzles::SINGLETON_LAUNCHER_HASH;
use clvmr::{Allocator, NodePtr, SExp};

use super::puzzles::{PlotNftV1, PoolState, PoolStateError};
use crate::chia::conditions::{atom_u64, list_items, parse_program};

/// Why a spend is not a v1 PlotNFT spend chia's wallet could read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum V1SpendError {
    #[error("the solution is not valid CLVM: {0}")]
    Clvm(String),
    #[error("the solution does not have the shape of a v1 PlotNFT spend: {0}")]
    Shape(&'static str),
    #[error("the launcher's extra data has no {0:?} entry")]
    Missing(&'static str),
    #[error(transparent)]
    PoolState(#[from] PoolStateError),
}

/// What a v1 PlotNFT's launcher spend says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LauncherInfo {
    /// The singleton's first puzzle hash (the launcher's CREATE_COIN).
    pub singleton_puzzle_hash: Bytes32,
    pub pool_state: PoolState,
    pub delay_time: u64,
    pub delay_puzzle_hash: Bytes32,
}

impl LauncherInfo {
    /// The PlotNFT's fixed parameters, given its launcher id and the network's genesis challenge.
    pub fn plotnft(&self, launcher_id: Bytes32, genesis_challenge: Bytes32) -> PlotNftV1 {
        PlotNftV1 {
            launcher_id,
            genesis_challenge,
            delay_time: self.delay_time,
            delay_puzzle_hash: self.delay_puzzle_hash,
        }
    }
}

fn solution_items(a: &mut Allocator, spend: &CoinSpend) -> Result<Vec<NodePtr>, V1SpendError> {
    let node = parse_program(a, &spend.solution, "solution")
        .map_err(|e| V1SpendError::Clvm(e.to_string()))?;
    let items = list_items(a, node);
    if items.len() < 3 {
        return Err(V1SpendError::Shape("fewer than three solution items"));
    }
    Ok(items)
}

fn atom(a: &Allocator, node: NodePtr) -> Option<Vec<u8>> {
    match a.sexp(node) {
        SExp::Atom => Some(a.atom(node).as_ref().to_vec()),
        SExp::Pair(..) => None,
    }
}

fn bytes32(a: &Allocator, node: NodePtr) -> Option<Bytes32> {
    atom(a, node).and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok().map(Bytes32::new))
}

/// The `(key . value)` entries of a key-value list; anything else in it is a shape error.
fn key_values(a: &Allocator, list: NodePtr) -> Result<Vec<(Vec<u8>, NodePtr)>, V1SpendError> {
    list_items(a, list)
        .into_iter()
        .map(|item| match a.sexp(item) {
            SExp::Pair(key, value) => atom(a, key).map(|k| (k, value)).ok_or(V1SpendError::Shape(
                "a key-value entry's key is not an atom",
            )),
            SExp::Atom => Err(V1SpendError::Shape("a key-value entry is not a pair")),
        })
        .collect()
}

/// `pool_state_from_extra_data`: the first `p` entry's `PoolState`, `None` without one.
fn pool_state_from_extra_data(
    a: &Allocator,
    extra_data: NodePtr,
) -> Result<Option<PoolState>, V1SpendError> {
    let Some((_, value)) = key_values(a, extra_data)?
        .into_iter()
        .find(|(k, _)| k.as_slice() == b"p")
    else {
        return Ok(None);
    };
    let bytes = atom(a, value).ok_or(V1SpendError::Shape("the PoolState is not an atom"))?;
    Ok(Some(PoolState::from_bytes(&bytes)?))
}

/// Reads a v1 PlotNFT launcher spend: its singleton puzzle hash, `PoolState` and p2_singleton delay.
pub fn launcher_info(spend: &CoinSpend) -> Result<LauncherInfo, V1SpendError> {
    if spend.coin.puzzle_hash != Bytes32::new(SINGLETON_LAUNCHER_HASH) {
        return Err(V1SpendError::Shape("not a singleton launcher coin"));
    }
    let mut a = Allocator::new();
    let items = solution_items(&mut a, spend)?;
    let singleton_puzzle_hash = bytes32(&a, items[0]).ok_or(V1SpendError::Shape(
        "the singleton puzzle hash is not 32 bytes",
    ))?;
    let extra_data = items[2];
    let pool_state =
        pool_state_from_extra_data(&a, extra_data)?.ok_or(V1SpendError::Missing("p"))?;
    // As chia's loop: the last `t` and `h` entries count.
    let (mut delay_time, mut delay_puzzle_hash) = (None, None);
    for (key, value) in key_values(&a, extra_data)? {
        match key.as_slice() {
            b"t" => {
                delay_time = Some(
                    atom_u64(&a, value)
                        .ok_or(V1SpendError::Shape("the delay time is not a uint64"))?,
                )
            }
            b"h" => {
                delay_puzzle_hash = Some(bytes32(&a, value).ok_or(V1SpendError::Shape(
                    "the delayed puzzle hash is not 32 bytes",
                ))?)
            }
            _ => {}
        }
    }
    Ok(LauncherInfo {
        singleton_puzzle_hash,
        pool_state,
        delay_time: delay_time.ok_or(V1SpendError::Missing("t"))?,
        delay_puzzle_hash: delay_puzzle_hash.ok_or(V1SpendError::Missing("h"))?,
    })
}

/// Whether a CLVM integer atom is non-zero (any non-zero byte); a pair is a shape error.
fn is_nonzero(a: &Allocator, node: NodePtr) -> Result<bool, V1SpendError> {
    atom(a, node)
        .map(|bytes| bytes.iter().any(|&b| b != 0))
        .ok_or(V1SpendError::Shape("expected an integer, got a pair"))
}

/// `solution_to_pool_state`: the `PoolState` a spend of the launcher or of the singleton moves to; `None` for
/// an absorb (the state does not change).
pub fn solution_to_pool_state(spend: &CoinSpend) -> Result<Option<PoolState>, V1SpendError> {
    if spend.coin.puzzle_hash == Bytes32::new(SINGLETON_LAUNCHER_HASH) {
        return launcher_info(spend).map(|info| Some(info.pool_state));
    }
    let mut a = Allocator::new();
    let inner = solution_items(&mut a, spend)?[2];
    let items = list_items(&a, inner);
    match items.len() {
        // Pool member: `(extra_data 0)` travels, `(reward_amount height)` absorbs.
        2 => {
            if is_nonzero(&a, items[1])? || atom(&a, items[0]).is_some() {
                return Ok(None);
            }
            pool_state_from_extra_data(&a, items[0])
        }
        // Waiting room: `(0 amount height)` absorbs, `(1 extra_data next_inner_hash)` travels.
        3 => {
            if !is_nonzero(&a, items[0])? {
                return Ok(None);
            }
            pool_state_from_extra_data(&a, items[1])
        }
        _ => Err(V1SpendError::Shape(
            "the inner solution has neither two nor three items",
        )),
    }
}
