//! chia-pool: a Chia pool server for the v2 pooling protocol.
pub mod chain;
pub mod chia;
pub mod cli;
pub mod config;
pub mod http;
pub mod metrics;
pub mod platform;
pub mod pool;
pub mod rewards;
pub mod shutdown;
pub mod sim;
pub mod stats;
pub mod store;
pub mod tls;
