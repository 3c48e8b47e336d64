//! A fake chia full node and wallet for tests: real HTTPS servers on 127.0.0.1 with chia's mutual TLS
//! (TLS 1.3 only, client certificate from the private CA required, server certificate issued to `chia.net`),
//! certificates generated in the test in a CHIA_ROOT layout, speaking the JSON of chia-blockchain 2.7.5.
//!
//! ```ignore
//! mod support;
//! use support::{FakeChain, Mode};
//!
//! let chain = FakeChain::start().await;          // node + wallet + a fresh CHIA_ROOT
//! let client = chain.client();                   // a ChainClient configured for it (short test timeouts)
//! // Drive the chain:
//! let height = chain.node_state().add_block(true);          // new peak (a transaction block)
//! let challenge = chain.node_state().new_slot(None);        // end of sub-slot; a new slot opens
//! let sp_hash = chain.node_state().add_signage_point(20);   // signage point 20 of that slot
//! chain.node_state().reorg(2);                              // replace 2 blocks; later SPs now `reverted`
//! let coin = chain.node_state().add_coin(puzzle_hash, 1_000, height);
//! chain.wallet_state().synced = false;                      // wallet state is plain fields
//! // Faults, per server (`chain.node` / `chain.wallet`):
//! chain.node.stop().await;                 // closes the port and every connection
//! chain.node.restart().await;        // listens again on the same port
//! chain.node.set_delay(Duration::from_secs(2));   // every answer waits first
//! chain.node.set_mode(Mode::Garbage);             // Garbage, TruncatedJson, CutOff, ServerError, Normal
//! // What the servers saw:
//! chain.node.request_count("get_recent_signage_point_or_eos");
//! chain.node.requests();             // endpoint, body size and JSON of every request
//! ```
//!
//! `NodeState` (fake_node.rs) and `WalletState` (fake_wallet.rs) hold the chain and wallet; their public
//! fields and methods are the driver API. Unknown endpoints answer 404 and bodies over 1 MiB 413, like aiohttp.
#![allow(dead_code, unused_imports)]

pub mod browser;
pub mod chia_python;
pub mod farmer;
pub mod payout_seed;
pub mod pebble;
pub mod plotnft_v1_vectors;
pub mod plots;
pub mod pool_process;

// The fake chain is the product's simulated world (src/sim), shared with `chia-pool demo`.
pub use chia_pool::sim::node as fake_node;
pub use chia_pool::sim::wallet as fake_wallet;
pub use chia_pool::sim::{certs, node_2_7_5, plotnft_chain, server};

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chia_pool::chain::{ChainClient, ChainConfig, Timeouts};

pub use certs::ChiaRoot;
pub use fake_node::NodeState;
pub use fake_wallet::WalletState;
pub use server::{FakeServer, Mode, Recorded};

pub struct FakeChain {
    pub root: ChiaRoot,
    pub node: FakeServer,
    pub wallet: FakeServer,
    node_state: Arc<Mutex<NodeState>>,
    wallet_state: Arc<Mutex<WalletState>>,
}

impl FakeChain {
    /// Starts a synced node (genesis block, one open slot) and a synced, logged-in wallet with a balance.
    pub async fn start() -> Self {
        let root = ChiaRoot::create();
        let node_state = NodeState::new();
        let wallet_state = Arc::new(Mutex::new(WalletState::new(node_state.genesis_challenge())));
        let node_state = Arc::new(Mutex::new(node_state));
        let tls = root.server_tls();
        let node = FakeServer::start(
            Arc::clone(&tls),
            Arc::new(fake_node::NodeHandler(Arc::clone(&node_state))),
        )
        .await;
        let wallet = FakeServer::start(
            tls,
            Arc::new(fake_wallet::WalletHandler(Arc::clone(&wallet_state))),
        )
        .await;
        Self {
            root,
            node,
            wallet,
            node_state,
            wallet_state,
        }
    }

