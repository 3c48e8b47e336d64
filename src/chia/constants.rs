//! Consensus constants, read from the node's `get_constants` JSON (UPPER_SNAKE_CASE keys).
//!
//! The key set changes between chia releases, so only the keys the pool uses are read and the rest ignored.
//! Mainnet and testnet11 values as chia-blockchain 2.7.5 defines them are built in (`networks/*.json`, dumped
//! from that release).

use chia_protocol::Bytes32;
use serde::{Deserialize, Deserializer};

use super::wire::decode_hex_array;

#[derive(Debug, thiserror::Error)]
pub enum ConstantsError {
    #[error("consensus constants JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("consensus constant {key} = {value} is invalid: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("unknown network {0:?}: built-in constants exist for mainnet and testnet11; other networks read them from the node")]
    UnknownNetwork(String),
}

/// The consensus constants the pool needs, named as in chia.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct ConsensusConstants {
    #[serde(deserialize_with = "bytes32")]
    pub genesis_challenge: Bytes32,
    #[serde(deserialize_with = "bytes32")]
    pub agg_sig_me_additional_data: Bytes32,
    pub pool_sub_slot_iters: u64,
    pub num_sps_sub_slot: u8,
    /// 2^67 on mainnet: wider than u64.
    pub difficulty_constant_factor: u128,
    pub epoch_blocks: u32,
    pub hard_fork_height: u32,
    pub hard_fork2_height: u32,
    pub soft_fork9_height: u32,
    pub plot_filter_128_height: u32,
    pub plot_filter_64_height: u32,
    pub plot_filter_32_height: u32,
    #[serde(rename = "NUMBER_ZERO_BITS_PLOT_FILTER_V1")]
    pub number_zero_bits_plot_filter_v1: u8,
    #[serde(rename = "NUMBER_ZERO_BITS_PLOT_FILTER_V2")]
    pub number_zero_bits_plot_filter_v2: u8,
    #[serde(rename = "MIN_PLOT_SIZE_V1")]
    pub min_plot_size_v1: u8,
    #[serde(rename = "MAX_PLOT_SIZE_V1")]
    pub max_plot_size_v1: u8,
    #[serde(rename = "PLOT_SIZE_V2")]
    pub plot_size_v2: u8,
    pub min_plot_strength: u8,
    pub max_plot_strength: u8,
    #[serde(rename = "PLOT_V1_PHASE_OUT_EPOCH_BITS")]
    pub plot_v1_phase_out_epoch_bits: u8,
    /// Heights after the second fork at which the v2 base filter loses one bit. 2.7.5 hard-codes the same list.
    #[serde(
        rename = "PLOT_FILTER_V2_RELATIVE_HEIGHT",
        default = "default_filter_v2_heights"
    )]
    pub plot_filter_v2_relative_height: Vec<u32>,
    #[serde(default = "default_filter_window_size")]
    pub filter_window_size: u8,
    #[serde(default = "default_max_effective_plot_filter_bits")]
    pub max_effective_plot_filter_bits: u8,
    pub max_block_cost_clvm: u64,
    pub cost_per_byte: u64,
    #[serde(rename = "TESTNET", default)]
    pub testnet: bool,
}

fn default_filter_v2_heights() -> Vec<u32> {
    vec![
        50_494_000, 45_444_000, 40_394_000, 35_343_000, 30_298_000, 25_247_000, 20_197_000,
        15_146_000, 10_101_000,
    ]
}
fn default_filter_window_size() -> u8 {
    16
}
fn default_max_effective_plot_filter_bits() -> u8 {
    13
}

fn bytes32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Bytes32, D::Error> {
    let text = String::deserialize(deserializer)?;
    decode_hex_array::<32>(&text)
        .map(Bytes32::new)
        .map_err(serde::de::Error::custom)
}

const MAINNET_JSON: &str = include_str!("networks/mainnet.json");
const TESTNET11_JSON: &str = include_str!("networks/testnet11.json");

