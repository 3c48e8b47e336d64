//! The status pages in a real headless Chromium, served by the real binary after real v2 partials: the numbers
//! in the DOM match the JSON endpoints and the store; markup in the pool's texts stays text; a login link made
//! by chia-blockchain 2.7.5's own code opens the private part while tampered and stale ones are refused;
//! /metrics parses as Prometheus text. Screenshots go to target/status-screenshots/.

mod common;
mod support;

use std::path::PathBuf;
use std::process::Command;

use chia_bls::{sign, SecretKey};
use chia_pool::chia::address::decode_puzzle_hash;
use chia_pool::chia::messages::*;
use chia_pool::chia::puzzles::reward_puzzle_hash;
use chia_pool::store::{self, Store};
use chia_protocol::Bytes32;
use serde_json::Value;
use support::browser::{chromium, dump_dom, number_of, screenshot, text_of};
use support::plots::{find_proofs, signed_partial, TestPlot};
use support::pool_process::PoolProcess;
use support::FakeChain;

const TARGET: [u8; 32] = [0x5e; 32];
const NAME: &str = "<script>document.title='pwned'</script>Pool & Co";
const DESCRIPTION: &str = "<img src=x onerror=\"document.body.dataset.pwned=1\"><b>bold</b>";
const WELCOME: &str = "</p><script src=/assets/x.js></script>hi";

fn get(url: &str) -> (u16, String, Option<String>) {
    let (status, response) = match ureq::get(url).call() {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(code, r)) => (code, r),
        Err(e) => panic!("GET {url}: {e}"),
    };
    let csp = response
        .header("content-security-policy")
        .map(str::to_string);
    (status, response.into_string().expect("body"), csp)
}

fn get_json(url: &str) -> Value {
    serde_json::from_str(&get(url).1).expect("JSON")
}

fn post(url: &str, body: &str) -> Value {
    let text = ureq::post(url)
        .set("Content-Type", "application/json")
        .send_string(body)
        .expect("POST")
        .into_string()
        .expect("body");
    serde_json::from_str(&text).expect("JSON")
}

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/status-screenshots")
}

