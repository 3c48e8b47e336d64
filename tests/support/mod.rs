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

pub mod certs;
pub mod fake_node;
pub mod fake_wallet;
pub mod farmer;
pub mod node_2_7_5;
pub mod pebble;
pub mod plotnft_chain;
pub mod plots;
pub mod pool_process;
pub mod server;

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
}
