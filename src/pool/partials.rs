//! POST /partial: the whole validation of pool-protocol §8.2, in order, then a durable record before the answer.

use chia_protocol::ProofOfSpace;

use crate::chain::signage::SpInfo;
use crate::chia::messages::{PoolErrorCode, PostPartialRequest, PostPartialResponse};
use crate::chia::proofs::{self, ProofContext};
use crate::chia::signatures::PartialSignatureCheck;
use crate::store::partials::RecordOutcome;
use crate::store::{self, Membership, PartialRecord, PartialState};

use super::difficulty::{difficulty_at_signage_point, next_difficulty};
use super::farmers::public_key;
use super::guards;
use super::{unix_now_ms, Pool, PoolError};

/// How many recent partials a farmer record keeps for the difficulty controller.
const RECENT_PARTIALS_KEPT: usize = 64;
/// Distinct unknown signage points one launcher may have the node look up per window (about a block).
const UNKNOWN_SP_LOOKUPS: u32 = 3;

/// Who a partial is credited to, as the protocol version's own checks found it: what the shared checks need.
pub(crate) struct PartialMember {
    /// Signs the partial with the plot key.
    pub authentication_public_key: chia_bls::PublicKey,
    pub difficulty: u64,
    pub recent_partials: Vec<(u64, u64)>,
}

impl Pool {
    pub async fn post_partial(
        &self,
        request: PostPartialRequest,
    ) -> Result<PostPartialResponse, PoolError> {
        let launcher_id = request.payload.launcher_id;
        let result = match self.partial_member(&request) {
            Ok(member) => self.check_and_record(request, member).await,
            Err(e) => Err(e),
        };
        self.partial_outcome(launcher_id, result)
    }

    /// The stats hook both protocol versions' partials go through.
    pub(crate) fn partial_outcome(
        &self,
        launcher_id: chia_protocol::Bytes32,
        result: Result<(PostPartialResponse, u64), PoolError>,
    ) -> Result<PostPartialResponse, PoolError> {
        let outcome = match &result {
            Ok((_, credited)) => Ok(*credited),
            Err(e) => Err((e.code, e.message.as_str())),
        };
        self.stats().partial(&launcher_id.to_bytes(), outcome);
        result.map(|(response, _)| response)
    }

    /// v2's who: token, farmer, membership, and the plot's pool contract.
    fn partial_member(&self, request: &PostPartialRequest) -> Result<PartialMember, PoolError> {
        let payload = &request.payload;
        let pos = &payload.proof_of_space;
        self.check_token(&request.authentication_token_v2, &payload.launcher_id)?;
        let farmer = self.registered_farmer(&payload.launcher_id)?;
        check_membership(farmer.membership, "POST /v2/farmer")?;
        check_contract(pos, farmer.reward_puzzle_hash, "reward")?;
        Ok(PartialMember {
            authentication_public_key: public_key(&farmer)?,
            difficulty: farmer.difficulty,
            recent_partials: farmer.recent_partials,
        })
    }

