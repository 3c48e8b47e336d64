//! One simulated farmer: its keys and PlotNFT identity derived from its index, its real k = 18 v2 plots, and
//! the partials it signs for a signage point, cut at its difficulty as chia-blockchain 2.7.5's farmer cuts
//! them. `fleet.rs` joins many of them to the pool and sends what they find.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chia_bls::{sign, DerivableKey, SecretKey};
use chia_protocol::{Bytes32, ProofOfSpace};
use sha2::{Digest, Sha256};

use super::plots::TestPlot;
use super::world::SignagePoint;
use crate::chia::constants::ConsensusConstants;
use crate::chia::messages::{Message, PostPartialPayload, PostPartialRequest};
use crate::chia::proofs::{self, ProofContext};
use crate::chia::puzzles::reward_puzzle_hash;

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("making a plot or PlotNFT: {0}")]
    Plot(String),
    #[error("{what}: {reason}")]
    Http { what: &'static str, reason: String },
    #[error("the pool refused {what}: {answer}")]
    Refused { what: &'static str, answer: String },
}

/// One simulated farmer.
pub struct SimFarmer {
    pub index: u32,
    pub launcher_id: Bytes32,
    pub auth_sk: SecretKey,
    pub reward_puzzle_hash: Bytes32,
    pub plots: Vec<TestPlot>,
    pub(super) token: Mutex<Option<(String, Instant)>>,
    /// The difficulty the pool last gave.
    pub(super) difficulty: AtomicU64,
}

/// Plots of farmer `index`: 1 to 3, so that partial rates differ.
pub fn plots_of(index: u32) -> u16 {
    1 + (index % 3) as u16
}

pub(super) fn derived(tag: &str, index: u32) -> [u8; 32] {
    Sha256::digest([tag.as_bytes(), &index.to_be_bytes()].concat()).into()
}

impl SimFarmer {
    /// Farmer `index` with its plots in `plot_dir` (made there on first use; `made` is told of each).
    pub fn open(index: u32, plot_dir: &Path, made: &dyn Fn()) -> Result<Self, FleetError> {
        let launcher_id = Bytes32::new(derived("sim launcher", index));
        let auth_sk = SecretKey::from_seed(&derived("sim auth key", index));
        let reward_puzzle_hash = reward_puzzle_hash(launcher_id);
        let plots = (0..plots_of(index))
            .map(|i| {
                let plot = TestPlot::create_in(plot_dir, reward_puzzle_hash, i);
                made();
                plot.map_err(FleetError::Plot)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            index,
            launcher_id,
            auth_sk,
            reward_puzzle_hash,
            plots,
            token: Mutex::new(None),
            difficulty: AtomicU64::new(1),
        })
    }

    pub(super) fn signing_sk(&self) -> SecretKey {
        self.auth_sk.derive_unhardened(12381)
    }

    /// This farmer's signed partials for a signage point: one per proof its plots find whose quality beats
    /// its difficulty (a 2.7.5 farmer sends nothing else).
    pub fn partials(&self, c: &ConsensusConstants, sp: &SignagePoint) -> Vec<PostPartialRequest> {
        let Some(token) = self.token() else {
            return Vec::new();
        };
        let difficulty = self.difficulty.load(Ordering::Relaxed);
        let ctx = ProofContext {
            challenge_hash: sp.challenge,
            sp_hash: sp.sp_hash,
            height: sp.height,
            prev_tx_height: sp.prev_tx_height,
            filter_challenge: Some(sp.filter_challenge),
            signage_point_index: Some(sp.index),
        };
        let mut out = Vec::new();
        for plot in &self.plots {
            if !plot.passes_filter(c, sp.prev_tx_height, sp.index, &sp.filter_challenge) {
                continue;
            }
            for pos in plot.proofs(&sp.challenge, &sp.sp_hash) {
                if !good_enough(c, &pos, &ctx, difficulty) {
                    continue;
                }
                out.push(self.sign_partial(plot, sp.sp_hash, pos, &token));
            }
        }
        out
    }

    fn sign_partial(
        &self,
        plot: &TestPlot,
        sp_hash: Bytes32,
        pos: ProofOfSpace,
        token: &str,
    ) -> PostPartialRequest {
        let payload = PostPartialPayload {
            launcher_id: self.launcher_id,
            authentication_token: 0,
            proof_of_space: pos,
            sp_hash,
            end_of_sub_slot: false,
            harvester_id: Bytes32::new(derived("sim harvester", self.index)),
        };
        let m = payload.get_hash();
        PostPartialRequest {
            payload,
            aggregate_signature: chia_bls::aggregate([
                sign(&plot.plot_sk, m),
                sign(&self.auth_sk, m),
            ]),
            authentication_token_v2: token.to_string(),
        }
    }

    fn token(&self) -> Option<String> {
        let t = self.token.lock().unwrap_or_else(|e| e.into_inner());
        t.as_ref().map(|(token, _)| token.clone())
    }

    pub(super) fn token_is_fresh(&self) -> bool {
        let t = self.token.lock().unwrap_or_else(|e| e.into_inner());
        t.as_ref()
            .is_some_and(|(_, at)| at.elapsed() < Duration::from_secs(240))
    }
}

/// The farmer's own cut: its proof's required iterations at its difficulty are under the pool's limit.
fn good_enough(
    c: &ConsensusConstants,
    pos: &ProofOfSpace,
    ctx: &ProofContext,
    difficulty: u64,
) -> bool {
    let Ok(quality) = proofs::verify_and_get_quality_string(pos, c, ctx) else {
        return false;
    };
    proofs::required_iterations(
        c,
        pos,
        &quality,
        &ctx.sp_hash,
        difficulty,
        ctx.prev_tx_height,
    ) < c.pool_iters_limit()
}

pub(super) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
