//! Pool protocol v1, for members whose PlotNFT is a v1 singleton: the time-window authentication token, the
//! v1 signatures, the join checked on chain by following the singleton from its launcher, and partials handed
//! to the checks v2 uses (`super::partials`) once the v1 member is found.

mod chain;
pub mod tracking;

use std::num::NonZeroU8;

use chia_bls::PublicKey;
use chia_protocol::Bytes32;

use crate::chia::messages::{
    GetFarmerResponse, GetPoolInfoResponse, PoolErrorCode, PostFarmerRequest, PostFarmerResponse,
    PostPartialRequest, PostPartialResponse, PutFarmerRequest, PutFarmerResponse,
};
use crate::chia::v1::lineage::SingletonV1;
use crate::chia::v1::messages::{
    authentication_token, authentication_token_is_valid, verify_get_farmer, verify_post_farmer,
    verify_put_farmer, GetFarmerRequestV1,
};
use crate::config::Protocol;
use crate::store::farmers_v1::FarmerV1Record;
use crate::store::{self, Membership};

use super::farmers::RequestedChanges;
use super::partials::{check_contract, check_membership, PartialMember};
use super::{payout_instructions, unix_now, Pool, PoolError};

/// The shortest p2_singleton escape delay accepted (pool-reference's rule): a shorter one lets a member take
/// the pool's rewards back before they are absorbed.
const MIN_DELAY_TIME_SECS: u64 = 3600;

impl Pool {
    /// GET /pool_info at the root: v2's answer with protocol version 1 (the pool's reward puzzle hash is the
    /// v1 `target_puzzle_hash`, and `chia plotnft join` of a v1 PlotNFT wants version 1).
    pub fn pool_info_v1(&self) -> GetPoolInfoResponse {
        GetPoolInfoResponse {
            protocol_version: 1,
            ..self.pool_info()
        }
    }

    /// A clear protocol error for a version this pool does not serve.
    pub fn require_protocol(&self, protocol: Protocol) -> Result<(), PoolError> {
        if self.config().pool.serves(protocol) {
            return Ok(());
        }
        let (this, other) = match protocol {
            Protocol::V1 => ("v1 (PlotNFT v1, at the root)", "v2 (under /v2/)"),
            Protocol::V2 => ("v2 (under /v2/)", "v1 (PlotNFT v1, at the root)"),
        };
        Err(PoolError::new(
            PoolErrorCode::RequestFailed,
            format!("this pool does not serve pool protocol {this}; it serves {other} only"),
        ))
    }

    /// POST /farmer (v1): the launcher's singleton must farm to this pool, and the request must be signed by
    /// the owner key of its `PoolState`.
    pub async fn post_farmer_v1(
        &self,
        request: &PostFarmerRequest,
    ) -> Result<PostFarmerResponse, PoolError> {
        let payload = &request.payload;
        self.check_token_v1(payload.authentication_token)?;
        let payout = payout_instructions::parse(
            &payload.payout_instructions,
            &self.settings().address_prefix,
        )?;
        let difficulty = self.checked_difficulty(payload.suggested_difficulty)?;
        if let Some(f) = self.farmer_v1(&payload.launcher_id)? {
            if f.membership != Membership::Left {
                return Err(already_known());
            }
        }
        let (singleton, created_height) = self.walk_for_join(payload.launcher_id).await?;
        let pool = &self.settings().plotnft_pool;
        if !singleton.is_farming_to(pool.pool_puzzle_hash, pool.heightlock) {
            return Err(PoolError::new(
                PoolErrorCode::InvalidSingleton,
                format!(
                    "this PlotNFT does not farm to this pool: it must be FARMING_TO_POOL with target puzzle hash 0x{} \
                     and relative lock height {} (it has state {}, 0x{}, {}); join the pool and wait for the \
                     transaction to confirm",
                    hex::encode(pool.pool_puzzle_hash),
                    pool.heightlock,
                    singleton.pool_state.state,
                    hex::encode(singleton.pool_state.target_puzzle_hash),
                    singleton.pool_state.relative_lock_height
                ),
            ));
        }
        if singleton.plotnft.delay_time < MIN_DELAY_TIME_SECS {
            return Err(PoolError::new(
                PoolErrorCode::DelayTimeTooShort,
                format!(
                    "the PlotNFT's p2_singleton delay is {} s; this pool needs at least {MIN_DELAY_TIME_SECS} s",
                    singleton.plotnft.delay_time
                ),
            ));
        }
        let owner = singleton.pool_state.owner_pubkey;
        let signed = request.clone();
        if !self
            .cpu()
            .run(move || verify_post_farmer(&signed, &owner))
            .await?
        {
            return Err(PoolError::new(
                PoolErrorCode::InvalidSignature,
                "signature does not verify: sign sha256(payload) with the owner key of the PlotNFT's PoolState",
            ));
        }
        let nft = &singleton.plotnft;
        let record = FarmerV1Record {
            launcher_id: payload.launcher_id.to_bytes(),
            owner_public_key: owner.to_bytes(),
            authentication_public_key: payload.authentication_public_key.to_bytes(),
            payout_instructions: hex::encode(payout),
            payout_puzzle_hash: payout.to_bytes(),
            difficulty,
            p2_singleton_puzzle_hash: nft.p2_singleton_puzzle_hash().to_bytes(),
            membership: Membership::Pooling,
            singleton: tracking::singleton_record(&singleton, created_height),
            joined_at: unix_now(),
            recent_partials: Vec::new(),
            // Set from the stored row, if any, inside the write (store::farmers_v1::register).
            points: 0,
            carried: 0,
            lifetime_points: 0,
        };
        let stored = self
            .store()
            .write(move |txn| store::farmers_v1::register(txn, record))
            .await
            .map_err(|e| PoolError::internal("storing the new farmer failed", e))?;
        if !stored {
            // Another registration of this launcher won the race.
            return Err(already_known());
        }
        Ok(self.welcome(payload.launcher_id, 1))
    }

