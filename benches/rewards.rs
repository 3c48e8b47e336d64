//! Cost of planning a payout: `cargo bench --bench rewards`.

use chia_pool::chia::forward::build_forward_bundle;
use chia_pool::chia::puzzles::PoolConfig;
use chia_pool::rewards::shares::{plan, Entitlement};
use chia_protocol::{Bytes32, Coin, CoinSpend, Program};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let farmers: Vec<Entitlement> = (0..100_000u64)
        .map(|i| {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&i.to_be_bytes());
            Entitlement {
                launcher_id: id,
                payout_puzzle_hash: id,
                points: 1 + (i * 7919) % 100_000,
                carried: (i * 104_729) % 5_000_000_000,
            }
        })
        .collect();
    c.bench_function("plan a payout for 100 000 farmers", |b| {
        b.iter(|| {
            plan(
                black_box(1_750_000_000_000 * 40),
                100,
                10_000_000_000,
                black_box(&farmers),
            )
        })
    });
}

fn hex32(v: &serde_json::Value) -> Bytes32 {
    Bytes32::new(
        hex::decode(v.as_str().expect("hex"))
            .expect("hex")
            .try_into()
            .expect("32 bytes"),
    )
}

fn coin(v: &serde_json::Value) -> Coin {
    Coin::new(
        hex32(&v["parent_coin_info"]),
        hex32(&v["puzzle_hash"]),
        v["amount"].as_u64().expect("amount"),
    )
}

/// Building forward bundles from the PlotNFT's last spend, as the forwarding job does per reward.
fn forwards(c: &mut Criterion) {
    let path = format!(
        "{}/tests/vectors/reward_forwarding.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vector")).expect("json");
    let case = &file["cases"][0];
    let inputs = &case["inputs"];
    let launch = case["launch_spends"].as_array().expect("spends");
    let last = &launch[case["singleton_last_spend_index"].as_u64().expect("index") as usize];
    let parent = CoinSpend::new(
        coin(&last["coin"]),
        Program::new(
            hex::decode(last["puzzle_reveal"].as_str().expect("hex"))
                .expect("hex")
                .into(),
        ),
        Program::new(
            hex::decode(last["solution"].as_str().expect("hex"))
                .expect("hex")
                .into(),
        ),
    );
    let pool = PoolConfig {
        pool_puzzle_hash: hex32(&inputs["pool_puzzle_hash"]),
        heightlock: u32::try_from(inputs["heightlock"].as_u64().expect("lock")).expect("u32"),
        pool_memoization: hex::decode(inputs["pool_memoization"].as_str().expect("hex"))
            .expect("hex"),
    };
    let genesis = hex32(&inputs["genesis_challenge"]);
    let plotnft = coin(&case["singleton_coin"]);
    let reward = coin(&case["reward_coin"]);
    c.bench_function("build forward bundles for 1 000 rewards", |b| {
        b.iter(|| {
            for _ in 0..1000 {
                black_box(
                    build_forward_bundle(&plotnft, &parent, &pool, genesis, &reward, None)
                        .expect("bundle"),
                );
            }
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench, forwards
}
criterion_main!(benches);
