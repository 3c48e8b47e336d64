//! chia-pool: a Chia pool server for the v2 pooling protocol.
pub mod chain;
pub mod chia;