    /// The launcher's singleton at the tip, for a registration. Anyone may ask, with any launcher and a bad
    /// signature (which cannot be checked before the walk finds the owner key), so the walk and what the chain
    /// decided (no such PlotNFT, not a v1 PlotNFT) are shared per launcher until the next block.
    async fn walk_for_join(&self, launcher_id: Bytes32) -> Walked {
        let height = self.chain().peak().map(|p| p.height);
        let handles = self.handles();
        self.v1_walks()
            .get_or_work(launcher_id, height, || async move {
                // Its node calls wait behind the pool's own and may be refused.
                match crate::chain::low_priority(handles.singleton_v1_tip(launcher_id, None)).await
                {
                    Err(e) if !decided_by_chain(&e) => Err(e),
                    decided => Ok(decided),
                }
            })
            .await?
    }

    /// GET /farmer (v1): signed by the registered authentication key over the `get_farmer` payload.
    pub async fn get_farmer_v1(
        &self,
        request: &GetFarmerRequestV1,
    ) -> Result<GetFarmerResponse, PoolError> {
        self.check_token_v1(request.authentication_token)?;
        let farmer = self.registered_farmer_v1(&request.launcher_id)?;
        let key = stored_key(&farmer.authentication_public_key)?;
        let target = self.settings().plotnft_pool.pool_puzzle_hash;
        let signed = request.clone();
        if !self
            .cpu()
            .run(move || verify_get_farmer(&signed, &key, target))
            .await?
        {
            return Err(bad_signature(
                "the authentication key",
                "the get_farmer AuthenticationPayload",
            ));
        }
        let farmer = match self.decayed_difficulty(farmer.difficulty, &farmer.recent_partials) {
            Some(d) => {
                self.update_farmer_v1(request.launcher_id, move |f| f.difficulty = d)
                    .await?
            }
            None => farmer,
        };
        Ok(GetFarmerResponse {
            authentication_public_key: key,
            payout_instructions: farmer.payout_instructions,
            current_difficulty: farmer.difficulty,
            current_points: farmer.points,
        })
    }

    /// PUT /farmer (v1): signed by the owner key over the back-compat payload; v1 lets the owner replace the
    /// authentication key.
    pub async fn put_farmer_v1(
        &self,
        request: &PutFarmerRequest,
    ) -> Result<PutFarmerResponse, PoolError> {
        let payload = &request.payload;
        self.check_token_v1(payload.authentication_token)?;
        let farmer = self.registered_farmer_v1(&payload.launcher_id)?;
        let owner = stored_key(&farmer.owner_public_key)?;
        let signed = request.clone();
        if !self
            .cpu()
            .run(move || verify_put_farmer(&signed, &owner))
            .await?
        {
            return Err(bad_signature(
                "the owner key",
                "the PutFarmerPayload (without authentication_token_v2)",
            ));
        }
        let RequestedChanges { payout, difficulty } = self.requested_changes(payload)?;
        let key = payload.authentication_public_key.map(|k| k.to_bytes());
        let changes = (key.is_some(), payout.is_some(), difficulty.is_some());
        self.update_farmer_v1(payload.launcher_id, move |f| {
            if let Some(key) = key {
                f.authentication_public_key = key;
            }
            if let Some((text, ph)) = payout {
                f.payout_instructions = text;
                f.payout_puzzle_hash = ph.to_bytes();
            }
            if let Some(d) = difficulty {
                f.difficulty = d;
                f.recent_partials.clear();
            }
        })
        .await?;
        Ok(PutFarmerResponse {
            authentication_public_key: Some(changes.0),
            payout_instructions: Some(changes.1),
            suggested_difficulty: Some(changes.2),
        })
    }

