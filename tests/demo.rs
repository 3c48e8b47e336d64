//! `chia-pool demo` as a new user runs it: the built binary with a small fleet at a high speed shows, within a
//! bounded time, members, accepted partials, a block found, a forward confirmed and a payout confirmed on
//! `/api/pool`; SIGINT stops it with exit code 0; a second start reuses the plots and the state.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

struct Demo {
    child: Child,
    base: String,
}

fn start(dir: &Path, log: &str) -> Demo {
    let stderr = std::fs::File::create(dir.with_extension(log)).expect("log file");
    // A relative --dir, as a user types it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_chia-pool"))
        .args([
            "demo",
            "--farmers",
            "4",
            "--speed",
            "50",
            "--port",
            "0",
            "--dir",
        ])
        .arg(dir.file_name().expect("dir name"))
        .current_dir(dir.parent().expect("parent"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start chia-pool demo");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    // First start makes the plots: a few seconds each.
    let base = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the demo printed its URL");
    Demo { child, base }
}

fn get(url: &str) -> Option<Value> {
    let text = ureq::get(url).call().ok()?.into_string().ok()?;
    serde_json::from_str(&text).ok()
}

/// What of the whole path `/api/pool` shows so far.
fn progress(v: &Value) -> [(&'static str, bool); 5] {
    let payout_confirmed = v["payouts"].as_array().is_some_and(|p| {
        p.iter()
            .any(|p| p["finished"] == true && p["paid_mojos"].as_u64().unwrap_or(0) > 0)
    });
    [
        ("members", v["members"]["pooling"].as_u64().unwrap_or(0) > 0),
        (
            "accepted partials",
            v["partials_24h"]["accepted"].as_u64().unwrap_or(0) > 0,
        ),
        (
            "a block found",
            v["blocks"].as_array().is_some_and(|b| !b.is_empty()),
        ),
        (
            "a forward confirmed",
            v["rewards"]["forwarded"].as_u64().unwrap_or(0) > 0,
        ),
        ("a payout confirmed", payout_confirmed),
    ]
}

fn wait_for_everything(base: &str, limit: Duration) -> Value {
    let start = Instant::now();
    let mut last = Value::Null;
    while start.elapsed() < limit {
        if let Some(v) = get(&format!("{base}/api/pool")) {
            if progress(&v).iter().all(|(_, ok)| *ok) {
                return v;
            }
            last = v;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let missing: Vec<_> = progress(&last)
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(what, _)| *what)
        .collect();
    panic!("after {limit:?} /api/pool still lacks {missing:?}: {last}");
}

fn stop(mut demo: Demo, signal: i32) {
    let pid = demo.child.id() as i32;
    // SAFETY: signalling the child this test started.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let start = Instant::now();
    loop {
        if let Some(status) = demo.child.try_wait().expect("wait") {
            assert!(status.success(), "the demo exited with {status}");
            return;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = demo.child.kill();
            panic!("the demo did not stop within 30 s of signal {signal}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn plot_times(dir: &Path) -> Vec<(PathBuf, SystemTime)> {
    let mut out: Vec<_> = std::fs::read_dir(dir.join("plots"))
        .expect("plots directory")
        .flatten()
        .map(|e| {
            (
                e.path(),
                e.metadata().and_then(|m| m.modified()).expect("mtime"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_demo_shows_the_whole_pool_working_and_starts_again_from_its_state() {
    let dir = std::env::temp_dir().join(format!("chia-pool-demo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    let demo = start(&dir, "log1");
    let status = get(&format!("{}/", demo.base));
    assert!(status.is_none(), "the status page is HTML, not JSON");
    let html = ureq::get(&format!("{}/", demo.base))
        .call()
        .expect("status page")
        .into_string()
        .expect("body");
    assert!(
        html.contains("chia-pool demo"),
        "status page names the pool"
    );
    let first = wait_for_everything(&demo.base, Duration::from_secs(180));
    stop(demo, libc::SIGINT);
    let plots = plot_times(&dir);
    assert!(!plots.is_empty(), "plots are kept in the demo directory");

    // A second start reuses the plots, the pool's database and the simulated chain.
    let demo = start(&dir, "log2");
    let carried_over = |v: &Value| {
        v["payouts"].as_array().map_or(0, Vec::len)
            >= first["payouts"].as_array().map_or(0, Vec::len)
            && v["node"]["peak_height"].as_u64() >= first["node"]["peak_height"].as_u64()
    };
    let mut again = Value::Null;
    for _ in 0..60 {
        again = get(&format!("{}/api/pool", demo.base)).unwrap_or(Value::Null);
        if carried_over(&again) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        again["payouts"].as_array().map_or(0, Vec::len)
            >= first["payouts"].as_array().map_or(0, Vec::len),
        "the payouts of the first run are still there: {again}"
    );
    assert!(
        again["node"]["peak_height"].as_u64() >= first["node"]["peak_height"].as_u64(),
        "the chain goes on from where it was: {again}"
    );
    assert_eq!(plot_times(&dir), plots, "no plot was made again");
    let log = std::fs::read_to_string(dir.with_extension("log2")).unwrap_or_default();
    assert!(log.contains("simulated chain restored"), "{log}");
    stop(demo, libc::SIGTERM);

    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(dir.with_extension("log1"));
    let _ = std::fs::remove_file(dir.with_extension("log2"));
}
