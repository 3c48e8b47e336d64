//! How figures are written on the pages (the same rules as assets/status.js where it refreshes them).

use crate::chia::messages::PoolErrorCode;
use crate::stats::Membership;

/// Binary units with two decimals: `1.50 TiB`.
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut n = if n.is_finite() { n.max(0.0) } else { 0.0 };
    let mut i = 0;
    while n >= 1024.0 && i < UNITS.len() - 1 {
        n /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n:.0} {}", UNITS[i])
    } else {
        format!("{n:.2} {}", UNITS[i])
    }
}

/// Mojo as XCH with 6 decimals.
pub fn xch(mojos: u64) -> String {
    format!("{:.6} XCH", mojos as f64 / 1e12)
}

/// Seconds as a short duration: `3 d 4 h`, `5 min`, `12 s`.
pub fn duration(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// "N ago" from a unix time, or "never".
pub fn ago(at: Option<u64>, now: u64) -> String {
    match at {
        Some(t) if t > 0 => format!("{} ago", duration(now.saturating_sub(t))),
        _ => "never".into(),
    }
}

/// An effort as a percentage, or a dash when unknown.
pub fn effort(e: Option<f64>) -> String {
    match e {
        Some(e) if e.is_finite() => format!("{:.0} %", e * 100.0),
        _ => "—".into(),
    }
}

pub fn membership(m: Membership) -> &'static str {
    match m {
        Membership::Pooling => "pooling",
        Membership::Leaving => "leaving (waiting room)",
        Membership::Left => "left",
    }
}

/// What a farmer can do about partials refused with `code`.
pub fn advice(code: PoolErrorCode) -> &'static str {
    use PoolErrorCode as C;
    match code {
        C::TooLate => "Partials arrived after the time limit: the farmer's node is slow or not synced, or harvesters take too long to look up proofs (see lookup times in the farmer log).",
        C::NotFound => "The pool's node never saw the signage point: the farmer's node is probably on a fork or behind; check that it is synced.",
        C::RevertedSignagePoint => "The signage point was undone by a reorg. Nothing to do unless it happens often.",
        C::InvalidProof => "The proof did not verify: a damaged plot. Run `chia plots check` and replace plots that fail.",
        C::ProofNotGoodEnough => "The proof was not good enough for the current difficulty, usually right after a difficulty change; it stops on its own.",
        C::InvalidDifficulty => "The suggested difficulty was refused; use a value at or above the pool's minimum.",
        C::InvalidSignature => "The signature did not match the PlotNFT's keys: check that the farmer runs with the keys that own this PlotNFT (`chia plotnft show`).",
        C::ServerException => "A problem on the pool's side; the operator has been told.",
        C::InvalidP2SingletonPuzzleHash => "The plots were made for another PlotNFT or pool contract: plot with this PlotNFT's contract address.",
        C::FarmerNotKnown => "The PlotNFT is not registered: the farmer registers by itself after joining; check its log for the pool's answer.",
        C::FarmerAlreadyKnown => "The PlotNFT was already registered; nothing to do.",
        C::InvalidAuthenticationToken => "The token was expired or invalid; the farmer fetches a new one by itself. If it persists, check the farmer's clock.",
        C::InvalidPayoutInstructions => "The payout address was refused: use an address of this network.",
        C::InvalidSingleton => "The PlotNFT is leaving or has left the pool: partials are not credited. Rejoin to farm here again.",
        C::DelayTimeTooShort => "The PlotNFT's waiting time is shorter than the pool requires.",
        C::RequestFailed => "Duplicate or malformed partials, for example the same plot on two harvesters.",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn figures() {
        assert_eq!(super::bytes(512.0), "512 B");
        assert_eq!(super::bytes(1.5 * 1024f64.powi(4)), "1.50 TiB");
        assert_eq!(super::xch(1_750_000_000_000), "1.750000 XCH");
        assert_eq!(super::duration(3 * 86_400 + 4 * 3600), "3 d 4 h");
        assert_eq!(super::effort(Some(1.234)), "123 %");
        assert_eq!(super::effort(Some(f64::NAN)), "—");
    }
}
