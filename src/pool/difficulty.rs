//! Per-farmer difficulty: aim for `target` partials per `time_target` seconds, in integer math with bounded
//! steps.
//!
//! The reference used only confirmed partials (so it lagged by the confirmation delay), floats, unbounded
//! steps and divided by zero when partials shared a timestamp. Here the input is the farmer's newest accepted
//! partials, each step changes difficulty by at most `max_step`×, and a silent farmer's difficulty decays so
//! that a farmer whose difficulty became too high (and who therefore sends nothing) recovers.

/// The knobs of the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DifficultyPolicy {
    pub min_difficulty: u64,
    /// Partials per `time_target_secs` the controller aims for.
    pub target_partials: u32,
    pub time_target_secs: u64,
    /// Largest factor of one adjustment, up or down.
    pub max_step: u64,
    /// Highest difficulty the controller sets ([pool] max_difficulty).
    pub max_difficulty: u64,
}

/// The difficulty to use next, given the current one, the newest partials `(unix ms, difficulty)` (oldest
/// first; the partial just accepted is the last) and the current time.
pub fn next_difficulty(
    policy: &DifficultyPolicy,
    current: u64,
    recent: &[(u64, u64)],
    now_ms: u64,
) -> u64 {
    let current = current
        .min(policy.max_difficulty)
        .max(policy.min_difficulty);
    let Some(&(newest_ms, _)) = recent.last() else {
        return current;
    };
    // A farmer silent for a long time has too high a difficulty: decay it.
    let silent_ms = now_ms.saturating_sub(newest_ms);
    if silent_ms > 3 * 3_600_000 {
        return bounded(policy, current, current / policy.max_step.max(2));
    }
    if silent_ms > 3_600_000 {
        return bounded(policy, current, current - current / 3);
    }
    // Only judge partials earned at the current difficulty: a change needs fresh evidence.
    let window: Vec<u64> = recent
        .iter()
        .rev()
        .take_while(|&&(_, d)| d == current)
        .map(|&(t, _)| t)
        .collect();
    let count = window.len() as u64;
    if count < 2 {
        return current;
    }
    let oldest_ms = window[window.len() - 1];
    let span_ms = newest_ms.saturating_sub(oldest_ms);
    let target = u64::from(policy.target_partials.max(2));
    let target_span_ms = policy.time_target_secs.saturating_mul(1000);
    if count < target && span_ms < target_span_ms {
        // Too few partials to tell yet. Several proofs at one signage point arrive together, so a short burst
        // is no evidence; half the target arriving far too fast is.
        if count < target / 2 {
            return current;
        }
        let expected_ms = target_span_ms / target * (count - 1);
        if span_ms.saturating_mul(policy.max_step) >= expected_ms {
            return current;
        }
    }
    // Rate observed: (count - 1) intervals over span; wanted: target per time target.
    // new = current * (count - 1) * target_span / (span * target), computed in u128.
    let intervals = u128::from(count - 1);
    let span = u128::from(span_ms.max(1));
    let proposed =
        u128::from(current) * intervals * u128::from(target_span_ms) / (span * u128::from(target));
    bounded(policy, current, u64::try_from(proposed).unwrap_or(u64::MAX))
}

/// Signage points that reached the node this soon after a difficulty change may still have been answered at the
/// old difficulty (the farmer had not yet read the pool's answer).
pub const CHANGE_GRACE_MS: u64 = 5_000;

/// The difficulty a partial was made for: the farmer's difficulty when its signage point came. The 2.7.5
/// farmer sends all proofs of one signage point at once; when the first answer changes the difficulty, the
/// rest were still made at the old one. `recent` is the farmer's newest partials as `next_difficulty` takes
/// them (only partials at the difficulty current when they were recorded), so the last entry at another
/// difficulty than `current` is the partial whose answer changed it.
pub fn difficulty_at_signage_point(current: u64, recent: &[(u64, u64)], sp_time_ms: u64) -> u64 {
    match recent.iter().rev().find(|&&(_, d)| d != current) {
        Some(&(changed_ms, previous))
            if sp_time_ms < changed_ms.saturating_add(CHANGE_GRACE_MS) =>
        {
            previous
        }
        _ => current,
    }
}

