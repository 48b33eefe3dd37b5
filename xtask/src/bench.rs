//! `cargo xtask bench [ARGS]`: the speed and accuracy tables.
//!
//! xtask stays light: the evaluation lives in the `m2v-eval` library, driven by the
//! `m2v-bench` binary of the `m2v-benches` package, and this task only runs that
//! binary in release mode (with the `peers` feature, which adds the model2vec-rs speed
//! peer) with the arguments passed through (`cargo xtask bench --help` lists them).
//! Results go to `target/bench/`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, ensure};

pub fn run(args: &[String]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args([
            "run",
            "--release",
            "-p",
            "m2v-benches",
            "--features",
            "peers",
        ])
        .args(["--bin", "m2v-bench", "--"])
        .args(args)
        .status()
        .with_context(|| format!("running {cargo}"))?;
    ensure!(status.success(), "m2v-bench failed ({status})");
    Ok(())
}

/// `<target dir>/<name>`: where a bench run's results go when `--out` is not given
/// (the target dir is `$CARGO_TARGET_DIR`, else the workspace's `target/`).
pub fn default_out(name: &str) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join(name)
}
