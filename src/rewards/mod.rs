//! Rewards and payouts: discovering pool rewards, forwarding them to the pool wallet, and paying farmers by
//! points exactly once.
pub mod payout;
