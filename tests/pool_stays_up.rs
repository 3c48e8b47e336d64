//! The real binary stays up, or stops clearly: concurrent registrations of one launcher, a clean stop under
//! load that loses no accepted partial, a backup taken under load, empty and damaged database files, and a
//! disk that refuses writes (RLIMIT_FSIZE lowered on the running process) answered, healed, or ended.
//!
//! Longer than 400 lines on purpose: each failure scenario is a test over the same process and fault helpers.

// Signals and resource limits: Unix (the fault test: Linux).
#![cfg(unix)]

mod common;
mod support;

use std::time::{Duration, Instant};

use chia_bls::{sign, DerivableKey, SecretKey};
use chia_pool::chia::constants::ConsensusConstants;
use chia_pool::chia::messages::{Message, PostFarmerPayload, PostFarmerRequest};
use chia_pool::chia::puzzles::{reward_puzzle_hash, PlotNftState};
use chia_protocol::Bytes32;
use serde_json::Value;
use support::plotnft_chain::add_plotnft;
use support::plots::{find_proofs, signed_partial, TestPlot};
use support::pool_process::PoolProcess;
use support::FakeChain;

const TARGET: [u8; 32] = [0x5a; 32];

fn pool_lines() -> String {
    format!("reward_address = \"{}\"", hex::encode(TARGET))
}

/// POSTs JSON; the answer's JSON whatever the status, None when the connection failed.
fn try_post(url: &str, body: &str) -> Option<Value> {
    let answer = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build()
        .post(url)
        .set("Content-Type", "application/json")
        .send_string(body);
    let response = match answer {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(_) => return None,
    };
    serde_json::from_str(&response.into_string().ok()?).ok()
}

/// A signed POST /v2/farmer for `launcher`, after putting its PlotNFT on the fake chain.
fn registration(chain: &FakeChain, launcher: Bytes32, auth_sk: &SecretKey) -> String {
    add_plotnft(
        &mut chain.node_state(),
        launcher,
        auth_sk.public_key(),
        &support::farmer::pool_config(Bytes32::new(TARGET)),
        PlotNftState::Pooling,
    );
    let payload = PostFarmerPayload {
        launcher_id: launcher,
        authentication_token: 0,
        authentication_public_key: auth_sk.public_key(),
        payout_instructions: hex::encode([8u8; 32]),
        suggested_difficulty: None,
    };
    PostFarmerRequest {
        signature: sign(&auth_sk.derive_unhardened(12381), payload.get_hash()),
        payload,
    }
    .to_json_string()
}

