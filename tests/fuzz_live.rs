//! Fuzzing the running server, not only the parser: random and mutated raw HTTP requests (methods, paths,
//! headers, chunked and declared bodies, partial and mutated JSON of every message) sent over sockets to the
//! real binary. Every answer must be a well-formed HTTP/1.1 response (JSON when it is a 200 from the API),
//! nothing may panic, and the pool must still serve afterwards. Bounded in count and time; the seed is fixed
//! so that a failure can be replayed (FUZZ_SEED overrides it, FUZZ_CASES the count).

mod common;
mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use support::pool_process::PoolProcess;
use support::FakeChain;

/// xorshift64*: enough randomness for fuzzing, no dependency, replayable from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const METHODS: &[&str] = &[
    "GET",
    "POST",
    "PUT",
    "DELETE",
    "HEAD",
    "OPTIONS",
    "PATCH",
    "CONNECT",
    "TRACE",
    "get",
    "G T",
    "",
    "PRI",
    "POSTPOSTPOSTPOSTPOSTPOSTPOSTPOST",
];
const PATHS: &[&str] = &[
    "/v2/pool_info",
    "/pool_info",
    "/v2/farmer",
    "/v2/partial",
    "/v2/auth",
    "/",
    "*",
    "/v2/",
    "/v2//farmer",
    "/v2/farmer/../partial",
    "/%00",
    "/v2/pool_info%2f",
    "/v2/farmer?launcher_id=0x",
    "/v2/auth?timestamp=-1",
    "/v2/auth?launcher_id=0x00&timestamp=1&signature=0x00",
    "/v2/farmer?authentication_token_v2=%ff%fe",
    "http://example.com/v2/pool_info",
    "/\u{00e9}",
    "/v2/partial?a=b&a=c",
];
const HEADERS: &[&str] = &[
    "Content-Type: application/json",
    "Content-Length: 0",
    "Content-Length: -1",
    "Content-Length: 99999999999999999999999",
    "Content-Length: 5\r\nContent-Length: 6",
    "Transfer-Encoding: chunked",
    "Transfer-Encoding: gzip, chunked",
    "Transfer-Encoding: chunked\r\nContent-Length: 10",
    "Expect: 100-continue",
    "Connection: keep-alive",
    "Connection: upgrade\r\nUpgrade: h2c",
    "X-Forwarded-For: 1.2.3.4, ::1, garbage",
    "Host:",
    "Bad Header: x",
    ": empty name",
    "X-Long: LONG",
    "Accept-Encoding: gzip",
];

/// Valid JSON of every message type in the vectors, to mutate.
fn seeds() -> Vec<String> {
    let v = common::vector("messages.json");
    v["messages"]
        .as_object()
        .expect("messages")
        .values()
        .map(|e| e["json"].to_string())
        .collect()
}

fn mutate(rng: &mut Rng, text: &str) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    match rng.below(7) {
        0 => b.truncate(rng.below(b.len() + 1)),
        1 => {
            for _ in 0..=rng.below(8) {
                let i = rng.below(b.len());
                if let Some(x) = b.get_mut(i) {
                    *x = rng.next() as u8;
                }
            }
        }
        2 => {
            let at = rng.below(b.len() + 1);
            let n = rng.below(64);
            let junk = rng.bytes(n);
            b.splice(at..at, junk);
        }
        3 => {
            let n = rng.below(2048);
            b = rng.bytes(n);
        }
        4 => b = b"{\"payload\": {\"launcher_id\": [1,2,3]}, \"x\": 1e999999}".to_vec(),
        5 => b = format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
        _ => {}
    }
    b
}

