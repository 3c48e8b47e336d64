//! One RPC server (node or wallet): blocking JSON-over-HTTPS calls with timeouts, bounded retries with backoff,
//! the `success` envelope, and failures turned into `ChainError`s an operator can act on.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use serde_json::{Map, Value};

use super::config::ChainConfig;
use super::error::{ChainError, Service, TlsProblem};
use super::tls::{Probe, TlsFiles};

mod classify;

/// aiohttp's default `client_max_size`: the node and wallet refuse larger request bodies.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;
/// Coin record answers can be large; anything past this is not a sane answer.
const MAX_RESPONSE_BYTES: u64 = 512 << 20;
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Whether a call may be sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Reads, and writes the server deduplicates (node `push_tx`): retried on any passing failure.
    Safe,
    /// Wallet sends that would pay twice: a fresh connection each time, retried only if the request surely
    /// never left (the TCP connection or TLS handshake failed).
    Once,
}

pub(crate) struct RpcService {
    service: Service,
    base_url: String,
    keep_alive: ureq::Agent,
    fresh: ureq::Agent,
    files: TlsFiles,
    tls: Arc<ClientConfig>,
    connect_timeout: Duration,
    request_timeout: Duration,
    max_attempts: u32,
    backoff: Duration,
    /// HTTP requests sent (every attempt), for `ChainClient::stats`.
    pub(crate) requests: AtomicU64,
    pub(crate) failures: AtomicU64,
}

struct Failure {
    error: ChainError,
    /// Worth another attempt (the server may be restarting, the pooled connection was stale, ...).
    transient: bool,
    /// The request certainly did not reach the server.
    not_sent: bool,
}

