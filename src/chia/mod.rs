//! Chia primitives: pure functions with no I/O, byte-exact with chia-blockchain 2.7.5.
pub mod address;
pub mod conditions;
pub mod constants;
pub mod embedded;
pub mod forward;
pub mod memo;
pub mod messages;
pub mod plotnft;
pub mod pos_v1;
pub mod proofs;
pub mod puzzles;
pub mod reveals;
pub mod signatures;
pub mod singleton;
pub mod v1;
pub mod wire;
