//! The simulated world's chain: a node and wallet on 127.0.0.1 behind chia's mutual TLS, their certificates
//! in a CHIA_ROOT-like tree, and a clock that makes signage points, end of sub-slots and blocks on the mainnet
//! schedule (64 signage points per 600 s sub-slot, a block every 18.75 s) sped up by `speed`. Blocks land the
//! mempool and the wallet's transactions, and now and then one is won by a farmer of the fleet: its pool reward
//! goes to that farmer's PlotNFT reward puzzle hash, as on mainnet.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chia_protocol::{Bytes32, Coin, CoinRecord};
use serde_json::Value;
use tokio::sync::broadcast;

use super::certs::ChiaRoot;
use super::landing;
use super::node::{NodeHandler, NodeState};
use super::server::FakeServer;
use super::wallet::{WalletHandler, WalletState};
use crate::chia::constants::ConsensusConstants;

/// Mainnet: 64 signage points in a 600-second sub-slot, 32 blocks per sub-slot on average.
const SLOT_SECS: f64 = 600.0;
const SPS_PER_SLOT: u8 = 64;
const SPS_PER_BLOCK: u64 = 2;
/// Pool reward of a block (7/8 of 2 XCH), in mojos.
pub const POOL_REWARD_MOJOS: u64 = 1_750_000_000_000;
/// Share of the blocks the simulated pool wins (the rest go to the rest of the simulated network): a big
/// pool, so that a demo at the default speed shows a block within a minute or two.
const POOL_SHARE: f64 = 0.05;

/// Constants of small (k = 18) v2 plots on a mainnet-like chain, as chia-blockchain's tests set them.
const SMALL_PLOT_OVERRIDES: &str = r#"{"DIFFICULTY_CONSTANT_FACTOR": 33554432, "HARD_FORK2_HEIGHT": 0,
    "NUMBER_ZERO_BITS_PLOT_FILTER_V2": 4, "PLOT_SIZE_V2": 18, "TESTNET": true}"#;

/// A new signage point as farmers see it.
#[derive(Debug, Clone)]
pub struct SignagePoint {
    pub sp_hash: Bytes32,
    pub index: u8,
    /// The slot challenge it belongs to.
    pub challenge: Bytes32,
    /// The v2 filter's challenge: one slot back from index 16 on, two slots back before.
    pub filter_challenge: Bytes32,
    pub prev_tx_height: u32,
    pub height: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("the simulated chain's constants: {0}")]
    Constants(String),
}

pub struct World {
    pub root: ChiaRoot,
    pub node: FakeServer,
    pub wallet: FakeServer,
    pub constants: ConsensusConstants,
    node_state: Arc<Mutex<NodeState>>,
    wallet_state: Arc<Mutex<WalletState>>,
    signage_points: broadcast::Sender<SignagePoint>,
    /// Reward puzzle hashes of farmers that found proofs lately, newest last: a won block goes to one of them.
    finders: Mutex<VecDeque<Bytes32>>,
    /// Slot challenges, newest last (the last three are kept).
    challenges: Mutex<Vec<Bytes32>>,
    /// Index of the latest signage point in its sub-slot, and signage points so far.
    position: Mutex<(u8, u64)>,
    rng: Mutex<u64>,
}

impl World {
    /// Starts the node and wallet with certificates under `root_dir` (made once, reused after). The chain
    /// and wallet start from `saved` when given (see `store_file`).
    pub async fn start(
        root_dir: &Path,
        saved: Option<(NodeState, WalletState)>,
    ) -> Result<Arc<Self>, WorldError> {
        Self::start_with(root_dir, saved, &Value::Null).await
    }

    /// `start` with more constants overridden (e.g. a plot filter of 0 bits for load tests).
    pub async fn start_with(
        root_dir: &Path,
        saved: Option<(NodeState, WalletState)>,
        overrides: &Value,
    ) -> Result<Arc<Self>, WorldError> {
        let root = ChiaRoot::open_or_create(root_dir);
        let (mut node, wallet) = match saved {
            Some(s) => s,
            None => {
                let node = NodeState::new();
                let wallet = WalletState::new(node.genesis_challenge());
                (node, wallet)
            }
        };
        let defaults: Value = serde_json::from_str(SMALL_PLOT_OVERRIDES)
            .map_err(|e| WorldError::Constants(e.to_string()))?;
        let extra = overrides.as_object().into_iter().flatten();
        if let Some(map) = defaults.as_object() {
            for (k, v) in map.iter().chain(extra) {
                node.constants[k] = v.clone();
            }
        }
        let constants = ConsensusConstants::from_value(
            serde_json::json!({"constants": node.constants.clone()}),
        )
        .map_err(|e| WorldError::Constants(e.to_string()))?;
        // Three slots so that every signage point has its filter challenges.
        let challenges = vec![
            node.current_challenge,
            node.new_slot(None),
            node.new_slot(None),
        ];
        let node_state = Arc::new(Mutex::new(node));
        let wallet_state = Arc::new(Mutex::new(wallet));
        let tls = root.server_tls();
        let node = FakeServer::start(
            Arc::clone(&tls),
            Arc::new(NodeHandler(Arc::clone(&node_state))),
        )
        .await;
        let wallet =
            FakeServer::start(tls, Arc::new(WalletHandler(Arc::clone(&wallet_state)))).await;
        // A long-running world keeps only the newest requests (their count is kept whole).
        node.set_log_cap(1000);
        wallet.set_log_cap(1000);
        let (signage_points, _) = broadcast::channel(256);
        let seed = super::node::now_secs().to_bits();
        Ok(Arc::new(Self {
            root,
            node,
            wallet,
            constants,
            node_state,
            wallet_state,
            signage_points,
            finders: Mutex::new(VecDeque::new()),
            challenges: Mutex::new(challenges),
            position: Mutex::new((0, 0)),
            rng: Mutex::new(seed | 1),
        }))
    }

