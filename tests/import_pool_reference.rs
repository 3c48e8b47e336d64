//! `chia-pool import pool-reference --sqlite FILE`: the members of a pool-reference database taken over
//! without rejoining. The member whose v1 PlotNFT (the one chia-blockchain 2.7.5 made for the vectors) farms
//! to this pool is imported with its points, difficulty and keys and is served at once; members that cannot be
//! verified on chain are listed, not imported; a dry run writes nothing.

mod support;

use std::num::NonZeroU8;

use chia_bls::sign;
use chia_pool::chia::v1::messages::{authentication_payload_hash, authentication_token};
use chia_pool::store::{self, Store};
use serde_json::Value;
use support::plotnft_v1_vectors::{
    authentication_sk, bytes32, launch, pool_target, use_vectors_network, vectors,
};
use support::pool_process::PoolProcess;
use support::FakeChain;

/// pool-reference's `farmer` table (pool/store/sqlite_store.py).
const SCHEMA: &str = "CREATE TABLE farmer(launcher_id text PRIMARY KEY, p2_singleton_puzzle_hash text, \
    delay_time bigint, delay_puzzle_hash text, authentication_public_key text, singleton_tip blob, \
    singleton_tip_state blob, points bigint, difficulty bigint, payout_instructions text, is_pool_member tinyint)";

fn v1_members(pool: &PoolProcess) -> usize {
    let s = Store::open(&pool.store_path()).unwrap();
    let n = store::farmers_v1::all(&s.read().unwrap()).unwrap().len();
    s.close();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_reference_members_are_imported_when_verified_on_chain() {
    let keys = vectors("messages_v1.json")["keys"].clone();
    let chain = FakeChain::start().await;
    use_vectors_network(&chain);
    let target = pool_target();
    let mut pool = tokio::task::block_in_place(|| {
        PoolProcess::start(
            &chain,
            &format!("reward_address = \"{target}\"\nrelative_lock_height = 100"),
            "",
        )
    });
    tokio::task::block_in_place(|| pool.kill());
    let launcher = launch(&chain);

    let db_path = pool.dir().join("pooldb.sqlite");
    let db = rusqlite::Connection::open(&db_path).unwrap();
    db.execute(SCHEMA, []).unwrap();
    let auth_pk = hex::encode(authentication_sk().public_key().to_bytes());
    let p2 = keys["p2_singleton_puzzle_hash"].as_str().unwrap();
    let rows = [
        (hex::encode(launcher), p2.to_string(), 1234, 7, 1),
        // Not on chain, and no longer a member.
        (hex::encode([0x61; 32]), p2.to_string(), 5, 1, 1),
        (hex::encode([0x62; 32]), p2.to_string(), 5, 1, 0),
    ];
    for (launcher_id, p2, points, difficulty, member) in rows {
        db.execute(
            "INSERT INTO farmer VALUES (?1, ?2, 604800, ?3, ?4, NULL, NULL, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                launcher_id,
                p2,
                "07c7306d1016a192f28f973efcfe0262c1c8fa4e04629b1cea6b7f8ff2b577c2",
                auth_pk,
                points,
                difficulty,
                hex::encode([8u8; 32]),
                member
            ],
        )
        .unwrap();
    }
    drop(db);
    let db_arg = db_path.to_str().unwrap();

    let (status, text) = tokio::task::block_in_place(|| {
        pool.command(&["import", "pool-reference", "--sqlite", db_arg, "--dry-run"])
    });
    assert!(status.success(), "{text}");
    assert!(text.contains("verified on chain (1)"), "{text}");
    assert!(
        text.contains(&format!(
            "0x{} points 1234 difficulty 7",
            hex::encode(launcher)
        )),
        "{text}"
    );
    assert!(text.contains("cannot be verified (2)"), "{text}");
    assert!(text.contains("no longer counts it as a member"), "{text}");
    assert!(text.contains("dry run"), "{text}");
    assert_eq!(
        tokio::task::block_in_place(|| v1_members(&pool)),
        0,
        "a dry run writes nothing"
    );

    let (status, text) = tokio::task::block_in_place(|| {
        pool.command(&["import", "pool-reference", "--sqlite", db_arg])
    });
    assert!(status.success() && text.contains("imported 1"), "{text}");
    assert_eq!(tokio::task::block_in_place(|| v1_members(&pool)), 1);

    // Served at once: GET /farmer by the member's authentication key shows what it had.
    tokio::task::block_in_place(|| pool.restart());
    let token = authentication_token(chia_pool::pool::unix_now(), NonZeroU8::new(10).unwrap());
    let message =
        authentication_payload_hash("get_farmer", launcher, bytes32(&Value::from(target)), token);
    let url = format!(
        "{}/farmer?launcher_id=0x{}&authentication_token={token}&signature=0x{}",
        pool.base_url,
        hex::encode(launcher),
        hex::encode(sign(&authentication_sk(), message).to_bytes())
    );
    let text =
        tokio::task::block_in_place(|| ureq::get(&url).call().unwrap().into_string().unwrap());
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["current_points"], 1234, "{v}");
    assert_eq!(v["current_difficulty"], 7, "{v}");
    assert_eq!(bytes32(&keys["launcher_id"]), launcher);
}
