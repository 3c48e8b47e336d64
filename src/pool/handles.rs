//! What background work takes from the pool: the store, the chain client, the settings, the chain's
//! constants, the shared cache of recent blocks and a clock, and nothing more.
//!
//! The reward jobs, partial confirmation and PlotNFT tracking receive a `Handles` instead of the whole `Pool`,
//! so each can be read and tested without the HTTP-facing state (tokens, verifier, request guards, stats).

use std::sync::Arc;

use chia_bls::PublicKey;
use chia_protocol::Bytes32;

use super::{unix_now_ms, PoolError, PoolSettings};
use crate::chain::blocks::RecentBlocks;
use crate::chain::ChainClient;
use crate::chia::constants::ConsensusConstants;
use crate::chia::puzzles::PlotNftPuzzles;
use crate::config::Config;
use crate::store::Store;

/// Cheap to clone: every part is shared.
#[derive(Clone)]
pub struct Handles {
    store: Store,
    chain: ChainClient,
    settings: Arc<PoolSettings>,
    constants: Arc<ConsensusConstants>,
    blocks: Arc<tokio::sync::Mutex<RecentBlocks>>,
    clock: fn() -> u64,
}

impl Handles {
    pub fn new(
        store: Store,
        chain: ChainClient,
        settings: PoolSettings,
        constants: Arc<ConsensusConstants>,
    ) -> Self {
        Self {
            store,
            chain,
            settings: Arc::new(settings),
            constants,
            blocks: Arc::default(),
            clock: unix_now_ms,
        }
    }

    /// The same handles reading time from `clock` (unix milliseconds), for tests of time-driven rules.
    pub fn with_clock(mut self, clock: fn() -> u64) -> Self {
        self.clock = clock;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
    pub fn chain(&self) -> &ChainClient {
        &self.chain
    }
    pub fn settings(&self) -> &PoolSettings {
        &self.settings
    }
    pub fn config(&self) -> &Config {
        &self.settings.config
    }
    pub fn constants(&self) -> &ConsensusConstants {
        &self.constants
    }
    /// Unix seconds by this pool's clock.
    pub fn now(&self) -> u64 {
        (self.clock)() / 1000
    }
    /// Unix milliseconds by this pool's clock.
    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }
    /// The main chain's recent block records, shared by confirmation and by partials whose signage point the
    /// node calls reverted.
    pub(crate) fn recent_blocks(&self) -> &tokio::sync::Mutex<RecentBlocks> {
        &self.blocks
    }

    /// The puzzles of a member's PlotNFT pooling to this pool.
    pub fn member_puzzles(
        &self,
        launcher_id: Bytes32,
        key: &PublicKey,
    ) -> Result<PlotNftPuzzles, PoolError> {
        let s = self.settings();
        PlotNftPuzzles::new(
            launcher_id,
            s.genesis_challenge,
            *key,
            Some(s.plotnft_pool.clone()),
        )
        .map_err(|e| PoolError::internal("building the member's PlotNFT puzzles failed", e))
    }
}
