//! Tests of `plotnft.rs` against the golden vectors.

use super::super::puzzles::tests::{b32, load, puzzles_from_inputs};
use super::*;
use chia_protocol::Program;
use serde_json::Value;

const FORWARDING_JSON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/reward_forwarding.json"
);

pub(crate) fn coin(v: &Value) -> Coin {
    Coin::new(
        b32(&v["parent_coin_info"]),
        b32(&v["puzzle_hash"]),
        v["amount"].as_u64().unwrap(),
    )
}

pub(crate) fn coin_spend(v: &Value) -> CoinSpend {
    let program = |key: &str| Program::from(hex::decode(v[key].as_str().unwrap()).unwrap());
    CoinSpend::new(
        coin(&v["coin"]),
        program("puzzle_reveal"),
        program("solution"),
    )
}

pub(crate) fn state_named(name: &str) -> PlotNftState {
    match name {
        "pooling" => PlotNftState::Pooling,
        "waiting_room" | "exiting" => PlotNftState::Exiting,
        "self_pooling" => PlotNftState::SelfPooling,
        other => panic!("unknown state {other}"),
    }
}

/// The singleton's last spend of a case, as the generator names it.
pub(crate) fn last_spend(case: &Value) -> CoinSpend {
    let index = case["singleton_last_spend_index"].as_u64().unwrap() as usize;
    coin_spend(&case["launch_spends"][index])
}

fn cases() -> Vec<Value> {
    load(FORWARDING_JSON)["cases"].as_array().unwrap().clone()
}

#[test]
fn launch_spend_decodes_to_the_named_state() {
    for case in cases() {
        let genesis = b32(&case["inputs"]["genesis_challenge"]);
        let expected = puzzles_from_inputs(&case["inputs"]);
        let state = state_named(case["state"].as_str().unwrap());
        let nft = PlotNft::from_parent_spend(&last_spend(&case), genesis, None).unwrap();
        assert_eq!(nft.state, state);
        assert_eq!(nft.puzzles, expected);
        assert_eq!(nft.coin, coin(&case["singleton_coin"]));
        check_lineage(&nft.coin, &last_spend(&case), expected.launcher_id()).unwrap();
        // Knowing the parameters beforehand gives the same answer.
        let hinted = PlotNft::from_parent_spend(&last_spend(&case), genesis, Some(&expected));
        assert_eq!(hinted.unwrap(), nft);
    }
}

#[test]
fn forward_spend_keeps_the_state() {
    for case in cases() {
        let genesis = b32(&case["inputs"]["genesis_challenge"]);
        let current = PlotNft::from_parent_spend(&last_spend(&case), genesis, None).unwrap();
        let forward = coin_spend(&case["forward_spends"][0]);
        let next = PlotNft::from_parent_spend(&forward, genesis, Some(&current.puzzles)).unwrap();
        assert_eq!(next.state, current.state);
        assert_eq!(next.coin.parent_coin_info, current.coin.coin_id());
        assert_eq!(next.coin.puzzle_hash, current.coin.puzzle_hash);
        assert_eq!(
            next.lineage_proof.parent_inner_puzzle_hash,
            current.inner_puzzle_hash().unwrap()
        );
        check_lineage(&next.coin, &forward, current.launcher_id()).unwrap();
        // A forward only memos the struct hash: without the parameters it cannot be read.
        assert!(matches!(
            PlotNft::from_parent_spend(&forward, genesis, None),
            Err(PlotNftError::InvalidMemoization(_))
        ));
    }
}

#[test]
fn non_plotnft_spends_are_typed_errors() {
    for case in cases() {
        let genesis = b32(&case["inputs"]["genesis_challenge"]);
        let launcher = coin_spend(&case["launch_spends"][0]);
        let reward = coin_spend(&case["forward_spends"][1]);
        for spend in [&launcher, &reward] {
            assert_eq!(
                PlotNft::from_parent_spend(spend, genesis, None),
                Err(PlotNftError::NotSingleton)
            );
            let child = Coin::new(spend.coin.coin_id(), Bytes32::default(), 1);
            let id = b32(&case["inputs"]["launcher_id"]);
            assert_eq!(
                check_lineage(&child, spend, id),
                Err(PlotNftError::NotSingleton)
            );
        }
    }
}

