//! Payout instructions as farmers send them: the 2.7.5 wallet sends 64 hex characters of a puzzle hash
//! (no 0x); people also paste addresses. Checked when they arrive so that one bad value can never block a
//! payout later.

use chia_protocol::Bytes32;

use crate::chia::address::{decode_address, decode_puzzle_hash};
use crate::chia::messages::PoolErrorCode;

use super::PoolError;

/// Longest payout instructions looked at: an address is 62 or 63 characters, a puzzle hash 64 or 66.
pub const MAX_LEN: usize = 128;

/// The puzzle hash payouts go to, or INVALID_PAYOUT_INSTRUCTIONS naming what is wrong. The pool stores it as
/// 64 lower-case hex characters, the form the 2.7.5 farmer sends.
pub fn parse(text: &str, network_prefix: &str) -> Result<Bytes32, PoolError> {
    if text.len() > MAX_LEN {
        return Err(invalid(
            text,
            &format!(
                "it is {} bytes long; at most {MAX_LEN} are accepted",
                text.len()
            ),
        ));
    }
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("xch1") || lower.starts_with("txch1") {
        let (prefix, ph) = decode_address(trimmed).map_err(|e| invalid(text, &e.to_string()))?;
        if prefix != network_prefix {
            return Err(invalid(
                text,
                &format!(
                    "it is a {prefix} address but this pool runs on a {network_prefix} network"
                ),
            ));
        }
        return Ok(ph);
    }
    decode_puzzle_hash(trimmed).map_err(|e| invalid(text, &e.to_string()))
}

fn invalid(text: &str, why: &str) -> PoolError {
    let shown: String = text.chars().take(100).collect();
    PoolError::new(
        PoolErrorCode::InvalidPayoutInstructions,
        format!("payout_instructions {shown:?}: {why}; send a puzzle hash as 64 hex characters or an address"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chia::address::encode_puzzle_hash;

    #[test]
    fn accepts_hex_and_own_network_addresses() {
        let ph = Bytes32::new([0x42; 32]);
        assert_eq!(parse(&hex::encode(ph), "xch").unwrap(), ph);
        assert_eq!(parse(&format!("0x{}", hex::encode(ph)), "xch").unwrap(), ph);
        assert_eq!(parse(&hex::encode(ph).to_uppercase(), "xch").unwrap(), ph);
        assert_eq!(parse(&encode_puzzle_hash(&ph, "xch"), "xch").unwrap(), ph);
        assert_eq!(parse(&encode_puzzle_hash(&ph, "txch"), "txch").unwrap(), ph);
    }

    #[test]
    fn refuses_everything_else_with_code_13() {
        let ph = Bytes32::new([0x42; 32]);
        for bad in [
            String::new(),
            "xch1example".into(),
            "abc".into(),
            hex::encode([1u8; 31]),
            encode_puzzle_hash(&ph, "txch"),
            "a".repeat(10_000),
        ] {
            let e = parse(&bad, "xch").unwrap_err();
            assert_eq!(e.code, PoolErrorCode::InvalidPayoutInstructions, "{bad}");
        }
    }
}
