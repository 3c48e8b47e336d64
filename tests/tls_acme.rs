//! Automatic HTTPS against Debian's `pebble` on loopback, with the real binary: first issuance by tls-alpn-01
//! and by http-01, a chain that verifies against pebble's root, owner-only files whatever the umask, the stored
//! certificate reused after a restart, renewal in the background, the ACME server down at start, the http-01
//! port's redirect, and `[acme]` mistakes refused before any port is bound.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::pebble::{free_port, https_get, Pebble};
use support::pool_process::PoolProcess;
use support::FakeChain;

const NAME: &str = "pool.chia-pool.test";

fn reward() -> String {
    format!("reward_address = \"{}\"", hex::encode([3u8; 32]))
}

/// A pool listening on `api` with an `[acme]` table for `pebble`, not yet started; its log goes to a file.
fn acme_pool(
    chain: &FakeChain,
    api: u16,
    pebble_of: impl FnOnce(&std::path::Path) -> Pebble,
    acme_lines: &str,
) -> (PoolProcess, Pebble) {
    let mut pool = PoolProcess::create(chain, &format!("127.0.0.1:{api}"), &reward(), "", "");
    let pebble = pebble_of(&pool.dir.join("pebble"));
    let mut toml = std::fs::read_to_string(&pool.config).unwrap();
    toml.push_str(&format!(
        "[acme]\ndomains = [\"{NAME}\"]\ncontact = \"mailto:operator@chia-pool.test\"\ndirectory = \"{}\"\n\
         directory_ca = \"{}\"\n{acme_lines}\n",
        pebble.directory,
        pebble.https_ca.display()
    ));
    std::fs::write(&pool.config, toml).unwrap();
    pool.log = Some(pool.dir.join("pool.log"));
    (pool, pebble)
}

