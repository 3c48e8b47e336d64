//! The fake node's timeline of sub-slots, signage points and infused blocks, and its answers worked out exactly
//! as chia-blockchain 2.7.5's full node works them out, flaw included: `get_recent_signage_point_or_eos`
//! walks back from the peak for a signage point no longer in its store and compares a reward chain challenge
//! with `finished_challenge_slot_hashes`, so a signage point that follows an end of sub-slot is "reverted".

use serde_json::{json, Value};

use super::node::{now_secs, FakeBlock, FakeEndOfSlot, FakeSignagePoint, NodeState};

/// `NUM_SP_INTERVALS_EXTRA` (3 on every network).
const EXTRA: u64 = 3;

/// `calculate_ip_iters` of 2.7.5.
pub fn ip_iters(block: &FakeBlock) -> u64 {
    let interval = block.sub_slot_iters / 64;
    (u64::from(block.signage_point_index) * interval + EXTRA * interval + block.required_iters)
        % block.sub_slot_iters
}

/// `BlockRecord.ip_sub_slot_total_iters`.
pub fn ip_sub_slot_total_iters(block: &FakeBlock) -> u128 {
    block.total_iters - u128::from(ip_iters(block))
}

impl NodeState {
    /// A block infused `ip` iterations into the current sub-slot (default: just after the latest event).
    pub(super) fn push_block(&mut self, transaction_block: bool, ip: Option<u64>) -> u32 {
        let ssi = self.sub_slot_iters;
        let interval = ssi / 64;
        let mut ip = ip.unwrap_or(self.slot_pos + interval / 2).min(ssi - 1);
        if ip % interval == 0 {
            ip += 1;
        }
        // Infused 3 intervals after its signage point: early in a sub-slot that point was in the previous one.
        let overflow = ip < EXTRA * interval;
        let signage_point_index = if overflow {
            ip / interval + 64 - EXTRA
        } else {
            ip / interval - EXTRA
        };
        let (prev_hash, height, prev_tx_height) = match self.blocks.last() {
            Some(prev) => (
                prev.header_hash,
                prev.height + 1,
                if prev.timestamp.is_some() {
                    prev.height
                } else {
                    prev.prev_tx_height
                },
            ),
            None => (Default::default(), 0, 0),
        };
        let block = FakeBlock {
            header_hash: self.fresh(),
            prev_hash,
            height,
            timestamp: transaction_block.then(|| now_secs() as u64),
            prev_tx_height,
            total_iters: self.slot_start_iters + u128::from(ip),
            signage_point_index: signage_point_index as u8,
            required_iters: ip % interval,
            sub_slot_iters: ssi,
            overflow,
            reward_infusion_new_challenge: self.fresh(),
            finished_slots: std::mem::take(&mut self.pending_slots),
            slot_index: self.slot_index,
        };
        debug_assert_eq!(ip_iters(&block), ip);
        self.current_rc = block.reward_infusion_new_challenge;
        self.slot_pos = self.slot_pos.max(ip);
        self.blocks.push(block);
        height
    }

    /// A block infused exactly `ip` iterations into the current sub-slot (before or after signage points).
    pub fn add_block_at(&mut self, transaction_block: bool, ip: u64) -> u32 {
        self.push_block(transaction_block, Some(ip))
    }

    /// Removes the top `depth` blocks; returns how many. Signage points and end of slots that arrived above
    /// the fork were on the other fork: off the chain and out of the node's store. End of slots that arrived
    /// before and were included by a removed block go into the next block again.
    pub fn rollback(&mut self, depth: u32) -> usize {
        let fork = self.peak().height.saturating_sub(depth);
        let removed = self.blocks.split_off(fork as usize + 1);
        for sp in self
            .signage_points
            .values_mut()
            .filter(|sp| sp.arrived_at > fork)
        {
            sp.reverted = true;
        }
        for eos in self
            .end_of_slots
            .values_mut()
            .filter(|e| e.arrived_at > fork)
        {
            eos.reverted = true;
        }
        let mut again: Vec<_> = removed
            .iter()
            .flat_map(|b| b.finished_slots.iter().copied())
            .filter(|(cc, _)| {
                self.end_of_slots
                    .get(cc)
                    .is_some_and(|e| e.arrived_at <= fork)
            })
            .collect();
        again.append(&mut self.pending_slots);
        self.pending_slots = again;
        let peak = self.peak().clone();
        self.current_rc = if peak.slot_index == self.slot_index && self.pending_slots.is_empty() {
            peak.reward_infusion_new_challenge
        } else {
            self.slot_rc
        };
        removed.len()
    }

    /// 2.7.5's `reverted` for a signage point.
    pub fn sp_reverted_2_7_5(&self, sp: &FakeSignagePoint) -> bool {
        // Still in the full node store (sub-slots from the peak's on): not reverted.
        if !sp.reverted && sp.slot_index >= self.peak().slot_index {
            return false;
        }
        let rc_challenge = sp.rc_challenge;
        let mut next: Option<&FakeBlock> = None;
        let mut height = self.peak().height as usize;
        for _ in 0..200 {
            let curr = &self.blocks[height];
            let sp_total =
                u128::from(sp.cc_vdf.number_of_iterations) + ip_sub_slot_total_iters(curr);
            let after_next =
                |next: Option<&FakeBlock>| next.is_some_and(|n| sp_total > n.total_iters);
            if curr.reward_infusion_new_challenge == rc_challenge {
                return after_next(next);
            }
            // The flaw: a reward chain challenge looked for among challenge chain hashes.
            if curr
                .finished_slots
                .iter()
                .any(|(cc, _)| *cc == rc_challenge)
            {
                return after_next(next);
            }
            next = Some(curr);
            if height == 0 {
                break;
            }
            height -= 1;
        }
        true
    }

    /// 2.7.5's `reverted` for an end of sub-slot: the last finished challenge slot of blocks, 10 slots back.
    pub fn eos_reverted_2_7_5(&self, eos: &FakeEndOfSlot) -> bool {
        if !eos.reverted && eos.opens_slot >= self.peak().slot_index {
            return false;
        }
        let hash = chia_protocol::Bytes32::new(chia_traits::Streamable::hash(&eos.challenge_chain));
        let mut searched = 0;
        let mut height = self.peak().height as usize;
        while searched < 10 {
            let curr = &self.blocks[height];
            if let Some((last, _)) = curr.finished_slots.last() {
                if *last == hash {
                    return false;
                }
                searched += curr.finished_slots.len();
            }
            if height == 0 {
                return true;
            }
            height -= 1;
        }
        true
    }

    /// `get_block_records`: heights `start..end`, stopping at the peak.
    pub(super) fn block_records(&self, body: &Value) -> Value {
        let start = body.get("start").and_then(Value::as_u64).unwrap_or(0);
        let end = body.get("end").and_then(Value::as_u64).unwrap_or(0);
        let records: Vec<Value> = (start..end)
            .map_while(|h| self.blocks.get(h as usize))
            .map(|b| self.block_json(b))
            .collect();
        json!({ "block_records": records })
    }
}
