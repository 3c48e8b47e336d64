//! Proof-of-space checks as chia-blockchain 2.7.5 makes them (`verify_and_get_quality_string`,
//! `calculate_iterations_quality`), for v1 (chiapos) and v2 plots.

use chia_protocol::{Bytes32, ProofOfSpace};
use chia_traits::Streamable;
use num_bigint::BigUint;
use sha2::{Digest, Sha256};

use super::constants::ConsensusConstants;
use super::pos_v1::validate_proof_v1;

/// Where on the chain a proof is checked: the signage point (or end of slot) and the heights around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofContext {
    /// The slot challenge `C_n` (an SP's `cc_vdf.challenge`, or the EOS hash itself).
    pub challenge_hash: Bytes32,
    pub sp_hash: Bytes32,
    /// Peak height: selects the v1 prefix-bit filter.
    pub height: u32,
    /// Height of the latest transaction block: v1 phase-out, v2 activation, filter and strength compensation.
    pub prev_tx_height: u32,
    /// v2 only: the challenge the predictable filter uses (`C_{n-1}` for index >= 16, else `C_{n-2}`).
    pub filter_challenge: Option<Bytes32>,
    /// v2 only: the signage point index (0 for an end of slot).
    pub signage_point_index: Option<u8>,
}

/// Why a proof is not valid; each maps to the protocol's INVALID_PROOF.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("proof_of_space.version {0} is unknown: 0 is a v1 plot, 1 a v2 plot")]
    UnknownVersion(u8),
    #[error("v1 plots are phased out at transaction height {prev_tx_height} for this proof")]
    V1PhasedOut { prev_tx_height: u32 },
    #[error("v2 plots are not valid before height {activation} (transaction height is {prev_tx_height})")]
    V2NotActive {
        prev_tx_height: u32,
        activation: u32,
    },
    #[error(
        "proof_of_space must carry exactly one of pool_public_key and pool_contract_puzzle_hash"
    )]
    PoolIdentity,
    #[error("proof_of_space.size k={size} is outside the allowed {min}..={max}")]
    SizeOutOfRange { size: u8, min: u8, max: u8 },
    #[error("proof_of_space.strength {strength} is outside the allowed {min}..={max}")]
    StrengthOutOfRange { strength: u8, min: u8, max: u8 },
    #[error("proof_of_space.challenge does not match the plot id, challenge and signage point")]
    ChallengeMismatch,
    #[error("v2 proofs need the filter challenge and signage point index of their signage point")]
    MissingFilterInputs,
    #[error("the plot does not pass the v1 plot filter ({prefix_bits} prefix bits)")]
    V1FilterFailed { prefix_bits: u8 },
    #[error("the plot does not pass the v2 plot filter ({filter_bits} bits)")]
    V2FilterFailed { filter_bits: u8 },
    #[error("proof_of_space.proof is {len} bytes; v1 proofs must be under 2000 bytes")]
    ProofTooLarge { len: usize },
    #[error("proof_of_space.proof is not a valid proof of space for this plot and challenge")]
    InvalidProof,
}

/// The first step of every check: `sha256(plot_id ‖ challenge_hash ‖ sp_hash)`.
pub fn plot_filter_input(
    plot_id: &Bytes32,
    challenge_hash: &Bytes32,
    sp_hash: &Bytes32,
) -> Bytes32 {
    let mut h = Sha256::new();
    h.update(plot_id);
    h.update(challenge_hash);
    h.update(sp_hash);
    Bytes32::new(h.finalize().into())
}

/// The challenge a proof must answer: `sha256(plot_filter_input)`.
pub fn pos_challenge(plot_id: &Bytes32, challenge_hash: &Bytes32, sp_hash: &Bytes32) -> Bytes32 {
    Bytes32::new(Sha256::digest(plot_filter_input(plot_id, challenge_hash, sp_hash)).into())
}

