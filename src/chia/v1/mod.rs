//! Pool protocol v1 and PlotNFT v1, the ones chia-blockchain 2.7.5 farmers use by default: messages and
//! signatures (`messages`), the v1 singleton's puzzle hashes and `PoolState` (`puzzles`), the state its spends
//! carry (`spends`), the singleton followed from its launcher to its current coin (`lineage`), and the absorb
//! of a pool reward (`absorb`). Pure functions, byte-exact with 2.7.5, like the rest of `crate::chia`.
pub mod absorb;
pub mod lineage;
pub mod messages;
pub mod puzzles;
pub mod spends;
