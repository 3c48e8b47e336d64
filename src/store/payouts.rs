//! The payout ledger: one row per payout with its shares and its transactions, each transaction recorded
//! before the wallet is asked to send it.

use bincode::{Decode, Encode};
use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use super::records::{decode, decode_all, encode};
use super::StoreError;

/// payout id (1, 2, …) → payout.
pub(super) const PAYOUTS: TableDefinition<u64, &[u8]> = TableDefinition::new("payouts");

/// A payout transaction the wallet signed, as recorded before it is sent: the very same transaction can be
/// pushed again, and the chain can be asked whether its outputs exist and whether its inputs are still free.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SignedTx {
    pub tx_name: [u8; 32],
    /// The TransactionRecord JSON exactly as the wallet returned it.
    pub tx_json: String,
    /// Ids of the coins it creates for the batch's payees (one per addition).
    pub outputs: Vec<[u8; 32]>,
    /// Ids of the wallet coins it spends.
    pub inputs: Vec<[u8; 32]>,
    /// Peak height when it was signed.
    pub signed_at: u32,
}

/// Where one payout transaction stands. It moves forward only, except that a transaction the chain proves
/// dead (none of its outputs exist and one of its inputs was spent by another transaction, buried) is
/// abandoned and the batch goes back to `Planned` to be paid by a new transaction.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum BatchState {
    /// Planned; no transaction recorded yet.
    Planned,
    /// The wallet signed it; maybe not sent yet.
    Signed(SignedTx),
    /// Handed to the wallet to broadcast (the wallet accepted it).
    Pushed(SignedTx),
    /// Its outputs are on chain at `height`, buried `confirmation_depth` deep.
    Confirmed {
        tx_name: [u8; 32],
        height: u32,
        outputs: Vec<[u8; 32]>,
    },
}

impl BatchState {
    /// Forward order of the states (an abandoned transaction is the one way back).
    pub fn rank(&self) -> u8 {
        match self {
            BatchState::Planned => 0,
            BatchState::Signed(_) => 1,
            BatchState::Pushed(_) => 2,
            BatchState::Confirmed { .. } => 3,
        }
    }

    /// The recorded transaction not yet confirmed, if any.
    pub fn pending(&self) -> Option<&SignedTx> {
        match self {
            BatchState::Signed(tx) | BatchState::Pushed(tx) => Some(tx),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Batch {
    /// (payee puzzle hash, mojo): one output per puzzle hash.
    pub additions: Vec<([u8; 32], u64)>,
    /// Text memo on every output, telling the payee what the coin is.
    pub memo: String,
    pub state: BatchState,
    /// Transactions of this batch the chain proved dead (never landed, can no longer land).
    pub abandoned: Vec<[u8; 32]>,
    /// Why the batch is not moving, for the operator (a wallet refusal, a transaction that cannot be proven
    /// landed or dead); empty when it moves.
    pub waiting: String,
}

impl Batch {
    pub fn new(additions: Vec<([u8; 32], u64)>, memo: String) -> Self {
        Self {
            additions,
            memo,
            state: BatchState::Planned,
            abandoned: Vec::new(),
            waiting: String::new(),
        }
    }

    pub fn total(&self) -> u64 {
        self.additions
            .iter()
            .map(|(_, a)| a)
            .fold(0, |t, a| t.saturating_add(*a))
    }
}

/// One farmer's line in a payout.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PayoutLine {
    pub launcher_id: [u8; 32],
    /// Where this farmer's payment went (members sharing an address share one output).
    pub payout_puzzle_hash: [u8; 32],
    pub points: u64,
    pub share: u64,
    pub paid: u64,
    pub carried: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PayoutRecord {
    pub id: u64,
    pub created_at: u64,
    /// Forwarded rewards shared in this payout (sum of `reward_coins`' amounts).
    pub rewards: u64,
    pub fee: u64,
    /// Where the fee was sent as an output of the batches; None = it stays in the pool wallet.
    pub fee_puzzle_hash: Option<[u8; 32]>,
    pub reward_coins: Vec<[u8; 32]>,
    pub lines: Vec<PayoutLine>,
    pub batches: Vec<Batch>,
}

impl PayoutRecord {
    pub fn finished(&self) -> bool {
        self.batches
            .iter()
            .all(|b| matches!(b.state, BatchState::Confirmed { .. }))
    }
}

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(PAYOUTS)?;
    Ok(())
}

pub fn put(txn: &WriteTransaction, payout: &PayoutRecord) -> Result<(), StoreError> {
    let bytes = encode(payout)?;
    txn.open_table(PAYOUTS)?
        .insert(payout.id, bytes.as_slice())?;
    Ok(())
}

pub fn get_for_update(txn: &WriteTransaction, id: u64) -> Result<Option<PayoutRecord>, StoreError> {
    let table = txn.open_table(PAYOUTS)?;
    let row = table.get(id)?;
    row.map(|v| decode(v.value())).transpose()
}

/// The id the next payout gets.
pub fn next_id(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let table = txn.open_table(PAYOUTS)?;
    let last = table.last()?.map(|(k, _)| k.value());
    Ok(last.map_or(1, |id| id + 1))
}

/// Every payout, oldest first.
pub fn all(txn: &ReadTransaction) -> Result<Vec<PayoutRecord>, StoreError> {
    let table = txn.open_table(PAYOUTS)?;
    decode_all(&table)
}
