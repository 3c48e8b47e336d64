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
/// A `*_tests.rs` file is a `#[cfg(test)]` module kept beside its file (`#[path = ...]`), not product code.
fn offending_lines_in(file: &Path, needles: &[&str]) -> Vec<String> {
    if file.to_string_lossy().ends_with("_tests.rs") {
        return Vec::new();
    }
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

#[test]
fn background_work_takes_narrow_handles() {
    // Rewards, partial confirmation and PlotNFT tracking receive `Handles` (store, chain client, settings,
    // clock), never the whole `Pool` with its HTTP-facing state.
    let mut files = rust_files(&src().join("rewards"));
    files.extend(["jobs.rs", "confirm.rs", "relocate.rs"].map(|f| src().join("pool").join(f)));
    let found: Vec<String> = files
        .iter()
        .flat_map(|file| offending_lines_in(file, &["Pool"]))
        .filter(|line| mentions_word(line, "Pool"))
        .collect();
    assert!(
        found.is_empty(),
        "background work takes `Handles`, not `Pool`:\n{}",
        found.join("\n")
    );
}

/// `word` stands in `line` on its own, not as part of a longer identifier.
fn mentions_word(line: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

#[test]
fn no_two_modules_differ_by_one_letter() {
    // `payout.rs` beside `payouts.rs` made readers open the wrong one.
    let mut dirs = vec![src()];
    let mut found = Vec::new();
    while let Some(dir) = dirs.pop() {
        let mut names = Vec::new();
        for entry in fs::read_dir(&dir).expect("readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path.clone());
            }
            if path.is_dir() || path.extension().is_some_and(|e| e == "rs") {
                names.push(path.file_stem().unwrap().to_string_lossy().to_string());
            }
        }
        names.sort();
        names.dedup();
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                if one_edit_apart(a, b) {
                    found.push(format!("{}: {a} / {b}", dir.display()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "module names one letter apart:\n{}",
        found.join("\n")
    );
}

/// True when one insertion, deletion or substitution turns `a` into `b`.
fn one_edit_apart(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    match long.len() - short.len() {
        0 => {
            short
                .iter()
                .zip(long.iter())
                .filter(|(x, y)| x != y)
                .count()
                == 1
        }
        1 => (0..long.len()).any(|skip| {
            long.iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, c)| c)
                .eq(short.iter())
        }),
        _ => false,
    }
}

#[test]
fn test_files_beside_the_code_are_compiled_only_for_tests() {
    // The other rules skip `*_tests.rs`; that is sound only while each is a `#[cfg(test)]` module.
    let mut found = Vec::new();
    for file in rust_files(&src()) {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with("_tests.rs") {
            continue;
        }
        let declared = rust_files(file.parent().unwrap()).iter().any(|f| {
            let text = fs::read_to_string(f).unwrap_or_default();
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            let stem = name.trim_end_matches(".rs");
            lines.windows(2).any(|w| {
                w[0] == "#[cfg(test)]"
                    && (w[1] == format!("#[path = \"{name}\"]") || w[1] == format!("mod {stem};"))
            })
        });
        if !declared {
            found.push(file.display().to_string());
        }
    }
    assert!(
        found.is_empty(),
        "declare these with #[cfg(test)] #[path = ...]:\n{}",
        found.join("\n")
    );
}

#[test]
fn files_are_short_enough_to_read_in_one_sitting() {
    // A source file stays under the budget; a test file may pass it only saying why in its opening lines.
    const BUDGET: usize = 400;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for dir in ["src", "tests", "benches"] {
        for file in rust_files(&root.join(dir)) {
            let text = fs::read_to_string(&file).expect("readable");
            let lines = text.lines().count();
            let explained = dir != "src"
                && text
                    .lines()
                    .take(12)
                    .any(|l| l.starts_with("//!") && l.contains("400 lines"));
            if lines > BUDGET && !explained {
                found.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "over {BUDGET} lines: split by job (a `*_tests.rs` beside the file for its tests):\n{}",
        found.join("\n")
    );
}
