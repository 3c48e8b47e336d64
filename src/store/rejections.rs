//! Per farmer: how its partials fared at confirmation, and why the rejected ones were rejected, so that the
//! operator (and the farmer's page) can see lost points instead of guessing.

use bincode::{Decode, Encode};
use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use super::records::{decode, decode_all, encode};
use super::StoreError;

/// launcher id → `ConfirmationStats`.
const STATS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("confirmation_stats");

/// Rejections kept per farmer for display (the counts cover all of them).
const RECENT_KEPT: usize = 20;

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(STATS)?;
    Ok(())
}

/// Why a partial was rejected at confirmation: each is something the chain showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub enum RejectReason {
    /// A block infused before its signage point was replaced by a reorg.
    BlockReplaced,
    /// Its signage point's reward chain challenge is on no block or finished sub-slot of the chain.
    SignagePointNotOnChain,
    /// Its end of sub-slot is in no block of the chain.
    SubSlotNotOnChain,
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::BlockReplaced => {
                "a block infused before its signage point was replaced by a reorg"
            }
            Self::SignagePointNotOnChain => {
                "its signage point follows a block or sub-slot that is not on the chain (reorg)"
            }
            Self::SubSlotNotOnChain => "its end of sub-slot is not on the chain (reorg)",
        })
    }
}

/// One rejected partial.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Rejection {
    pub arrived_ms: u64,
    pub sp_hash: [u8; 32],
    pub end_of_sub_slot: bool,
    pub difficulty: u64,
    pub reason: RejectReason,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct ConfirmationStats {
    pub launcher_id: [u8; 32],
    pub confirmed: u64,
    pub rejected: u64,
    /// Rejections by reason.
    pub reasons: Vec<(RejectReason, u64)>,
    /// The newest rejections, oldest first.
    pub recent: Vec<Rejection>,
}

impl ConfirmationStats {
    pub fn count(&self, reason: RejectReason) -> u64 {
        self.reasons
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| *n)
    }
}

/// Counts one settled partial of `launcher_id`: confirmed when `rejection` is `None`.
pub fn note(
    txn: &WriteTransaction,
    launcher_id: [u8; 32],
    rejection: Option<Rejection>,
) -> Result<(), StoreError> {
    let mut table = txn.open_table(STATS)?;
    let mut stats: ConfirmationStats = match table.get(&launcher_id)? {
        Some(v) => decode(v.value())?,
        None => ConfirmationStats {
            launcher_id,
            ..ConfirmationStats::default()
        },
    };
    match rejection {
        None => stats.confirmed = stats.confirmed.saturating_add(1),
        Some(r) => {
            stats.rejected = stats.rejected.saturating_add(1);
            match stats.reasons.iter_mut().find(|(k, _)| *k == r.reason) {
                Some((_, n)) => *n = n.saturating_add(1),
                None => stats.reasons.push((r.reason, 1)),
            }
            stats.recent.push(r);
            let excess = stats.recent.len().saturating_sub(RECENT_KEPT);
            stats.recent.drain(..excess);
        }
    }
    let bytes = encode(&stats)?;
    table.insert(&launcher_id, bytes.as_slice())?;
    Ok(())
}

pub fn get(
    txn: &ReadTransaction,
    launcher_id: &[u8; 32],
) -> Result<Option<ConfirmationStats>, StoreError> {
    let table = txn.open_table(STATS)?;
    let row = table.get(launcher_id)?;
    row.map(|v| decode(v.value())).transpose()
}

/// Every farmer's statistics, by launcher id.
pub fn all(txn: &ReadTransaction) -> Result<Vec<ConfirmationStats>, StoreError> {
    decode_all(&txn.open_table(STATS)?)
}
