//! The `chia-pool` command: `init`, `serve`, `check`, `rewards`, `partials`. Errors become a message and a non-zero exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "chia-pool",
    version,
    about = "A Chia pool server for the v2 pooling protocol (PlotNFT v2)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a commented pool.toml and a fresh token key into a directory.
    Init {
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Overwrite an existing pool.toml (the token key is kept unless --new-key).
        #[arg(long)]
        force: bool,
        /// Replace the token key: every farmer must fetch a new token (they do so by themselves).
        #[arg(long)]
        new_key: bool,
    },
    /// Run the pool.
    Serve {
        #[arg(long, default_value = "pool.toml")]
        config: PathBuf,
    },
    /// Show members' points, reward coins and their forwarding, and a dry run of the next payout.
    Rewards {
        #[arg(long, default_value = "pool.toml")]
        config: PathBuf,
    },
    /// Show how each farmer's partials fared at confirmation, and why rejected ones were rejected.
    Partials {
        #[arg(long, default_value = "pool.toml")]
        config: PathBuf,
    },
    /// Test the configuration, the store, the node and the wallet, and say how to fix what is wrong.
    Check {
        #[arg(long, default_value = "pool.toml")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init {
            dir,
            force,
            new_key,
        } => chia_pool::cli::init(&dir, force, new_key),
        Command::Serve { config } => chia_pool::cli::serve(&config),
        Command::Check { config } => chia_pool::cli::check(&config),
        Command::Rewards { config } => chia_pool::cli::rewards(&config),
        Command::Partials { config } => chia_pool::cli::partials(&config),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
