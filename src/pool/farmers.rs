//! GET /auth and GET|POST|PUT /farmer (v2).

use chia_bls::PublicKey;
use chia_protocol::Bytes32;

use crate::chia::messages::*;
use crate::chia::signatures;
use crate::store::{self, FarmerRecord, Membership};

use super::difficulty::next_difficulty;
use super::tokens::TokenError;
use super::{payout_instructions, unix_now, unix_now_ms, Pool, PoolError};

impl Pool {
    /// GET /auth: a token for a registered farmer that proved it holds the PlotNFT's key just now. The
    /// clock and the farmer are checked before the pairing, which runs off the async threads.
    pub async fn authenticate(
        &self,
        request: &GetAuthRequest,
    ) -> Result<GetAuthResponse, PoolError> {
        let now = unix_now();
        let skew = now.abs_diff(request.timestamp);
        if skew > self.config().auth.max_clock_skew_secs {
            return Err(PoolError::new(
                PoolErrorCode::InvalidAuthenticationToken,
                format!("timestamp is {skew} s away from the pool's clock; set your clock right and ask again"),
            ));
        }
        let farmer = self.registered_farmer(&request.launcher_id)?;
        let key = public_key(&farmer)?;
        let target = self.settings().plotnft_pool.pool_puzzle_hash;
        let signed = request.clone();
        let valid = self
            .cpu()
            .run(move || signatures::verify_get_auth(&signed, &key, &target))
            .await?;
        if !valid {
            return Err(PoolError::new(
                PoolErrorCode::InvalidSignature,
                "signature does not verify: sign timestamp ‖ launcher_id ‖ this pool's target_puzzle_hash with the \
                 PlotNFT's authentication key (child 12381)",
            ));
        }
        let (authentication_token, expiration) =
            self.tokens().issue(&request.launcher_id.to_bytes(), now);
        Ok(GetAuthResponse {
            authentication_token,
            expiration,
        })
    }

    /// GET /farmer.
    pub async fn get_farmer(
        &self,
        request: &GetFarmerRequestV2,
    ) -> Result<GetFarmerResponse, PoolError> {
        self.check_token(&request.authentication_token_v2, &request.launcher_id)?;
        let farmer = self.registered_farmer(&request.launcher_id)?;
        let farmer = match self.decayed_difficulty(farmer.difficulty, &farmer.recent_partials) {
            Some(d) => {
                self.update_farmer(request.launcher_id, move |f| f.difficulty = d)
                    .await?
            }
            None => farmer,
        };
        Ok(GetFarmerResponse {
            authentication_public_key: public_key(&farmer)?,
            payout_instructions: farmer.payout_instructions.clone(),
            current_difficulty: farmer.difficulty,
            current_points: farmer.points,
        })
    }

    /// POST /farmer: registers a launcher whose PlotNFT pools to us on chain.
    pub async fn post_farmer(
        &self,
        request: &PostFarmerRequest,
    ) -> Result<PostFarmerResponse, PoolError> {
        let payload = &request.payload;
        let payout = payout_instructions::parse(
            &payload.payout_instructions,
            &self.settings().address_prefix,
        )?;
        let difficulty = self.checked_difficulty(payload.suggested_difficulty)?;
        // Cheapest first: a database read, then a remembered "no PlotNFT here" (a fact about the chain, so
        // it may be answered before the signature), then the pairing, and the node calls last.
        let existing = self.farmer(&payload.launcher_id)?;
        if let Some(f) = &existing {
            if f.membership != Membership::Left {
                return Err(already_known());
            }
        }
        let seen_key = (
            payload.launcher_id,
            payload.authentication_public_key.to_bytes(),
        );
        // Remembered only while the chain has not moved: a new block may bring the PlotNFT.
        let height = self.chain().peak().map(|p| p.height);
        if let Some((at, refusal)) = self.no_plotnft().get(&seen_key) {
            if Some(at) == height {
                return Err(refusal);
            }
        }
        let signed = request.clone();
        if !self
            .cpu()
            .run(move || signatures::verify_post_farmer(&signed))
            .await?
        {
            return Err(PoolError::new(
                PoolErrorCode::InvalidSignature,
                "signature does not verify: sign sha256(payload) with the authentication key's child 12381",
            ));
        }
        // Anyone can ask for a registration: its node calls wait behind the pool's own and may be refused.
        let singleton = crate::chain::low_priority(
            self.verify_plotnft_on_chain(payload.launcher_id, &payload.authentication_public_key),
        )
        .await
        .inspect_err(|e| {
            if matches!(
                e.code,
                PoolErrorCode::NotFound | PoolErrorCode::InvalidSingleton
            ) {
                if let Some(h) = height {
                    self.no_plotnft().insert(seen_key, (h, e.clone()));
                }
            }
        })?;
        let record = FarmerRecord {
            launcher_id: payload.launcher_id.to_bytes(),
            authentication_public_key: payload.authentication_public_key.to_bytes(),
            // Stored in one canonical form, whatever spelling the farmer sent.
            payout_instructions: hex::encode(payout),
            payout_puzzle_hash: payout.to_bytes(),
            difficulty,
            reward_puzzle_hash: crate::chia::puzzles::reward_puzzle_hash(payload.launcher_id)
                .to_bytes(),
            membership: Membership::Pooling,
            singleton: Some(singleton),
            joined_at: unix_now(),
            recent_partials: Vec::new(),
            // Set from the stored row, if any, inside the write (store::farmers::register).
            points: 0,
            carried: 0,
            lifetime_points: 0,
        };
        let registered = self
            .store()
            .write(move |txn| store::farmers::register(txn, record))
            .await
            .map_err(|e| PoolError::internal("storing the new farmer failed", e))?;
        if registered == store::farmers::Registered::AlreadyKnown {
            // Another registration of this launcher won the race.
            return Err(already_known());
        }
        Ok(self.welcome(payload.launcher_id, 2))
    }

