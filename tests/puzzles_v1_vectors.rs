//! Every puzzle hash, `PoolState` and spend of `tests/vectors/puzzles_v1.json` (PlotNFT v1 as
//! chia-blockchain 2.7.5's wallet makes it).

mod common;

use chia_pool::chia::v1::puzzles::*;
use chia_pool::chia::v1::spends::{launcher_info, solution_to_pool_state, V1SpendError};
use chia_protocol::{Bytes32, Coin, Program};
use chia_puzzles::{
    P2_SINGLETON_OR_DELAYED_PUZHASH_HASH, POOL_MEMBER_INNERPUZ_HASH,
    POOL_WAITINGROOM_INNERPUZ_HASH, SINGLETON_LAUNCHER_HASH, SINGLETON_TOP_LAYER_HASH,
    SINGLETON_TOP_LAYER_V1_1_HASH,
};
use common::plotnft_v1::*;
use common::*;
use serde_json::Value;

#[test]
fn v1_uses_singleton_top_layer_v1_0() {
    let v = vector("puzzles_v1.json");
    let c = &v["constants"];
    assert_eq!(
        hex32(&c["singleton_mod_hash_v1_0"]),
        SINGLETON_TOP_LAYER_HASH
    );
    assert_eq!(
        hex32(&c["singleton_mod_hash_v1_1"]),
        SINGLETON_TOP_LAYER_V1_1_HASH
    );
    assert_eq!(
        hex32(&c["singleton_launcher_hash"]),
        SINGLETON_LAUNCHER_HASH
    );
    assert_eq!(hex32(&c["pool_member_mod_hash"]), POOL_MEMBER_INNERPUZ_HASH);
    assert_eq!(
        hex32(&c["pool_waiting_room_mod_hash"]),
        POOL_WAITINGROOM_INNERPUZ_HASH
    );
    assert_eq!(
        hex32(&c["p2_singleton_or_delayed_mod_hash"]),
        P2_SINGLETON_OR_DELAYED_PUZHASH_HASH
    );
}

#[test]
fn p2_singleton_puzzle_hashes_match() {
    let v = vector("puzzles_v1.json");
    let nft = plotnft(&v);
    assert_eq!(
        nft.p2_singleton_puzzle_hash(),
        bytes32(&v["p2_singleton_puzzle_hash"])
    );
    assert_eq!(
        nft.pool_reward_prefix(),
        hex32(&v["inputs"]["pool_reward_prefix"])
    );
    let cases = v["p2_singleton_cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        assert_eq!(
            p2_singleton_puzzle_hash(
                bytes32(&case["launcher_id"]),
                case["delay_time"].as_u64().unwrap(),
                bytes32(&case["delay_puzzle_hash"]),
            ),
            bytes32(&case["p2_singleton_puzzle_hash"]),
            "{case}"
        );
    }
}

#[test]
fn every_state_has_chias_puzzle_hashes() {
    let v = vector("puzzles_v1.json");
    let nft = plotnft(&v);
    let states = v["states"].as_object().unwrap();
    assert_eq!(states.len(), 4);
    for (name, entry) in states {
        let state = pool_state(&entry["pool_state"]);
        let waiting = entry["inner_puzzle_kind"] == "waiting_room";
        assert_eq!(state.uses_waiting_room(), waiting, "{name}");
        assert_eq!(
            nft.waiting_room_inner_puzzle_hash(&state),
            bytes32(&entry["waiting_room_inner_puzzle_hash"]),
            "{name}"
        );
        assert_eq!(
            nft.inner_puzzle_hash(&state),
            bytes32(&entry["inner_puzzle_hash"]),
            "{name}"
        );
        if !waiting {
            assert_eq!(
                nft.pool_member_inner_puzzle_hash(&state),
                bytes32(&entry["inner_puzzle_hash"])
            );
        }
        assert_eq!(
            nft.puzzle_hash(&state),
            bytes32(&entry["full_puzzle_hash"]),
            "{name}"
        );
        assert_eq!(
            singleton_puzzle_hash(nft.launcher_id, nft.inner_puzzle_hash(&state)),
            bytes32(&entry["full_puzzle_hash"])
        );
    }
    let farming = pool_state(&states["farming_to_pool"]["pool_state"]);
    assert_eq!(
        farming.singleton_state(),
        Some(PoolSingletonState::FarmingToPool)
    );
    assert_eq!(
        farming.target_puzzle_hash,
        bytes32(&v["inputs"]["pool_target_puzzle_hash"])
    );
}