/// A login link from chia-blockchain 2.7.5's Farmer.generate_login_link, its clock shifted by `offset` s.
fn login_link(pool: &PoolProcess, auth_sk: &SecretKey, launcher: Bytes32, offset: i64) -> String {
    let python = support::chia_python::chia_python();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/login_link_2_7_5.py"
    );
    let out = Command::new(python)
        .arg(script)
        .arg(hex::encode(auth_sk.to_bytes()))
        .arg(hex::encode(launcher))
        .arg(&pool.base_url)
        .arg(hex::encode(TARGET))
        .arg(hex::encode(reward_puzzle_hash(launcher)))
        .arg("10")
        .arg(offset.to_string())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "login link script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_show_the_pool_as_json_and_store_hold_it() {
    let Some(browser) = chromium() else { return };
    let chain = FakeChain::start().await;
    let constants = support::farmer::use_small_plot_constants(&chain);
    let toml_str = |s: &str| serde_json::to_string(s).unwrap();
    let pool_lines = format!(
        "reward_address = \"{}\"\nname = {}\ndescription = {}\nwelcome_message = {}",
        hex::encode(TARGET),
        toml_str(NAME),
        toml_str(DESCRIPTION),
        toml_str(WELCOME)
    );
    let mut pool = tokio::task::block_in_place(|| {
        PoolProcess::start_with_status(
            &chain,
            &pool_lines,
            "",
            "refresh_secs = 1",
            "[partials]\nconfirmation_delay_secs = 2\n",
        )
    });
    let base = pool.base_url.clone();
    let auth_sk = SecretKey::from_seed(&[51; 32]);
    let launcher = Bytes32::new([51; 32]);
    let token = tokio::task::block_in_place(|| {
        support::farmer::join_pool(
            &chain,
            &ureq::agent(),
            &base,
            launcher,
            &auth_sk,
            Bytes32::new(TARGET),
        )
    });
    let plot = tokio::task::block_in_place(|| TestPlot::create(reward_puzzle_hash(launcher), 0));
    let found = find_proofs(&chain, &plot, &constants, 3);
    assert!(!found.is_empty(), "the test plot found no proof");
    let requests: Vec<String> = found
        .into_iter()
        .map(|(sp, pos)| {
            signed_partial(launcher, sp, pos, &plot.plot_sk, &auth_sk, &token).to_json_string()
        })
        .collect();
    // One refused partial, sent first: signed without the plot key. It must not
    // block the honest copy of the same proof that follows.
    let mut forged: Value = serde_json::from_str(&requests[0]).unwrap();
    let m = PostPartialRequest::from_json_str(&requests[0])
        .unwrap()
        .payload
        .get_hash();
    forged["aggregate_signature"] =
        Value::String(format!("0x{}", hex::encode(sign(&auth_sk, m).to_bytes())));
    forged["payload"]["harvester_id"] = Value::String(format!("0x{}", hex::encode([9u8; 32])));
    let v =
        tokio::task::block_in_place(|| post(&format!("{base}/v2/partial"), &forged.to_string()));
    assert_eq!(v["error_code"], 7, "{v}");
    for body in &requests {
        let v = tokio::task::block_in_place(|| post(&format!("{base}/v2/partial"), body));
        assert!(v["new_difficulty"].is_u64(), "partial refused: {v}");
    }

    // Wait until the partials are confirmed and the figures refreshed.
    let n = requests.len() as u64;
    let farmer_api = format!("{base}/api/farmer/{}", hex::encode(launcher));
    let mut api_farmer = Value::Null;
    for _ in 0..150 {
        api_farmer = tokio::task::block_in_place(|| get_json(&farmer_api));
        if api_farmer["points_confirmed"] == n && api_farmer["partials_24h"]["accepted"] == n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(api_farmer["points_confirmed"], n, "{api_farmer}");
    assert_eq!(
        api_farmer["partials_24h"]["refused_by_code"]["INVALID_SIGNATURE"], 1,
        "{api_farmer}"
    );
    let api_pool = tokio::task::block_in_place(|| get_json(&format!("{base}/api/pool")));
    assert_eq!(api_pool["partials_24h"]["accepted"], n, "{api_pool}");
    assert_eq!(api_pool["members"]["active_24h"], 1, "{api_pool}");
    // The test chain's constants make proofs cheap, so its space estimate is tiny; the formula is unit-tested.
    let space = api_pool["estimated_space_bytes"].as_u64().unwrap() as f64;

    // The overview in the browser.
    let overview = tokio::task::block_in_place(|| dump_dom(&browser, &format!("{base}/")));
    assert_eq!(number_of(&overview, "partials-accepted"), n);
    assert_eq!(number_of(&overview, "members-active"), 1);
    assert_eq!(
        number_of(&overview, "points-24h"),
        api_pool["partials_24h"]["points"].as_u64().unwrap()
    );
    assert_eq!(
        number_of(&overview, "partials-refused"),
        api_pool["partials_24h"]["refused"].as_u64().unwrap()
    );
    assert_eq!(
        text_of(&overview, "space"),
        Some(chia_pool::http::status::format::bytes(space))
    );
    assert!(
        overview.contains("INVALID_SIGNATURE"),
        "refusals by code are listed"
    );
    assert!(
        overview.contains("id=\"partials-chart\""),
        "the chart is drawn"
    );
    // Markup in the pool's own texts is shown as text and never runs.
    assert!(
        !overview.contains("<script>document.title"),
        "pool name injected markup"
    );
    assert!(
        overview.contains("&lt;script&gt;document.title="),
        "pool name shown as text"
    );
    assert!(
        !overview.contains("data-pwned"),
        "the description's onerror ran"
    );
    assert!(
        !overview.contains("<img src=\"x\""),
        "description injected an element"
    );
    assert!(overview.contains("&lt;b&gt;bold&lt;/b&gt;"));
    assert!(
        !overview.contains("<script src=\"/assets/x.js\">"),
        "welcome message injected a script"
    );
    assert_eq!(
        text_of(&overview, "pool-description").as_deref(),
        Some(DESCRIPTION)
    );
    let (status, _, csp) = tokio::task::block_in_place(|| get(&format!("{base}/")));
    assert_eq!(status, 200);
    let csp = csp.expect("a Content-Security-Policy header");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );

    // The public farmer page.
    let farmer_url = format!("{base}/farmer/{}", hex::encode(launcher));
    let page = tokio::task::block_in_place(|| dump_dom(&browser, &farmer_url));
    assert_eq!(
        number_of(&page, "difficulty"),
        api_farmer["difficulty"].as_u64().unwrap()
    );
    assert_eq!(number_of(&page, "points-confirmed"), n);
    assert_eq!(number_of(&page, "partials-accepted"), n);
    assert_eq!(number_of(&page, "partials-refused"), 1);
    assert_eq!(text_of(&page, "membership").as_deref(), Some("pooling"));
    assert!(
        page.contains("keys that own this PlotNFT"),
        "advice for the refusal code"
    );
    assert!(
        !page.contains("id=\"private\""),
        "no private part without a login"
    );
    assert!(!page.contains("payout-address"));

    tokio::task::block_in_place(|| {
        screenshot(&browser, &format!("{base}/"), &shots().join("overview.png"));
        screenshot(&browser, &farmer_url, &shots().join("farmer.png"));
    });

    // A login link from chia-blockchain 2.7.5's own code opens the private part.
    let link = tokio::task::block_in_place(|| login_link(&pool, &auth_sk, launcher, 0));
    assert!(
        link.starts_with(&format!("{base}/v2/login?launcher_id=")),
        "{link}"
    );
    let private = tokio::task::block_in_place(|| dump_dom(&browser, &link));
    assert!(private.contains("id=\"private\""), "logged in: {private}");
    let address = text_of(&private, "payout-address").expect("payout address shown");
    assert_eq!(decode_puzzle_hash(&address).unwrap(), Bytes32::new([8; 32]));
    assert_eq!(number_of(&private, "lifetime-points"), n);
    tokio::task::block_in_place(|| {
        screenshot(&browser, &link, &shots().join("farmer-logged-in.png"))
    });
    assert!(
        !overview.contains(&address) && !page.contains(&address),
        "public pages never show it"
    );

    // Tampered: another signature. Stale: made four hours ago (10-minute tokens allow 100 minutes).
    let sig_at = link.find("signature=").unwrap() + "signature=".len();
    let mut tampered = link.clone();
    let flipped = if &link[sig_at + 10..sig_at + 11] == "0" {
        "1"
    } else {
        "0"
    };
    tampered.replace_range(sig_at + 10..sig_at + 11, flipped);
    let (status, body, _) = tokio::task::block_in_place(|| get(&tampered));
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("Login link") && !body.contains("id=\"private\""),
        "{body}"
    );
    let other_token = link.replace("authentication_token=", "authentication_token=1");
    let (status, body, _) = tokio::task::block_in_place(|| get(&other_token));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("signature does not verify"), "{body}");
    let stale = tokio::task::block_in_place(|| login_link(&pool, &auth_sk, launcher, -4 * 3600));
    let (status, body, _) = tokio::task::block_in_place(|| get(&stale));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("expired"), "{body}");
    let refused = tokio::task::block_in_place(|| dump_dom(&browser, &stale));
    assert!(refused.contains("Login link expired") && !refused.contains("id=\"private\""));
    tokio::task::block_in_place(|| screenshot(&browser, &stale, &shots().join("login-stale.png")));

    // /metrics on the operator listener, parsed as Prometheus text.
    let admin = pool.admin_url.clone();
    let (status, text, _) = tokio::task::block_in_place(|| get(&format!("{admin}/metrics")));
    assert_eq!(status, 200);
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    let sample = |name: &str, label: (&str, &str)| -> f64 {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && s.labels.get(label.0) == Some(label.1))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("no sample {name}{{{}={}}} in\n{text}", label.0, label.1))
    };
    assert_eq!(
        sample("chia_pool_partials_total", ("result", "accepted")),
        n as f64
    );
    assert_eq!(
        sample("chia_pool_partials_total", ("result", "INVALID_SIGNATURE")),
        1.0
    );
    assert_eq!(sample("chia_pool_members", ("state", "pooling")), 1.0);
    assert!(
        sample(
            "chia_pool_job_last_success_timestamp_seconds",
            ("job", "confirm_partials")
        ) > 1e9
    );
    assert!(
        text.contains("chia_pool_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains("chia_pool_store_commit_duration_seconds_count"),
        "{text}"
    );
    assert!(text.contains("chia_pool_rpc_calls_total{"), "{text}");
    // The operator view lists the member with its payout address; the public listener has no /metrics.
    let (_, operator, _) = tokio::task::block_in_place(|| get(&format!("{admin}/")));
    assert!(operator.contains(&hex::encode(launcher)) && operator.contains(&address));
    assert!(operator.contains("balanced"), "ledger check");
    let (status, _, _) = tokio::task::block_in_place(|| get(&format!("{base}/metrics")));
    assert_eq!(status, 404);

    // The store agrees with what the pages showed.
    pool.kill();
    let db = Store::open(&pool.dir().join("pool.redb")).expect("open store");
    let record = store::farmers::get(&db.read().unwrap(), &launcher.to_bytes())
        .unwrap()
        .expect("farmer row");
    assert_eq!(record.points, n);
    assert_eq!(
        record.difficulty,
        api_farmer["difficulty"].as_u64().unwrap()
    );
    db.close();
}
