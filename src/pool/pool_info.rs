//! GET /pool_info: what the pool tells a farmer before it joins (its name, fee, minimum difficulty, the
//! PlotNFT pool target and lock height), from the settings alone.

use chia_protocol::Program;

use crate::chia::messages::GetPoolInfoResponse;

use super::Pool;

impl Pool {
    /// The v2 answer (`pool_info_v1` gives the v1 one at the root).
    pub fn pool_info(&self) -> GetPoolInfoResponse {
        let s = self.settings();
        let c = &s.config;
        GetPoolInfoResponse {
            name: c.pool.name.clone(),
            logo_url: c.pool.logo_url.clone(),
            minimum_difficulty: c.pool.min_difficulty,
            relative_lock_height: s.plotnft_pool.heightlock,
            protocol_version: 2,
            fee: fee_fraction(c.pool.fee_basis_points),
            description: c.pool.description.clone(),
            target_puzzle_hash: s.plotnft_pool.pool_puzzle_hash,
            authentication_token_timeout: c.auth.token_timeout_minutes,
            pool_memoization: Program::new(s.plotnft_pool.pool_memoization.clone().into()),
        }
    }
}

/// The fee as the decimal fraction the original pool specification uses ("0.01" for 1 %).
fn fee_fraction(basis_points: u16) -> String {
    let whole = basis_points / 10_000;
    let frac = basis_points % 10_000;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:04}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fee_is_a_decimal_fraction() {
        assert_eq!(super::fee_fraction(100), "0.01");
        assert_eq!(super::fee_fraction(0), "0");
        assert_eq!(super::fee_fraction(250), "0.025");
        assert_eq!(super::fee_fraction(10_000), "1");
        assert_eq!(super::fee_fraction(1), "0.0001");
    }
}
