//! A Python interpreter with chia-blockchain 2.7.5 installed, to drive the released code in tests:
//! `CHIA_PYTHON`, else a virtual environment made once under `target/chia-2.7.5-venv`.

use std::path::PathBuf;
use std::process::Command;

pub fn chia_python() -> PathBuf {
    if let Some(p) = std::env::var_os("CHIA_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/chia-2.7.5-venv");
    let python = venv.join("bin/python");
    let ready = venv.join(".chia-2.7.5-installed");
    if !ready.exists() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 -m venv");
        assert!(made.success(), "could not create {}", venv.display());
        let pip = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "chia-blockchain==2.7.5"])
            .status()
            .expect("pip install");
        assert!(pip.success(), "pip install chia-blockchain==2.7.5 failed");
        std::fs::write(&ready, "").expect("marker");
    }
    python
}

/// Runs tests/interop/farmer_2_7_5.py (the 2.7.5 farmer's pool client code) on `spec`, written into `dir`, and
/// checks what it saw: pool_info, "unknown" (10) before it registers, its registration, GET and PUT /farmer,
/// and every partial accepted. Returns what it saw.
pub fn run_farmer_script(dir: &std::path::Path, spec: &serde_json::Value) -> serde_json::Value {
    let spec_path = dir.join("farmer-spec.json");
    std::fs::write(&spec_path, spec.to_string()).expect("spec");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/farmer_2_7_5.py");
    let out = Command::new(chia_python())
        .arg(script)
        .arg(&spec_path)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "farmer script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seen: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));

    assert_eq!(seen["pool_info"], "GetPoolInfoResponse", "{seen}");
    // Unknown at first: 10, which makes the 2.7.5 farmer register.
    assert_eq!(seen["get_farmer_before"], "error 10", "{seen}");
    assert_eq!(seen["post_farmer"], "PostFarmerResponse", "{seen}");
    assert_eq!(seen["get_farmer"], "GetFarmerResponse", "{seen}");
    assert_eq!(seen["payout_instructions"], spec["payout_instructions"]);
    assert_eq!(seen["put_farmer"], "PutFarmerResponse", "{seen}");
    assert_eq!(seen["payout_after_put"], spec["new_payout_instructions"]);
    let answers = seen["partials"].as_array().expect("partials");
    assert_eq!(
        answers.len(),
        spec["partials"].as_array().map_or(0, Vec::len)
    );
    for a in answers {
        assert!(
            a.as_str().unwrap_or_default().starts_with("new_difficulty"),
            "{seen}"
        );
    }
    seen
}
