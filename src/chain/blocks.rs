//! Recent block records of the node's main chain, fetched in height ranges and kept between runs, with the
//! iteration arithmetic of chia-blockchain's `BlockRecord` that deciding whether a signage point was reverted
//! needs.

use std::collections::{BTreeMap, HashMap};

use chia_protocol::Bytes32;
use serde_json::json;

use super::endpoint::Endpoint;
use super::error::{ChainError, Service};
use super::json::list;
use super::node::BlockInfo;
use super::ChainClient;

/// Records per `get_block_records` request (about 1.5 KB of JSON each).
const RANGE: u32 = 100;
/// `NUM_SP_INTERVALS_EXTRA`: a block is infused this many signage point intervals after its signage point
/// (3 on every network).
const NUM_SP_INTERVALS_EXTRA: u64 = 3;

impl BlockInfo {
    /// Iterations into its sub-slot at which this block was infused (`calculate_ip_iters`).
    pub fn ip_iters(&self, num_sps_sub_slot: u8) -> u64 {
        let interval = self.sub_slot_iters / u64::from(num_sps_sub_slot.max(1));
        let sp_iters = u64::from(self.signage_point_index) * interval;
        (sp_iters + NUM_SP_INTERVALS_EXTRA * interval + self.required_iters)
            .checked_rem(self.sub_slot_iters)
            .unwrap_or(0)
    }

    /// Total iterations at the start of the sub-slot this block was infused in.
    pub fn ip_sub_slot_total_iters(&self, num_sps_sub_slot: u8) -> u128 {
        self.total_iters
            .saturating_sub(u128::from(self.ip_iters(num_sps_sub_slot)))
    }
}

static BLOCK_RECORDS: Endpoint<Vec<BlockInfo>> = Endpoint::node("get_block_records", |a| {
    list(&a, "", "block_records", BlockInfo::from_json)
});

impl ChainClient {
    /// `get_block_records`: the main chain's blocks at heights `start..end` (the node stops at its peak).
    pub async fn block_records(&self, start: u32, end: u32) -> Result<Vec<BlockInfo>, ChainError> {
        self.ask(&BLOCK_RECORDS, json!({"start": start, "end": end}))
            .await
    }
}

/// Where a reward chain or challenge chain hash appears in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// A block's `reward_infusion_new_challenge`.
    Infusion { height: u32 },
    /// One of a block's finished sub-slots; `last` when the block was infused in the sub-slot this one opened.
    FinishedSlot { height: u32, last: bool },
}

/// The newest `depth` blocks of the main chain up to the peak, kept consistent by their hash links: a new
/// peak costs one small request, a reorg a few more.
#[derive(Debug, Default)]
pub struct RecentBlocks {
    by_height: BTreeMap<u32, BlockInfo>,
    rewards: HashMap<Bytes32, Anchor>,
    challenges: HashMap<Bytes32, u32>,
}

impl RecentBlocks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Brings the window to `depth` blocks ending at the node's peak (`peak_height`, `peak_hash`). Returns how
    /// many node requests it took.
    pub async fn refresh(
        &mut self,
        client: &ChainClient,
        peak_height: u32,
        peak_hash: Bytes32,
        depth: u32,
    ) -> Result<u32, ChainError> {
        let low = peak_height.saturating_sub(depth.saturating_sub(1));
        self.by_height.retain(|&h, _| h >= low && h <= peak_height);
        let mut requests = 0;
        // Fetch from the top down until the fetched part links onto a block already held.
        let mut top = peak_height;
        let mut want = peak_hash;
        loop {
            if self.by_height.get(&top).map(|b| b.header_hash) == Some(want) {
                break;
            }
            // New blocks on top of those held: only what is missing. A reorg (a held block replaced): whole
            // ranges down to where the chains meet.
            let full = top.saturating_sub(RANGE - 1).max(low);
            let start = if requests == 0 && !self.by_height.contains_key(&top) {
                let above_held = self
                    .by_height
                    .range(..top)
                    .next_back()
                    .map_or(0, |(h, _)| h + 1);
                full.max(above_held)
            } else {
                full
            };
            let fetched = client.block_records(start, top + 1).await?;
            requests += 1;
            if fetched.last().map(|b| (b.height, b.header_hash)) != Some((top, want))
                || !links(&fetched)
            {
                // The node's chain moved while we read it: try again at the next run.
                self.rebuild_index();
                return Err(ChainError::bad_response(
                    Service::Node,
                    "get_block_records",
                    format!("blocks {start}..={top} do not end at the expected block {want}"),
                ));
            }
            let Some(first) = fetched.first().cloned() else {
                break;
            };
            for block in fetched {
                self.by_height.insert(block.height, block);
            }
            if first.height <= low || first.height == 0 {
                break;
            }
            top = first.height - 1;
            want = first.prev_hash;
        }
        self.rebuild_index();
        Ok(requests)
    }

    fn rebuild_index(&mut self) {
        self.rewards.clear();
        self.challenges.clear();
        for (&height, block) in &self.by_height {
            self.rewards.insert(
                block.reward_infusion_new_challenge,
                Anchor::Infusion { height },
            );
            if let Some(hashes) = &block.finished_reward_slot_hashes {
                for (i, h) in hashes.iter().enumerate() {
                    let last = i + 1 == hashes.len();
                    self.rewards
                        .insert(*h, Anchor::FinishedSlot { height, last });
                }
            }
            for h in block.finished_challenge_slot_hashes.iter().flatten() {
                self.challenges.insert(*h, height);
            }
        }
    }

    /// A window of these blocks (for tests and benchmarks; `refresh` is the way to follow a node).
    pub fn from_blocks(blocks: impl IntoIterator<Item = BlockInfo>) -> Self {
        let mut window = Self {
            by_height: blocks.into_iter().map(|b| (b.height, b)).collect(),
            ..Self::default()
        };
        window.rebuild_index();
        window
    }

    pub fn get(&self, height: u32) -> Option<&BlockInfo> {
        self.by_height.get(&height)
    }

    pub fn lowest(&self) -> Option<&BlockInfo> {
        self.by_height.values().next()
    }

    pub fn len(&self) -> usize {
        self.by_height.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_height.is_empty()
    }

    /// The block or finished sub-slot whose reward chain hash is `hash`.
    pub fn reward_anchor(&self, hash: &Bytes32) -> Option<Anchor> {
        self.rewards.get(hash).copied()
    }

    /// Height of the block that finished the sub-slot with challenge chain hash `hash`.
    pub fn challenge_slot(&self, hash: &Bytes32) -> Option<u32> {
        self.challenges.get(hash).copied()
    }

    /// The oldest transaction block's timestamp in the window (unix seconds).
    pub fn oldest_timestamp(&self) -> Option<u64> {
        self.by_height.values().find_map(|b| b.timestamp)
    }
}

/// Each block's `prev_hash` is the header hash of the one before it.
fn links(blocks: &[BlockInfo]) -> bool {
    blocks
        .windows(2)
        .all(|w| w[1].prev_hash == w[0].header_hash && w[1].height == w[0].height + 1)
}