/// Clamps a proposal to one bounded step from `current` and to the pool's maximum and minimum.
fn bounded(policy: &DifficultyPolicy, current: u64, proposed: u64) -> u64 {
    let step = policy.max_step.max(2);
    let low = (current / step).max(1);
    let high = current.saturating_mul(step);
    proposed
        .clamp(low, high)
        .min(policy.max_difficulty)
        .max(policy.min_difficulty)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: DifficultyPolicy = DifficultyPolicy {
        min_difficulty: 1,
        target_partials: 20,
        time_target_secs: 3600,
        max_step: 4,
        max_difficulty: u64::MAX,
    };

    /// `n` partials at difficulty `d`, `gap_s` seconds apart, ending at `end_ms`.
    fn partials(n: u64, d: u64, gap_s: u64, end_ms: u64) -> Vec<(u64, u64)> {
        (0..n)
            .map(|i| (end_ms - (n - 1 - i) * gap_s * 1000, d))
            .collect()
    }

    #[test]
    fn on_target_keeps_difficulty() {
        // 20 partials per hour = one every 180 s.
        let p = partials(20, 100, 180, 10_000_000);
        let d = next_difficulty(&POLICY, 100, &p, 10_000_000);
        assert!((90..=110).contains(&d), "{d}");
    }

    #[test]
    fn too_fast_raises_within_one_step() {
        let p = partials(20, 100, 18, 10_000_000); // ten times too fast
        assert_eq!(next_difficulty(&POLICY, 100, &p, 10_000_000), 400);
        let burst = partials(10, 100, 0, 10_000_000); // same timestamp: no division by zero
        assert_eq!(next_difficulty(&POLICY, 100, &burst, 10_000_000), 400);
        let small_burst = partials(4, 100, 0, 10_000_000); // proofs of one signage point arrive together
        assert_eq!(next_difficulty(&POLICY, 100, &small_burst, 10_000_000), 100);
    }

    #[test]
    fn too_slow_lowers_within_one_step() {
        let p = partials(20, 100, 1800, 100_000_000); // ten times too slow
        assert_eq!(next_difficulty(&POLICY, 100, &p, 100_000_000), 25);
    }

    #[test]
    fn few_partials_wait_for_evidence() {
        let p = partials(3, 100, 200, 10_000_000);
        assert_eq!(next_difficulty(&POLICY, 100, &p, 10_000_000), 100);
        assert_eq!(next_difficulty(&POLICY, 100, &p[..1], 10_000_000), 100);
        assert_eq!(next_difficulty(&POLICY, 100, &[], 10_000_000), 100);
    }

    #[test]
    fn partials_at_an_old_difficulty_are_not_evidence() {
        let p = partials(20, 50, 18, 10_000_000);
        assert_eq!(next_difficulty(&POLICY, 100, &p, 10_000_000), 100);
    }

    #[test]
    fn partials_in_flight_keep_the_difficulty_of_their_signage_point() {
        // The partial at 10_000_000 raised the difficulty from 100 to 400; two more came at 400 since.
        let recent = [(9_000_000, 100), (10_000_000, 100), (10_500_000, 400)];
        // Its signage point came before the change, or within the grace: the old difficulty.
        assert_eq!(difficulty_at_signage_point(400, &recent, 9_999_000), 100);
        assert_eq!(
            difficulty_at_signage_point(400, &recent, 10_000_000 + CHANGE_GRACE_MS - 1),
            100
        );
        // After it: the current one.
        assert_eq!(
            difficulty_at_signage_point(400, &recent, 10_000_000 + CHANGE_GRACE_MS),
            400
        );
        // No change on record (or none yet): the current one.
        assert_eq!(difficulty_at_signage_point(400, &recent[2..], 1), 400);
        assert_eq!(difficulty_at_signage_point(400, &[], 1), 400);
        // A decrease works the same way.
        assert_eq!(difficulty_at_signage_point(25, &[(5_000, 100)], 4_000), 100);
    }

    #[test]
    fn silence_decays_and_minimum_holds() {
        let p = partials(20, 1000, 180, 10_000_000);
        let later = 10_000_000 + 2 * 3_600_000;
        assert_eq!(next_difficulty(&POLICY, 1000, &p, later), 667);
        let much_later = 10_000_000 + 4 * 3_600_000;
        assert_eq!(next_difficulty(&POLICY, 1000, &p, much_later), 250);
        let floor = DifficultyPolicy {
            min_difficulty: 300,
            ..POLICY
        };
        assert_eq!(next_difficulty(&floor, 1000, &p, much_later), 300);
        let ceiling = DifficultyPolicy {
            max_difficulty: 300,
            ..POLICY
        };
        let fast = partials(20, 100, 18, 10_000_000);
        assert_eq!(next_difficulty(&ceiling, 100, &fast, 10_000_000), 300);
        assert_eq!(next_difficulty(&ceiling, 5000, &[], 10_000_000), 300);
        assert_eq!(
            next_difficulty(&POLICY, u64::MAX, &partials(20, u64::MAX, 0, 5), 5),
            u64::MAX
        );
    }
}