fn zero_block(path: &std::path::Path, offset: u64) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(&vec![0u8; 64 * 1024]).unwrap();
    f.sync_all().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_registration_wins_a_race_and_bad_database_files_are_refused() {
    let chain = FakeChain::start().await;
    let mut pool = tokio::task::block_in_place(|| PoolProcess::start(&chain, &pool_lines(), ""));
    let base = pool.base_url.clone();
    let auth_sk = SecretKey::from_seed(&[31; 32]);
    let launcher = Bytes32::new([31; 32]);
    let body = registration(&chain, launcher, &auth_sk);

    // 20 concurrent registrations of one launcher: exactly one succeeds, the others are told it is known.
    let answers: Vec<Value> = tokio::task::block_in_place(|| {
        let threads: Vec<_> = (0..20)
            .map(|_| {
                let (url, body) = (format!("{base}/v2/farmer"), body.clone());
                std::thread::spawn(move || try_post(&url, &body).expect("an answer"))
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let welcomed = answers
        .iter()
        .filter(|v| v.get("welcome_message").is_some())
        .count();
    let known = answers.iter().filter(|v| v["error_code"] == 11).count();
    assert_eq!((welcomed, known), (1, 19), "{answers:?}");

    // SIGTERM: a clean stop, exit code 0.
    pool.terminate();
    let status = tokio::task::block_in_place(|| pool.wait_status(Duration::from_secs(60)));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "clean stop");
    let db = pool.store_path();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&db).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the database is owner-only: {mode:o}");
    }
    let db_arg = db.to_str().unwrap().to_string();
    let (status, out) = pool.command(&["check", "--db", &db_arg]);
    assert!(
        status.success() && out.contains("every page verified"),
        "{out}"
    );
    let good = pool.dir().join("good.redb");
    let (status, out) = pool.command(&["backup", "--to", good.to_str().unwrap()]);
    assert!(status.success(), "{out}");

    // A zero-length file is not taken as a new database.
    std::fs::write(&db, b"").unwrap();
    let (status, err) =
        tokio::task::block_in_place(|| pool.serve_expecting_exit(Duration::from_secs(60)));
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains(&db_arg) && err.contains("backup") && err.contains("empty"),
        "{err}"
    );

    // A 64 KiB block of zeros anywhere: `check` and `serve` refuse the file or find it sound, never panic.
    let size = std::fs::metadata(&good).unwrap().len();
    let mut refused = 0;
    for offset in (0..size).step_by(64 * 1024) {
        std::fs::copy(&good, &db).unwrap();
        zero_block(&db, offset);
        let (status, out) = pool.command(&["check", "--db", &db_arg]);
        assert!(
            matches!(status.code(), Some(0 | 1)),
            "check at {offset}: {out}"
        );
        assert!(!out.contains("panicked"), "{out}");
        if status.code() == Some(1) {
            refused += 1;
            let (status, err) =
                tokio::task::block_in_place(|| pool.serve_expecting_exit(Duration::from_secs(60)));
            assert_eq!(status.code(), Some(1), "serve at {offset}: {err}");
            assert!(
                err.contains(&db_arg) && err.contains("damaged") && err.contains("backup"),
                "{err}"
            );
            assert!(!err.contains("panicked"), "{err}");
            eprintln!("refused at {offset}: {}", err.lines().last().unwrap_or(""));
        }
    }
    eprintln!(
        "damaged copies: {refused} of {} refused",
        size.div_ceil(64 * 1024)
    );
    assert!(refused >= 1, "zeroing the header block must be noticed");

    // The backup restores the pool: the member is still known.
    std::fs::copy(&good, &db).unwrap();
    tokio::task::block_in_place(|| pool.restart());
    let v =
        tokio::task::block_in_place(|| try_post(&format!("{}/v2/farmer", pool.base_url), &body));
    assert_eq!(v.unwrap()["error_code"], 11);

    // TLS files are checked before anything waits on the node (which is down now).
    pool.terminate();
    tokio::task::block_in_place(|| pool.wait_status(Duration::from_secs(60)));
    chain.node.stop().await;
    let one = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = pool.dir().join("cert.pem");
    let key = pool.dir().join("key.pem");
    std::fs::write(&cert, one.cert.pem()).unwrap();
    std::fs::write(&key, other.signing_key.serialize_pem()).unwrap();
    let plain = std::fs::read_to_string(&pool.config).unwrap();
    let with_tls = |cert: &std::path::Path| {
        plain.replacen(
            "[server]\n",
            &format!(
                "[server]\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
                cert.display(),
                key.display()
            ),
            1,
        )
    };
    std::fs::write(&pool.config, with_tls(&cert)).unwrap();
    let (status, err) =
        tokio::task::block_in_place(|| pool.serve_expecting_exit(Duration::from_secs(60)));
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("tls_key") && err.contains("key.pem"), "{err}");
    std::fs::write(&pool.config, with_tls(&pool.dir().join("missing.pem"))).unwrap();
    let (status, err) =
        tokio::task::block_in_place(|| pool.serve_expecting_exit(Duration::from_secs(60)));
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("missing.pem") && err.contains("tls_cert"),
        "{err}"
    );

    // SIGTERM while the pool waits for its node: a clean stop too.
    std::fs::write(&pool.config, &plain).unwrap();
    let mut waiting = std::process::Command::new(env!("CARGO_BIN_EXE_chia-pool"))
        .args(["serve", "--config"])
        .arg(&pool.config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(waiting.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = waiting.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "no stop while waiting for the node"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
}

/// Partials with real proofs for one farmer, ready to send.
/// The fake node must serve the small-plot constants from before the pool starts.
fn partials(
    chain: &FakeChain,
    constants: &ConsensusConstants,
    base: &str,
    seed: u8,
    n: usize,
) -> (Bytes32, String, Vec<String>) {
    let auth_sk = SecretKey::from_seed(&[seed; 32]);
    let launcher = Bytes32::new([seed; 32]);
    let token = support::farmer::join_pool(
        chain,
        &ureq::agent(),
        base,
        launcher,
        &auth_sk,
        Bytes32::new(TARGET),
    );
    // Several plots: one finds only a few proofs in the slots the fake node makes.
    let mut bodies = Vec::new();
    for index in 0..3 {
        let plot = TestPlot::create(reward_puzzle_hash(launcher), index);
        for (sp, pos) in find_proofs(chain, &plot, constants, n) {
            bodies.push(
                signed_partial(launcher, sp, pos, &plot.plot_sk, &auth_sk, &token).to_json_string(),
            );
        }
        if bodies.len() >= n {
            break;
        }
    }
    (launcher, token, bodies)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_load_and_sigterm_lose_no_accepted_partial() {
    let chain = FakeChain::start().await;
    let constants = support::farmer::use_small_plot_constants(&chain);
    let mut pool = tokio::task::block_in_place(|| PoolProcess::start(&chain, &pool_lines(), ""));
    let base = pool.base_url.clone();
    let (_, _, bodies) =
        tokio::task::block_in_place(|| partials(&chain, &constants, &base, 41, 16));
    assert!(bodies.len() >= 8, "too few proofs: {}", bodies.len());
    // Every node answer is slow, so that partials are in flight when the backup runs and when SIGTERM comes.
    chain.node.set_delay(Duration::from_millis(700));
    let (first, second) = bodies.split_at(bodies.len() / 2);
    let send_all = |bodies: &[String], base: &str| {
        bodies
            .iter()
            .map(|b| {
                let (url, b) = (format!("{base}/v2/partial"), b.clone());
                std::thread::spawn(move || (b.clone(), try_post(&url, &b)))
            })
            .collect::<Vec<_>>()
    };

    // A backup while partials and registrations are being written.
    let backup = pool.dir().join("backup.redb");
    let accepted_before: Vec<String> = tokio::task::block_in_place(|| {
        let load = send_all(first, &base);
        let regs: Vec<_> = (0..8u8)
            .map(|i| {
                let body = registration(
                    &chain,
                    Bytes32::new([100 + i; 32]),
                    &SecretKey::from_seed(&[100 + i; 32]),
                );
                let url = format!("{base}/v2/farmer");
                std::thread::spawn(move || try_post(&url, &body))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let (status, out) = pool.command(&["backup", "--to", backup.to_str().unwrap()]);
        assert!(status.success(), "backup under load: {out}");
        for r in regs {
            r.join().unwrap();
        }
        load.into_iter()
            .map(|t| t.join().unwrap())
            .filter(|(_, v)| {
                v.as_ref()
                    .is_some_and(|v| v.get("new_difficulty").is_some())
            })
            .map(|(b, _)| b)
            .collect()
    });
    assert!(
        !accepted_before.is_empty(),
        "partials accepted during the backup"
    );
    let live = pool.store_path();
    let (status, out) = pool.command(&["check", "--db", live.to_str().unwrap()]);
    assert!(
        status.success() && out.contains("in use by a running pool"),
        "{out}"
    );
    let (status, out) = pool.command(&["check", "--db", backup.to_str().unwrap()]);
    assert!(
        status.success() && out.contains("every page verified"),
        "{out}"
    );
    {
        let copy =
            chia_pool::store::Store::open(&backup).expect("the backup opens as a pool database");
        let txn = copy.read().unwrap();
        assert!(chia_pool::store::farmers::count(&txn).unwrap() >= 1);
        drop(txn);
        copy.close();
    }

    // SIGTERM while partials are in flight: each one answered as accepted is in the database afterwards.
    let (accepted, answered, status) = tokio::task::block_in_place(|| {
        let load = send_all(second, &base);
        std::thread::sleep(Duration::from_millis(200));
        pool.terminate();
        let status = pool.wait_status(Duration::from_secs(90));
        let results: Vec<_> = load.into_iter().map(|t| t.join().unwrap()).collect();
        let answered = results.iter().filter(|(_, v)| v.is_some()).count();
        let accepted: Vec<String> = results
            .into_iter()
            .filter(|(_, v)| {
                v.as_ref()
                    .is_some_and(|v| v.get("new_difficulty").is_some())
            })
            .map(|(b, _)| b)
            .collect();
        (accepted, answered, status)
    });
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "clean stop under load"
    );
    eprintln!(
        "SIGTERM under load: {} of {} partials in flight answered, {} accepted",
        answered,
        second.len(),
        accepted.len()
    );
    chain.node.set_delay(Duration::ZERO);
    tokio::task::block_in_place(|| pool.restart());
    let base = pool.base_url.clone();
    for body in accepted_before.iter().chain(&accepted) {
        let v = tokio::task::block_in_place(|| try_post(&format!("{base}/v2/partial"), body));
        assert_eq!(
            v.unwrap()["error_code"],
            16,
            "an accepted partial is still recorded"
        );
    }
    // A backup of a crashed pool's database (kill -9: not closed cleanly) is made from a repaired copy.
    pool.kill();
    let after_crash = pool.dir().join("after-crash.redb");
    let (status, out) = pool.command(&["backup", "--to", after_crash.to_str().unwrap()]);
    assert!(
        status.success() && out.contains("every page verified"),
        "{out}"
    );
}

/// Sets the running process's file size limit (soft; the hard limit stays unlimited).
#[cfg(target_os = "linux")]
fn set_fsize(pid: u32, soft: u64) {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: prlimit(2) on our own child with a valid struct.
    let rc = unsafe { libc::prlimit(pid as i32, libc::RLIMIT_FSIZE, &limit, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_refuses_writes_is_answered_then_healed_or_ends_the_process() {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    use std::sync::{Arc, Mutex};

    let chain = FakeChain::start().await;
    let constants = support::farmer::use_small_plot_constants(&chain);
    let mut pool = tokio::task::block_in_place(|| {
        PoolProcess::start(
            &chain,
            &pool_lines(),
            "[partials]\nconfirmation_delay_secs = 4\n[store]\nmax_unwritable_secs = 5\n",
        )
    });
    // Restart with SIGXFSZ ignored (a write past the limit then fails with EFBIG) and stderr captured.
    pool.kill();
    tokio::task::block_in_place(|| {
        pool.restart_with(&[], |c| {
            c.stderr(std::process::Stdio::piped());
            // SAFETY: only async-signal-safe signal(2) between fork and exec.
            unsafe {
                c.pre_exec(|| {
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    Ok(())
                });
            }
        })
    });
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let stderr = pool.take_stderr().unwrap();
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            eprintln!("{line}");
            sink.lock().unwrap().push(line);
        }
    });
    let base = pool.base_url.clone();
    let (_, _, bodies) = tokio::task::block_in_place(|| partials(&chain, &constants, &base, 51, 3));
    assert!(bodies.len() >= 2, "too few proofs");
    let pid = pool.pid().unwrap();
    let post = |body: &String| {
        tokio::task::block_in_place(|| try_post(&format!("{base}/v2/partial"), body))
            .expect("an answer")
    };

    // The disk "fills": the partial is refused with error 8, and is not recorded.
    set_fsize(pid, 4096);
    let refused = post(&bodies[0]);
    assert_eq!(refused["error_code"], 8, "{refused}");
    let refused_again = post(&bodies[0]);
    assert_eq!(refused_again["error_code"], 8, "{refused_again}");
    // The disk has room again: the store heals by itself and the same partial is accepted (it was never stored).
    set_fsize(pid, libc::RLIM_INFINITY);
    let deadline = Instant::now() + Duration::from_secs(30);
    let healed = loop {
        let v = post(&bodies[0]);
        if v.get("new_difficulty").is_some() || Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(healed.get("new_difficulty").is_some(), "healed: {healed}");
    assert_eq!(post(&bodies[0])["error_code"], 16, "recorded once");
    let failures = log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("database write failed"))
        .count();
    assert_eq!(failures, 1, "the cause is logged once per burst");
    assert!(log
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("writable again")));

    // A disk that stays full: after max_unwritable_secs the process exits non-zero for its supervisor.
    set_fsize(pid, 4096);
    assert_eq!(post(&bodies[1])["error_code"], 8);
    let status = tokio::task::block_in_place(|| pool.wait_status(Duration::from_secs(60)));
    let code = status.and_then(|s| s.code());
    assert!(
        matches!(code, Some(c) if c != 0 && c != 101),
        "exit: {status:?}"
    );
}
