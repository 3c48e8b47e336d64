//! `/api/pool` and `/api/farmer/<launcher_id>`: the figures behind the pages, computed once from the snapshot
//! for both the JSON and the HTML so that the two always agree. Public fields only: no payout addresses.

use std::sync::Arc;

use serde_json::{json, Value};
use warp::http::StatusCode;
use warp::reply::Response;

use crate::chia::messages::PoolErrorCode;
use crate::pool::{unix_now, Pool};
use crate::stats::snapshot::{forward_state_name, FarmerView, Snapshot, WINDOW_SECS};
use crate::stats::Membership;
use crate::stats::{activity::Rejects, space};

use super::{format, json as json_response, parse_launcher, Cache};

/// Pool-wide figures.
pub struct PoolFigures {
    pub snap: Arc<Snapshot>,
    pub now: u64,
    pub refused: Rejects,
    pub refused_series: Vec<Rejects>,
    pub space_bytes: f64,
    pub round_points: u64,
    pub points_per_block: f64,
    pub difficulty_rows: Vec<(String, u64)>,
}

impl PoolFigures {
    pub fn compute(pool: &Pool) -> Self {
        let snap = pool.stats().snapshot();
        let now = unix_now();
        let refused_series = pool.stats().rejects();
        let mut refused = Rejects::default();
        for r in &refused_series {
            for (a, b) in refused.0.iter_mut().zip(r.0.iter()) {
                *a = a.saturating_add(*b);
            }
        }
        let peak = pool.chain().peak();
        let c = pool.constants();
        let (height, tx_height) = peak
            .as_ref()
            .map_or((0, 0), |p| (p.height, p.prev_tx_height));
        let space_bytes = space::estimate(
            c,
            snap.pool_day.points_v1,
            snap.pool_day.points_v2,
            WINDOW_SECS as f64,
            height,
            tx_height,
        );
        let points_per_block = peak.as_ref().map_or(0.0, |p| {
            space::points_per_block(c, p.difficulty, p.sub_slot_iters)
        });
        Self {
            difficulty_rows: difficulty_rows(&snap),
            refused,
            refused_series,
            space_bytes,
            round_points: pool.stats().round_points(),
            points_per_block,
            now,
            snap,
        }
    }

    pub fn round_effort(&self) -> Option<f64> {
        (self.points_per_block > 0.0).then(|| self.round_points as f64 / self.points_per_block)
    }
}

/// Pooling members by difficulty, in powers of two.
fn difficulty_rows(snap: &Snapshot) -> Vec<(String, u64)> {
    let mut counts = [0u64; 64];
    for f in snap
        .farmers
        .iter()
        .filter(|f| f.record.membership == Membership::Pooling)
    {
        counts[63 - f.record.difficulty.max(1).leading_zeros() as usize] += 1;
    }
    counts
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(bit, &n)| {
            let lo = 1u64 << bit;
            let hi = lo.saturating_mul(2).saturating_sub(1);
            let label = if lo == hi {
                format!("{lo}")
            } else {
                format!("{lo}–{hi}")
            };
            (label, n)
        })
        .collect()
}

pub fn refused_json(r: &Rejects) -> Value {
    let mut map = serde_json::Map::new();
    for (code, n) in r.by_code() {
        map.insert(code.name().into(), json!(n));
    }
    Value::Object(map)
}