    /// A client configuration for this chain, with timeouts and backoff shortened for tests.
    pub fn config(&self) -> ChainConfig {
        let mut config = ChainConfig::new(&self.root.path);
        config.node_url = self.node.url();
        config.wallet_url = self.wallet.url();
        config.timeouts = Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(10),
        };
        config.retry_backoff = Duration::from_millis(20);
        config.peak_poll_interval = Duration::from_millis(100);
        config
    }

    pub fn client(&self) -> ChainClient {
        ChainClient::new(self.config()).expect("client for the fake chain")
    }

    pub fn node_state(&self) -> MutexGuard<'_, NodeState> {
        self.node_state.lock().expect("node state")
    }

    pub fn wallet_state(&self) -> MutexGuard<'_, WalletState> {
        self.wallet_state.lock().expect("wallet state")
    }

    /// Puts a wallet transaction on chain at `height`: its input coins spent there (added first if the node
    /// does not know them) and its outputs created there; the wallet shows it confirmed. False if the wallet
    /// has no such transaction, or one of its inputs is already spent (it cannot land).
    pub fn land(&self, name: &chia_protocol::Bytes32, height: u32) -> bool {
        let Some(tx) = self.wallet_state().transactions.get(name).cloned() else {
            return false;
        };
        let coins = |key: &str| -> Vec<chia_protocol::Coin> {
            tx[key]
                .as_array()
                .map(|a| a.iter().filter_map(fake_node::coin_from_json).collect())
                .unwrap_or_default()
        };
        let (removals, additions) = (coins("removals"), coins("additions"));
        {
            let mut node = self.node_state();
            let spent = removals.iter().any(|c| {
                node.coins
                    .get(&c.coin_id())
                    .is_some_and(|r| r.spent_block_index > 0)
            });
            if spent {
                return false;
            }
            for c in &removals {
                node.coins.entry(c.coin_id()).or_insert_with(|| {
                    chia_protocol::CoinRecord::new(
                        *c,
                        height.saturating_sub(1),
                        0,
                        false,
                        1_700_000_000,
                    )
                });
                if let Some(r) = node.coins.get_mut(&c.coin_id()) {
                    r.spent_block_index = height;
                }
            }
            for c in &additions {
                node.add_coin_record(chia_protocol::CoinRecord::new(
                    *c,
                    height,
                    0,
                    false,
                    1_700_000_000,
                ));
            }
        }
        self.wallet_state().confirm(name, height);
        true
    }

    /// Undoes `land` (a reorg dropped the block): outputs gone, inputs unspent, the wallet shows it pending.
    pub fn unland(&self, name: &chia_protocol::Bytes32) {
        let Some(tx) = self.wallet_state().transactions.get(name).cloned() else {
            return;
        };
        let coins = |key: &str| -> Vec<chia_protocol::Coin> {
            tx[key]
                .as_array()
                .map(|a| a.iter().filter_map(fake_node::coin_from_json).collect())
                .unwrap_or_default()
        };
        {
            let mut node = self.node_state();
            for c in coins("additions") {
                node.coins.remove(&c.coin_id());
            }
            for c in coins("removals") {
                if let Some(r) = node.coins.get_mut(&c.coin_id()) {
                    r.spent_block_index = 0;
                }
            }
        }
        if let Some(t) = self.wallet_state().transactions.get_mut(name) {
            t["confirmed"] = serde_json::json!(false);
            t["confirmed_at_height"] = serde_json::json!(0);
        }
    }

    /// The coins at `puzzle_hash` on the fake node (spent or not).
    pub fn coins_at(&self, puzzle_hash: &[u8; 32]) -> Vec<chia_protocol::Coin> {
        self.node_state()
            .coins
            .values()
            .filter(|r| r.coin.puzzle_hash.to_bytes() == *puzzle_hash)
            .map(|r| r.coin)
            .collect()
    }
}
