//! `chia-pool init` and `--version` as a packager relies on them: the token key is owner-only and never
//! replaced unless asked, `init` says how the key is protected, and the version names the commit.

use std::path::Path;
use std::process::Command;

fn chia_pool(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chia-pool"))
        .args(args)
        .output()
        .expect("the chia-pool binary runs");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("chia-pool-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn init_writes_an_owner_only_key_and_never_replaces_it_unasked() {
    let dir = temp_dir("init");
    let d = dir.to_str().unwrap();
    let (ok, out) = chia_pool(&["init", "--dir", d]);
    assert!(ok, "{out}");
    let key_path = dir.join("token.key");
    let key = read(&key_path);
    assert_eq!(key.trim().len(), 64, "{key}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&key_path), 0o600);
        assert_eq!(mode(&dir), 0o700, "init creates its directory owner-only");
        assert!(out.contains("mode 0600: readable by you only"), "{out}");
    }
    #[cfg(windows)]
    assert!(out.contains("an ACL that lets only your account"), "{out}");

    // A second init refuses to touch pool.toml; --force rewrites it and still keeps the key.
    let (ok, out) = chia_pool(&["init", "--dir", d]);
    assert!(!ok && out.contains("already exists"), "{out}");
    let (ok, out) = chia_pool(&["init", "--dir", d, "--force"]);
    assert!(ok, "{out}");
    assert!(out.contains("kept the existing token key"), "{out}");
    assert_eq!(read(&key_path), key, "--force keeps the key");

    // --new-key replaces it, still owner-only even if the old file had been opened up.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let (ok, out) = chia_pool(&["init", "--dir", d, "--force", "--new-key"]);
    assert!(ok, "{out}");
    assert_ne!(read(&key_path), key, "--new-key replaces the key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a replaced key is owner-only again");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn version_names_the_commit() {
    let (ok, out) = chia_pool(&["--version"]);
    assert!(ok, "{out}");
    let expected = format!("chia-pool {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(out.starts_with(&expected), "{out}");
    let commit = out
        .trim()
        .strip_prefix(&expected)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_default();
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{out}"
    );
}
