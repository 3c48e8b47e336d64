//! The sim's real v2 plots (`chia_pool::sim::plots`), plus a harvester search driven by the fake chain.

pub use chia_pool::sim::plots::*;

use chia_pool::chia::constants::ConsensusConstants;
use chia_protocol::{Bytes32, ProofOfSpace};

/// Opens two slots on the fake node and finds up to `n` of the plot's proofs at signage points of the newest
/// slot, the way a harvester finds them: (sp_hash, proof).
pub fn find_proofs(
    chain: &super::FakeChain,
    plot: &TestPlot,
    constants: &ConsensusConstants,
    n: usize,
) -> Vec<(Bytes32, ProofOfSpace)> {
    let (c0, c1, c2) = {
        let mut node = chain.node_state();
        let c0 = node.current_challenge;
        let c1 = node.new_slot(None);
        (c0, c1, node.new_slot(None))
    };
    let prev_tx = chain.node_state().peak().height;
    let mut found = Vec::new();
    for index in 1..64u8 {
        // The v2 filter challenge is one slot back from index 16 on, two slots back before it.
        let filter_challenge = if index >= 16 { c1 } else { c0 };
        if !plot.passes_filter(constants, prev_tx, index, &filter_challenge) {
            continue;
        }
        for _ in 0..400 {
            let sp_hash = chain.node_state().add_signage_point(index);
            if let Some(pos) = plot.proofs(&c2, &sp_hash).into_iter().next() {
                found.push((sp_hash, pos));
                break;
            }
        }
        if found.len() >= n {
            break;
        }
    }
    found
}