    /// Everything after who the partial is from, shared by both protocol versions; on success also the
    /// difficulty the partial was credited at.
    pub(crate) async fn check_and_record(
        &self,
        request: PostPartialRequest,
        farmer: PartialMember,
    ) -> Result<(PostPartialResponse, u64), PoolError> {
        let arrived_ms = unix_now_ms();
        let payload = &request.payload;
        let pos = &payload.proof_of_space;

        // A resend of a proof seen lately is refused, or its proof check reused, before any other work.
        let proof_key = guards::proof_key(pos, &payload.sp_hash, payload.end_of_sub_slot);
        let known_quality = guards::screen_resend(self.proofs().get(&proof_key).as_ref())?;

        // 2. When: the signage point, from the chain client's cache, and lateness.
        let peak = self
            .chain()
            .synced_peak()
            .map_err(PoolError::node_unavailable)?;
        let sp = self
            .signage_point(
                payload.launcher_id,
                payload.sp_hash,
                payload.end_of_sub_slot,
            )
            .await?;
        let late_secs = arrived_ms as f64 / 1000.0 - sp.time_received;
        let limit = self.config().partials.time_limit_secs;
        if late_secs > limit as f64 {
            return Err(PoolError::new(
                PoolErrorCode::TooLate,
                format!("partial arrived {late_secs:.1} s after the signage point; the limit is {limit} s"),
            ));
        }

        // 3. What: the proof and its iterations at the farmer's difficulty (CPU work, off the async threads).
        let ctx = ProofContext {
            challenge_hash: sp.challenge_hash,
            sp_hash: payload.sp_hash,
            height: peak.height,
            prev_tx_height: peak.prev_tx_height,
            filter_challenge: sp.filter_challenge,
            signage_point_index: Some(sp.signage_point_index),
        };
        // Judged and credited at the difficulty the farmer had when the signage point came.
        let sp_time_ms = (sp.time_received.max(0.0) * 1000.0) as u64;
        let difficulty =
            difficulty_at_signage_point(farmer.difficulty, &farmer.recent_partials, sp_time_ms);
        let pool = self.clone();
        let pos_owned: ProofOfSpace = pos.clone();
        let (quality, iters) = tokio::task::spawn_blocking(move || {
            let c = pool.constants();
            let quality = match known_quality {
                Some(q) => q,
                None => proofs::verify_and_get_quality_string(&pos_owned, c, &ctx)
                    .map_err(|e| PoolError::new(PoolErrorCode::InvalidProof, e.to_string()))?,
            };
            let iters = proofs::required_iterations(
                c,
                &pos_owned,
                &quality,
                &ctx.sp_hash,
                difficulty,
                ctx.prev_tx_height,
            );
            Ok::<_, PoolError>((quality, iters))
        })
        .await
        .map_err(|e| PoolError::internal("proof check failed", e))??;
        if known_quality.is_none() {
            self.proofs()
                .insert(proof_key, guards::ProofSeen::Checked(quality));
        }
        let iters_limit = self.constants().pool_iters_limit();
        if iters >= iters_limit {
            return Err(PoolError::new(
                PoolErrorCode::ProofNotGoodEnough,
                format!("proof needs {iters} iterations at difficulty {difficulty}; partials must need fewer than {iters_limit}"),
            ));
        }

        // 4. Signed by the plot key and the PlotNFT's authentication key (batched with other partials).
        let check = PartialSignatureCheck::new(&request, &farmer.authentication_public_key);
        if !self.verifier().verify(check).await? {
            guards::note_bad_signature(self.proofs(), proof_key, quality);
            return Err(PoolError::new(
                PoolErrorCode::InvalidSignature,
                "aggregate_signature must be the plot key's and the authentication key's signatures of sha256(payload)",
            ));
        }

        // 5. Record it durably with the farmer's new difficulty; a proof already recorded is refused.
        let proof_hash = proofs::proof_get_hash(pos, &quality).to_bytes();
        let record = PartialRecord {
            launcher_id: payload.launcher_id.to_bytes(),
            difficulty,
            sp_hash: payload.sp_hash.to_bytes(),
            challenge_hash: sp.challenge_hash.to_bytes(),
            end_of_sub_slot: payload.end_of_sub_slot,
            harvester_id: payload.harvester_id.to_bytes(),
            plot_version: pos.version,
            state: PartialState::Pending,
        };
        let policy = self.settings().difficulty;
        let outcome = self
            .store()
            .write(move |txn| {
                store::partials::record(txn, arrived_ms, proof_hash, &record, |farmer| {
                    // A partial made at an earlier difficulty is no evidence for the current one.
                    if difficulty != farmer.difficulty {
                        return;
                    }
                    farmer.recent_partials.push((arrived_ms, difficulty));
                    let excess = farmer
                        .recent_partials
                        .len()
                        .saturating_sub(RECENT_PARTIALS_KEPT);
                    farmer.recent_partials.drain(..excess);
                    farmer.difficulty = next_difficulty(
                        &policy,
                        farmer.difficulty,
                        &farmer.recent_partials,
                        arrived_ms,
                    );
                })
            })
            .await
            .map_err(|e| PoolError::internal("recording the partial failed", e))?;
        if matches!(
            outcome,
            RecordOutcome::Recorded(_) | RecordOutcome::Duplicate
        ) {
            self.proofs().insert(proof_key, guards::ProofSeen::Accepted);
        }
        match outcome {
            RecordOutcome::Recorded(state) => Ok((
                PostPartialResponse {
                    new_difficulty: state.difficulty,
                },
                difficulty,
            )),
            RecordOutcome::Duplicate => Err(guards::duplicate()),
            RecordOutcome::FarmerGone => Err(PoolError::new(
                PoolErrorCode::FarmerNotKnown,
                "launcher is not registered",
            )),
        }
    }

