//! Accepted partials, keyed by arrival time so the confirmation job walks them in order, with an index by
//! proof hash that makes duplicates cheap to refuse.

use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use super::records::{decode, encode, PartialRecord, PartialState};
use super::StoreError;
use super::{farmers, farmers_v1};

/// (arrival unix ms, proof hash) → partial.
pub(super) const PARTIALS: TableDefinition<(u64, [u8; 32]), &[u8]> =
    TableDefinition::new("partials");
/// proof hash → arrival unix ms.
pub(super) const BY_PROOF: TableDefinition<[u8; 32], u64> =
    TableDefinition::new("partials_by_proof");

pub type PartialKey = (u64, [u8; 32]);

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(PARTIALS)?;
    txn.open_table(BY_PROOF)?;
    Ok(())
}

/// What happened to a partial handed to `record`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Stored; the member's difficulty state was updated by the caller's closure and is now this.
    Recorded(Box<DifficultyState>),
    /// A partial with the same proof hash is already stored.
    Duplicate,
    /// The member's row vanished.
    FarmerGone,
}

/// What the difficulty controller keeps of a member, v2 or v1 alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DifficultyState {
    pub difficulty: u64,
    /// The newest accepted partials (unix ms, difficulty), newest last.
    pub recent_partials: Vec<(u64, u64)>,
}

/// Stores a new partial and applies `update` to its member's difficulty state (a v2 member, else a v1 one) in
/// the same transaction, unless the proof hash is already known.
pub fn record(
    txn: &WriteTransaction,
    arrived_ms: u64,
    proof_hash: [u8; 32],
    partial: &PartialRecord,
    update: impl FnOnce(&mut DifficultyState),
) -> Result<RecordOutcome, StoreError> {
    {
        let index = txn.open_table(BY_PROOF)?;
        if index.get(&proof_hash)?.is_some() {
            return Ok(RecordOutcome::Duplicate);
        }
    }
    let state = if let Some(mut farmer) = farmers::get_for_update(txn, &partial.launcher_id)? {
        let state = updated(&mut farmer.difficulty, &mut farmer.recent_partials, update);
        farmers::put(txn, &farmer)?;
        state
    } else if let Some(mut farmer) = farmers_v1::get_for_update(txn, &partial.launcher_id)? {
        let state = updated(&mut farmer.difficulty, &mut farmer.recent_partials, update);
        farmers_v1::put(txn, &farmer)?;
        state
    } else {
        return Ok(RecordOutcome::FarmerGone);
    };
    let bytes = encode(partial)?;
    txn.open_table(BY_PROOF)?.insert(&proof_hash, arrived_ms)?;
    txn.open_table(PARTIALS)?
        .insert((arrived_ms, proof_hash), bytes.as_slice())?;
    Ok(RecordOutcome::Recorded(Box::new(state)))
}

/// Runs `update` on a member's difficulty fields and returns what they became.
fn updated(
    difficulty: &mut u64,
    recent_partials: &mut Vec<(u64, u64)>,
    update: impl FnOnce(&mut DifficultyState),
) -> DifficultyState {
    let mut state = DifficultyState {
        difficulty: *difficulty,
        recent_partials: std::mem::take(recent_partials),
    };
    update(&mut state);
    *difficulty = state.difficulty;
    recent_partials.clone_from(&state.recent_partials);
    state
}

pub fn is_known(txn: &ReadTransaction, proof_hash: &[u8; 32]) -> Result<bool, StoreError> {
    Ok(txn.open_table(BY_PROOF)?.get(proof_hash)?.is_some())
}

