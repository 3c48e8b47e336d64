//! chia-pool: a Chia pool server for the v2 pooling protocol.
pub mod chia;
pub mod config;
pub mod pool;
pub mod store;