    /// The signage point from the cache, else from the node; a launcher that keeps naming signage points
    /// the node does not know gets "not found" without further node lookups for a while.
    async fn signage_point(
        &self,
        launcher_id: chia_protocol::Bytes32,
        sp_hash: chia_protocol::Bytes32,
        eos: bool,
    ) -> Result<SpInfo, PoolError> {
        let what = if eos {
            "end of sub-slot"
        } else {
            "signage point"
        };
        let not_found = || {
            PoolError::new(
                PoolErrorCode::NotFound,
                format!(
                    "{what} 0x{} is not known to the pool's node",
                    hex::encode(sp_hash)
                ),
            )
        };
        let cache = self.chain().signage_points();
        let sp = match cache.cached(sp_hash, eos) {
            Some(sp) => sp,
            None => {
                // Admitted before the lookup, so that concurrent requests for new points cannot all slip
                // through; proofs for the same point share its lookup (see `SpLookups`).
                let key = sp_hash.to_bytes();
                let admitted =
                    self.unknown_sp()
                        .update_with(launcher_id, Default::default(), |s| {
                            s.admit(key, UNKNOWN_SP_LOOKUPS)
                        });
                if !admitted {
                    return Err(not_found());
                }
                let found = cache.lookup(sp_hash, eos).await;
                let known = matches!(found, Ok(Some(_)));
                self.unknown_sp()
                    .update_with(launcher_id, Default::default(), |s| s.finish(key, known));
                found
                    .map_err(PoolError::node_unavailable)?
                    .ok_or_else(not_found)?
            }
        };
        // The node's flag is only a hint (see `confirm`): the chain decides.
        if sp.reverted
            && super::confirm::reverted_on_chain(self.handles(), &sp)
                .await
                .unwrap_or(true)
        {
            return Err(PoolError::new(
                PoolErrorCode::RevertedSignagePoint,
                format!("{what} 0x{} was reverted by a reorg", hex::encode(sp_hash)),
            ));
        }
        Ok(sp)
    }
}

/// The plot's pool contract must be the member's: its reward puzzle hash (v2) or p2_singleton puzzle hash (v1).
pub(crate) fn check_contract(
    pos: &ProofOfSpace,
    expected: [u8; 32],
    what: &str,
) -> Result<(), PoolError> {
    if pos.pool_contract_puzzle_hash.map(|h| h.to_bytes()) == Some(expected) {
        return Ok(());
    }
    Err(PoolError::new(
        PoolErrorCode::InvalidP2SingletonPuzzleHash,
        format!(
            "proof_of_space.pool_contract_puzzle_hash must be this PlotNFT's {what} puzzle hash 0x{}; the plot was \
             made for another PlotNFT or pool",
            hex::encode(expected)
        ),
    ))
}

/// `join` is the request that registers again after rejoining (`POST /v2/farmer`, or `POST /farmer` for v1).
pub(crate) fn check_membership(membership: Membership, join: &str) -> Result<(), PoolError> {
    match membership {
        Membership::Pooling => Ok(()),
        Membership::Leaving => Err(PoolError::new(
            PoolErrorCode::InvalidSingleton,
            "this PlotNFT is leaving the pool (waiting room): partials are no longer credited",
        )),
        Membership::Left => Err(PoolError::new(
            PoolErrorCode::InvalidSingleton,
            format!(
                "this PlotNFT no longer pools with this pool: partials are not credited; {join} after rejoining"
            ),
        )),
    }
}
