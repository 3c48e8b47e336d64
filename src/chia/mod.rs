//! Chia primitives: pure functions with no I/O, byte-exact with chia-blockchain 2.7.5.
pub mod address;
pub mod constants;
pub mod messages;
pub mod proofs;
pub mod signatures;
pub mod wire;