    pub fn node_state(&self) -> MutexGuard<'_, NodeState> {
        self.node_state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn wallet_state(&self) -> MutexGuard<'_, WalletState> {
        self.wallet_state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The wallet's receive puzzle hash: the demo pool's reward address, so forwarded rewards land in it.
    pub fn wallet_puzzle_hash(&self) -> Bytes32 {
        landing::WALLET_PUZZLE_HASH
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SignagePoint> {
        self.signage_points.subscribe()
    }

    /// A farmer found a proof: it may win one of the next blocks.
    pub fn proof_found(&self, reward_puzzle_hash: Bytes32) {
        let mut f = self.finders.lock().unwrap_or_else(|e| e.into_inner());
        f.push_back(reward_puzzle_hash);
        while f.len() > 256 {
            f.pop_front();
        }
    }

    fn random(&self) -> u64 {
        // xorshift: the world needs variety, not secrecy.
        let mut x = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    /// Runs the clock until `stop` resolves: `speed` times the mainnet pace.
    pub async fn run_clock(
        self: Arc<Self>,
        speed: f64,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let interval =
            Duration::from_secs_f64(SLOT_SECS / f64::from(SPS_PER_SLOT) / speed.max(0.01));
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = &mut stop => return,
            }
            if let Some(sp) = self.tick() {
                let _ = self.signage_points.send(sp);
            }
        }
    }

    /// One step of the clock: the next signage point (returned), or the end of the sub-slot after the 63rd;
    /// every second signage point is followed by a block.
    pub fn tick(&self) -> Option<SignagePoint> {
        let (index, sps) = {
            let mut p = self.position.lock().unwrap_or_else(|e| e.into_inner());
            p.0 = (p.0 + 1) % SPS_PER_SLOT;
            if p.0 != 0 {
                p.1 += 1;
            }
            *p
        };
        if index == 0 {
            self.end_slot();
            return None;
        }
        let sp = self.signage_point(index);
        if sps % SPS_PER_BLOCK == 0 {
            self.block();
        }
        Some(sp)
    }

    fn end_slot(&self) {
        let challenge = {
            let mut node = self.node_state();
            let challenge = node.new_slot(None);
            // A node keeps a few sub-slots of signage points; so does this one.
            let keep_from = node.slot_index.saturating_sub(3);
            node.signage_points
                .retain(|_, sp| sp.slot_index >= keep_from);
            node.end_of_slots.retain(|_, e| e.opens_slot >= keep_from);
            challenge
        };
        let mut c = self.challenges.lock().unwrap_or_else(|e| e.into_inner());
        c.push(challenge);
        let excess = c.len().saturating_sub(3);
        c.drain(..excess);
    }

    fn signage_point(&self, index: u8) -> SignagePoint {
        let (sp_hash, prev_tx_height, height) = {
            let mut node = self.node_state();
            let sp_hash = node.add_signage_point(index);
            let peak = node.peak();
            let prev_tx = if peak.timestamp.is_some() {
                peak.height
            } else {
                peak.prev_tx_height
            };
            (sp_hash, prev_tx, peak.height)
        };
        let c = self.challenges.lock().unwrap_or_else(|e| e.into_inner());
        let n = c.len();
        SignagePoint {
            sp_hash,
            index,
            challenge: c[n - 1],
            filter_challenge: if index >= 16 { c[n - 2] } else { c[n - 3] },
            prev_tx_height,
            height,
        }
    }

    /// A new transaction block: lands what waits, and now and then pays a pool reward to a farmer.
    fn block(&self) {
        let won_by = {
            let finders = self.finders.lock().unwrap_or_else(|e| e.into_inner());
            let win = (self.random() % 1_000_000) as f64 / 1_000_000.0 < POOL_SHARE;
            (win && !finders.is_empty())
                .then(|| finders[(self.random() % finders.len() as u64) as usize])
        };
        let mut node = self.node_state();
        let height = node.add_block(true);
        let mut wallet = self.wallet_state();
        landing::land(&mut node, &mut wallet, height);
        if let Some(reward_ph) = won_by {
            let genesis = node.genesis_challenge();
            let coin = Coin::new(
                pool_parent_id(&genesis, height),
                reward_ph,
                POOL_REWARD_MOJOS,
            );
            let timestamp = node.peak().timestamp.unwrap_or(0);
            node.add_coin_record(CoinRecord::new(coin, height, 0, true, timestamp));
            tracing::info!(height, "a farmer of the pool won a block");
        }
    }

    /// The node's and wallet's state, for saving (see `store_file`).
    pub fn with_states<T>(&self, f: impl FnOnce(&NodeState, &WalletState) -> T) -> T {
        f(&self.node_state(), &self.wallet_state())
    }
}

/// Parent of the pool reward coin at `height`: `genesis[0:16] ‖ u128be(height)`.
pub fn pool_parent_id(genesis: &Bytes32, height: u32) -> Bytes32 {
    let mut id = [0u8; 32];
    id[..16].copy_from_slice(&genesis[..16]);
    id[16..].copy_from_slice(&u128::from(height).to_be_bytes());
    Bytes32::new(id)
}