/// `sha256(u8(strength) ‖ plot_public_key ‖ pool contract hash or pool public key)`; the v2 filter's key.
pub fn plot_group_id(pos: &ProofOfSpace) -> Option<Bytes32> {
    let mut h = Sha256::new();
    h.update([pos.strength]);
    h.update(pos.plot_public_key.to_bytes());
    match (&pos.pool_contract_puzzle_hash, &pos.pool_public_key) {
        (Some(ph), None) => h.update(ph),
        (None, Some(pk)) => h.update(pk.to_bytes()),
        _ => return None,
    }
    Some(Bytes32::new(h.finalize().into()))
}

/// The plot id, or None when the proof does not name exactly one pool identity or has an unknown version.
pub fn plot_id(pos: &ProofOfSpace) -> Option<Bytes32> {
    match pos.version {
        0 => {
            let mut h = Sha256::new();
            match (&pos.pool_contract_puzzle_hash, &pos.pool_public_key) {
                (Some(ph), None) => h.update(ph),
                (None, Some(pk)) => h.update(pk.to_bytes()),
                _ => return None,
            }
            h.update(pos.plot_public_key.to_bytes());
            Some(Bytes32::new(h.finalize().into()))
        }
        1 => {
            let group = plot_group_id(pos)?;
            let mut h = Sha256::new();
            h.update(group);
            h.update(pos.plot_index.to_be_bytes());
            h.update([pos.meta_group]);
            Some(Bytes32::new(h.finalize().into()))
        }
        _ => None,
    }
}

/// Bits of the v1 prefix filter at a peak height.
pub fn v1_prefix_bits(c: &ConsensusConstants, height: u32) -> u8 {
    let reduction = if height >= c.plot_filter_32_height {
        4
    } else if height >= c.plot_filter_64_height {
        3
    } else if height >= c.plot_filter_128_height {
        2
    } else if height >= c.hard_fork_height {
        1
    } else {
        0
    };
    c.number_zero_bits_plot_filter_v1.saturating_sub(reduction)
}

/// The v2 base filter bits at a transaction height: one bit fewer at each scheduled height after the fork.
pub fn v2_base_filter_bits(c: &ConsensusConstants, prev_tx_height: u32) -> u8 {
    let base = c.number_zero_bits_plot_filter_v2;
    let relative = i64::from(prev_tx_height) - i64::from(c.hard_fork2_height);
    if relative <= 0 {
        return base;
    }
    let reductions = c
        .plot_filter_v2_relative_height
        .iter()
        .filter(|&&t| relative >= i64::from(t))
        .count();
    base.saturating_sub(u8::try_from(reductions).unwrap_or(u8::MAX))
}

/// The v2 filter bits of a plot group: base plus the strength above the minimum, capped.
pub fn v2_filter_bits(c: &ConsensusConstants, prev_tx_height: u32, strength: u8) -> u8 {
    let delta = strength.saturating_sub(c.min_plot_strength);
    v2_base_filter_bits(c, prev_tx_height)
        .saturating_add(delta)
        .min(c.max_effective_plot_filter_bits)
}

/// The predictable v2 filter: a plot group passes at the signage points whose index in the window matches
/// its meta group under the mask.
pub fn passes_v2_filter(
    group_id: &Bytes32,
    meta_group: u8,
    filter_bits: u8,
    filter_challenge: &Bytes32,
    signage_point_index: u8,
    window_size: u8,
) -> bool {
    let mask: u32 = if filter_bits >= 32 {
        u32::MAX
    } else {
        (1u32 << filter_bits) - 1
    };
    let mut h = Sha256::new();
    h.update(group_id);
    h.update(filter_challenge);
    let digest = h.finalize();
    let effective = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) & mask;
    let target =
        (u32::from(signage_point_index % window_size.max(1)) ^ u32::from(meta_group)) & mask;
    effective == target
}

