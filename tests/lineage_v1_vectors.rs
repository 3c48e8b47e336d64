//! A v1 PlotNFT followed through the lineage of `tests/vectors/puzzles_v1.json`, and its absorbs built byte for
//! byte as chia-blockchain 2.7.5 builds them.

mod common;

use chia_pool::chia::conditions::{spend_conditions, CREATE_COIN};
use chia_pool::chia::v1::absorb::{absorb_spends, AbsorbError};
use chia_pool::chia::v1::lineage::{SingletonV1, V1LineageError};
use chia_pool::chia::v1::puzzles::PoolSingletonState;
use chia_protocol::{Bytes32, Coin, Program};
use common::plotnft_v1::*;
use common::*;

#[test]
fn the_singleton_is_followed_from_its_launcher() {
    let v = vector("puzzles_v1.json");
    let nft = plotnft(&v);
    let genesis = nft.genesis_challenge;
    let target = bytes32(&v["inputs"]["pool_target_puzzle_hash"]);
    let lock = u32::try_from(v["inputs"]["relative_lock_height"].as_u64().unwrap()).unwrap();
    let spends = lineage_spends(&v);
    let child = |i: usize| bytes32(&v["lineage"][i]["singleton_child"]["coin_id"]);

    let joined = SingletonV1::from_launcher_spend(&spends[0], genesis).unwrap();
    assert_eq!(joined.plotnft, nft);
    assert_eq!(joined.coin.coin_id(), child(0));
    assert!(joined.is_farming_to(target, lock));
    assert!(!joined.is_farming_to(target, lock + 1));
    assert!(!joined.is_farming_to(Bytes32::new([9; 32]), lock));

    let absorbed = joined.next(&spends[1]).unwrap();
    assert_eq!(absorbed.coin.coin_id(), child(1));
    assert_eq!(absorbed.pool_state, joined.pool_state);
    // The p2_singleton spend of the absorb is not a singleton spend.
    assert_eq!(
        absorbed.next(&spends[2]),
        Err(V1LineageError::NotTheSingleton)
    );

    let leaving = absorbed.next(&spends[3]).unwrap();
    assert_eq!(leaving.coin.coin_id(), child(3));
    assert_eq!(
        leaving.pool_state.singleton_state(),
        Some(PoolSingletonState::LeavingPool)
    );
    assert!(!leaving.is_farming_to(target, lock));

    let absorbed_leaving = leaving.next(&spends[4]).unwrap();
    assert_eq!(absorbed_leaving.coin.coin_id(), child(4));
    assert_eq!(absorbed_leaving.pool_state, leaving.pool_state);

    let self_pooling = leaving.next(&spends[5]).unwrap();
    assert_eq!(self_pooling.coin.coin_id(), child(5));
    assert_eq!(
        self_pooling.pool_state.singleton_state(),
        Some(PoolSingletonState::SelfPooling)
    );

    // A spend of another coin does not continue this lineage.
    assert_eq!(
        joined.next(&spends[3]),
        Err(V1LineageError::NotTheSingleton)
    );
}

