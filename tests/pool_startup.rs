//! No false alarms at start: with a node slow to give its first peak, the background jobs do not report
//! "the full node has no blocks yet" right after `node ready`.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::pool_process::PoolProcess;
use support::FakeChain;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_start_without_a_no_blocks_alarm() {
    let chain = FakeChain::start().await;
    let pool_lines = format!("reward_address = \"{}\"", hex::encode([0x3c; 32]));
    let mut pool = tokio::task::block_in_place(|| PoolProcess::start(&chain, &pool_lines, ""));
    pool.kill();
    chain.node_state().blockchain_state_delay = Some(Duration::from_millis(1500));

    let mut child = Command::new(env!("CARGO_BIN_EXE_chia-pool"))
        .args(["serve", "--config"])
        .arg(&pool.config)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chia-pool serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut log = Vec::new();
    let mut ready_at = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    // The fake node answers on this runtime's workers: wait without holding one.
    tokio::task::block_in_place(|| {
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
                if line.contains("node ready") {
                    ready_at = Some(Instant::now());
                }
                log.push(line);
            }
            // Watch the jobs for a while after the node was ready (several slow peak polls).
            if ready_at.is_some_and(|t| t.elapsed() > Duration::from_secs(6)) {
                break;
            }
        }
    });
    let _ = child.kill();
    let _ = child.wait();
    let text = log.join("\n");
    assert!(ready_at.is_some(), "never ready:\n{text}");
    assert!(!text.contains("no blocks yet"), "false alarm:\n{text}");
    assert!(!text.contains("paused"), "a job paused:\n{text}");
}