/// Whether a v1 proof has been phased out at this transaction height (a random share of proofs per epoch).
pub fn is_v1_phased_out(c: &ConsensusConstants, proof: &[u8], prev_tx_height: u32) -> bool {
    if prev_tx_height < c.hard_fork2_height {
        return false;
    }
    let mask = (1u16 << c.plot_v1_phase_out_epoch_bits) - 1;
    let cut_off = i64::from(c.hard_fork2_height) + i64::from(mask) * i64::from(c.epoch_blocks);
    // Python floors this division; div_euclid does the same for a positive divisor.
    let counter = (cut_off - i64::from(prev_tx_height)).div_euclid(i64::from(c.epoch_blocks));
    if counter < 0 {
        return true;
    }
    let mut h = Sha256::new();
    h.update(proof);
    h.update(b"chia proof-of-space v1 phase-out");
    let value = i64::from(u16::from(h.finalize()[0]) & mask);
    value >= counter
}

/// `verify_and_get_quality_string` of chia-blockchain 2.7.5: the proof's quality string, or why it is invalid.
pub fn verify_and_get_quality_string(
    pos: &ProofOfSpace,
    c: &ConsensusConstants,
    ctx: &ProofContext,
) -> Result<Bytes32, ProofError> {
    let is_v2 = match pos.version {
        0 => false,
        1 => true,
        v => return Err(ProofError::UnknownVersion(v)),
    };
    if !is_v2 && is_v1_phased_out(c, &pos.proof, ctx.prev_tx_height) {
        return Err(ProofError::V1PhasedOut {
            prev_tx_height: ctx.prev_tx_height,
        });
    }
    if is_v2 && ctx.prev_tx_height < c.hard_fork2_height {
        return Err(ProofError::V2NotActive {
            prev_tx_height: ctx.prev_tx_height,
            activation: c.hard_fork2_height,
        });
    }
    if pos.pool_public_key.is_some() == pos.pool_contract_puzzle_hash.is_some() {
        return Err(ProofError::PoolIdentity);
    }
    if is_v2 {
        if pos.strength < c.min_plot_strength || pos.strength > c.max_plot_strength {
            return Err(ProofError::StrengthOutOfRange {
                strength: pos.strength,
                min: c.min_plot_strength,
                max: c.max_plot_strength,
            });
        }
    } else if pos.size < c.min_plot_size_v1 || pos.size > c.max_plot_size_v1 {
        return Err(ProofError::SizeOutOfRange {
            size: pos.size,
            min: c.min_plot_size_v1,
            max: c.max_plot_size_v1,
        });
    }
    let plot_id = plot_id(pos).ok_or(ProofError::PoolIdentity)?;
    let filter_input = plot_filter_input(&plot_id, &ctx.challenge_hash, &ctx.sp_hash);
    if Bytes32::new(Sha256::digest(filter_input).into()) != pos.challenge {
        return Err(ProofError::ChallengeMismatch);
    }

    if is_v2 {
        let (Some(filter_challenge), Some(sp_index)) =
            (&ctx.filter_challenge, ctx.signage_point_index)
        else {
            return Err(ProofError::MissingFilterInputs);
        };
        let group_id = plot_group_id(pos).ok_or(ProofError::PoolIdentity)?;
        let filter_bits = v2_filter_bits(c, ctx.prev_tx_height, pos.strength);
        if !passes_v2_filter(
            &group_id,
            pos.meta_group,
            filter_bits,
            filter_challenge,
            sp_index,
            c.filter_window_size,
        ) {
            return Err(ProofError::V2FilterFailed { filter_bits });
        }
        let chain = chia_pos2::validate_proof_v2(
            &plot_id.to_bytes(),
            c.plot_size_v2,
            &pos.challenge.to_bytes(),
            pos.strength,
            &pos.proof,
            c.testnet,
        )
        .ok_or(ProofError::InvalidProof)?;
        Ok(v2_quality_string(&chain.chain_links, pos.strength))
    } else {
        let prefix_bits = v1_prefix_bits(c, ctx.height);
        if !leading_bits_zero(&filter_input, prefix_bits) {
            return Err(ProofError::V1FilterFailed { prefix_bits });
        }
        if ctx.prev_tx_height >= c.soft_fork9_height && pos.proof.len() >= 2000 {
            return Err(ProofError::ProofTooLarge {
                len: pos.proof.len(),
            });
        }
        validate_proof_v1(
            &plot_id.to_bytes(),
            pos.size,
            &pos.challenge.to_bytes(),
            &pos.proof,
        )
        .map(Bytes32::new)
        .ok_or(ProofError::InvalidProof)
    }
}

