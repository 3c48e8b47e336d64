//! Cost of the primitive work behind one partial: parsing, signature check, proof checks, whole partial.
//! Run: `cargo bench --bench primitives`. Throughput lines ("thrpt") read as partials per second on one core.

use chia_bls::PublicKey;
use chia_pool::chia::constants::ConsensusConstants;
use chia_pool::chia::messages::{Message, PostPartialRequest};
use chia_pool::chia::proofs::{self, ProofContext};
use chia_pool::chia::signatures::{self, PartialSignatureCheck};
use chia_protocol::Bytes32;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::Value;
use std::hint::black_box;

struct Partial {
    body: String,
    auth_pk: PublicKey,
    ctx: ProofContext,
    constants: ConsensusConstants,
}

fn load(name: &str) -> Vec<Partial> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vector file")).expect("json");
    let mut constants: Value =
        serde_json::from_str(ConsensusConstants::mainnet_json()).expect("mainnet");
    for (k, v) in file["meta"]["constants_overrides_of_mainnet"]
        .as_object()
        .expect("overrides")
    {
        constants["constants"][k] = v.clone();
    }
    let constants = ConsensusConstants::from_value(constants).expect("constants");
    let hex32 = |v: &Value| {
        Bytes32::new(
            hex::decode(v.as_str().expect("hex"))
                .expect("hex")
                .try_into()
                .expect("32"),
        )
    };
    let pk_bytes: [u8; 48] = hex::decode(
        file["keys"]["authentication_public_key"]
            .as_str()
            .expect("pk"),
    )
    .expect("hex")
    .try_into()
    .expect("48");
    let auth_pk = PublicKey::from_bytes(&pk_bytes).expect("pk");
    file["partials"]
        .as_array()
        .expect("partials")
        .iter()
        .map(|p| Partial {
            body: p["post_partial_request_json"].to_string(),
            auth_pk,
            ctx: ProofContext {
                challenge_hash: hex32(&p["challenge_hash"]),
                sp_hash: hex32(&p["sp_hash"]),
                height: file["meta"]["height_used"].as_u64().expect("h") as u32,
                prev_tx_height: file["meta"]["prev_transaction_block_height_used"]
                    .as_u64()
                    .expect("h") as u32,
                filter_challenge: p.get("filter_challenge").map(hex32),
                signage_point_index: p
                    .get("signage_point_index")
                    .and_then(Value::as_u64)
                    .map(|i| i as u8),
            },
            constants: constants.clone(),
        })
        .collect()
}

/// Everything the pool's primitives do for one partial: parse, verify the signature and proof, iterations.
fn whole_partial(p: &Partial) -> u64 {
    let request = PostPartialRequest::from_json_str(&p.body).expect("parse");
    assert!(signatures::verify_partial(&request, &p.auth_pk));
    let pos = &request.payload.proof_of_space;
    let quality =
        proofs::verify_and_get_quality_string(pos, &p.constants, &p.ctx).expect("valid proof");
    let _key = proofs::proof_get_hash(pos, &quality);
    proofs::required_iterations(
        &p.constants,
        pos,
        &quality,
        &p.ctx.sp_hash,
        1000,
        p.ctx.prev_tx_height,
    )
}

fn bench(c: &mut Criterion) {
    let v2 = load("proofs.json");
    let v1 = load("proofs_v1.json");
    let mut g = c.benchmark_group("partial");
    g.throughput(Throughput::Elements(1));

    g.bench_function("parse PostPartialRequest JSON (v2)", |b| {
        b.iter(|| PostPartialRequest::from_json_str(black_box(&v2[0].body)).expect("parse"))
    });
    let request = PostPartialRequest::from_json_str(&v2[0].body).expect("parse");
    g.bench_function("signature check, one partial", |b| {
        b.iter(|| {
            assert!(signatures::verify_partial(
                black_box(&request),
                &v2[0].auth_pk
            ))
        })
    });
    let pos2 = request.payload.proof_of_space.clone();
    g.bench_function("v2 proof check", |b| {
        b.iter(|| {
            proofs::verify_and_get_quality_string(black_box(&pos2), &v2[0].constants, &v2[0].ctx)
                .expect("ok")
        })
    });
    let request1 = PostPartialRequest::from_json_str(&v1[0].body).expect("parse");
    let pos1 = request1.payload.proof_of_space.clone();
    g.bench_function("v1 proof check (k=18)", |b| {
        b.iter(|| {
            proofs::verify_and_get_quality_string(black_box(&pos1), &v1[0].constants, &v1[0].ctx)
                .expect("ok")
        })
    });
    g.bench_function("whole partial, v2", |b| {
        b.iter(|| whole_partial(black_box(&v2[0])))
    });
    g.bench_function("whole partial, v1", |b| {
        b.iter(|| whole_partial(black_box(&v1[0])))
    });
    g.finish();

    for (name, set) in [("v2", &v2), ("v1", &v1)] {
        let mut g = c.benchmark_group(format!("whole partials, {name}, signatures batched by 32"));
        g.throughput(Throughput::Elements(32));
        let batch: Vec<&Partial> = (0..32).map(|i| &set[i % set.len()]).collect();
        g.bench_function("parse + proof + iterations + batched signature", |b| {
            b.iter_batched(
                rand_seed,
                |seed| whole_partials_batched(&batch, seed),
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }

    // Batched signature checks: one final exponentiation for many partials.
    for n in [8usize, 32] {
        let mut g = c.benchmark_group(format!("signature batch of {n}"));
        g.throughput(Throughput::Elements(n as u64));
        let checks: Vec<PartialSignatureCheck> = (0..n)
            .map(|i| {
                let p = &v2[i % v2.len()];
                let req = PostPartialRequest::from_json_str(&p.body).expect("parse");
                PartialSignatureCheck::new(&req, &p.auth_pk)
            })
            .collect();
        g.bench_function("verify_partials_batch", |b| {
            b.iter_batched(
                rand_seed,
                |seed| {
                    assert!(signatures::verify_partials_batch(&checks, &seed)
                        .iter()
                        .all(|&ok| ok))
                },
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }
}

/// The whole primitive work for `partials`, with their signatures checked in one batch (as the pool's
/// verifier threads do under load).
fn whole_partials_batched(partials: &[&Partial], seed: [u8; 32]) {
    let mut checks = Vec::with_capacity(partials.len());
    for p in partials {
        let request = PostPartialRequest::from_json_str(&p.body).expect("parse");
        let pos = &request.payload.proof_of_space;
        let quality =
            proofs::verify_and_get_quality_string(pos, &p.constants, &p.ctx).expect("valid proof");
        let _key = proofs::proof_get_hash(pos, &quality);
        proofs::required_iterations(
            &p.constants,
            pos,
            &quality,
            &p.ctx.sp_hash,
            1000,
            p.ctx.prev_tx_height,
        );
        checks.push(PartialSignatureCheck::new(&request, &p.auth_pk));
    }
    assert!(signatures::verify_partials_batch(&checks, &seed)
        .iter()
        .all(|&ok| ok));
}

fn rand_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    seed[..16].copy_from_slice(&nanos.to_le_bytes());
    seed
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
