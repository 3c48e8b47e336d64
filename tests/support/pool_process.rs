//! The real `chia-pool` binary as a child process, configured against a fake chain, for end-to-end tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::FakeChain;

/// A pool directory (pool.toml, token key, database) and the running process, if any.
pub struct PoolProcess {
    pub dir: PathBuf,
    pub config: PathBuf,
    child: Option<Child>,
    /// `http://127.0.0.1:PORT` of the running process.
    pub base_url: String,
    /// `http://127.0.0.1:PORT` of its operator view.
    pub admin_url: String,
    /// When set, the process's stderr (its log) is appended to this file instead of the test's stderr.
    pub log: Option<PathBuf>,
    /// When set, the process starts under this umask (through `sh`).
    pub umask: Option<u32>,
}

impl PoolProcess {
    /// Writes a config for `chain` into a fresh temp dir (via `chia-pool init`): `pool_lines` go into [pool]
    /// (at least `reward_address = "…"`), `extra_toml` (whole sections, e.g. "[partials]\n…") is appended.
    /// Then starts the pool.
    pub fn start(chain: &FakeChain, pool_lines: &str, extra_toml: &str) -> Self {
        Self::start_full(chain, pool_lines, "", extra_toml)
    }

    /// `start` with extra lines in the [server] section (TLS, timeouts).
    pub fn start_with_server(chain: &FakeChain, pool_lines: &str, server_lines: &str) -> Self {
        Self::start_full(chain, pool_lines, server_lines, "")
    }

    pub fn start_full(
        chain: &FakeChain,
        pool_lines: &str,
        server_lines: &str,
        extra_toml: &str,
    ) -> Self {
        Self::start_with_status(chain, pool_lines, server_lines, "", extra_toml)
    }

    /// `start_full` with lines for the [status] section (its admin listener is always on port 0).
    pub fn start_with_status(
        chain: &FakeChain,
        pool_lines: &str,
        server_lines: &str,
        status_lines: &str,
        extra_toml: &str,
    ) -> Self {
        let mut p = Self::create_with_status(
            chain,
            "127.0.0.1:0",
            pool_lines,
            server_lines,
            status_lines,
            extra_toml,
        );
        p.restart();
        p
    }

    /// Writes the directory and pool.toml like `start_full`, listening on `listen`, without starting.
    pub fn create(
        chain: &FakeChain,
        listen: &str,
        pool_lines: &str,
        server_lines: &str,
        extra_toml: &str,
    ) -> Self {
        Self::create_with_status(chain, listen, pool_lines, server_lines, "", extra_toml)
    }

    fn create_with_status(
        chain: &FakeChain,
        listen: &str,
        pool_lines: &str,
        server_lines: &str,
        status_lines: &str,
        extra_toml: &str,
    ) -> Self {
        // Unique per process and per call: tests in one binary start pools at the same instant.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "chia-pool-e2e-{}-{n}-{}",
            std::process::id(),
            super::fake_node::now_secs().to_bits()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let status = Command::new(env!("CARGO_BIN_EXE_chia-pool"))
            .args(["init", "--dir"])
            .arg(&dir)
            .stdout(Stdio::null())
            .status()
            .expect("run init");
        assert!(status.success(), "init failed");
        let config = dir.join("pool.toml");
        let toml = format!(
            "[pool]\n{pool_lines}\n\
             [server]\nlisten = \"{listen}\"\n{server_lines}\n\
             [chia]\nroot = \"{}\"\nnode_url = \"{}\"\nwallet_url = \"{}\"\nrpc_timeout_secs = 10\n\
             [status]\nadmin_listen = \"127.0.0.1:0\"\n{status_lines}\n\
             [logging]\nlevel = \"info\"\n{extra_toml}\n",
            chain.root.path.display(),
            chain.node.url(),
            chain.wallet.url()
        );
        std::fs::write(&config, toml).expect("write pool.toml");
        Self {
            dir,
            config,
            child: None,
            base_url: String::new(),
            admin_url: String::new(),
            log: None,
            umask: None,
        }
    }

