//! One way to call the node or the wallet: each endpoint the pool uses is described once (service, name,
//! retry class, how its "no such thing" answer looks, how to read its answer) as an `Endpoint` constant in
//! `node.rs`, `wallet.rs` or `blocks.rs`; `ChainClient::ask` and `ChainClient::find` run any of them.

use serde_json::{Map, Value};

use super::error::{ChainError, Service};
use super::transport::Retry;
use super::ChainClient;
use crate::chia::wire::FieldError;

/// Reads an endpoint's answer (the JSON object of a `success: true` reply).
pub(crate) type Parse<T> = fn(Map<String, Value>) -> Result<T, FieldError>;

/// How an endpoint says that what was asked for does not exist: the structured error codes of 2.7.5, and the
/// words older nodes and wallets used before those codes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Missing {
    codes: &'static [&'static str],
    words: &'static str,
}

/// An endpoint of the node or the wallet, described once.
pub(crate) struct Endpoint<T> {
    service: Service,
    name: &'static str,
    retry: Retry,
    missing: Option<Missing>,
    parse: Parse<T>,
}

impl<T> Endpoint<T> {
    pub(crate) const fn node(name: &'static str, parse: Parse<T>) -> Self {
        Self::new(Service::Node, name, parse)
    }

    pub(crate) const fn wallet(name: &'static str, parse: Parse<T>) -> Self {
        Self::new(Service::Wallet, name, parse)
    }

    const fn new(service: Service, name: &'static str, parse: Parse<T>) -> Self {
        Self {
            service,
            name,
            retry: Retry::Safe,
            missing: None,
            parse,
        }
    }

    /// A call that moves money: never sent twice once it may have arrived (see `Retry::Once`).
    pub(crate) const fn pays(mut self) -> Self {
        self.retry = Retry::Once;
        self
    }

    /// `codes` (or, from older services, a message containing `words`) mean "not there": `find` answers `None`.
    pub(crate) const fn missing_when(
        mut self,
        codes: &'static [&'static str],
        words: &'static str,
    ) -> Self {
        self.missing = Some(Missing { codes, words });
        self
    }

    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    fn is_missing(&self, error: &ChainError) -> bool {
        let Some(missing) = self.missing else {
            return false;
        };
        match error {
            // An endpoint with no codes says it only in words, whatever code comes with them.
            ChainError::Rpc { message, .. } if missing.codes.is_empty() => {
                message.contains(missing.words)
            }
            ChainError::Rpc {
                code: Some(code), ..
            } => missing.codes.contains(&code.as_str()),
            ChainError::Rpc {
                code: None,
                message,
                ..
            } => message.contains(missing.words),
            _ => false,
        }
    }
}

impl ChainClient {
    /// Calls `endpoint`, whose answer must be there.
    pub(crate) async fn ask<T: Send + 'static>(
        &self,
        endpoint: &'static Endpoint<T>,
        body: Value,
    ) -> Result<T, ChainError> {
        self.find(endpoint, body)
            .await?
            .ok_or_else(|| ChainError::Runtime(format!("{}: no answer", endpoint.name)))
    }

    /// Calls `endpoint`; `None` when it answers that the thing asked for does not exist.
    pub(crate) async fn find<T: Send + 'static>(
        &self,
        endpoint: &'static Endpoint<T>,
        body: Value,
    ) -> Result<Option<T>, ChainError> {
        self.call(
            endpoint.service,
            endpoint.name,
            body,
            endpoint.retry,
            move |e| endpoint.is_missing(e),
            endpoint.parse,
        )
        .await
    }
}
