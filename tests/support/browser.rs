//! A real headless Chromium (Debian's `chromium`) for page tests: `--dump-dom` gives the DOM after scripts
//! ran, `--screenshot` a PNG; each run gets a fresh profile. Without chromium the page tests skip locally but
//! fail under `CI=true`, where it must be installed (`apt-get install -y chromium`).

use std::path::{Path, PathBuf};
use std::process::Command;

const CANDIDATES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// The browser binary, or None (after a note) when it is missing outside CI.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    for name in CANDIDATES {
        if let Ok(out) = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
        {
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !path.is_empty() {
                return Some(PathBuf::from(path));
            }
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("chromium is not installed: the page tests need it under CI (apt-get install -y chromium)");
    }
    eprintln!("SKIPPED: chromium is not installed (apt-get install -y chromium); set CI=true to make this fail");
    None
}

fn base_args(profile: &Path) -> Vec<String> {
    vec![
        "--headless".into(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-dev-shm-usage".into(),
        format!("--user-data-dir={}", profile.display()),
    ]
}

fn profile_dir() -> tempdir::Dir {
    tempdir::Dir::new()
}

/// The DOM of `url` after the page loaded (redirects followed, cookies kept within this run).
pub fn dump_dom(browser: &Path, url: &str) -> String {
    let profile = profile_dir();
    let out = Command::new(browser)
        .args(base_args(&profile.0))
        .arg("--virtual-time-budget=3000")
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Saves a screenshot of `url` to `path` (a PNG).
pub fn screenshot(browser: &Path, url: &str, path: &Path) {
    let profile = profile_dir();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("screenshot dir");
    }
    let out = Command::new(browser)
        .args(base_args(&profile.0))
        .arg("--hide-scrollbars")
        .arg("--window-size=1200,2200")
        .arg(format!("--screenshot={}", path.display()))
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success() && path.exists(),
        "chromium screenshot of {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The text inside the element with `id` (first occurrence), tags inside it removed.
pub fn text_of(dom: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let start = dom.find(&marker)?;
    let open_end = start + dom[start..].find('>')? + 1;
    let tag_start = dom[..start].rfind('<')?;
    let tag: String = dom[tag_start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let close = dom[open_end..].find(&format!("</{tag}>"))? + open_end;
    let inner = &dom[open_end..close];
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    Some(text.trim().to_string())
}

/// A number shown in the element with `id`.
pub fn number_of(dom: &str, id: &str) -> u64 {
    let text = text_of(dom, id).unwrap_or_else(|| panic!("no element #{id} in the page"));
    text.replace([',', ' '], "")
        .parse()
        .unwrap_or_else(|_| panic!("#{id} is not a number: {text:?}"))
}

mod tempdir {
    /// A directory removed when dropped.
    pub struct Dir(pub std::path::PathBuf);

    impl Dir {
        pub fn new() -> Self {
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("chia-pool-chromium-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("profile dir");
            Self(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
