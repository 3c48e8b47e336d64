//! Errors of the reward jobs: what failed, typed, so the job loop can log it and the CLI can explain it.

use crate::chain::ChainError;
use crate::chia::forward::ForwardError;
use crate::pool::PoolError;
use crate::store::StoreError;

use super::ledger::LedgerMismatch;

#[derive(Debug, thiserror::Error)]
pub enum RewardsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A member's stored data cannot be used to build its forward.
    #[error("member 0x{launcher}: {source}")]
    Member {
        launcher: String,
        #[source]
        source: PoolError,
    },
    #[error("the forward bundle cannot be built: {0}")]
    Forward(#[from] ForwardError),
    /// The member's PlotNFT is not where the pool last saw it (or not known yet): its forward waits.
    #[error("the PlotNFT of member 0x{launcher} {why}; its forward waits for the tracker")]
    PlotNftMoved { launcher: String, why: &'static str },
    /// A recorded payout transaction cannot be read back (the database was edited or is damaged).
    #[error("payout {payout} batch {batch}: the recorded transaction is unreadable ({reason})")]
    BadTransaction {
        payout: u64,
        batch: usize,
        reason: String,
    },
    #[error("LEDGER MISMATCH, payouts paused until it is explained: {0}")]
    Ledger(#[from] LedgerMismatch),
}

impl RewardsError {
    pub fn member(launcher: &[u8; 32], source: PoolError) -> Self {
        RewardsError::Member {
            launcher: hex::encode(launcher),
            source,
        }
    }
}