    /// The answer to a registration that was stored, for either PlotNFT version.
    pub(crate) fn welcome(&self, launcher_id: Bytes32, version: u8) -> PostFarmerResponse {
        tracing::info!(launcher_id = %hex::encode(launcher_id), version, "farmer registered");
        // Its refusals are shown from now on, not only after the next refresh of the figures.
        self.stats().member_joined(&launcher_id.to_bytes());
        PostFarmerResponse {
            welcome_message: self.config().pool.welcome_message.clone(),
        }
    }

    /// A farmer whose difficulty is too high sends nothing; its regular GET /farmer lets it decay: the lower
    /// difficulty, when there is one.
    pub(crate) fn decayed_difficulty(&self, difficulty: u64, recent: &[(u64, u64)]) -> Option<u64> {
        let decayed = next_difficulty(
            &self.settings().difficulty,
            difficulty,
            recent,
            unix_now_ms(),
        );
        (decayed < difficulty).then_some(decayed)
    }

    /// What a PUT /farmer asks to change, checked: payout instructions (canonical text, puzzle hash) and
    /// difficulty.
    pub(crate) fn requested_changes(
        &self,
        payload: &PutFarmerPayload,
    ) -> Result<RequestedChanges, PoolError> {
        let payout = match &payload.payout_instructions {
            Some(text) => {
                let ph = payout_instructions::parse(text, &self.settings().address_prefix)?;
                Some((hex::encode(ph), ph))
            }
            None => None,
        };
        let difficulty = match payload.suggested_difficulty {
            Some(d) => Some(self.checked_difficulty(Some(d))?),
            None => None,
        };
        Ok(RequestedChanges { payout, difficulty })
    }

    /// PUT /farmer: payout instructions and suggested difficulty. The authentication key is the PlotNFT's
    /// own and cannot be replaced.
    pub async fn put_farmer(
        &self,
        request: &PutFarmerRequest,
    ) -> Result<PutFarmerResponse, PoolError> {
        let payload = &request.payload;
        self.check_token(&payload.authentication_token_v2, &payload.launcher_id)?;
        let farmer = self.registered_farmer(&payload.launcher_id)?;
        if let Some(key) = &payload.authentication_public_key {
            if key.to_bytes() != farmer.authentication_public_key {
                return Err(PoolError::new(
                    PoolErrorCode::RequestFailed,
                    "authentication_public_key is the PlotNFT's own key and cannot be changed; to use another key, \
                     make a new PlotNFT",
                ));
            }
        }
        let RequestedChanges { payout, difficulty } = self.requested_changes(payload)?;
        let update_payout = payout.clone();
        self.update_farmer_logged(payload.launcher_id, move |f| {
            let mut changed = None;
            if let Some((text, ph)) = update_payout {
                if f.payout_puzzle_hash != ph.to_bytes() {
                    // Recorded in the same commit as the change itself.
                    changed = Some(store::farmers::PayoutChange {
                        launcher_id: f.launcher_id,
                        old_puzzle_hash: f.payout_puzzle_hash,
                        new_puzzle_hash: ph.to_bytes(),
                        at_ms: unix_now_ms(),
                    });
                }
                f.payout_instructions = text;
                f.payout_puzzle_hash = ph.to_bytes();
            }
            if let Some(d) = difficulty {
                f.difficulty = d;
                f.recent_partials.clear();
            }
            changed
        })
        .await?;
        Ok(PutFarmerResponse {
            authentication_public_key: Some(payload.authentication_public_key.is_some()),
            payout_instructions: Some(payout.is_some()),
            suggested_difficulty: Some(difficulty.is_some()),
        })
    }

