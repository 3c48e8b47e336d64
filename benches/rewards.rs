//! Cost of planning a payout: `cargo bench --bench rewards`.

use chia_pool::rewards::payout::{plan, Entitlement};
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

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
