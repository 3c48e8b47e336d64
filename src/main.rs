//! The `chia-pool` command: `init`, `serve`, `check`, `backup`, `rewards`, `partials`. Errors become a message and
//! a non-zero exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "chia-pool",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("CHIA_POOL_COMMIT"), ")"),
    about = "A Chia pool server for PlotNFT v1 and v2 members (pool protocols v1 and v2)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum ImportFrom {
    /// A pool-reference (Chia-Network/pool-reference) SQLite database: its v1 members, each verified on chain;
    /// those that cannot be verified are listed, not imported.
    PoolReference {
        #[arg(long, default_value = "pool.toml")]
        config: PathBuf,
        /// The pool-reference database file (pooldb.sqlite).
        #[arg(long)]
        sqlite: PathBuf,
        /// Print what would be imported; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
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
    /// See the pool work without a chia node: a simulated chain and farmer fleet beside the real pool, on
    /// 127.0.0.1, with its status page. Plots and state are kept in --dir for the next run.
    Demo {
        #[arg(long, default_value = "chia-pool-demo")]
        dir: PathBuf,
        /// Simulated farmers (each with 1 to 3 k=18 plots).
        #[arg(long, default_value_t = 6)]
        farmers: u32,
        /// How many times faster than mainnet the simulated chain runs.
        #[arg(long, default_value_t = 10.0)]
        speed: f64,
        /// Port of the farmer API and status page (0 = any free port).
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Show members' points, reward coins and their forwarding, and a dry run of the next payout.
    Rewards {
        #[arg(long, default_value = "pool.toml")]
        config: PathBuf,
        /// Also check the ledger against the chain (every confirmed payout exists); exit 1 on a mismatch.
        #[arg(long)]
        verify: bool,
    },
    /// Show how each farmer's partials fared at confirmation, and why rejected ones were rejected.
    Partials {
        #[arg(long, default_value = "pool.toml")]
        config: PathBuf,
    },
    /// Take over the members of another pool server (the pool must be stopped).
    Import {
        #[command(subcommand)]
        from: ImportFrom,
    },
    /// Test the configuration, the store, the node and the wallet, and say how to fix what is wrong;
    /// with --db, verify only that database file (e.g. a backup).
    Check {
        #[arg(long, default_value = "pool.toml")]
        config: PathBuf,
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Copy the database into a new file, consistently, also while the pool runs.
    Backup {
        #[arg(long, default_value = "pool.toml")]
        config: PathBuf,
        /// The database to copy instead of the config's [store] path.
        #[arg(long)]
        db: Option<PathBuf>,
        /// The new file.
        #[arg(long)]
        to: PathBuf,
    },
    /// Run as the Windows service (started by the service manager; the .msi registers it).
    #[cfg(windows)]
    Service {
        /// Default: %ProgramData%\chia-pool\pool.toml.
        #[arg(long)]
        config: Option<PathBuf>,
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
        Command::Demo {
            dir,
            farmers,
            speed,
            port,
        } => chia_pool::cli::demo(chia_pool::cli::DemoOptions {
            dir,
            farmers,
            speed,
            port,
        }),
        Command::Check { db: Some(db), .. } => chia_pool::cli::check_db(&db),
        Command::Check { config, db: None } => chia_pool::cli::check(&config),
        Command::Backup { config, db, to } => chia_pool::cli::backup(&config, db.as_deref(), &to),
        Command::Rewards { config, verify } => chia_pool::cli::rewards(&config, verify),
        Command::Partials { config } => chia_pool::cli::partials(&config),
        #[cfg(windows)]
        Command::Service { config } => chia_pool::cli::service(config.as_deref()),
        Command::Import {
            from:
                ImportFrom::PoolReference {
                    config,
                    sqlite,
                    dry_run,
                },
        } => chia_pool::cli::import_pool_reference(&config, &sqlite, dry_run),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
