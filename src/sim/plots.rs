//! Real v2 plots made in the test with chia-pos2 (k = 18, testnet parameters) and a harvester that finds their
//! proofs for a signage point, as the farmer's harvester does.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::chia::constants::ConsensusConstants;
use crate::chia::proofs;
use chia_bls::{PublicKey, SecretKey};
use chia_pos2::Prover;
use chia_protocol::{Bytes, Bytes32, ProofOfSpace};

pub const K: u8 = 18;

/// A plot and the key that signs for it.
pub struct TestPlot {
    pub path: PathBuf,
    pub plot_id: Bytes32,
    pub plot_sk: SecretKey,
    pub contract: Bytes32,
    pub strength: u8,
    pub plot_index: u16,
    pub meta_group: u8,
    prover: Prover,
}

/// A plot file already made in this process: (pool contract, plot index, path).
type MadePlot = (Bytes32, u16, PathBuf);

/// Plots already made in this test process: making one takes a second or two.
static MADE: Mutex<Vec<MadePlot>> = Mutex::new(Vec::new());

fn template(
    plot_pk: PublicKey,
    contract: Bytes32,
    strength: u8,
    plot_index: u16,
    meta_group: u8,
) -> ProofOfSpace {
    ProofOfSpace {
        challenge: Bytes32::default(),
        pool_public_key: None,
        pool_contract_puzzle_hash: Some(contract),
        plot_public_key: plot_pk,
        version: 1,
        plot_index,
        meta_group,
        strength,
        size: 0,
        proof: Bytes::default(),
    }
}

impl TestPlot {
    /// A k=18 strength-2 plot whose pool contract is `contract` (a member's RewardPuzzle hash), made in a
    /// temporary directory once per process.
    pub fn create(contract: Bytes32, plot_index: u16) -> Self {
        let dir = std::env::temp_dir().join(format!("chia-pool-plots-{}", std::process::id()));
        let mut made = MADE.lock().expect("plot list");
        let known = made
            .iter()
            .find(|(c, i, _)| *c == contract && *i == plot_index)
            .map(|(_, _, path)| path.clone());
        let plot = Self::create_in(&dir, contract, plot_index).expect("create v2 plot");
        if known.is_none() {
            made.push((contract, plot_index, plot.path.clone()));
        }
        plot
    }

    /// The plot in `dir`, made there if it is not there yet (written aside, then renamed into place).
    pub fn create_in(dir: &Path, contract: Bytes32, plot_index: u16) -> Result<Self, String> {
        let strength = 2;
        let meta_group = 0;
        let mut seed = [0u8; 32];
        seed[..32].copy_from_slice(contract.as_ref());
        seed[0] ^= plot_index as u8;
        let plot_sk = SecretKey::from_seed(&seed);
        let plot_pk = plot_sk.public_key();
        let plot_id = proofs::plot_id(&template(
            plot_pk, contract, strength, plot_index, meta_group,
        ))
        .ok_or("no plot id")?;
        let path = dir.join(format!(
            "{}-{plot_index}.plot2",
            hex::encode(&contract[..8])
        ));
        if !path.exists() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            let partial = path.with_extension("tmp");
            // The memo holds what a farmer needs to sign: pool contract, farmer key, plot key.
            let mut memo = Vec::with_capacity(112);
            memo.extend_from_slice(contract.as_ref());
            memo.extend_from_slice(&plot_pk.to_bytes());
            memo.extend_from_slice(&plot_sk.to_bytes());
            chia_pos2::create_v2_plot(
                &partial,
                K,
                strength,
                &plot_id.to_bytes(),
                plot_index,
                meta_group,
                &memo,
                true,
            )
            .map_err(|e| format!("{e:?}"))?;
            std::fs::rename(&partial, &path).map_err(|e| e.to_string())?;
        }
        let prover = Prover::new(&path).map_err(|e| format!("{e:?}"))?;
        Ok(Self {
            path,
            plot_id,
            plot_sk,
            contract,
            strength,
            plot_index,
            meta_group,
            prover,
        })
    }

    pub fn plot_pk(&self) -> PublicKey {
        self.plot_sk.public_key()
    }

    /// Whether the plot passes the v2 filter at this signage point index and filter challenge.
    pub fn passes_filter(
        &self,
        c: &ConsensusConstants,
        prev_tx_height: u32,
        sp_index: u8,
        filter_challenge: &Bytes32,
    ) -> bool {
        let pos = template(
            self.plot_pk(),
            self.contract,
            self.strength,
            self.plot_index,
            self.meta_group,
        );
        let group = proofs::plot_group_id(&pos).expect("group id");
        let bits = proofs::v2_filter_bits(c, prev_tx_height, self.strength);
        proofs::passes_v2_filter(
            &group,
            self.meta_group,
            bits,
            filter_challenge,
            sp_index,
            c.filter_window_size,
        )
    }

    /// The plot's proofs for a signage point (none if it has none for this challenge).
    pub fn proofs(&self, challenge_hash: &Bytes32, sp_hash: &Bytes32) -> Vec<ProofOfSpace> {
        let challenge = proofs::pos_challenge(&self.plot_id, challenge_hash, sp_hash);
        let chains = self
            .prover
            .get_qualities_for_challenge(&challenge.to_bytes())
            .unwrap_or_default();
        chains
            .iter()
            .filter_map(|chain| {
                let proof =
                    chia_pos2::solve_proof(chain, &self.plot_id.to_bytes(), K, self.strength, true);
                if proof.is_empty() {
                    return None;
                }
                let mut pos = template(
                    self.plot_pk(),
                    self.contract,
                    self.strength,
                    self.plot_index,
                    self.meta_group,
                );
                pos.challenge = challenge;
                pos.proof = Bytes::new(proof);
                Some(pos)
            })
            .collect()
    }
}

/// A partial as the farmer signs it: the plot key and the PlotNFT's authentication key over the payload hash.
pub fn signed_partial(
    launcher_id: Bytes32,
    sp_hash: Bytes32,
    pos: ProofOfSpace,
    plot_sk: &SecretKey,
    auth_sk: &SecretKey,
    token: &str,
) -> crate::chia::messages::PostPartialRequest {
    signed_partial_with(launcher_id, sp_hash, pos, plot_sk, auth_sk, 0, token)
}

/// `signed_partial` with the payload's `authentication_token` (the v1 time-window token; 0 for v2).
pub fn signed_partial_with(
    launcher_id: Bytes32,
    sp_hash: Bytes32,
    pos: ProofOfSpace,
    plot_sk: &SecretKey,
    auth_sk: &SecretKey,
    authentication_token: u64,
    token: &str,
) -> crate::chia::messages::PostPartialRequest {
    use crate::chia::messages::{Message, PostPartialPayload, PostPartialRequest};
    let payload = PostPartialPayload {
        launcher_id,
        authentication_token,
        proof_of_space: pos,
        sp_hash,
        end_of_sub_slot: false,
        harvester_id: Bytes32::new([0x11; 32]),
    };
    let m = payload.get_hash();
    let aggregate_signature =
        chia_bls::aggregate([chia_bls::sign(plot_sk, m), chia_bls::sign(auth_sk, m)]);
    PostPartialRequest {
        payload,
        aggregate_signature,
        authentication_token_v2: token.to_string(),
    }
}
