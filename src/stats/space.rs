//! Estimated farm space from points, derived from the iteration rules partials are judged by.
//!
//! A plot that passes the plot filter (probability `2^-f`) answers a signage point with, on average, one proof
//! whose quality `q = sha256(quality ‖ sp_hash) / 2^256` is uniform in [0, 1). The proof needs
//! `iters = D · DCF · q / S` iterations at difficulty `D`, where `S` is the plot's expected size
//! (`(2k+1)·2^(k-1)` for v1; for v2 `2^K·(K+1.46)/8` times the strength compensation `2^(f_strength − f)`).
//! A partial is accepted when `iters < L` with `L = POOL_SUB_SLOT_ITERS / NUM_SPS_SUB_SLOT`, so with
//! probability `L·S / (D·DCF)`, and earns `D` points. Per signage point a plot therefore earns
//! `2^-f · L · S / DCF` points on average, whatever its difficulty. With `NUM_SPS_SUB_SLOT` signage points per
//! 600 s sub-slot, the point rate of a farm of total expected size `ΣS` is
//!
//! ```text
//! points/s = ΣS · POOL_SUB_SLOT_ITERS / (600 · 2^f · DCF)
//! ```
//!
//! and inverting it, with chia's display factor of 0.78 bytes per unit of expected size
//! (`UI_ACTUAL_SPACE_CONSTANT_FACTOR`, used for v1 and v2 alike):
//!
//! ```text
//! bytes = points/s · 600 · 2^f · DCF · 0.78 / POOL_SUB_SLOT_ITERS
//! ```
//!
//! `f` is the v1 prefix filter for v1 plots and the v2 base filter for v2 plots (the strength compensation
//! cancels: a stronger v2 plot passes the filter less often and needs proportionally fewer iterations). On
//! mainnet before the filter reductions a k32 plot (`S = 65·2^31`) earns about 10 points per day.

use crate::chia::constants::ConsensusConstants;
use crate::chia::proofs::{v1_prefix_bits, v2_base_filter_bits};

/// chia's `UI_ACTUAL_SPACE_CONSTANT_FACTOR`: bytes on disk per unit of expected plot size.
pub const BYTES_PER_SIZE_UNIT: f64 = 0.78;
/// The sub-slot time the consensus aims for (`SUB_SLOT_TIME_TARGET`, seconds).
pub const SUB_SLOT_SECS: f64 = 600.0;

/// Estimated bytes behind `points` earned in `window_secs` by plots whose filter has `filter_bits` bits.
pub fn bytes_from_points(
    c: &ConsensusConstants,
    points: u64,
    window_secs: f64,
    filter_bits: u8,
) -> f64 {
    if window_secs <= 0.0 || c.pool_sub_slot_iters == 0 {
        return 0.0;
    }
    let rate = points as f64 / window_secs;
    rate * SUB_SLOT_SECS
        * 2f64.powi(i32::from(filter_bits))
        * c.difficulty_constant_factor as f64
        * BYTES_PER_SIZE_UNIT
        / c.pool_sub_slot_iters as f64
}

/// Points per second a farm of `bytes` earns (the formula forwards; for tests and "expected" figures).
pub fn points_per_sec(c: &ConsensusConstants, bytes: f64, filter_bits: u8) -> f64 {
    let size_units = bytes / BYTES_PER_SIZE_UNIT;
    size_units * c.pool_sub_slot_iters as f64
        / (SUB_SLOT_SECS * 2f64.powi(i32::from(filter_bits)) * c.difficulty_constant_factor as f64)
}

/// Estimated space of v1 and v2 points earned in a window, at the filters in force at the given heights.
pub fn estimate(
    c: &ConsensusConstants,
    points_v1: u64,
    points_v2: u64,
    window_secs: f64,
    height: u32,
    prev_tx_height: u32,
) -> f64 {
    bytes_from_points(c, points_v1, window_secs, v1_prefix_bits(c, height))
        + bytes_from_points(
            c,
            points_v2,
            window_secs,
            v2_base_filter_bits(c, prev_tx_height),
        )
}

