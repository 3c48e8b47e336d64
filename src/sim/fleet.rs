//! The simulated fleet (farmers of `farmer.rs`): each with a PlotNFT v2 on the simulated chain pooling with the pool under test, real
//! k = 18 v2 plots (made once into a directory), joining over `POST /v2/farmer` and `GET /v2/auth`, and
//! answering the world's signage points with signed partials over HTTP(S), as chia-blockchain 2.7.5 farms.
//! A farmer's partial rate follows its plot count; farmers whose partials are accepted may win a block.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chia_bls::sign;
use serde_json::Value;

use super::plotnft_chain::add_spendable_plotnft;
use super::world::{SignagePoint, World};
use crate::chia::messages::{Message, PostFarmerPayload, PostFarmerRequest, PostPartialRequest};
use crate::chia::puzzles::{PlotNftState, PoolConfig};
use crate::chia::signatures::get_auth_message;

use super::farmer::{derived, now};
pub use super::farmer::{plots_of, FleetError, SimFarmer};

/// What the fleet saw, for the status line and the bench.
#[derive(Default)]
pub struct FleetStats {
    pub sent: AtomicU64,
    pub accepted: AtomicU64,
    pub refused: AtomicU64,
    pub failed: AtomicU64,
    /// Refused partials by the pool's error code.
    pub refused_by_code: Mutex<std::collections::BTreeMap<u64, u64>>,
    /// Latency of each accepted partial, in microseconds.
    pub latencies_us: Mutex<Vec<u64>>,
}

pub struct Fleet {
    pub farmers: Vec<SimFarmer>,
    pub stats: FleetStats,
    base_url: String,
    /// One connection per request (no keep-alive), as each partial of a farmer comes on its own.
    agent: ureq::Agent,
    pool: PoolConfig,
}

