//! `Config::validate`: every value that could break the pool at run time, refused at start with the key,
//! its value and the fix.

use super::{invalid, Config, ConfigError};

impl Config {
    /// Checks every value that could break the pool at run time; the reward address is checked by
    /// `pool_identity` because a pool may start without one and learn it from its wallet.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        if s.tls_cert.is_some() != s.tls_key.is_some() {
            return Err(invalid(
                "server",
                if s.tls_cert.is_some() {
                    "tls_key"
                } else {
                    "tls_cert"
                },
                "(unset)",
                "set both tls_cert and tls_key for HTTPS, or neither for plain HTTP",
            ));
        }
        if self.store.max_unwritable_secs == 0 {
            return Err(invalid(
                "store",
                "max_unwritable_secs",
                0,
                "must be at least 1",
            ));
        }
        self.acme_settings()?;
        if s.max_connections == 0 {
            return Err(invalid(
                "server",
                "max_connections",
                0,
                "must be at least 1",
            ));
        }
        if s.max_connections_per_ip == 0 {
            return Err(invalid(
                "server",
                "max_connections_per_ip",
                0,
                "must be at least 1",
            ));
        }
        for (key, value) in [
            ("header_timeout_secs", s.header_timeout_secs),
            ("idle_timeout_secs", s.idle_timeout_secs),
            ("body_timeout_secs", s.body_timeout_secs),
            (
                "requests_per_ip_per_sec",
                u64::from(s.requests_per_ip_per_sec),
            ),
            (
                "connections_per_ip_per_sec",
                u64::from(s.connections_per_ip_per_sec),
            ),
        ] {
            if value == 0 {
                return Err(invalid("server", key, 0, "must be at least 1"));
            }
        }
        if s.max_body_bytes < 4096 {
            return Err(invalid(
                "server",
                "max_body_bytes",
                s.max_body_bytes,
                "must be at least 4096",
            ));
        }
        for (key, url) in [
            ("node_url", &self.chia.node_url),
            ("wallet_url", &self.chia.wallet_url),
        ] {
            if !url.starts_with("https://") {
                return Err(invalid(
                    "chia",
                    key,
                    url,
                    "chia RPC is HTTPS only: use https://host:port",
                ));
            }
        }
        let p = &self.pool;
        if p.fee_basis_points > 10_000 {
            return Err(invalid(
                "pool",
                "fee_basis_points",
                p.fee_basis_points,
                "must be 0..=10000 (100 = 1 %)",
            ));
        }
        if p.min_difficulty == 0 {
            return Err(invalid("pool", "min_difficulty", 0, "must be at least 1"));
        }
        if p.default_difficulty < p.min_difficulty {
            return Err(invalid(
                "pool",
                "default_difficulty",
                p.default_difficulty,
                format!("must be at least min_difficulty ({})", p.min_difficulty),
            ));
        }
        if p.max_difficulty < p.default_difficulty {
            return Err(invalid(
                "pool",
                "max_difficulty",
                p.max_difficulty,
                format!(
                    "must be at least default_difficulty ({})",
                    p.default_difficulty
                ),
            ));
        }
        if p.relative_lock_height == 0 || p.relative_lock_height > 1000 {
            return Err(invalid(
                "pool",
                "relative_lock_height",
                p.relative_lock_height,
                "must be 1..=1000 (chia wallets refuse to join a pool above 1000)",
            ));
        }
        if p.protocols.is_empty() {
            return Err(invalid(
                "pool",
                "protocols",
                "[]",
                "must name at least one of \"v1\" and \"v2\"",
            ));
        }
        self.pool_memoization()?;
        if !p.reward_address.is_empty() {
            self.reward_puzzle_hash()?;
        }
        let pa = &self.partials;
        if pa.time_limit_secs == 0 {
            return Err(invalid(
                "partials",
                "time_limit_secs",
                0,
                "must be at least 1",
            ));
        }
        if pa.partials_target < 2 || pa.time_target_secs == 0 {
            return Err(invalid(
                "partials",
                "partials_target",
                pa.partials_target,
                "needs partials_target >= 2 and time_target_secs >= 1",
            ));
        }
        if pa.max_difficulty_step < 2 {
            return Err(invalid(
                "partials",
                "max_difficulty_step",
                pa.max_difficulty_step,
                "must be at least 2",
            ));
        }
        let po = &self.payouts;
        if po.max_additions_per_transaction == 0 || po.max_additions_per_transaction > 1000 {
            return Err(invalid(
                "payouts",
                "max_additions_per_transaction",
                po.max_additions_per_transaction,
                "must be 1..=1000",
            ));
        }
        self.fee_puzzle_hash()?;
        if po.interval_secs < 60 {
            return Err(invalid(
                "payouts",
                "interval_secs",
                po.interval_secs,
                "must be at least 60",
            ));
        }
        if self.auth.token_timeout_minutes == 0 {
            return Err(invalid(
                "auth",
                "token_timeout_minutes",
                0,
                "must be 1..=255",
            ));
        }
        if self.logging.level.trim().is_empty() {
            return Err(invalid(
                "logging",
                "level",
                "\"\"",
                "use error, warn, info, debug or trace",
            ));
        }
        Ok(())
    }
}
