//! A pool database seeded for payout tests (farmers with points, one verified forward), and helpers that read
//! it with the pool stopped (redb locks its file).

use chia_pool::store::payouts::PayoutRecord;
use chia_pool::store::rewards::{ForwardState, RewardRecord};
use chia_pool::store::{self, FarmerRecord, Membership, Store};

use super::pool_process::PoolProcess;

pub const REWARD: u64 = 1_750_000_000_000;

pub fn farmer(i: u8, points: u64) -> FarmerRecord {
    FarmerRecord {
        launcher_id: [i; 32],
        authentication_public_key: chia_bls::SecretKey::from_seed(&[i; 32])
            .public_key()
            .to_bytes(),
        payout_instructions: hex::encode([i + 100; 32]),
        payout_puzzle_hash: [i + 100; 32],
        difficulty: 1,
        reward_puzzle_hash: [i + 50; 32],
        membership: Membership::Pooling,
        singleton: None,
        joined_at: 0,
        recent_partials: Vec::new(),
        points,
        carried: 0,
        lifetime_points: points,
    }
}

/// Stops the pool and writes `farmers` and one forwarded reward of `REWARD` (spent at height 2).
pub fn seed(pool: &mut PoolProcess, farmers: Vec<FarmerRecord>) {
    pool.kill();
    let s = Store::open(&pool.store_path()).unwrap();
    s.write_blocking(move |txn| {
        for f in &farmers {
            store::farmers::put(txn, f)?;
        }
        store::rewards::put(
            txn,
            &RewardRecord {
                coin_id: [9; 32],
                parent_coin_id: [8; 32],
                puzzle_hash: [51; 32],
                amount: REWARD,
                launcher_id: [1; 32],
                confirmed_height: 1,
                state: ForwardState::Forwarded { spent_height: 2 },
                failed_attempts: 0,
                payout_id: None,
            },
        )
    })
    .unwrap();
    s.close();
}

/// Farmers 1:2:3 by points and one whose tiny share stays under the minimum and is carried.
pub fn default_farmers() -> Vec<FarmerRecord> {
    [(1u8, 1_000u64), (2, 2_000), (3, 3_000), (4, 1)]
        .iter()
        .map(|&(i, p)| farmer(i, p))
        .collect()
}

/// Everything the ledger is made of, read with the pool stopped.
pub struct Snapshot {
    pub payouts: Vec<PayoutRecord>,
    pub farmers: Vec<FarmerRecord>,
    pub rewards: Vec<RewardRecord>,
}

impl Snapshot {
    /// The store-side ledger check, as the pool runs it.
    pub fn ledger(&self) -> Result<chia_pool::rewards::ledger::Ledger, String> {
        chia_pool::rewards::ledger::check_records(&self.rewards, &self.payouts, &self.farmers)
            .map_err(|e| e.to_string())
    }
}

/// Reads the store; the pool must be stopped.
pub fn read(pool: &PoolProcess) -> Snapshot {
    let s = Store::open(&pool.store_path()).unwrap();
    let txn = s.read().unwrap();
    let snap = Snapshot {
        payouts: store::payouts::all(&txn).unwrap(),
        farmers: store::farmers::all(&txn).unwrap(),
        rewards: store::rewards::all(&txn).unwrap(),
    };
    drop(txn);
    s.close();
    snap
}

/// Stops the pool, reads the store, starts the pool again.
pub fn read_live(pool: &mut PoolProcess) -> Snapshot {
    pool.kill();
    let snap = read(pool);
    pool.restart();
    snap
}

/// Changes the store with the pool stopped (tests that tamper with records).
pub fn edit(
    pool: &PoolProcess,
    f: impl FnOnce(&redb::WriteTransaction) -> Result<(), store::StoreError> + Send + 'static,
) {
    let s = Store::open(&pool.store_path()).unwrap();
    s.write_blocking(f).unwrap();
    s.close();
}

/// `chia-pool rewards [--verify]`: (success, stdout).
pub fn operator_view(pool: &PoolProcess, verify: bool) -> (bool, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_chia-pool"));
    cmd.args(["rewards", "--config"]).arg(&pool.config);
    if verify {
        cmd.arg("--verify");
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
