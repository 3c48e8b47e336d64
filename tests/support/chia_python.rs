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