#[test]
fn a_travel_naming_another_state_than_it_creates_is_refused() {
    let v = vector("puzzles_v1.json");
    let nft = plotnft(&v);
    let lineage = v["lineage"].as_array().unwrap();
    let launcher = coin_spend(&lineage[0]["coin_spend"]);
    let joined = SingletonV1::from_launcher_spend(&launcher, nft.genesis_challenge).unwrap();
    let absorbed = joined.next(&coin_spend(&lineage[1]["coin_spend"])).unwrap();
    // The member puzzle goes to the waiting room it committed to; a solution that names another lock
    // height (the last four bytes of the PoolState) still creates that waiting room.
    let mut travel = coin_spend(&lineage[3]["coin_spend"]);
    let state_hex = lineage[3]["solution_to_pool_state"]["bytes"]
        .as_str()
        .unwrap();
    let forged_hex = format!("{}00000065", &state_hex[..state_hex.len() - 8]);
    let solution = hex::encode(travel.solution.as_slice()).replace(state_hex, &forged_hex);
    assert_ne!(solution, hex::encode(travel.solution.as_slice()));
    travel.solution = Program::from(hex::decode(solution).unwrap());
    assert_eq!(absorbed.next(&travel), Err(V1LineageError::StateMismatch));

    // A launcher whose extra data names another state than the singleton it creates.
    let mut forged_launcher = launcher.clone();
    let farming_hex = v["states"]["farming_to_pool"]["pool_state"]["bytes"]
        .as_str()
        .unwrap();
    let forged = format!("{}00000065", &farming_hex[..farming_hex.len() - 8]);
    let solution = hex::encode(launcher.solution.as_slice()).replace(farming_hex, &forged);
    forged_launcher.solution = Program::from(hex::decode(solution).unwrap());
    assert_eq!(
        SingletonV1::from_launcher_spend(&forged_launcher, nft.genesis_challenge),
        Err(V1LineageError::StateMismatch)
    );

    // A reveal that is not the spent coin's puzzle.
    let mut wrong_reveal = coin_spend(&lineage[1]["coin_spend"]);
    wrong_reveal.puzzle_reveal = launcher.puzzle_reveal.clone();
    assert_eq!(
        absorbed.next(&wrong_reveal),
        Err(V1LineageError::NotTheSingleton)
    );
    let mut wrong_reveal = coin_spend(&lineage[1]["coin_spend"]);
    wrong_reveal.puzzle_reveal = launcher.puzzle_reveal.clone();
    assert_eq!(
        joined.next(&wrong_reveal),
        Err(V1LineageError::RevealMismatch)
    );
}

#[test]
fn absorbs_are_chias_byte_for_byte() {
    let v = vector("puzzles_v1.json");
    let nft = plotnft(&v);
    let spends = lineage_spends(&v);
    let joined = SingletonV1::from_launcher_spend(&spends[0], nft.genesis_challenge).unwrap();
    // From the pool-member puzzle (eve coin): both spends as 2.7.5 builds them.
    let reward = spends[2].coin;
    let built = absorb_spends(&joined, &reward).unwrap();
    assert_eq!(built[0], spends[1], "singleton spend");
    assert_eq!(built[1], spends[2], "p2_singleton spend");
    // Running it pays the whole reward to the pool's target puzzle hash.
    let target = bytes32(&v["inputs"]["pool_target_puzzle_hash"]);
    let mut pays = hex::encode([0xa0]) + &hex::encode(target);
    pays.push_str(&hex::encode(int_atom_bytes(reward.amount)));
    let created: Vec<String> = spend_conditions(&built[0])
        .unwrap()
        .into_iter()
        .filter(|c| c.opcode == CREATE_COIN)
        .map(|c| c.args[..2].iter().map(hex::encode).collect())
        .collect();
    assert!(created.contains(&pays), "{created:?}");
    // From the waiting room, a later coin (a full lineage proof), ten blocks later.
    let leaving = joined.next(&spends[1]).unwrap().next(&spends[3]).unwrap();
    let height = v["absorb"]["height"].as_u64().unwrap() + 10;
    let mut parent = [0u8; 32];
    parent[..16].copy_from_slice(&nft.genesis_challenge[..16]);
    parent[16..].copy_from_slice(&u128::from(height).to_be_bytes());
    let reward = Coin::new(
        Bytes32::new(parent),
        nft.p2_singleton_puzzle_hash(),
        reward.amount,
    );
    let built = absorb_spends(&leaving, &reward).unwrap();
    assert_eq!(built[0], spends[4], "waiting-room singleton spend");
    assert_eq!(built[1].coin, reward);

    // Only this PlotNFT's pool rewards.
    let elsewhere = Coin::new(
        reward.parent_coin_info,
        Bytes32::new([5; 32]),
        reward.amount,
    );
    assert_eq!(
        absorb_spends(&leaving, &elsewhere),
        Err(AbsorbError::NotThisPlotNft)
    );
    let not_reward = Coin::new(Bytes32::new([6; 32]), reward.puzzle_hash, reward.amount);
    assert_eq!(
        absorb_spends(&leaving, &not_reward),
        Err(AbsorbError::NotAPoolReward)
    );
}

/// A serialized CLVM integer atom (`Program.to(n)`) for amounts of 0x80..2^56.
fn int_atom_bytes(n: u64) -> Vec<u8> {
    let mut digits: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|&b| b == 0)
        .collect();
    if digits[0] & 0x80 != 0 {
        digits.insert(0, 0);
    }
    let mut out = vec![0x80 | u8::try_from(digits.len()).unwrap()];
    out.extend(digits);
    out
}
