//! What `chia-pool check` reports about the node and wallet: each problem named with its fix.

use std::fmt;

use chia_protocol::Bytes32;

use super::error::ChainError;
use super::node::NetworkInfo;
use super::wallet::{WalletBalance, WalletSyncStatus};
use super::ChainClient;

const MOJO_PER_XCH: u128 = 1_000_000_000_000;

#[derive(Debug, Clone, PartialEq)]
pub struct NodeReport {
    pub url: String,
    pub network: NetworkInfo,
    pub synced: bool,
    pub peak_height: Option<u32>,
    pub sync_tip_height: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WalletReport {
    pub url: String,
    pub network: NetworkInfo,
    pub fingerprint: Option<u32>,
    pub sync: WalletSyncStatus,
    /// Main XCH wallet (id 1); `None` when no key is logged in.
    pub balance: Option<WalletBalance>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The pool cannot work correctly until this is fixed.
    Error,
    /// Worth knowing; the pool still runs.
    Warning,
}

/// One finding, worded as "what is wrong: how to fix it".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Diagnostics {
    pub node: Result<NodeReport, ChainError>,
    pub wallet: Result<WalletReport, ChainError>,
    /// The fingerprint the pool is configured to use (`[chia] wallet_fingerprint`).
    pub expected_fingerprint: Option<u32>,
}

impl ChainClient {
    /// Asks the node and wallet what `check` needs. Never fails: every failure becomes part of the report.
    pub async fn diagnose(&self, expected_fingerprint: Option<u32>) -> Diagnostics {
        let (node, wallet) = tokio::join!(self.node_report(), self.wallet_report());
        Diagnostics {
            node,
            wallet,
            expected_fingerprint,
        }
    }

    async fn node_report(&self) -> Result<NodeReport, ChainError> {
        let network = self.network_info().await?;
        let state = self.blockchain_state().await?;
        Ok(NodeReport {
            url: self.node_url().to_string(),
            network,
            synced: state.synced,
            peak_height: state.peak.map(|p| p.height),
            sync_tip_height: state.sync_tip_height,
        })
    }

    async fn wallet_report(&self) -> Result<WalletReport, ChainError> {
        let network = self.wallet_network_info().await?;
        let fingerprint = self.logged_in_fingerprint().await?;
        let sync = self.wallet_sync_status().await?;
        let balance = match fingerprint {
            Some(_) => Some(self.wallet_balance(1).await?),
            None => None,
        };
        Ok(WalletReport {
            url: self.wallet_url().to_string(),
            network,
            fingerprint,
            sync,
            balance,
        })
    }
}

fn short(hash: &Bytes32) -> String {
    let hex = hex::encode(hash);
    format!("0x{}…", &hex[..16])
}

fn xch(mojos: u128) -> String {
    format!("{}.{:012} XCH", mojos / MOJO_PER_XCH, mojos % MOJO_PER_XCH)
}

impl Diagnostics {
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut error = |message: String| {
            problems.push(Problem {
                severity: Severity::Error,
                message,
            })
        };
        match &self.node {
            Err(e) => error(e.to_string()),
            Ok(node) if !node.synced => error(format!(
                "the full node is not synced (peak {}, sync tip {}): wait until `chia show -s` says synced; \
                 the pool refuses partials until then",
                node.peak_height.map_or("none".into(), |h| h.to_string()),
                node.sync_tip_height
            )),
            Ok(_) => {}
        }
        match &self.wallet {
            Err(e) => error(e.to_string()),
            Ok(wallet) => {
                if let Ok(node) = &self.node {
                    if node.network.genesis_challenge != wallet.network.genesis_challenge {
                        error(format!(
                            "the wallet is on network {} but the full node on {}: point both URLs at the same \
                             chia installation",
                            wallet.network.network_name, node.network.network_name
                        ));
                    }
                }
                match (wallet.fingerprint, self.expected_fingerprint) {
                    (None, _) => error(
                        "no key is logged in to the wallet: set [chia] wallet_fingerprint (see `chia keys show`); \
                         the pool logs in with it at start"
                            .into(),
                    ),
                    (Some(actual), Some(expected)) if actual != expected => error(format!(
                        "the wallet is logged in to key {actual}, not the configured {expected}: the pool logs \
                         in to {expected} at start; check [chia] wallet_fingerprint"
                    )),
                    _ => {}
                }
                if !wallet.sync.synced {
                    error(format!(
                        "the wallet is not synced{}: wait until `chia wallet show` says synced; payouts wait \
                         until then",
                        if wallet.sync.syncing { " (syncing)" } else { "" }
                    ));
                }
                if let Some(balance) = &wallet.balance {
                    if balance.spendable == 0 {
                        problems.push(Problem {
                            severity: Severity::Warning,
                            message: "the wallet has no spendable balance: payouts and fees need XCH in it".into(),
                        });
                    }
                }
            }
        }
        problems
    }

    /// No error-level problem.
    pub fn is_ok(&self) -> bool {
        self.problems()
            .iter()
            .all(|p| p.severity != Severity::Error)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            Ok(node) => writeln!(
                f,
                "full node  {}: reachable, {}, peak {}, network {} (genesis challenge {})",
                node.url,
                if node.synced { "synced" } else { "NOT synced" },
                node.peak_height.map_or("none".into(), |h| h.to_string()),
                node.network.network_name,
                short(&node.network.genesis_challenge),
            )?,
            Err(_) => writeln!(f, "full node  unreachable or unusable")?,
        }
        match &self.wallet {
            Ok(wallet) => writeln!(
                f,
                "wallet     {}: reachable, fingerprint {}, {}, spendable {}",
                wallet.url,
                wallet
                    .fingerprint
                    .map_or("none".into(), |fp| fp.to_string()),
                if wallet.sync.synced {
                    "synced"
                } else {
                    "NOT synced"
                },
                wallet
                    .balance
                    .map_or("unknown (no key logged in)".into(), |b| xch(b.spendable)),
            )?,
            Err(_) => writeln!(f, "wallet     unreachable or unusable")?,
        }
        let problems = self.problems();
        if problems.is_empty() {
            return writeln!(f, "no problems found");
        }
        for problem in problems {
            let label = match problem.severity {
                Severity::Error => "problem",
                Severity::Warning => "warning",
            };
            writeln!(f, "{label}: {}", problem.message)?;
        }
        Ok(())
    }
}