pub fn pool(pool: &Pool) -> Value {
    let f = PoolFigures::compute(pool);
    let s = &f.snap;
    let c = pool.config();
    let peak = pool.chain().peak_status();
    json!({
        "name": c.pool.name,
        "description": c.pool.description,
        "fee_basis_points": c.pool.fee_basis_points,
        "minimum_difficulty": c.pool.min_difficulty,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": f.now.saturating_sub(pool.stats().started_at()),
        "snapshot_at": s.built_at,
        "members": {
            "pooling": s.members(Membership::Pooling),
            "leaving": s.members(Membership::Leaving),
            "left": s.members(Membership::Left),
            "active_24h": s.active_members(),
        },
        "partials_24h": {
            "accepted": s.pool_day.partials,
            "points": s.pool_day.points(),
            "points_v1": s.pool_day.points_v1,
            "points_v2": s.pool_day.points_v2,
            "pending": s.pending_partials,
            "rejected_at_confirmation": s.rejected_at_confirmation,
            "refused": f.refused.total(),
            "refused_by_code": refused_json(&f.refused),
        },
        "estimated_space_bytes": f.space_bytes.round() as u64,
        "difficulty_distribution": f.difficulty_rows.iter()
            .map(|(range, n)| json!({"difficulty": range, "members": n})).collect::<Vec<_>>(),
        "current_round": {
            "points": f.round_points,
            "expected_points_per_block": f.points_per_block.round() as u64,
            "effort": f.round_effort(),
        },
        "blocks": s.blocks.iter().take(20).map(|b| json!({
            "height": b.reward.confirmed_height,
            "launcher_id": hex::encode(b.reward.launcher_id),
            "amount_mojos": b.reward.amount,
            "forward_state": forward_state_name(&b.reward.state),
            "effort": b.effort,
        })).collect::<Vec<_>>(),
        "rewards": {
            "found": s.rewards.found,
            "submitted": s.rewards.submitted,
            "forwarded": s.rewards.forwarded,
            "forwarded_mojos": s.rewards.forwarded_mojos,
            "claimed_elsewhere": s.rewards.claimed_elsewhere,
            "claimed_elsewhere_mojos": s.rewards.claimed_elsewhere_mojos,
            "unpaid_mojos": s.rewards.unpaid_mojos,
            "paid_out_mojos": s.rewards.paid_out_mojos,
            "fees_mojos": s.rewards.fees_mojos,
        },
        "payouts": s.payouts.iter().take(10).map(|p| json!({
            "id": p.id,
            "created_at": p.created_at,
            "rewards_mojos": p.rewards,
            "fee_mojos": p.fee,
            "paid_mojos": p.lines.iter().map(|l| l.paid).sum::<u64>(),
            "farmers_paid": p.lines.iter().filter(|l| l.paid > 0).count(),
            "finished": p.finished(),
        })).collect::<Vec<_>>(),
        "node": {
            "synced": peak.peak.as_ref().is_some_and(|p| p.synced),
            "peak_height": peak.peak.as_ref().map(|p| p.height),
            "last_success": peak.last_success.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_secs()),
            "consecutive_failures": peak.consecutive_failures,
        },
        "jobs": pool.stats().jobs().into_iter().map(|(name, j)| (name.to_string(), json!({
            "last_success": j.last_success,
            "last_error_at": j.last_error.map(|e| e.0),
        }))).collect::<serde_json::Map<_, _>>(),
    })
}

/// One farmer's public figures.
pub struct FarmerFigures<'a> {
    pub view: &'a FarmerView,
    pub space_bytes: f64,
    pub refused: Rejects,
    pub refused_hourly: Vec<Rejects>,
    pub last_refusal: Option<(u64, PoolErrorCode, String)>,
}

impl<'a> FarmerFigures<'a> {
    pub fn compute(pool: &Pool, view: &'a FarmerView) -> Self {
        let peak = pool.chain().peak();
        let (height, tx_height) = peak
            .as_ref()
            .map_or((0, 0), |p| (p.height, p.prev_tx_height));
        let space_bytes = space::estimate(
            pool.constants(),
            view.day.points_v1,
            view.day.points_v2,
            WINDOW_SECS as f64,
            height,
            tx_height,
        );
        let now = unix_now();
        let rejects = pool.stats().farmer_rejects(&view.record.launcher_id);
        let (refused, refused_hourly, last_refusal) = match rejects {
            Some(r) => (r.hourly.total(now), r.hourly.series(now), r.last),
            None => (Rejects::default(), vec![Rejects::default(); 24], None),
        };
        Self {
            view,
            space_bytes,
            refused,
            refused_hourly,
            last_refusal,
        }
    }
}

pub fn farmer(f: &FarmerFigures<'_>) -> Value {
    let v = f.view;
    let r = &v.record;
    json!({
        "launcher_id": hex::encode(r.launcher_id),
        "plotnft_version": v.plotnft_version,
        "membership": format::membership(r.membership),
        "difficulty": r.difficulty,
        "points_pending": v.pending_points,
        "points_confirmed": r.points,
        "lifetime_points": r.lifetime_points,
        "joined_at": r.joined_at,
        "last_partial_at": v.last_partial_ms.map(|ms| ms / 1000),
        "partials_24h": {
            "accepted": v.day.partials,
            "points": v.day.points(),
            "pending": v.pending_partials,
            "rejected_at_confirmation": v.rejected_at_confirmation,
            "refused": f.refused.total(),
            "refused_by_code": refused_json(&f.refused),
        },
        "estimated_space_bytes": f.space_bytes.round() as u64,
        "payouts": v.payouts.iter().take(5).map(|(id, at, line)| json!({
            "id": id, "created_at": at, "paid_mojos": line.paid,
        })).collect::<Vec<_>>(),
    })
}

pub fn farmer_response(pool: &Pool, id: &str) -> Response {
    let snap = pool.stats().snapshot();
    let Some(launcher) = parse_launcher(id) else {
        return error(
            StatusCode::BAD_REQUEST,
            "not a launcher id: 64 hex characters",
        );
    };
    match snap.farmer(&launcher) {
        Some(view) => json_response(&farmer(&FarmerFigures::compute(pool, view)), Cache::Public),
        None => error(StatusCode::NOT_FOUND, "no member with this launcher id"),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    let mut r = json_response(&json!({ "error": message }), Cache::Public);
    *r.status_mut() = status;
    r
}
