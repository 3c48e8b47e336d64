//! Puts the git commit into `chia-pool --version` (CHIA_POOL_COMMIT); `CHIA_POOL_COMMIT` in the environment wins
//! (builds from a tarball), else "unknown" outside a checkout.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CHIA_POOL_COMMIT");
    let commit = std::env::var("CHIA_POOL_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    // Rerun only when HEAD moves (a commit, a checkout), not on every source edit: HEAD itself, the branch ref
    // it points to, and packed-refs (where that ref may live). In a worktree HEAD is in the worktree's git dir
    // and the refs in the common one.
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
        let git_dir = PathBuf::from(git_dir);
        println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
        let common = git(&["rev-parse", "--git-common-dir"])
            .map(PathBuf::from)
            .unwrap_or(git_dir);
        if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
            let loose = common.join(&reference);
            if loose.exists() {
                println!("cargo:rerun-if-changed={}", loose.display());
            }
        }
        let packed = common.join("packed-refs");
        if packed.exists() {
            println!("cargo:rerun-if-changed={}", packed.display());
        }
    }
    println!("cargo:rustc-env=CHIA_POOL_COMMIT={commit}");
}