#[test]
fn wrong_launcher_is_a_typed_error() {
    for case in cases() {
        let genesis = b32(&case["inputs"]["genesis_challenge"]);
        let parent = last_spend(&case);
        let nft = PlotNft::from_parent_spend(&parent, genesis, None).unwrap();
        let other = Bytes32::new([7; 32]);
        assert_eq!(
            check_lineage(&nft.coin, &parent, other),
            Err(PlotNftError::WrongLauncherId {
                expected: other,
                found: nft.launcher_id()
            })
        );
        let stranger = PlotNftPuzzles::new(
            other,
            genesis,
            *nft.puzzles.synthetic_pubkey(),
            nft.pool_config().cloned(),
        )
        .unwrap();
        assert!(matches!(
            PlotNft::from_parent_spend(&parent, genesis, Some(&stranger)),
            Err(PlotNftError::WrongLauncherId { .. })
        ));
        let mut even = nft.coin;
        even.amount = 2;
        assert_eq!(
            check_lineage(&even, &parent, nft.launcher_id()),
            Err(PlotNftError::EvenAmount(2))
        );
        let mut orphan = nft.coin;
        orphan.parent_coin_info = Bytes32::default();
        assert_eq!(
            check_lineage(&orphan, &parent, nft.launcher_id()),
            Err(PlotNftError::NotAChild)
        );
    }
}

#[test]
fn garbage_and_tampering_are_typed_errors() {
    let case = &cases()[0];
    let genesis = b32(&case["inputs"]["genesis_challenge"]);
    let good = last_spend(case);
    let with = |puzzle: Vec<u8>, solution: Vec<u8>, ph: Option<Bytes32>| {
        let mut spend = good.clone();
        spend.puzzle_reveal = Program::from(puzzle);
        spend.solution = Program::from(solution);
        if let Some(ph) = ph {
            spend.coin.puzzle_hash = ph;
        }
        PlotNft::from_parent_spend(&spend, genesis, None)
    };
    let reveal = good.puzzle_reveal.to_vec();
    let solution = good.solution.to_vec();
    for garbage in [
        vec![],
        vec![0xff],
        vec![0xff, 0x80],
        vec![0x80, 0x80],
        vec![0xc0, 0x01],
    ] {
        assert!(matches!(
            with(garbage.clone(), solution.clone(), None),
            Err(PlotNftError::Spend(SpendError::InvalidClvm { .. }))
        ));
        assert!(matches!(
            with(reveal.clone(), garbage, None),
            Err(PlotNftError::Spend(SpendError::InvalidClvm { .. }))
        ));
    }
    // A reveal that is not the coin's puzzle.
    let launcher = b32(&case["inputs"]["launcher_id"]);
    let at = reveal
        .windows(32)
        .position(|w| w == launcher.as_ref())
        .expect("the reveal curries the launcher id");
    let mut tampered = reveal.clone();
    tampered[at] ^= 1;
    assert_eq!(
        with(tampered, solution.clone(), None),
        Err(PlotNftError::RevealMismatch)
    );
    // A singleton solution without inner solution.
    assert_eq!(
        with(reveal.clone(), vec![0x80], None),
        Err(PlotNftError::MalformedSolution)
    );
    // Non-singleton puzzles: an atom, a quoted program.
    for puzzle in [vec![0x01], hex::decode("ff0180").unwrap()] {
        let mut a = Allocator::new();
        let node = clvmr::serde::node_from_bytes(&mut a, &puzzle).unwrap();
        let ph = Bytes32::from(tree_hash(&a, node));
        assert_eq!(
            with(puzzle, solution.clone(), Some(ph)),
            Err(PlotNftError::NotSingleton)
        );
    }
}