impl ConsensusConstants {
    /// Parses `get_constants` output: either the whole RPC answer `{"constants": {...}}` or the bare object.
    pub fn from_json(text: &str) -> Result<Self, ConstantsError> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        Self::from_value(value)
    }

    pub fn from_value(value: serde_json::Value) -> Result<Self, ConstantsError> {
        let inner = match value {
            serde_json::Value::Object(mut map) if map.contains_key("constants") => {
                map.remove("constants").unwrap_or(serde_json::Value::Null)
            }
            other => other,
        };
        let constants: Self = serde_json::from_value(inner)?;
        constants.validate()?;
        Ok(constants)
    }

    /// Built-in constants of a network chia ships (`mainnet`, `testnet11`).
    pub fn for_network(name: &str) -> Result<Self, ConstantsError> {
        match name {
            "mainnet" => Self::from_json(MAINNET_JSON),
            "testnet11" => Self::from_json(TESTNET11_JSON),
            other => Err(ConstantsError::UnknownNetwork(other.to_string())),
        }
    }

    /// The built-in mainnet `get_constants` answer, for tools that start from it and override some keys.
    pub fn mainnet_json() -> &'static str {
        MAINNET_JSON
    }

    pub fn mainnet() -> Self {
        // The embedded file is checked by a unit test, so this cannot fail at run time.
        Self::for_network("mainnet").expect("embedded mainnet constants are valid")
    }

    /// Rejects values that would make the arithmetic below divide by zero or shift out of range.
    fn validate(&self) -> Result<(), ConstantsError> {
        let invalid =
            |key, value: String, reason| Err(ConstantsError::Invalid { key, value, reason });
        if self.num_sps_sub_slot == 0 {
            return invalid("NUM_SPS_SUB_SLOT", "0".into(), "must be positive");
        }
        if self.epoch_blocks == 0 {
            return invalid("EPOCH_BLOCKS", "0".into(), "must be positive");
        }
        if self.plot_v1_phase_out_epoch_bits > 8 {
            return invalid(
                "PLOT_V1_PHASE_OUT_EPOCH_BITS",
                self.plot_v1_phase_out_epoch_bits.to_string(),
                "must be at most 8 (one byte of the proof hash is compared)",
            );
        }
        if self.plot_size_v2 == 0 || self.plot_size_v2 > 50 {
            return invalid(
                "PLOT_SIZE_V2",
                self.plot_size_v2.to_string(),
                "must be in 1..=50",
            );
        }
        if self.max_plot_size_v1 > 59 {
            return invalid(
                "MAX_PLOT_SIZE_V1",
                self.max_plot_size_v1.to_string(),
                "must be at most 59",
            );
        }
        if self.max_effective_plot_filter_bits > 32 {
            return invalid(
                "MAX_EFFECTIVE_PLOT_FILTER_BITS",
                self.max_effective_plot_filter_bits.to_string(),
                "must be at most 32",
            );
        }
        if self.filter_window_size == 0 {
            return invalid("FILTER_WINDOW_SIZE", "0".into(), "must be positive");
        }
        Ok(())
    }

    /// Iterations a partial must beat: `POOL_SUB_SLOT_ITERS // NUM_SPS_SUB_SLOT` (the farmer's own cut).
    pub fn pool_iters_limit(&self) -> u64 {
        self.pool_sub_slot_iters / u64::from(self.num_sps_sub_slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_networks_parse() {
        let main = ConsensusConstants::mainnet();
        assert_eq!(
            hex::encode(main.genesis_challenge),
            "ccd5bb71183532bff220ba46c268991a3ff07eb358e8255a65c30a2dce0e5fbb"
        );
        assert_eq!(main.difficulty_constant_factor, 1u128 << 67);
        assert_eq!(main.pool_iters_limit(), 587_500_000);
        let test = ConsensusConstants::for_network("testnet11").unwrap();
        assert_eq!(test.min_plot_size_v1, 18);
        assert_ne!(test.genesis_challenge, main.genesis_challenge);
        assert!(ConsensusConstants::for_network("nope").is_err());
    }

    #[test]
    fn bare_object_and_rpc_answer_both_parse() {
        let wrapped: serde_json::Value = serde_json::from_str(MAINNET_JSON).unwrap();
        let bare = wrapped["constants"].clone();
        assert_eq!(
            ConsensusConstants::from_value(bare).unwrap(),
            ConsensusConstants::from_value(wrapped).unwrap()
        );
    }

    #[test]
    fn bad_values_are_named() {
        let mut v: serde_json::Value = serde_json::from_str(MAINNET_JSON).unwrap();
        v["constants"]["EPOCH_BLOCKS"] = 0.into();
        let err = ConsensusConstants::from_value(v.clone())
            .unwrap_err()
            .to_string();
        assert!(err.contains("EPOCH_BLOCKS"), "{err}");
        v["constants"]["EPOCH_BLOCKS"] = 4608.into();
        v["constants"]["GENESIS_CHALLENGE"] = "0x1234".into();
        let err = ConsensusConstants::from_value(v).unwrap_err().to_string();
        assert!(err.contains("32 bytes"), "{err}");
    }
}
