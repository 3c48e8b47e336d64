//! Checks of what the config names that `https::prepare` does not cover and that can be made without the
//! node: the listen address, so that a busy port is reported at once rather than after the node is ready.

use std::net::TcpListener;

use anyhow::Context;

use crate::config::Config;

/// Every check; the first failure is returned with what to fix.
pub fn check(config: &Config) -> anyhow::Result<()> {
    check_listen(config)
}

/// The listen address can be bound now (it is bound for good once the node is ready).
pub fn check_listen(config: &Config) -> anyhow::Result<()> {
    let addr = config.server.listen;
    if addr.port() == 0 {
        return Ok(());
    }
    TcpListener::bind(addr).map(drop).with_context(|| {
        format!("cannot listen on {addr}; is another process using the port? ([server] listen)")
    })
}