    pub(crate) fn check_token(&self, token: &str, launcher_id: &Bytes32) -> Result<(), PoolError> {
        self.tokens()
            .verify(token, &launcher_id.to_bytes(), unix_now())
            .map_err(|e: TokenError| {
                PoolError::new(PoolErrorCode::InvalidAuthenticationToken, e.to_string())
            })
    }

    pub(crate) fn farmer(&self, launcher_id: &Bytes32) -> Result<Option<FarmerRecord>, PoolError> {
        let txn = self
            .store()
            .read()
            .map_err(|e| PoolError::internal("reading the farmer failed", e))?;
        store::farmers::get(&txn, &launcher_id.to_bytes())
            .map_err(|e| PoolError::internal("reading the farmer failed", e))
    }

    pub(crate) fn registered_farmer(
        &self,
        launcher_id: &Bytes32,
    ) -> Result<FarmerRecord, PoolError> {
        self.farmer(launcher_id)?.ok_or_else(|| {
            PoolError::new(
                PoolErrorCode::FarmerNotKnown,
                format!(
                    "launcher {} is not registered with this pool; POST /v2/farmer first",
                    hex::encode(launcher_id)
                ),
            )
        })
    }

    /// Applies `change` to the stored farmer in one write (no lost updates between concurrent requests).
    pub(crate) async fn update_farmer(
        &self,
        launcher_id: Bytes32,
        change: impl FnOnce(&mut FarmerRecord) + Send + 'static,
    ) -> Result<FarmerRecord, PoolError> {
        self.update_farmer_logged(launcher_id, move |f| {
            change(f);
            None
        })
        .await
    }

    /// `update_farmer` whose change may also leave a payout instruction change in the trail, in one commit.
    async fn update_farmer_logged(
        &self,
        launcher_id: Bytes32,
        change: impl FnOnce(&mut FarmerRecord) -> Option<store::farmers::PayoutChange> + Send + 'static,
    ) -> Result<FarmerRecord, PoolError> {
        let key = launcher_id.to_bytes();
        let updated = self
            .store()
            .write(move |txn| {
                let Some(mut farmer) = store::farmers::get_for_update(txn, &key)? else {
                    return Ok(None);
                };
                let trail = change(&mut farmer);
                if let Some(t) = &trail {
                    store::farmers::record_payout_change(txn, t)?;
                }
                store::farmers::put(txn, &farmer)?;
                Ok(Some((farmer, trail)))
            })
            .await
            .map_err(|e| PoolError::internal("updating the farmer failed", e))?;
        let (farmer, trail) = updated.ok_or_else(|| {
            PoolError::new(PoolErrorCode::FarmerNotKnown, "launcher is not registered")
        })?;
        if let Some(t) = trail {
            // A stolen token could redirect payouts: make every change visible.
            tracing::warn!(
                launcher_id = %hex::encode(t.launcher_id),
                old = %hex::encode(t.old_puzzle_hash),
                new = %hex::encode(t.new_puzzle_hash),
                "payout instructions changed"
            );
        }
        Ok(farmer)
    }

    pub(crate) fn checked_difficulty(&self, suggested: Option<u64>) -> Result<u64, PoolError> {
        let min = self.config().pool.min_difficulty;
        let max = self.config().pool.max_difficulty;
        match suggested {
            None => Ok(self.config().pool.default_difficulty),
            Some(d) if d < min => Err(PoolError::new(
                PoolErrorCode::InvalidDifficulty,
                format!("suggested_difficulty {d} is below this pool's minimum difficulty {min}"),
            )),
            Some(d) if d > max => Err(PoolError::new(
                PoolErrorCode::InvalidDifficulty,
                format!("suggested_difficulty {d} is above this pool's maximum difficulty {max}"),
            )),
            Some(d) => Ok(d),
        }
    }
}

/// What a PUT /farmer asks to change, checked.
pub(crate) struct RequestedChanges {
    /// The canonical text and the puzzle hash of new payout instructions.
    pub payout: Option<(String, Bytes32)>,
    pub difficulty: Option<u64>,
}

pub fn public_key(farmer: &FarmerRecord) -> Result<PublicKey, PoolError> {
    PublicKey::from_bytes(&farmer.authentication_public_key)
        .map_err(|e| PoolError::internal("a stored authentication key does not decode", e))
}

fn already_known() -> PoolError {
    PoolError::new(
        PoolErrorCode::FarmerAlreadyKnown,
        "this launcher is already registered; use PUT /v2/farmer to change its settings",
    )
}
