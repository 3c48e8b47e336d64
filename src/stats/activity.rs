//! Live partial outcomes kept in memory since the process started: refused partials by error code (the store
//! keeps only accepted ones), per minute for the pool and per hour for each known farmer, and the points
//! accepted since start (the current round's effort).

use std::collections::{HashMap, HashSet};

use crate::chia::messages::PoolErrorCode;

/// Protocol error codes are 1..=16; index 0 is unused.
pub const CODES: usize = 17;

/// Refusals in one time slot, by error code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rejects(pub [u32; CODES]);

impl Rejects {
    pub fn total(&self) -> u64 {
        self.0.iter().map(|&n| u64::from(n)).sum()
    }
    fn add(&mut self, other: &Rejects) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.saturating_add(*b);
        }
    }
    /// (code, count) for every code seen.
    pub fn by_code(&self) -> Vec<(PoolErrorCode, u64)> {
        PoolErrorCode::ALL
            .into_iter()
            .filter_map(|c| {
                let n = u64::from(self.0[usize::from(c.code())]);
                (n > 0).then_some((c, n))
            })
            .collect()
    }
}

/// A fixed ring of slots `unit` seconds wide covering the last `len` units.
#[derive(Debug, Clone)]
pub struct Ring {
    unit: u64,
    slots: Vec<(u64, Rejects)>,
}

impl Ring {
    pub fn new(unit_secs: u64, len: usize) -> Self {
        Self {
            unit: unit_secs.max(1),
            slots: vec![(u64::MAX, Rejects::default()); len.max(1)],
        }
    }

    pub fn add(&mut self, now_secs: u64, code: PoolErrorCode) {
        let index = now_secs / self.unit;
        let len = self.slots.len() as u64;
        let slot = &mut self.slots[(index % len) as usize];
        if slot.0 != index {
            *slot = (index, Rejects::default());
        }
        let n = &mut slot.1 .0[usize::from(code.code()).min(CODES - 1)];
        *n = n.saturating_add(1);
    }

    /// The slots oldest first, ending with the one holding `now_secs` (empty slots as zeros).
    pub fn series(&self, now_secs: u64) -> Vec<Rejects> {
        let now = now_secs / self.unit;
        let len = self.slots.len() as u64;
        (0..len)
            .rev()
            .map(|back| {
                let index = now.saturating_sub(back);
                let slot = &self.slots[(index % len) as usize];
                if slot.0 == index && back <= now {
                    slot.1
                } else {
                    Rejects::default()
                }
            })
            .collect()
    }

    pub fn total(&self, now_secs: u64) -> Rejects {
        let mut sum = Rejects::default();
        for r in self.series(now_secs) {
            sum.add(&r);
        }
        sum
    }
}

/// What one farmer's refused partials look like.
#[derive(Debug, Clone)]
pub struct FarmerRejects {
    pub hourly: Ring,
    /// The latest refusal: unix seconds, code, message.
    pub last: Option<(u64, PoolErrorCode, String)>,
}

/// All live partial outcomes.
#[derive(Debug)]
pub struct Activity {
    pub pool: Ring,
    pub farmers: HashMap<[u8; 32], FarmerRejects>,
    /// Launchers that may get a per-farmer entry (registered ones): keeps forged launcher ids from growing the map.
    pub known: HashSet<[u8; 32]>,
    /// Points accepted since start, and that total when the last block was found.
    pub points_since_start: u64,
    pub points_at_last_block: u64,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            pool: Ring::new(60, 1440),
            farmers: HashMap::new(),
            known: HashSet::new(),
            points_since_start: 0,
            points_at_last_block: 0,
        }
    }
}

impl Activity {
    pub fn accepted(&mut self, difficulty: u64) {
        self.points_since_start = self.points_since_start.saturating_add(difficulty);
    }

    pub fn rejected(
        &mut self,
        launcher_id: &[u8; 32],
        code: PoolErrorCode,
        message: &str,
        now_secs: u64,
    ) {
        self.pool.add(now_secs, code);
        if !self.known.contains(launcher_id) {
            return;
        }
        let entry = self
            .farmers
            .entry(*launcher_id)
            .or_insert_with(|| FarmerRejects {
                hourly: Ring::new(3600, 24),
                last: None,
            });
        entry.hourly.add(now_secs, code);
        // Messages come from the pool itself, but bound them anyway.
        let message: String = message.chars().take(300).collect();
        entry.last = Some((now_secs, code, message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_window_and_forgets_older_slots() {
        let mut ring = Ring::new(60, 3);
        ring.add(0, PoolErrorCode::TooLate);
        ring.add(61, PoolErrorCode::TooLate);
        ring.add(62, PoolErrorCode::InvalidProof);
        let series = ring.series(125);
        assert_eq!(series.len(), 3);
        assert_eq!(series[0].total(), 1, "minute 0 still in the window");
        assert_eq!(series[1].0[4], 1);
        assert_eq!(series[2].total(), 0);
        // Minute 3 reuses minute 0's slot.
        ring.add(180, PoolErrorCode::NotFound);
        let total = ring.total(180);
        assert_eq!(total.0[2], 1, "minute 0 dropped out, minute 1 stays");
        assert_eq!(total.0[3], 1);
        assert_eq!(total.total(), 3);
    }

    #[test]
    fn unknown_launchers_get_no_entry() {
        let mut a = Activity::default();
        a.rejected(&[1; 32], PoolErrorCode::InvalidSignature, "x", 100);
        assert!(a.farmers.is_empty());
        assert_eq!(a.pool.total(100).total(), 1);
        a.known.insert([2; 32]);
        a.rejected(&[2; 32], PoolErrorCode::TooLate, "late", 100);
        assert_eq!(a.farmers[&[2; 32]].hourly.total(100).0[2], 1);
    }
}