/// One random request as raw bytes, and whether it was sent completely (a declared body may be longer).
fn request(rng: &mut Rng, seeds: &[String]) -> Vec<u8> {
    if rng.below(12) == 0 {
        let n = rng.below(4096);
        return rng.bytes(n);
    }
    let seed = rng.pick(seeds).clone();
    let body = mutate(rng, &seed);
    if rng.below(2) == 0 {
        // Well framed, so that the mutated JSON reaches the handlers.
        let method = *rng.pick(&["GET", "POST", "PUT"]);
        let path = *rng.pick(&["/v2/farmer", "/v2/partial", "/v2/auth", "/v2/pool_info"]);
        let query = if method == "GET" {
            format!(
                "?{}",
                String::from_utf8_lossy(&body).replace([' ', '\r', '\n', '#'], "&")
            )
        } else {
            String::new()
        };
        let mut raw =
            format!("{method} {path}{query} HTTP/1.1\r\nHost: pool\r\nConnection: close\r\n")
                .into_bytes();
        if rng.below(3) == 0 {
            raw.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for piece in body.chunks(1 + rng.below(300)) {
                raw.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                raw.extend_from_slice(piece);
                raw.extend_from_slice(b"\r\n");
            }
            raw.extend_from_slice(b"0\r\n\r\n");
        } else {
            raw.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            raw.extend_from_slice(&body);
        }
        return raw;
    }
    let mut head = format!(
        "{} {} {}\r\nHost: pool\r\n",
        rng.pick(METHODS),
        rng.pick(PATHS),
        rng.pick(&["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1", "HTTP/1.1", "HTTP/9"])
    )
    .into_bytes();
    let mut chunked = false;
    let mut declared = false;
    for _ in 0..rng.below(4) {
        let h = *rng.pick(HEADERS);
        chunked |= h.contains("chunked");
        declared |= h.contains("Content-Length");
        let long = rng.below(100_000);
        let h = h.replace("LONG", &"A".repeat(long));
        head.extend_from_slice(h.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if !chunked && !declared && rng.below(4) != 0 {
        head.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    if chunked && rng.below(3) != 0 {
        for piece in body.chunks(1 + rng.below(300)) {
            let size = if rng.below(20) == 0 {
                "zz".to_string()
            } else {
                format!("{:x}", piece.len())
            };
            head.extend_from_slice(format!("{size}\r\n").as_bytes());
            head.extend_from_slice(piece);
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"0\r\n\r\n");
    } else {
        head.extend_from_slice(&body);
    }
    head
}

/// Checks that `raw` is empty or one or more well-formed HTTP/1.1 responses; the first status, if any.
fn check_response(raw: &[u8], head_request: bool) -> Result<Option<u16>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| "headers not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("no status line")?;
    let rest = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .ok_or(format!("bad status line {status_line:?}"))?;
    let status: u16 = rest
        .get(..3)
        .and_then(|s| s.parse().ok())
        .ok_or(format!("bad status {status_line:?}"))?;
    if status >= 500 && status != 505 {
        return Err(format!("server error {status_line:?}"));
    }
    let mut length = None;
    let mut json = false;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(format!("bad header {line:?}"))?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse::<usize>().ok(),
            "content-type" => json = value.contains("application/json"),
            _ => {}
        }
    }
    let body = &raw[head_end + 4..];
    // A response to HEAD announces the length of a body it does not send.
    if let Some(n) = length.filter(|_| !head_request) {
        if body.len() < n {
            return Err(format!(
                "body shorter than Content-Length {n}: {}",
                body.len()
            ));
        }
        if json && status == 200 {
            serde_json::from_slice::<serde_json::Value>(&body[..n])
                .map_err(|e| format!("200 with a body that is not JSON: {e}"))?;
        }
    }
    Ok(Some(status))
}

fn exchange(addr: SocketAddr, raw: &[u8]) -> Vec<u8> {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return Vec::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(15)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(15)));
    let _ = s.write_all(raw);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_mutated_requests_get_well_formed_answers_and_nothing_panics() {
    let chain = FakeChain::start().await;
    let pool_lines = format!("reward_address = \"{}\"", hex::encode([0x4d; 32]));
    let mut pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_server(
            &chain,
            &pool_lines,
            "requests_per_ip_per_sec = 10000\nconnections_per_ip_per_sec = 10000\nmax_connections_per_ip = 4096\n\
             header_timeout_secs = 3\n\
             body_timeout_secs = 3\nmax_body_bytes = 16384\n",
        )
    });
    // Restart with stderr kept, to look for panics afterwards.
    let log = pool.dir().join("fuzz-stderr.log");
    pool.kill();
    pool.log = Some(log.clone());
    tokio::task::block_in_place(|| pool.restart());
    let addr: SocketAddr = pool.base_url.trim_start_matches("http://").parse().unwrap();

    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c41a);
    let cases: usize = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let seeds = seeds();
    let started = Instant::now();
    let outcome = tokio::task::block_in_place(|| {
        let mut rng = Rng(seed | 1);
        let mut answered = 0;
        let mut sent = 0;
        let mut statuses = std::collections::BTreeMap::new();
        for case in 0..cases {
            if started.elapsed() > Duration::from_secs(120) {
                break;
            }
            let raw = request(&mut rng, &seeds);
            sent += 1;
            let answer = exchange(addr, &raw);
            match check_response(&answer, raw.starts_with(b"HEAD ")) {
                Ok(Some(status)) => {
                    answered += 1;
                    *statuses.entry(status).or_insert(0) += 1;
                }
                Ok(None) => {}
                Err(why) => {
                    return Err(format!(
                        "case {case} (seed {seed}): {why}\nrequest: {:?}\nanswer: {:?}",
                        String::from_utf8_lossy(&raw[..raw.len().min(600)]),
                        String::from_utf8_lossy(&answer[..answer.len().min(600)])
                    ))
                }
            }
        }
        Ok((answered, sent, statuses))
    });
    let (answered, sent, statuses) = outcome.unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "fuzz: {answered} answered of {sent} in {:?}; statuses {statuses:?}",
        started.elapsed()
    );
    assert_eq!(answered, sent, "every request gets an answer");
    // Still serving, and never panicked.
    let info = exchange(
        addr,
        b"GET /v2/pool_info HTTP/1.1\r\nHost: pool\r\nConnection: close\r\n\r\n",
    );
    let log_tail = || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    };
    assert_eq!(
        check_response(&info, false),
        Ok(Some(200)),
        "{}",
        log_tail()
    );
    assert!(
        !pool.wait_exit(Duration::from_millis(100)),
        "the pool is still running"
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!text.contains("panicked"), "a panic in the log:\n{text}");
}
