//! The pool's reward-forwarding spend (doc §7): one PlotNFT spend through the pool path (the fixed
//! claim delegated puzzle) plus one reward coin spend through its RewardPuzzle, bound by a
//! SEND_MESSAGE/RECEIVE_MESSAGE pair. Needs no signature, so anyone can build it; the reward always
//! goes to the pool puzzle hash curried into the PlotNFT.

use chia_bls::Signature;
use chia_protocol::{Bytes32, Coin, CoinSpend, Program, SpendBundle};
use clvm_utils::tree_hash_atom;
use clvmr::{Allocator, NodePtr};

use super::plotnft::{PlotNft, PlotNftError};
use super::puzzles::{int_atom, PlotNftPuzzles, PlotNftState, PoolConfig, PuzzleError};
use super::reveals::{atom, list, serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    #[error(transparent)]
    PlotNft(#[from] PlotNftError),
    #[error(transparent)]
    Puzzle(#[from] PuzzleError),
    #[error("the PlotNFT is self-pooling: only its owner can claim its rewards")]
    NotPooling,
    #[error("the PlotNFT pools with another pool config")]
    OtherPool,
    #[error("the given PlotNFT coin is not the one its parent spend created")]
    CoinMismatch,
    #[error("the reward coin is not locked by this PlotNFT's RewardPuzzle")]
    WrongRewardPuzzleHash,
    #[error("the reward coin's parent is not a pool reward parent of this network")]
    NotAPoolReward,
}

/// Height of a pool reward coin, from its parent id `genesis[0:16] ‖ u128be(height)`; other coins
/// at the RewardPuzzle hash cannot go through the pool path (the claim puzzle recomputes the id).
pub fn pool_reward_height(genesis_challenge: &Bytes32, reward_coin: &Coin) -> Option<u32> {
    let parent = reward_coin.parent_coin_info.as_ref();
    if parent[..16] != genesis_challenge[..16] || parent[16..28].iter().any(|&b| b != 0) {
        return None;
    }
    let mut height = [0u8; 4];
    height.copy_from_slice(&parent[28..]);
    Some(u32::from_be_bytes(height))
}

/// The two coin spends forwarding `reward_coin` (a pool reward won by `plotnft`'s plots) to the
/// pool puzzle hash, PlotNFT spend first. `plotnft.coin` must be the singleton's unspent coin.
pub fn forward_spends(
    plotnft: &PlotNft,
    reward_coin: &Coin,
) -> Result<[CoinSpend; 2], ForwardError> {
    let p = &plotnft.puzzles;
    let state = plotnft.state;
    if state == PlotNftState::SelfPooling || p.pool_config().is_none() {
        return Err(ForwardError::NotPooling);
    }
    if reward_coin.puzzle_hash != p.reward_puzzle_hash() {
        return Err(ForwardError::WrongRewardPuzzleHash);
    }
    let height = pool_reward_height(&p.genesis_challenge(), reward_coin)
        .ok_or(ForwardError::NotAPoolReward)?;
    let inner_puzzle_hash = p.inner_puzzle_hash(state)?;

    let mut a = Allocator::new();
    let plotnft_puzzle = p.puzzle(&mut a, state)?;
    let plotnft_solution = plotnft_solution(
        &mut a,
        plotnft,
        inner_puzzle_hash,
        height,
        reward_coin.amount,
    )?;
    let reward_puzzle = p.reward_puzzle(&mut a)?;
    let reward_solution = reward_solution(&mut a, p, inner_puzzle_hash, reward_coin.amount)?;
    let spend =
        |coin: Coin, puzzle: NodePtr, solution: NodePtr| -> Result<CoinSpend, PuzzleError> {
            Ok(CoinSpend::new(
                coin,
                Program::from(serialize(&a, puzzle)?),
                Program::from(serialize(&a, solution)?),
            ))
        };
    Ok([
        spend(plotnft.coin, plotnft_puzzle, plotnft_solution)?,
        spend(*reward_coin, reward_puzzle, reward_solution)?,
    ])
}

/// Singleton solution `(lineage_proof amount inner_solution)` with the MIPS inner solution
/// `(claim (inner_puzzle_hash height amount) merkle_proof pool_member_puzzle ())`: feeder
/// delegated puzzle = claim, then the 1-of-2 proof for the pool leaf and its (nil) solution.
fn plotnft_solution(
    a: &mut Allocator,
    plotnft: &PlotNft,
    inner_puzzle_hash: Bytes32,
    height: u32,
    reward_amount: u64,
) -> Result<NodePtr, PuzzleError> {
    let p = &plotnft.puzzles;
    let claim = p.claim_dpuz(a)?;
    let claim_solution = {
        let items = [
            atom(a, &inner_puzzle_hash)?,
            atom(a, &int_atom(height.into()))?,
            atom(a, &int_atom(reward_amount))?,
        ];
        list(a, &items)?
    };
    // Leaves are [user, pool]: the pool leaf is on the right (path 1) and its only sibling is
    // the user leaf `sha256(1 ‖ H(user member))`.
    let user_leaf = tree_hash_atom(&p.user_member_hash(plotnft.state)?).to_bytes();
    let merkle_proof = {
        let one = a.one();
        let sibling = atom(a, &user_leaf)?;
        list(a, &[one, sibling])?
    };
    let pool_member = p.pool_member_puzzle(a)?;
    let inner_solution = list(
        a,
        &[
            claim,
            claim_solution,
            merkle_proof,
            pool_member,
            NodePtr::NIL,
        ],
    )?;
    let proof = &plotnft.lineage_proof;
    let lineage = {
        let items = [
            atom(a, &proof.parent_parent_coin_info)?,
            atom(a, &proof.parent_inner_puzzle_hash)?,
            atom(a, &int_atom(proof.parent_amount))?,
        ];
        list(a, &items)?
    };
    let amount = atom(a, &int_atom(plotnft.coin.amount))?;
    list(a, &[lineage, amount, inner_solution])
}

/// RewardPuzzle solution `(forward (amount) plotnft_inner_puzzle_hash)`: feeder delegated puzzle
/// and solution, then the singleton member's solution (Python's one-item form).
fn reward_solution(
    a: &mut Allocator,
    p: &PlotNftPuzzles,
    inner_puzzle_hash: Bytes32,
    reward_amount: u64,
) -> Result<NodePtr, PuzzleError> {
    let forward = p.forward_dpuz(a)?;
    let amount = atom(a, &int_atom(reward_amount))?;
    let forward_solution = list(a, &[amount])?;
    let inner = atom(a, &inner_puzzle_hash)?;
    list(a, &[forward, forward_solution, inner])
}

/// Joins coin spends into an unsigned bundle (aggregated signature = the G2 identity), e.g.
/// several farmers' forwards batched under `conditions::MAX_SPEND_BUNDLE_COST`.
pub fn unsigned_bundle(coin_spends: Vec<CoinSpend>) -> SpendBundle {
    SpendBundle::new(coin_spends, Signature::default())
}

/// Builds the forward of `reward_coin` from the chain view the pool has: the PlotNFT's current
/// coin, the singleton's last spend (its parent) and, when known, the farmer's parameters
/// (needed once that last spend is itself a forward, which memos only the struct hash).
pub fn build_forward_bundle(
    plotnft_coin: &Coin,
    parent_spend: &CoinSpend,
    pool: &PoolConfig,
    genesis_challenge: Bytes32,
    reward_coin: &Coin,
    previous: Option<&PlotNftPuzzles>,
) -> Result<SpendBundle, ForwardError> {
    let plotnft = PlotNft::from_parent_spend(parent_spend, genesis_challenge, previous)?;
    if plotnft.coin != *plotnft_coin {
        return Err(ForwardError::CoinMismatch);
    }
    match plotnft.pool_config() {
        None => return Err(ForwardError::NotPooling),
        Some(config) if config != pool => return Err(ForwardError::OtherPool),
        Some(_) => {}
    }
    Ok(unsigned_bundle(
        forward_spends(&plotnft, reward_coin)?.into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::conditions::{spend_bundle_cost, spend_conditions, MAX_SPEND_BUNDLE_COST};
    use super::super::plotnft::tests::{coin, coin_spend, last_spend};
    use super::super::puzzles::tests::{b32, load, puzzles_from_inputs};
    use super::*;
    use chia_traits::Streamable;
    use serde_json::Value;

    const FORWARDING_JSON: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/reward_forwarding.json"
    );

    fn cases() -> Vec<Value> {
        load(FORWARDING_JSON)["cases"].as_array().unwrap().clone()
    }

    fn build(case: &Value) -> Result<SpendBundle, ForwardError> {
        let p = puzzles_from_inputs(&case["inputs"]);
        build_forward_bundle(
            &coin(&case["singleton_coin"]),
            &last_spend(case),
            p.pool_config().unwrap(),
            p.genesis_challenge(),
            &coin(&case["reward_coin"]),
            None,
        )
    }

    #[test]
    fn every_case_reproduces_the_vector_bundle() {
        for case in cases() {
            let bundle = build(&case).unwrap();
            let expected = case["forward_spends"].as_array().unwrap();
            assert_eq!(bundle.coin_spends.len(), expected.len());
            for (ours, theirs) in bundle.coin_spends.iter().zip(expected) {
                assert_eq!(*ours, coin_spend(theirs));
                assert_eq!(ours.coin.coin_id(), b32(&theirs["coin"]["coin_id"]));
                let conditions = spend_conditions(ours).unwrap();
                let expected_conditions = theirs["conditions"].as_array().unwrap();
                assert_eq!(conditions.len(), expected_conditions.len());
                for (c, e) in conditions.iter().zip(expected_conditions) {
                    assert_eq!(c.opcode, e["opcode"].as_u64().unwrap());
                    let args: Vec<String> = c.args.iter().map(hex::encode).collect();
                    let expected_args: Vec<&str> = e["args"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_str().unwrap())
                        .collect();
                    assert_eq!(args, expected_args);
                }
            }
            let bytes = bundle.to_bytes().unwrap();
            assert_eq!(
                hex::encode(&bytes),
                case["spend_bundle_hex"].as_str().unwrap()
            );
            assert_eq!(bundle.name(), b32(&case["spend_bundle_name"]));
            let cost = spend_bundle_cost(&bundle).unwrap();
            // Dominated by the byte cost of ~3.5 KB; ~46 M per farmer.
            assert!(cost > 12_000 * bytes.len() as u64 / 2 && cost < MAX_SPEND_BUNDLE_COST / 100);
        }
    }

    #[test]
    fn the_pool_receives_the_whole_reward() {
        for case in cases() {
            let bundle = build(&case).unwrap();
            let p = puzzles_from_inputs(&case["inputs"]);
            let reward = coin(&case["reward_coin"]);
            let conditions = spend_conditions(&bundle.coin_spends[1]).unwrap();
            let create = conditions.iter().find(|c| c.opcode == 51).unwrap();
            assert_eq!(
                create.args[0][1..],
                p.pool_config().unwrap().pool_puzzle_hash[..]
            );
            assert_eq!(
                case["pool_received_amount"].as_u64().unwrap(),
                reward.amount
            );
        }
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        for case in cases() {
            let p = puzzles_from_inputs(&case["inputs"]);
            let pool = p.pool_config().unwrap();
            let genesis = p.genesis_challenge();
            let current = coin(&case["singleton_coin"]);
            let reward = coin(&case["reward_coin"]);
            let parent = last_spend(&case);
            let run = |current: &Coin, pool: &PoolConfig, reward: &Coin| {
                build_forward_bundle(current, &parent, pool, genesis, reward, None)
            };

            let mut wrong = reward;
            wrong.puzzle_hash = Bytes32::default();
            assert_eq!(
                run(&current, pool, &wrong),
                Err(ForwardError::WrongRewardPuzzleHash)
            );
            let mut wrong = reward;
            wrong.parent_coin_info = Bytes32::new([1; 32]);
            assert_eq!(
                run(&current, pool, &wrong),
                Err(ForwardError::NotAPoolReward)
            );
            let mut other_pool = pool.clone();
            other_pool.heightlock += 1;
            assert_eq!(
                run(&current, &other_pool, &reward),
                Err(ForwardError::OtherPool)
            );
            let mut stale = current;
            stale.parent_coin_info = Bytes32::default();
            assert_eq!(run(&stale, pool, &reward), Err(ForwardError::CoinMismatch));
            // The reward coin spend is no PlotNFT parent.
            let not_parent = coin_spend(&case["forward_spends"][1]);
            assert_eq!(
                build_forward_bundle(&current, &not_parent, pool, genesis, &reward, None),
                Err(ForwardError::PlotNft(PlotNftError::NotSingleton))
            );
            // A self-pooling PlotNFT has no pool path.
            let mut nft = PlotNft::from_parent_spend(&parent, genesis, None).unwrap();
            nft.puzzles = nft.puzzles.with_pool(None).unwrap();
            nft.state = PlotNftState::SelfPooling;
            assert_eq!(forward_spends(&nft, &reward), Err(ForwardError::NotPooling));
        }
    }

    #[test]
    fn forwards_chain_with_known_parameters() {
        // After a forward, the next one is built from that forward spend and the known parameters.
        for case in cases() {
            let p = puzzles_from_inputs(&case["inputs"]);
            let genesis = p.genesis_challenge();
            let first = build(&case).unwrap();
            let forward = &first.coin_spends[0];
            let next = PlotNft::from_parent_spend(forward, genesis, Some(&p)).unwrap();
            let mut reward = coin(&case["reward_coin"]);
            let mut parent = reward.parent_coin_info.to_bytes();
            parent[31] = parent[31].wrapping_add(1);
            reward.parent_coin_info = parent.into();
            let bundle = build_forward_bundle(
                &next.coin,
                forward,
                p.pool_config().unwrap(),
                genesis,
                &reward,
                Some(&p),
            )
            .unwrap();
            let conditions = spend_conditions(&bundle.coin_spends[0]).unwrap();
            let send = conditions.iter().find(|c| c.opcode == 66).unwrap();
            assert_eq!(send.args[2][1..], reward.coin_id()[..]);
        }
    }
}