/// Points a block is expected to cost the pool: a block needs `iters < sub_slot_iters / NUM_SPS` at the chain
/// difficulty, a partial `iters < POOL_SUB_SLOT_ITERS / NUM_SPS` at difficulty 1 (one point), and the same
/// filter applies to both, so one block comes per `POOL_SUB_SLOT_ITERS · difficulty / sub_slot_iters` points.
pub fn points_per_block(c: &ConsensusConstants, difficulty: u64, sub_slot_iters: u64) -> f64 {
    if sub_slot_iters == 0 {
        return 0.0;
    }
    c.pool_sub_slot_iters as f64 * difficulty as f64 / sub_slot_iters as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const K32_SIZE: f64 = 65.0 * 2_147_483_648.0;
    const DAY: f64 = 86_400.0;

    #[test]
    fn a_k32_plot_earns_about_ten_points_a_day_at_the_original_filter() {
        let c = ConsensusConstants::mainnet();
        let per_day = points_per_sec(&c, K32_SIZE * BYTES_PER_SIZE_UNIT, 9) * DAY;
        assert!((per_day - 10.0).abs() < 0.2, "{per_day}");
        // Each halving of the filter doubles the points of the same plot.
        let per_day_7 = points_per_sec(&c, K32_SIZE * BYTES_PER_SIZE_UNIT, 7) * DAY;
        assert!((per_day_7 / per_day - 4.0).abs() < 1e-9);
    }

    #[test]
    fn estimate_inverts_the_point_rate() {
        let c = ConsensusConstants::mainnet();
        let bytes = 1e15; // 1 PB
        let points = (points_per_sec(&c, bytes, 8) * DAY).round() as u64;
        let back = bytes_from_points(&c, points, DAY, 8);
        assert!((back / bytes - 1.0).abs() < 1e-3, "{back}");
        assert_eq!(bytes_from_points(&c, 100, 0.0, 8), 0.0);
    }

    /// Monte Carlo over the acceptance rule itself: draw proof qualities, apply `iters = D·DCF·q/S < L`, count
    /// points, and compare with the closed form (difficulty must not matter).
    #[test]
    fn acceptance_rule_simulation_matches_the_formula() {
        let c = ConsensusConstants::mainnet();
        let limit = c.pool_iters_limit() as f64;
        let dcf = c.difficulty_constant_factor as f64;
        let filter_bits = 9u8;
        let signage_points = 100_000u64;
        let plots = 20_000u64;
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            // xorshift64*: deterministic, enough for a uniform draw.
            rng ^= rng >> 12;
            rng ^= rng << 25;
            rng ^= rng >> 27;
            (rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
        };
        for difficulty in [1u64, 4] {
            let mut points = 0u64;
            let passes = 1.0 / 2f64.powi(i32::from(filter_bits));
            for _ in 0..signage_points {
                // Plots passing the filter at this signage point, one proof each on average.
                let passing = (plots as f64 * passes + next()) as u64;
                for _ in 0..passing {
                    let iters = difficulty as f64 * dcf * next() / K32_SIZE;
                    if iters < limit {
                        points += difficulty;
                    }
                }
            }
            let secs = signage_points as f64 * SUB_SLOT_SECS / f64::from(c.num_sps_sub_slot);
            let simulated = points as f64 / secs;
            let formula = points_per_sec(
                &c,
                plots as f64 * K32_SIZE * BYTES_PER_SIZE_UNIT,
                filter_bits,
            );
            let ratio = simulated / formula;
            assert!(
                (ratio - 1.0).abs() < 0.15,
                "difficulty {difficulty}: simulated {simulated} vs formula {formula}"
            );
        }
    }

    #[test]
    fn expected_points_per_block() {
        let c = ConsensusConstants::mainnet();
        // At sub_slot_iters = POOL_SUB_SLOT_ITERS a block costs `difficulty` points.
        assert_eq!(points_per_block(&c, 5000, c.pool_sub_slot_iters), 5000.0);
        assert_eq!(points_per_block(&c, 5000, 0), 0.0);
    }
}
