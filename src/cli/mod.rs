//! The commands behind `chia-pool`: the program's edge, where errors become messages (anyhow) and exit codes.

mod database;
mod demo;
mod https;
mod import;
mod partials;
mod preflight;
mod rewards;
mod serve;
#[cfg(windows)]
mod service;

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::chain::{ChainClient, ChainConfig};
use crate::config::Config;
use crate::pool::tokens;
use crate::store;

pub use database::{backup, check_db};
pub use demo::{demo, DemoOptions};
pub use import::import_pool_reference;
pub use partials::partials;
pub use rewards::rewards;
pub use serve::serve;
#[cfg(windows)]
pub use service::service;

/// The commented configuration `init` writes (every key with its default).
pub const POOL_TOML_EXAMPLE: &str = include_str!("../../pool.toml.example");

/// `chia-pool init`: a commented pool.toml and a fresh token key in `dir`.
pub fn init(dir: &Path, force: bool, new_key: bool) -> anyhow::Result<ExitCode> {
    // The directory holds the token key and the database: owner-only when we create it.
    if !dir.exists() {
        store::create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let config_path = dir.join("pool.toml");
    if config_path.exists() && !force {
        bail!(
            "{} already exists; edit it, or pass --force to overwrite it",
            config_path.display()
        );
    }
    std::fs::write(&config_path, POOL_TOML_EXAMPLE)
        .with_context(|| format!("writing {}", config_path.display()))?;
    let key_path = dir.join("token.key");
    let existed = key_path.exists();
    tokens::create_key_file(&key_path, new_key)?;
    println!("wrote {}", config_path.display());
    if existed && !new_key {
        println!("kept the existing token key {}", key_path.display());
    } else {
        println!(
            "wrote a new token key {} ({})",
            key_path.display(),
            crate::platform::protection_description()
        );
    }
    println!(
        "next: set [pool] reward_address in pool.toml, then run `chia-pool serve --config {}`",
        config_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads pool.toml; a missing default file means the built-in defaults (a pool beside a local chia install).
pub(crate) fn load_config(path: &Path) -> anyhow::Result<(Config, bool)> {
    if !path.exists() && path == Path::new("pool.toml") {
        return Ok((Config::default(), false));
    }
    Ok((Config::load(path)?, true))
}

pub(crate) fn chain_config(config: &Config) -> ChainConfig {
    let mut chain = ChainConfig::new(config.chia.resolved_root());
    chain.node_url = config.chia.node_url.clone();
    chain.wallet_url = config.chia.wallet_url.clone();
    chain.timeouts.request = std::time::Duration::from_secs(config.chia.rpc_timeout_secs);
    chain
}

/// `chia-pool check`: config, store, node and wallet, each with what to fix.
pub fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let mut ok = true;
    let config = match load_config(path) {
        Ok((config, from_file)) => {
            if from_file {
                println!("config   ok: {}", path.display());
            } else {
                println!(
                    "config   note: {} not found, using built-in defaults (run `chia-pool init`)",
                    path.display()
                );
            }
            config
        }
        Err(e) => {
            println!("config   ERROR: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    match config.reward_puzzle_hash() {
        Ok(Some(_)) => println!("identity ok: reward address {}", config.pool.reward_address),
        Ok(None) => {
            println!("identity note: [pool] reward_address is not set: the wallet's address is used (set it to be explicit)")
        }
        Err(e) => {
            ok = false;
            println!("identity ERROR: {e}");
        }
    }
    match tokens::load_key_file(&config.auth.token_key_file) {
        Ok(_) => println!(
            "auth     ok: token key {}",
            config.auth.token_key_file.display()
        ),
        Err(e) => {
            ok = false;
            println!("auth     ERROR: {e}");
        }
    }
    if let Err(e) = preflight::check_listen(&config) {
        // Not an error: the pool itself may be running.
        println!("server   note: {e:#}");
    }
    if config.store.path.exists() {
        match store::backup::check_file(&config.store.path) {
            Ok(s) => println!(
                "store    ok: {} ({})",
                config.store.path.display(),
                database::describe(&s)
            ),
            Err(e) => {
                ok = false;
                println!("store    ERROR: {e}");
            }
        }
    } else {
        println!(
            "store    note: {} does not exist yet; `serve` creates it",
            config.store.path.display()
        );
    }
    let (https_ok, lines) = https::report(&config);
    ok &= https_ok;
    for line in lines {
        println!("{line}");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async {
        match ChainClient::new(chain_config(&config)) {
            Ok(chain) => Ok(chain.diagnose(config.chia.wallet_fingerprint).await),
            Err(e) => Err(e),
        }
    });
    match report {
        Ok(d) => {
            ok &= d.is_ok();
            println!("{d}");
        }
        Err(e) => {
            ok = false;
            println!("chain    ERROR: {e}");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