fn v2_quality_string(chain_links: &[u64; chia_pos2::NUM_CHAIN_LINKS], strength: u8) -> Bytes32 {
    Bytes32::new(Sha256::digest(chia_pos2::serialize_quality(chain_links, strength)).into())
}

fn leading_bits_zero(bytes: &Bytes32, bits: u8) -> bool {
    let bits = usize::from(bits).min(256);
    let full = bits / 8;
    let rest = bits % 8;
    bytes[..full].iter().all(|&b| b == 0) && (rest == 0 || bytes[full] >> (8 - rest) == 0)
}

/// The plot size the iteration formula divides by: `(2k+1)·2^(k-1)` for v1; for v2 `2^K·(K+1.46)/8` (a Python
/// float, reproduced in f64) scaled by the strength compensation `2^(filter_bits − base_bits)`.
pub fn expected_plot_size(c: &ConsensusConstants, pos: &ProofOfSpace, prev_tx_height: u32) -> u64 {
    if pos.version == 0 {
        let k = u32::from(pos.size).clamp(1, 63);
        (2 * u64::from(k) + 1).saturating_mul(1u64 << (k - 1))
    } else {
        let k = i32::from(c.plot_size_v2);
        let size = (2f64.powi(k) * (f64::from(k) + 1.46) / 8.0) as u64;
        let shift = v2_filter_bits(c, prev_tx_height, pos.strength)
            .saturating_sub(v2_base_filter_bits(c, prev_tx_height));
        size.checked_shl(u32::from(shift)).unwrap_or(u64::MAX)
    }
}

/// `calculate_iterations_quality` of 2.7.5: `max(1, difficulty · DCF · sha256(quality ‖ sp_hash) / (2^256 ·
/// expected_size))`, saturating at u64::MAX where Python would raise.
pub fn required_iterations(
    c: &ConsensusConstants,
    pos: &ProofOfSpace,
    quality_string: &Bytes32,
    sp_hash: &Bytes32,
    difficulty: u64,
    prev_tx_height: u32,
) -> u64 {
    let mut h = Sha256::new();
    h.update(quality_string);
    h.update(sp_hash);
    let sp_quality = BigUint::from_bytes_be(&h.finalize());
    let size = expected_plot_size(c, pos, prev_tx_height).max(1);
    let numerator =
        BigUint::from(difficulty) * BigUint::from(c.difficulty_constant_factor) * sp_quality;
    let denominator = BigUint::from(size) << 256u32;
    let iters = numerator / denominator;
    u64::try_from(iters).unwrap_or(u64::MAX).max(1)
}

/// chia's `ProofOfSpace.get_hash()`: `sha256(bytes)` for v1; for v2 the digest covers the quality string in
/// place of the proof, so equivalent encodings of one proof share a hash. Takes the quality string that
/// `verify_and_get_quality_string` returned: a v2 hash exists only for a valid proof.
pub fn proof_get_hash(pos: &ProofOfSpace, quality_string: &Bytes32) -> Bytes32 {
    let mut h = Sha256::new();
    if pos.version == 0 {
        let mut bytes = Vec::with_capacity(pos.proof.len() + 180);
        // Streaming a version-0 proof cannot fail.
        let _ = pos.stream(&mut bytes);
        h.update(bytes);
        return Bytes32::new(h.finalize().into());
    }
    h.update(pos.challenge);
    match &pos.pool_public_key {
        Some(pk) => {
            h.update([1u8]);
            h.update(pk.to_bytes());
        }
        None => h.update([0u8]),
    }
    match &pos.pool_contract_puzzle_hash {
        Some(ph) => {
            h.update([0b11u8]);
            h.update(ph);
        }
        None => h.update([0b10u8]),
    }
    h.update(pos.plot_public_key.to_bytes());
    h.update(pos.plot_index.to_be_bytes());
    h.update([pos.meta_group, pos.strength]);
    h.update(quality_string);
    Bytes32::new(h.finalize().into())
}