/// Up to `limit` pending partials that arrived before `before_ms`, oldest first.
pub fn pending_before(
    txn: &ReadTransaction,
    before_ms: u64,
    limit: usize,
) -> Result<Vec<(PartialKey, PartialRecord)>, StoreError> {
    let table = txn.open_table(PARTIALS)?;
    let mut out = Vec::new();
    for row in table.range((0u64, [0u8; 32])..(before_ms, [0u8; 32]))? {
        let (k, v) = row?;
        let record: PartialRecord = decode(v.value())?;
        if record.state == PartialState::Pending {
            out.push((k.value(), record));
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

/// Settles a pending partial: confirmed credits its difficulty to the farmer's points. Settling twice is a
/// no-op, so a job interrupted by a crash can simply run again.
pub fn settle(
    txn: &WriteTransaction,
    key: PartialKey,
    confirmed: bool,
) -> Result<bool, StoreError> {
    let record: PartialRecord = {
        let table = txn.open_table(PARTIALS)?;
        let row = table.get(key)?;
        match row {
            Some(v) => decode(v.value())?,
            None => return Ok(false),
        }
    };
    if record.state != PartialState::Pending {
        return Ok(false);
    }
    let mut updated = record.clone();
    updated.state = if confirmed {
        PartialState::Confirmed
    } else {
        PartialState::Rejected
    };
    if confirmed {
        if let Some(mut farmer) = farmers::get_for_update(txn, &record.launcher_id)? {
            farmer.points = farmer.points.saturating_add(record.difficulty);
            farmer.lifetime_points = farmer.lifetime_points.saturating_add(record.difficulty);
            farmers::put(txn, &farmer)?;
        } else if let Some(mut farmer) = farmers_v1::get_for_update(txn, &record.launcher_id)? {
            // One ledger: a v1 member's confirmed partials are points like a v2 member's.
            farmer.points = farmer.points.saturating_add(record.difficulty);
            farmer.lifetime_points = farmer.lifetime_points.saturating_add(record.difficulty);
            farmers_v1::put(txn, &farmer)?;
        }
    }
    let bytes = encode(&updated)?;
    txn.open_table(PARTIALS)?.insert(key, bytes.as_slice())?;
    Ok(true)
}

/// Deletes settled partials that arrived before `before_ms` (pending ones are kept until settled).
pub fn prune_before(
    txn: &WriteTransaction,
    before_ms: u64,
    limit: usize,
) -> Result<usize, StoreError> {
    let mut doomed = Vec::new();
    {
        let table = txn.open_table(PARTIALS)?;
        for row in table.range((0u64, [0u8; 32])..(before_ms, [0u8; 32]))? {
            let (k, v) = row?;
            let record: PartialRecord = decode(v.value())?;
            if record.state != PartialState::Pending {
                doomed.push(k.value());
                if doomed.len() >= limit {
                    break;
                }
            }
        }
    }
    let mut partials = txn.open_table(PARTIALS)?;
    let mut index = txn.open_table(BY_PROOF)?;
    for key in &doomed {
        partials.remove(*key)?;
        index.remove(&key.1)?;
    }
    Ok(doomed.len())
}

/// Counts of partials by state and the sum of pending difficulty (status page).
pub fn stats(txn: &ReadTransaction) -> Result<(u64, u64, u64), StoreError> {
    let table = txn.open_table(PARTIALS)?;
    let (mut pending, mut confirmed, mut rejected) = (0, 0, 0);
    for row in table.iter()? {
        let (_, v) = row?;
        let record: PartialRecord = decode(v.value())?;
        match record.state {
            PartialState::Pending => pending += 1,
            PartialState::Confirmed => confirmed += 1,
            PartialState::Rejected => rejected += 1,
        }
    }
    Ok((pending, confirmed, rejected))
}

/// Calls `visit(arrival unix ms, partial)` for every stored partial that arrived at or after `since_ms`, in
/// arrival order (the status aggregates; the table keeps about a day).
pub fn for_each_since(
    txn: &ReadTransaction,
    since_ms: u64,
    mut visit: impl FnMut(u64, &PartialRecord),
) -> Result<(), StoreError> {
    let table = txn.open_table(PARTIALS)?;
    for row in table.range((since_ms, [0u8; 32])..)? {
        let (k, v) = row?;
        let record: PartialRecord = decode(v.value())?;
        visit(k.value().0, &record);
    }
    Ok(())
}