#[test]
fn pool_state_bytes_are_checked() {
    let v = vector("puzzles_v1.json");
    let bytes = hex_bytes(&v["states"]["farming_to_pool"]["pool_state"]["bytes"]);
    assert!(PoolState::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(PoolState::from_bytes(&longer).is_err());
    let mut bad_key = bytes.clone();
    bad_key[34] ^= 0xff; // inside the owner public key
    assert!(PoolState::from_bytes(&bad_key).is_err());
}

#[test]
fn launcher_spend_gives_state_and_delay() {
    let v = vector("puzzles_v1.json");
    let nft = plotnft(&v);
    let lineage = v["lineage"].as_array().unwrap();
    let launcher = coin_spend(&lineage[0]["coin_spend"]);
    assert_eq!(launcher.coin.coin_id(), nft.launcher_id);
    assert_eq!(
        launcher.solution.as_slice(),
        &hex_bytes(&v["launcher"]["solution"])[..]
    );
    let info = launcher_info(&launcher).unwrap();
    assert_eq!(
        info.delay_time,
        v["launcher"]["delay_time"].as_u64().unwrap()
    );
    assert_eq!(
        info.delay_puzzle_hash,
        bytes32(&v["launcher"]["delay_puzzle_hash"])
    );
    assert_eq!(
        info.singleton_puzzle_hash,
        bytes32(&v["launcher"]["singleton_puzzle_hash"])
    );
    assert_eq!(info.plotnft(nft.launcher_id, nft.genesis_challenge), nft);
    assert_eq!(
        info.pool_state,
        pool_state(&v["states"]["farming_to_pool"]["pool_state"])
    );
    assert_eq!(
        nft.puzzle_hash(&info.pool_state),
        info.singleton_puzzle_hash
    );

    // Not a launcher coin: refused.
    let mut not_launcher = launcher.clone();
    not_launcher.coin.puzzle_hash = Bytes32::new([1; 32]);
    assert!(launcher_info(&not_launcher).is_err());
}

#[test]
fn every_lineage_spend_gives_chias_pool_state() {
    let v = vector("puzzles_v1.json");
    let nft = plotnft(&v);
    let lineage = v["lineage"].as_array().unwrap();
    assert_eq!(lineage.len(), 6);
    for entry in lineage {
        let name = entry["name"].as_str().unwrap();
        let spend = coin_spend(&entry["coin_spend"]);
        if name == "absorb_p2_singleton" {
            assert_eq!(spend.coin.puzzle_hash, nft.p2_singleton_puzzle_hash());
            assert_eq!(
                spend.coin.amount,
                v["absorb"]["reward_amount"].as_u64().unwrap()
            );
            continue;
        }
        let got = solution_to_pool_state(&spend).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = match &entry["solution_to_pool_state"] {
            Value::Null => None,
            state => Some(pool_state(state)),
        };
        assert_eq!(got, expected, "{name}");
        // The singleton's child is where the new state (or, for an absorb, the same one) puts it.
        let child = &entry["singleton_child"];
        let child_coin = Coin::new(
            spend.coin.coin_id(),
            bytes32(&child["puzzle_hash"]),
            child["amount"].as_u64().unwrap(),
        );
        assert_eq!(child_coin.coin_id(), bytes32(&child["coin_id"]), "{name}");
        match got {
            Some(state) => assert_eq!(nft.puzzle_hash(&state), child_coin.puzzle_hash, "{name}"),
            None => assert_eq!(spend.coin.puzzle_hash, child_coin.puzzle_hash, "{name}"),
        }
    }
}

#[test]
fn garbled_spends_are_typed_errors() {
    let v = vector("puzzles_v1.json");
    let lineage = v["lineage"].as_array().unwrap();
    let travel = coin_spend(&lineage[3]["coin_spend"]);
    for solution in [&b""[..], &[0xff][..], &[0x80][..], &[0xff, 0x80, 0x80][..]] {
        let mut bad = travel.clone();
        bad.solution = Program::from(solution.to_vec());
        assert!(
            matches!(
                solution_to_pool_state(&bad),
                Err(V1SpendError::Clvm(_) | V1SpendError::Shape(_))
            ),
            "{solution:?}"
        );
    }
}