/// GET /v2/pool_info for NAME until it answers with a chain that verifies against `root`; returns the leaf.
fn wait_for_certificate(
    port: u16,
    root: &rustls::pki_types::CertificateDer<'static>,
    within: Duration,
    pool: &PoolProcess,
) -> rustls::pki_types::CertificateDer<'static> {
    let deadline = Instant::now() + within;
    loop {
        match https_get(port, NAME, std::slice::from_ref(root), "/v2/pool_info") {
            Ok((200, body, leaf)) => {
                let v: serde_json::Value = serde_json::from_str(&body).expect("pool_info JSON");
                assert_eq!(v["protocol_version"], 2, "{body}");
                return leaf;
            }
            Ok((status, body, _)) => panic!("pool_info answered {status}: {body}"),
            Err(e) => assert!(
                Instant::now() < deadline,
                "no certificate for {NAME} within {within:?} (last error: {e}); pool log:\n{}",
                pool.log_text()
            ),
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn count(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn_issue_reuse_after_restart_and_renew() {
    if !support::pebble::available() {
        return;
    }
    let chain = FakeChain::start().await;
    tokio::task::block_in_place(|| {
        let api = free_port();
        let (mut pool, mut pebble) =
            acme_pool(&chain, api, |d| Pebble::new(d, api, free_port()), "");
        pebble.start();
        pool.umask = Some(0o000);
        pool.restart();
        assert!(pool.base_url.starts_with("https://"), "{}", pool.base_url);
        let root = pebble.root_der();
        let first = wait_for_certificate(api, &root, Duration::from_secs(120), &pool);

        // Owner-only although the umask allowed everything.
        #[cfg(unix)]
        {
            let dir = pool.dir.join("acme");
            assert_eq!(mode(&dir), 0o700, "{}", dir.display());
            let mut files = 0;
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                assert_eq!(mode(&entry.path()), 0o600, "{}", entry.path().display());
                files += 1;
            }
            assert!(files >= 2, "account and certificate stored");
        }

        // `check` shows the certificate and the account.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_chia-pool"))
            .args(["check", "--config"])
            .arg(&pool.config)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        for needle in [
            &format!("names {NAME}"),
            "issuer \"",
            "days left",
            "ACME account https://127.0.0.1:",
            "next renewal in",
        ] {
            assert!(report.contains(needle), "check lacks {needle:?}:\n{report}");
        }

        // A restart serves the stored certificate at once and orders nothing.
        pool.kill();
        pool.restart();
        let (status, _, leaf) = https_get(api, NAME, std::slice::from_ref(&root), "/v2/pool_info")
            .expect("the stored certificate is served as soon as the pool listens");
        assert_eq!(status, 200);
        assert_eq!(leaf, first, "the stored certificate, not a new one");
        std::thread::sleep(Duration::from_secs(3));
        let log = pool.log_text();
        assert_eq!(count(&log, "certificate issued by ACME"), 1, "{log}");
        assert_eq!(
            count(&log, "serving the stored ACME certificate"),
            1,
            "{log}"
        );

        // Inside its renewal window: served at once, replaced in the background without a restart.
        pool.kill();
        let toml = std::fs::read_to_string(&pool.config).unwrap();
        std::fs::write(&pool.config, format!("{toml}renew_before_days = 36500\n")).unwrap();
        pool.restart();
        https_get(api, NAME, std::slice::from_ref(&root), "/v2/pool_info")
            .expect("the stored certificate is served while renewing");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let leaf = wait_for_certificate(api, &root, Duration::from_secs(30), &pool);
            if leaf != first {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "not renewed:\n{}",
                pool.log_text()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        // Renewed once, then the new certificate waits for the next check instead of a renewal loop.
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(
            count(&pool.log_text(), "certificate issued by ACME"),
            2,
            "{}",
            pool.log_text()
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http01_issue_and_redirect() {
    if !support::pebble::available() {
        return;
    }
    let chain = FakeChain::start().await;
    tokio::task::block_in_place(|| {
        let api = free_port();
        let http = free_port();
        let (mut pool, mut pebble) = acme_pool(
            &chain,
            api,
            |d| Pebble::new(d, free_port(), http),
            &format!("challenge = \"http-01\"\nhttp_listen = \"127.0.0.1:{http}\""),
        );
        pebble.start();
        pool.restart();
        let root = pebble.root_der();
        wait_for_certificate(api, &root, Duration::from_secs(120), &pool);

        // Everything but a challenge is sent to https, same host and path.
        let mut tcp = TcpStream::connect(("127.0.0.1", http)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            tcp,
            "GET /v2/pool_info?x=1 HTTP/1.1\r\nHost: {NAME}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        let _ = tcp.read_to_string(&mut response);
        let status_line = response.lines().next().unwrap_or("");
        assert!(
            status_line.contains(" 308 ") || status_line.contains(" 301 "),
            "{response}"
        );
        let location = response
            .lines()
            .find_map(|l| {
                l.strip_prefix("location: ")
                    .or_else(|| l.strip_prefix("Location: "))
            })
            .unwrap_or_else(|| panic!("no Location: {response}"));
        assert_eq!(location, format!("https://{NAME}/v2/pool_info?x=1"));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acme_server_down_at_start_then_up() {
    if !support::pebble::available() {
        return;
    }
    let chain = FakeChain::start().await;
    tokio::task::block_in_place(|| {
        let api = free_port();
        let (mut pool, mut pebble) =
            acme_pool(&chain, api, |d| Pebble::new(d, api, free_port()), "");
        pool.restart();
        let started = Instant::now();
        // No certificate yet: handshakes fail cleanly, the pool keeps running and says why.
        std::thread::sleep(Duration::from_secs(4));
        assert!(https_get(api, NAME, &[], "/v2/pool_info").is_err());
        let log = pool.log_text();
        assert!(log.contains("no certificate yet"), "{log}");
        assert!(log.contains("cannot reach the ACME server"), "{log}");
        pebble.start();
        let root = pebble.root_der();
        wait_for_certificate(api, &root, Duration::from_secs(150), &pool);
        let attempts = count(&pool.log_text(), "ACME attempt");
        let elapsed = started.elapsed().as_secs() as usize;
        assert!(attempts >= 2, "{}", pool.log_text());
        assert!(
            attempts <= elapsed + 1,
            "at most one attempt a second: {attempts} in {elapsed}s"
        );
    });
}

/// `[acme]` mistakes: `serve` exits non-zero within 10 s, naming the key and the value, before listening.
#[test]
fn bad_acme_values_are_refused_at_start() {
    let dir = std::env::temp_dir().join(format!("chia-pool-acme-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("[acme]\ndomains = [\"a.example.com\"]\nchallenge = \"dns-99\"", "challenge = \"dns-99\""),
        ("[acme]\ncontact = \"mailto:a@example.com\"", "domains = (unset)"),
        ("[acme]\ndomains = []\nchallenge = \"http-01\"", "domains = []"),
        (
            "[server]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n[acme]\ndomains = [\"a.example.com\"]",
            "tls_cert",
        ),
        ("[acme]\ndomains = [\"a.example.com\"]\nrenew_before_days = 0", "renew_before_days = 0"),
        ("[acme]\ndomains = [\"a.example.com\"]\nhttp_listen = \"eighty\"", "http_listen = \"eighty\""),
        ("[acme]\ndomains = [\"a.example.com\"]\ndirectory = \"ftp://x\"", "directory = \"ftp://x\""),
        ("[acme]\ndomains = [\"a b\"]", "domains = \"a b\""),
    ];
    for (text, expected) in cases {
        let config = dir.join("pool.toml");
        std::fs::write(
            &config,
            format!("[server]\nlisten = \"127.0.0.1:0\"\n{text}\n").replacen(
                "[server]\nlisten = \"127.0.0.1:0\"\n[server]\n",
                "[server]\nlisten = \"127.0.0.1:0\"\n",
                1,
            ),
        )
        .unwrap();
        let started = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_chia-pool"))
            .args(["serve", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text}");
        assert!(stderr.contains(expected), "{text}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "nothing listened: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