    /// The running process's id (to send it signals).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// What the process logged so far (with `log` set).
    pub fn log_text(&self) -> String {
        self.log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    /// Starts the process (again) and waits until it listens.
    pub fn restart(&mut self) {
        self.restart_with_env(&[]);
    }

    /// `restart` with extra environment variables (e.g. the crash-injection point).
    pub fn restart_with_env(&mut self, env: &[(&str, &str)]) {
        self.restart_with(env, |_| {});
    }

    /// `restart_with_env`, with `customize` changing the command first (e.g. a `pre_exec` that sets limits).
    pub fn restart_with(&mut self, env: &[(&str, &str)], customize: impl FnOnce(&mut Command)) {
        assert!(self.child.is_none(), "already running");
        let mut command = match self.umask {
            None => Command::new(env!("CARGO_BIN_EXE_chia-pool")),
            Some(mask) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("umask {mask:03o}; exec \"$0\" \"$@\""))
                    .arg(env!("CARGO_BIN_EXE_chia-pool"));
                c
            }
        };
        let stderr = match &self.log {
            None => Stdio::inherit(),
            Some(path) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("open the log file")
                .into(),
        };
        command
            .args(["serve", "--config"])
            .arg(&self.config)
            .envs(env.iter().copied())
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(stderr);
        customize(&mut command);
        let mut child = command.spawn().expect("start chia-pool serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("operator view on ") {
                    let _ = tx.send(format!("admin {url}"));
                }
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(url) = rx.recv_timeout(Duration::from_millis(100)) {
                match url.strip_prefix("admin ") {
                    Some(admin) => self.admin_url = admin.to_string(),
                    None => {
                        self.base_url = url;
                        break;
                    }
                }
                continue;
            }
            if let Ok(Some(status)) = child.try_wait() {
                // An injected crash may come before the listening line; `wait_exit` then reports it.
                if !env.is_empty() && !status.success() && status.code().is_none() {
                    return;
                }
                panic!("chia-pool exited before listening: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "chia-pool did not start listening within 60 s"
            );
        }
        self.child = Some(child);
    }

    /// Waits up to `timeout` for the process to exit by itself; true if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    self.child = None;
                    return true;
                }
            } else {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Kills the process at once (SIGKILL: no shutdown code runs).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The running process's stderr, when `restart_with` made it a pipe.
    pub fn take_stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.child.as_mut().and_then(|c| c.stderr.take())
    }

    /// Sends SIGTERM (a clean stop request).
    #[cfg(unix)]
    pub fn terminate(&self) {
        if let Some(pid) = self.pid() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
    }

    /// Waits up to `timeout` for the process to exit and returns how it did.
    pub fn wait_status(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Runs `chia-pool serve` expecting it to stop by itself (a refused start): its exit status and stderr.
    pub fn serve_expecting_exit(&self, timeout: Duration) -> (std::process::ExitStatus, String) {
        assert!(self.child.is_none(), "already running");
        let mut child = Command::new(env!("CARGO_BIN_EXE_chia-pool"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chia-pool serve");
        let mut stderr = child.stderr.take().expect("stderr");
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        });
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chia-pool serve kept running; expected it to refuse to start");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (status, reader.join().unwrap_or_default())
    }

    /// Runs another `chia-pool` subcommand against this pool's config: exit status and stdout + stderr.
    pub fn command(&self, args: &[&str]) -> (std::process::ExitStatus, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_chia-pool"))
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .output()
            .expect("run chia-pool");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status, text)
    }

    /// CPU time (user + system) the process has used so far, from /proc (Linux only).
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()?)).ok()?;
        // Fields after the command name (which may hold spaces) start at state; utime and stime are 14 and 15.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // Linux reports in clock ticks of 1/100 s on every platform Rust supports.
        Some(Duration::from_millis(ticks * 10))
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.join("pool.redb")
    }

    pub fn token_key_path(&self) -> PathBuf {
        self.dir.join("token.key")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PoolProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
