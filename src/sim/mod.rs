//! The world outside the pool, simulated: a chia full node and wallet speaking the real RPC over mutual TLS,
//! used by the tests and by `chia-pool demo`. It talks to the pool only as chia does (RPC answers and the
//! farmer HTTP API), never through the pool's own modules.

pub mod certs;
pub mod demo;
pub mod farmer;
pub mod fleet;
pub mod landing;
pub mod node;
pub mod node_2_7_5;
pub mod plotnft_chain;
pub mod plots;
pub mod server;
pub mod store_file;
pub mod wallet;
pub mod world;