    /// POST /partial (v1): the v1 member and its token, then the checks every partial goes through.
    pub async fn post_partial_v1(
        &self,
        request: PostPartialRequest,
    ) -> Result<PostPartialResponse, PoolError> {
        let launcher_id = request.payload.launcher_id;
        let result = match self.partial_member_v1(&request) {
            Ok(member) => self.check_and_record(request, member).await,
            Err(e) => Err(e),
        };
        self.partial_outcome(launcher_id, result)
    }

    fn partial_member_v1(&self, request: &PostPartialRequest) -> Result<PartialMember, PoolError> {
        let payload = &request.payload;
        self.check_token_v1(payload.authentication_token)?;
        let farmer = self.registered_farmer_v1(&payload.launcher_id)?;
        check_membership(farmer.membership, "POST /farmer")?;
        check_contract(
            &payload.proof_of_space,
            farmer.p2_singleton_puzzle_hash,
            "p2_singleton",
        )?;
        Ok(PartialMember {
            authentication_public_key: stored_key(&farmer.authentication_public_key)?,
            difficulty: farmer.difficulty,
            recent_partials: farmer.recent_partials,
        })
    }

    /// The v1 token: chia's time window around the pool's clock.
    fn check_token_v1(&self, token: u64) -> Result<(), PoolError> {
        let timeout =
            NonZeroU8::new(self.config().auth.token_timeout_minutes).unwrap_or(NonZeroU8::MIN);
        let now = unix_now();
        if authentication_token_is_valid(token, now, timeout) {
            return Ok(());
        }
        Err(PoolError::new(
            PoolErrorCode::InvalidAuthenticationToken,
            format!(
                "authentication_token {token} is outside the window: the pool's current token is {} (timeout {} \
                 minutes); check the farmer's clock",
                authentication_token(now, timeout),
                timeout
            ),
        ))
    }

    pub(crate) fn farmer_v1(
        &self,
        launcher_id: &Bytes32,
    ) -> Result<Option<FarmerV1Record>, PoolError> {
        let txn = self
            .store()
            .read()
            .map_err(|e| PoolError::internal("reading the farmer failed", e))?;
        store::farmers_v1::get(&txn, &launcher_id.to_bytes())
            .map_err(|e| PoolError::internal("reading the farmer failed", e))
    }

    fn registered_farmer_v1(&self, launcher_id: &Bytes32) -> Result<FarmerV1Record, PoolError> {
        self.farmer_v1(launcher_id)?.ok_or_else(|| {
            PoolError::new(
                PoolErrorCode::FarmerNotKnown,
                format!(
                    "launcher {} is not registered with this pool; POST /farmer first",
                    hex::encode(launcher_id)
                ),
            )
        })
    }

    /// Applies `change` to the stored v1 member in one write.
    async fn update_farmer_v1(
        &self,
        launcher_id: Bytes32,
        change: impl FnOnce(&mut FarmerV1Record) + Send + 'static,
    ) -> Result<FarmerV1Record, PoolError> {
        let key = launcher_id.to_bytes();
        self.store()
            .write(move |txn| {
                let Some(mut farmer) = store::farmers_v1::get_for_update(txn, &key)? else {
                    return Ok(None);
                };
                change(&mut farmer);
                store::farmers_v1::put(txn, &farmer)?;
                Ok(Some(farmer))
            })
            .await
            .map_err(|e| PoolError::internal("updating the farmer failed", e))?
            .ok_or_else(|| {
                PoolError::new(PoolErrorCode::FarmerNotKnown, "launcher is not registered")
            })
    }
}

/// A registration's chain walk: the singleton at the tip and the height its coin was created at, or what the
/// chain says against it.
pub(crate) type Walked = Result<(SingletonV1, u32), PoolError>;

/// Refusals that come from the chain's contents, not from reaching it: kept until the next block.
fn decided_by_chain(e: &PoolError) -> bool {
    matches!(
        e.code,
        PoolErrorCode::NotFound | PoolErrorCode::InvalidSingleton
    )
}

/// A key the store holds.
pub(crate) fn stored_key(bytes: &[u8; 48]) -> Result<PublicKey, PoolError> {
    PublicKey::from_bytes(bytes)
        .map_err(|e| PoolError::internal("a stored public key does not decode", e))
}

fn bad_signature(key: &str, message: &str) -> PoolError {
    PoolError::new(
        PoolErrorCode::InvalidSignature,
        format!("signature does not verify: sign {message}'s hash with {key}"),
    )
}

fn already_known() -> PoolError {
    PoolError::new(
        PoolErrorCode::FarmerAlreadyKnown,
        "this launcher is already registered; use PUT /farmer to change its settings",
    )
}