impl Fleet {
    /// A fleet of `farmers` sending to `base_url`; `tls` trusts the pool's certificate when it serves HTTPS.
    pub fn new(
        farmers: Vec<SimFarmer>,
        base_url: &str,
        pool: PoolConfig,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Self {
        let mut agent = ureq::AgentBuilder::new()
            .max_idle_connections(0)
            .timeout(Duration::from_secs(30))
            .user_agent("Chia Blockchain v.2.7.5");
        if let Some(tls) = tls {
            agent = agent.tls_config(tls);
        }
        Self {
            farmers,
            stats: FleetStats::default(),
            base_url: base_url.trim_end_matches('/').to_string(),
            agent: agent.build(),
            pool,
        }
    }

    /// Puts each farmer's PlotNFT on the chain (pooling with this pool) and registers it; a farmer already
    /// registered (a second run) only logs in.
    pub fn join_all(&self, world: &World) -> Result<(), FleetError> {
        for f in &self.farmers {
            {
                let mut node = world.node_state();
                let known = node
                    .coins
                    .values()
                    .any(|r| r.coin.parent_coin_info == f.launcher_id);
                if !known {
                    add_spendable_plotnft(
                        &mut node,
                        f.launcher_id,
                        f.auth_sk.public_key(),
                        &self.pool,
                        PlotNftState::Pooling,
                    )
                    .map_err(|e| FleetError::Plot(e.to_string()))?;
                }
            }
            self.register(f)?;
            self.log_in(f)?;
        }
        Ok(())
    }

    fn register(&self, f: &SimFarmer) -> Result<(), FleetError> {
        let payload = PostFarmerPayload {
            launcher_id: f.launcher_id,
            authentication_token: 0,
            authentication_public_key: f.auth_sk.public_key(),
            payout_instructions: hex::encode(derived("sim payout", f.index)),
            suggested_difficulty: None,
        };
        let body = PostFarmerRequest {
            signature: sign(&f.signing_sk(), payload.get_hash()),
            payload,
        }
        .to_json_string();
        let v = self.call(
            "POST /v2/farmer",
            self.agent.post(&format!("{}/v2/farmer", self.base_url)),
            Some(&body),
        )?;
        // 11 = FARMER_ALREADY_KNOWN: registered by an earlier run.
        if v.get("welcome_message").is_some() || v["error_code"] == 11 {
            Ok(())
        } else {
            Err(FleetError::Refused {
                what: "a registration",
                answer: v.to_string(),
            })
        }
    }

    fn log_in(&self, f: &SimFarmer) -> Result<(), FleetError> {
        let now = now();
        let msg = get_auth_message(now, &f.launcher_id, &self.pool.pool_puzzle_hash);
        let url = format!(
            "{}/v2/auth?launcher_id=0x{}&timestamp={now}&signature=0x{}",
            self.base_url,
            hex::encode(f.launcher_id),
            hex::encode(sign(&f.signing_sk(), msg).to_bytes())
        );
        let v = self.call("GET /v2/auth", self.agent.get(&url), None)?;
        let Some(token) = v["authentication_token"].as_str() else {
            return Err(FleetError::Refused {
                what: "a login",
                answer: v.to_string(),
            });
        };
        *f.token.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((token.to_string(), Instant::now()));
        Ok(())
    }

    fn call(
        &self,
        what: &'static str,
        req: ureq::Request,
        body: Option<&str>,
    ) -> Result<Value, FleetError> {
        let req = req
            .set("Content-Type", "application/json")
            .set("chia-farmer-version", "2.7.5");
        let answer = match body {
            Some(b) => req.send_string(b),
            None => req.call(),
        };
        let text = match answer {
            Ok(r) => r.into_string(),
            Err(ureq::Error::Status(_, r)) => r.into_string(),
            Err(e) => {
                return Err(FleetError::Http {
                    what,
                    reason: e.to_string(),
                })
            }
        }
        .map_err(|e| FleetError::Http {
            what,
            reason: e.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|e| FleetError::Http {
            what,
            reason: format!("{e}: {text}"),
        })
    }

    /// Sends one partial of farmer `farmer` (blocking); true when accepted.
    pub fn send(&self, farmer: usize, partial: &PostPartialRequest) -> bool {
        let Some(f) = self.farmers.get(farmer) else {
            return false;
        };
        self.stats.sent.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        let answer = self.call(
            "POST /v2/partial",
            self.agent.post(&format!("{}/v2/partial", self.base_url)),
            Some(&partial.to_json_string()),
        );
        let elapsed = start.elapsed();
        match answer {
            Ok(v) => match v["new_difficulty"].as_u64() {
                Some(d) => {
                    f.difficulty.store(d.max(1), Ordering::Relaxed);
                    self.stats.accepted.fetch_add(1, Ordering::Relaxed);
                    self.stats
                        .latencies_us
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(elapsed.as_micros() as u64);
                    true
                }
                None => {
                    tracing::debug!(farmer, "partial refused: {v}");
                    self.stats.refused.fetch_add(1, Ordering::Relaxed);
                    *self
                        .stats
                        .refused_by_code
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(v["error_code"].as_u64().unwrap_or(0))
                        .or_default() += 1;
                    false
                }
            },
            Err(e) => {
                tracing::debug!(farmer, "partial not sent: {e}");
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Farms until `stop` resolves: every signage point is searched by every farmer's plots on a blocking
    /// thread, each partial is sent on its own connection, and accepted ones make their farmer a block
    /// candidate. Tokens are renewed before they expire.
    pub async fn run(
        self: Arc<Self>,
        world: Arc<World>,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let mut sps = world.subscribe();
        tokio::pin!(stop);
        loop {
            let sp = tokio::select! {
                sp = sps.recv() => match sp {
                    Ok(sp) => sp,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return,
                },
                _ = &mut stop => return,
            };
            let fleet = Arc::clone(&self);
            let world = Arc::clone(&world);
            tokio::task::spawn_blocking(move || fleet.answer(&world, &sp));
        }
    }

    fn answer(self: &Arc<Self>, world: &Arc<World>, sp: &SignagePoint) {
        for (i, f) in self.farmers.iter().enumerate() {
            if !f.token_is_fresh() {
                if let Err(e) = self.log_in(f) {
                    tracing::debug!("farmer {i} could not log in: {e}");
                    continue;
                }
            }
            for partial in f.partials(&world.constants, sp) {
                let fleet = Arc::clone(self);
                let world = Arc::clone(world);
                std::thread::spawn(move || {
                    if fleet.send(i, &partial) {
                        world.proof_found(fleet.farmers[i].reward_puzzle_hash);
                    }
                });
            }
        }
    }
}