impl RpcService {
    pub(crate) fn new(
        service: Service,
        url: &str,
        tls: Arc<ClientConfig>,
        files: TlsFiles,
        config: &ChainConfig,
    ) -> Result<Self, ChainError> {
        let base_url = url.trim_end_matches('/').to_string();
        let invalid = |reason: &str| ChainError::InvalidUrl {
            service,
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let rest = base_url
            .strip_prefix("https://")
            .ok_or_else(|| invalid("chia RPC is HTTPS only; it must start with https://"))?;
        if rest.is_empty() || rest.contains('/') {
            return Err(invalid("expected https://HOST:PORT with no path"));
        }
        let builder = || {
            ureq::AgentBuilder::new()
                .tls_config(Arc::clone(&tls))
                .timeout_connect(config.timeouts.connect)
                .timeout(config.timeouts.request)
                .redirects(0)
                .user_agent(concat!("chia-pool/", env!("CARGO_PKG_VERSION")))
        };
        Ok(Self {
            service,
            base_url,
            keep_alive: builder()
                .max_idle_connections_per_host(config.rpc_threads.max(1))
                .build(),
            fresh: builder().max_idle_connections(0).build(),
            files,
            tls,
            connect_timeout: config.timeouts.connect,
            request_timeout: config.timeouts.request,
            max_attempts: config.max_attempts.max(1),
            backoff: config.retry_backoff,
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        })
    }

    pub(crate) fn url(&self) -> &str {
        &self.base_url
    }

    /// POSTs `body` to `endpoint` and returns the answer object (with `success: true`).
    /// Runs on a chain thread: it blocks, and sleeps between attempts.
    pub(crate) fn call(
        &self,
        endpoint: &str,
        body: &Value,
        retry: Retry,
    ) -> Result<Map<String, Value>, ChainError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ChainError::Runtime(format!("cannot encode {endpoint} request: {e}")))?;
        if bytes.len() > MAX_REQUEST_BYTES {
            return Err(ChainError::RequestTooLarge {
                service: self.service,
                endpoint: endpoint.to_string(),
                size: bytes.len(),
            });
        }
        let agent = match retry {
            Retry::Safe => &self.keep_alive,
            Retry::Once => &self.fresh,
        };
        let mut pause = self.backoff;
        let mut attempt = 1;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let failure = match self.attempt(agent, endpoint, &bytes) {
                Ok(answer) => {
                    let result = self.envelope(endpoint, &answer);
                    crate::metrics::global().rpc_call(
                        &self.service.to_string(),
                        endpoint,
                        result.is_ok(),
                    );
                    return result;
                }
                Err(failure) => failure,
            };
            crate::metrics::global().rpc_call(&self.service.to_string(), endpoint, false);
            self.failures.fetch_add(1, Ordering::Relaxed);
            let may_retry = failure.transient && (retry == Retry::Safe || failure.not_sent);
            if !may_retry || attempt >= self.max_attempts {
                tracing::debug!(service = %self.service, endpoint, attempt, error = %failure.error, "RPC failed");
                return Err(self.explain(failure.error));
            }
            tracing::debug!(service = %self.service, endpoint, attempt, error = %failure.error, "RPC failed; retrying");
            std::thread::sleep(pause);
            pause = (pause * 2).min(MAX_BACKOFF);
            attempt += 1;
        }
    }

    /// A connection that keeps breaking may be a server refusing our certificate: look at the TLS session.
    fn explain(&self, error: ChainError) -> ChainError {
        if !matches!(error, ChainError::Disconnected { .. }) {
            return error;
        }
        let problem = match super::tls::probe(&self.base_url, &self.tls, self.connect_timeout) {
            Some(Probe::Refused(tls)) => self.tls_problem(&tls),
            Some(Probe::ClosedSilently) => TlsProblem::ClientCertificateRejected {
                cert: self.files.client_cert.clone(),
                reason:
                    "it closed every connection right after the TLS handshake without answering"
                        .into(),
            },
            None => return error,
        };
        ChainError::Tls {
            service: self.service,
            url: self.base_url.clone(),
            problem,
        }
    }

    fn attempt(
        &self,
        agent: &ureq::Agent,
        endpoint: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, Failure> {
        let url = format!("{}/{endpoint}", self.base_url);
        let response = agent
            .post(&url)
            .set("Content-Type", "application/json")
            .send_bytes(body)
            .map_err(|e| self.classify(e, endpoint))?;
        let mut answer = Vec::new();
        response
            .into_reader()
            .take(MAX_RESPONSE_BYTES + 1)
            .read_to_end(&mut answer)
            .map_err(|e| self.io_failure(&e, endpoint, false))?;
        if answer.len() as u64 > MAX_RESPONSE_BYTES {
            return Err(Failure {
                error: ChainError::bad_response(
                    self.service,
                    endpoint,
                    "answer larger than 512 MiB",
                ),
                transient: false,
                not_sent: false,
            });
        }
        Ok(answer)
    }

    /// Checks the chia envelope: a JSON object with `success: true`, or `success: false` with an error.
    fn envelope(&self, endpoint: &str, answer: &[u8]) -> Result<Map<String, Value>, ChainError> {
        let bad = |reason: String| ChainError::bad_response(self.service, endpoint, reason);
        let value: Value =
            serde_json::from_slice(answer).map_err(|e| bad(format!("not JSON ({e})")))?;
        let Value::Object(mut map) = value else {
            return Err(bad("not a JSON object".into()));
        };
        match map.get("success") {
            Some(Value::Bool(true)) => Ok(map),
            Some(Value::Bool(false)) => {
                let message = match map.remove("error") {
                    Some(Value::String(s)) => s,
                    Some(other) => other.to_string(),
                    None => "no error message".into(),
                };
                let structured = map.get("structuredError");
                let code = structured
                    .and_then(|s| s.get("code"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let detail = structured
                    .and_then(|s| s.get("data"))
                    .and_then(|d| d.get("error"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                Err(ChainError::Rpc {
                    service: self.service,
                    endpoint: endpoint.to_string(),
                    message,
                    code,
                    detail,
                })
            }
            _ => Err(bad("no \"success\" field".into())),
        }
    }
}
