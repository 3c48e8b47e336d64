//! Keeps the "Architecture invariant:" lines of ARCHITECTURE.md true: which module may use which crate
//! and which module may import which. It reads the sources as text, so it runs in milliseconds and fails
//! with the file and line that broke a rule.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Lines of product code (comments and `#[cfg(test)]` modules dropped) of `file` that mention a needle.
fn offending_lines_in(file: &Path, needles: &[&str]) -> Vec<String> {
    let text = fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .filter(|(_, line)| {
            let code = line.split("//").next().unwrap_or("");
            needles.iter().any(|needle| code.contains(needle))
        })
        .map(|(n, line)| format!("{}:{}: {}", file.display(), n + 1, line.trim()))
        .collect()
}

/// Offending lines of every file under `src/<module>`.
fn offending_lines(module: &str, needles: &[&str]) -> Vec<String> {
    rust_files(&src().join(module))
        .iter()
        .flat_map(|file| offending_lines_in(file, needles))
        .collect()
}

/// Top-level modules of `src/` (folders and single files), except `exclude`.
fn modules_except(exclude: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for entry in fs::read_dir(src()).expect("src/ exists").flatten() {
        let path = entry.path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let is_module = path.is_dir() || path.extension().is_some_and(|e| e == "rs");
        if is_module
            && !exclude.contains(&name.as_str())
            && !["lib", "main"].contains(&name.as_str())
        {
            out.push(name);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn check_module(module: &str, needles: &[&str]) -> Vec<String> {
    let path = src().join(module);
    if path.is_dir() {
        offending_lines(module, needles)
    } else {
        offending_lines_in(&src().join(format!("{module}.rs")), needles)
    }
}

#[test]
fn chia_primitives_do_no_io() {
    let found = offending_lines(
        "chia",
        &[
            "std::fs",
            "std::net",
            "tokio",
            "ureq",
            "redb",
            "warp",
            "crate::store",
            "crate::chain",
            "crate::pool",
            "crate::http",
            "crate::rewards",
            "crate::config",
        ],
    );
    assert!(
        found.is_empty(),
        "src/chia must stay pure (no I/O, no other module):\n{}",
        found.join("\n")
    );
}

#[test]
fn only_the_chain_client_talks_to_the_node_and_wallet() {
    let mut found = Vec::new();
    for module in modules_except(&["chain", "sim"]) {
        found.extend(check_module(&module, &["ureq::", "use ureq"]));
    }
    assert!(
        found.is_empty(),
        "only src/chain may make RPC calls (ureq):\n{}",
        found.join("\n")
    );
}

#[test]
fn only_the_store_opens_the_database() {
    let mut found = Vec::new();
    for module in modules_except(&["store"]) {
        found.extend(check_module(
            &module,
            &["redb::", "use redb", "begin_write", "Database::"],
        ));
    }
    assert!(
        found.is_empty(),
        "only src/store may use redb:\n{}",
        found.join("\n")
    );
}

#[test]
fn data_flows_one_way() {
    // Lower layers never import upper ones: chain and store know nothing of the pool, rewards or HTTP;
    // the pool's rules know nothing of HTTP or the CLI.
    let rules: &[(&str, &[&str])] = &[
        (
            "chain",
            &[
                "crate::pool",
                "crate::rewards",
                "crate::http",
                "crate::cli",
                "crate::store",
            ],
        ),
        (
            "store",
            &[
                "crate::pool",
                "crate::rewards",
                "crate::http",
                "crate::cli",
                "crate::chain",
            ],
        ),
        ("pool", &["crate::http", "crate::cli"]),
        ("rewards", &["crate::http", "crate::cli"]),
        ("http", &["crate::cli", "crate::store", "crate::chain"]),
        (
            "tls",
            &["crate::cli", "crate::store", "crate::chain", "crate::pool"],
        ),
        // The simulated world is outside the pool: it speaks only the RPC and the farmer HTTP API.
        (
            "sim",
            &[
                "crate::pool",
                "crate::store",
                "crate::rewards",
                "crate::http",
                "crate::cli",
                "crate::stats",
            ],
        ),
    ];
    let mut found = Vec::new();
    for (module, banned) in rules {
        found.extend(check_module(module, banned));
    }
    assert!(
        found.is_empty(),
        "an import runs against the data flow (see ARCHITECTURE.md):\n{}",
        found.join("\n")
    );
}
