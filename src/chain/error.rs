//! Errors of the chain client. Each message says what is wrong and what the operator can do about it.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Which RPC server a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Node,
    Wallet,
}

impl Service {
    /// The `config.yaml` / `pool.toml` names an operator looks for.
    fn url_key(self) -> &'static str {
        match self {
            Service::Node => "[chia] node_url (full node RPC, default port 8555)",
            Service::Wallet => "[chia] wallet_url (wallet RPC, default port 9256)",
        }
    }

    fn start_command(self) -> &'static str {
        match self {
            Service::Node => "chia start node",
            Service::Wallet => "chia start wallet",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Node => "full node",
            Service::Wallet => "wallet",
        })
    }
}

/// Why a TLS session with the node or wallet could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsProblem {
    /// The server's certificate does not chain to our private CA.
    ServerNotTrusted {
        ca: PathBuf,
        reason: String,
    },
    /// The server refused our client certificate (signed by another CA, or none presented).
    ClientCertificateRejected {
        cert: PathBuf,
        reason: String,
    },
    /// The peer does not speak TLS at all.
    NotTls {
        reason: String,
    },
    Other(String),
}

impl fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsProblem::ServerNotTrusted { ca, reason } => write!(
                f,
                "its certificate is not signed by the private CA {} ({reason}); [chia] root must be the \
                 CHIA_ROOT of the chia installation that serves this URL",
                ca.display()
            ),
            TlsProblem::ClientCertificateRejected { cert, reason } => write!(
                f,
                "it rejected our client certificate {} ({reason}); use the certificates of the CHIA_ROOT \
                 the node runs from (config/ssl/daemon/private_daemon.crt and .key)",
                cert.display()
            ),
            TlsProblem::NotTls { reason } => write!(
                f,
                "the port does not speak TLS ({reason}); is the URL's port the RPC port (full node 8555, \
                 wallet 9256)?"
            ),
            TlsProblem::Other(reason) => f.write_str(reason),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ChainError {
    #[error(
        "{what} {} is missing: set [chia] root to the CHIA_ROOT where `chia init` created config/ssl/ \
         (usually ~/.chia/mainnet), or set the certificate path explicitly",
        path.display()
    )]
    CertificateMissing { what: &'static str, path: PathBuf },

    #[error(
        "{what} {} cannot be read ({reason}): run the pool as a user allowed to read it",
        path.display()
    )]
    CertificateUnreadable {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },

    #[error(
        "{what} {} is not usable ({reason}): it must be the PEM file chia wrote there; \
         `chia init --fix-ssl-permissions` or re-running `chia init` restores it",
        path.display()
    )]
    CertificateInvalid {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },

    #[error("{service} URL {url:?} is invalid ({reason}): fix {}", service.url_key())]
    InvalidUrl {
        service: Service,
        url: String,
        reason: String,
    },

    #[error(
        "{service} is not reachable at {url} ({reason}): start it (`{}`) or fix {}",
        service.start_command(),
        service.url_key()
    )]
    Unreachable {
        service: Service,
        url: String,
        reason: String,
    },

    #[error("TLS with the {service} at {url} failed: {problem}")]
    Tls {
        service: Service,
        url: String,
        problem: TlsProblem,
    },

    #[error(
        "the connection to the {service} at {url} broke during {endpoint} ({reason}): it may be restarting; \
         if this persists check that it accepts our client certificate ([chia] root)"
    )]
    Disconnected {
        service: Service,
        url: String,
        endpoint: String,
        reason: String,
    },

    #[error(
        "the {service} did not answer {endpoint} within {after:?}: it may be overloaded, starting or \
         syncing (`chia show -s`); raise the timeout if it is just slow"
    )]
    Timeout {
        service: Service,
        endpoint: String,
        after: Duration,
    },

    #[error("the {service} answered {endpoint} with HTTP {status}: {hint}")]
    HttpStatus {
        service: Service,
        endpoint: String,
        status: u16,
        hint: String,
    },

    #[error(
        "the {service} sent an unusable answer to {endpoint}: {reason}; is the URL pointing at a chia \
         {service} RPC port?"
    )]
    BadResponse {
        service: Service,
        endpoint: String,
        reason: String,
    },

    /// The server answered `success: false`.
    #[error("the {service} refused {endpoint}: {message}{}", code.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default())]
    Rpc {
        service: Service,
        endpoint: String,
        message: String,
        /// `structuredError.code` (e.g. `TRANSACTION_FAILED`).
        code: Option<String>,
        /// `structuredError.data.error` when present (e.g. the mempool's `DOUBLE_SPEND`).
        detail: Option<String>,
    },

    #[error(
        "the {service} is not synced{}: wait until `chia show -s` (node) or `chia wallet show` (wallet) \
         reports it synced and check that it has peers",
        detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    NotSynced {
        service: Service,
        detail: Option<String>,
    },

    #[error("the {service} has no blocks yet (no peak): wait for it to sync")]
    NoPeak { service: Service },

    #[error(
        "the full node has not answered get_blockchain_state for {age_secs} s{}: the peak is unknown",
        last_error.as_deref().map(|e| format!(" (last error: {e})")).unwrap_or_default()
    )]
    PeakStale {
        age_secs: u64,
        last_error: Option<String>,
    },

    #[error(
        "request {endpoint} would be {size} bytes, over the {service}'s 1 MiB request limit; split it"
    )]
    RequestTooLarge {
        service: Service,
        endpoint: String,
        size: usize,
    },

    #[error("the chain client cannot run: {0}")]
    Runtime(String),
}

impl ChainError {
    /// The `structuredError.code` of a `success: false` answer.
    pub fn rpc_code(&self) -> Option<&str> {
        match self {
            ChainError::Rpc { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether the failure says the node or wallet could not be reached at all (down, restarting, wrong port).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            ChainError::Unreachable { .. }
                | ChainError::Disconnected { .. }
                | ChainError::Timeout { .. }
        )
    }

    pub(crate) fn bad_response(
        service: Service,
        endpoint: &str,
        reason: impl Into<String>,
    ) -> Self {
        ChainError::BadResponse {
            service,
            endpoint: endpoint.to_string(),
            reason: reason.into(),
        }
    }
}
