//! CI's Python step: the `m2v` package (crates/m2v-python) built with maturin, installed
//! into a virtual environment kept outside the clone, and its pytest suite run: parity
//! with model2vec 0.10 on the fetched models and our distillations, the pipelines, the
//! API's behaviour, and the Ray Data test (a local 3-node cluster against
//! single-process `m2v-cli encode`).
//!
//! The environment is `$M2V_HOME/pyci` (default `~/.cache/m2v/pyci`), created with
//! `$M2V_CI_PYTHON` (default `python3`) and refilled from
//! `crates/m2v-python/requirements-ci.txt` whenever that file changes. The wheel is
//! built in the dev profile (CI checks behaviour, not speed), so it shares the test
//! step's optimised dependencies; `m2v-cli` is the test step's debug binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("running {shown}"))?;
    ensure!(status.success(), "{shown} failed ({status})");
    Ok(())
}

/// The CI virtual environment, created and filled when needed; returns its python.
fn venv(root: &Path) -> Result<PathBuf> {
    let dir = m2v_hub::testing::m2v_home().join("pyci");
    let python = dir.join("bin/python");
    if !python.is_file() {
        let base = std::env::var("M2V_CI_PYTHON").unwrap_or_else(|_| "python3".into());
        run(Command::new(&base).args(["-m", "venv"]).arg(&dir))?;
    }
    let reqs = root.join("crates/m2v-python/requirements-ci.txt");
    let wanted =
        std::fs::read_to_string(&reqs).with_context(|| format!("reading {}", reqs.display()))?;
    let stamp = dir.join("m2v-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        run(Command::new(&python).args(["-m", "pip", "install", "-q", "--upgrade", "pip"]))?;
        run(Command::new(&python)
            .args(["-m", "pip", "install", "-q", "-r"])
            .arg(&reqs))?;
        std::fs::write(&stamp, &wanted).with_context(|| format!("writing {}", stamp.display()))?;
    }
    Ok(python)
}

pub fn run_tests(root: &Path) -> Result<()> {
    let cli = crate::bench::default_out("debug").join("m2v-cli");
    ensure!(
        cli.is_file(),
        "{} was not built by the test step",
        cli.display()
    );
    let python = venv(root)?;
    let bin = python.parent().context("venv without bin/")?;
    let wheels = crate::bench::default_out("python-wheels");
    let _ = std::fs::remove_dir_all(&wheels);
    run(Command::new(bin.join("maturin"))
        .args(["build", "--quiet", "--profile", "dev", "--manifest-path"])
        .arg(root.join("crates/m2v-python/Cargo.toml"))
        .arg("--out")
        .arg(&wheels)
        .arg("--interpreter")
        .arg(&python))?;
    let wheel = std::fs::read_dir(&wheels)
        .with_context(|| format!("reading {}", wheels.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .context("maturin built no wheel")?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--force-reinstall",
            "--no-deps",
        ])
        .arg(&wheel))?;
    run(Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root.join("crates/m2v-python/tests"))
        .current_dir(root)
        .env("M2V_REQUIRE_ASSETS", "1")
        .env("M2V_CLI", &cli)
        .env("HF_HUB_OFFLINE", "1")
        // Ray: no usage reporting, no dashboard metrics polling.
        .env("RAY_USAGE_STATS_ENABLED", "0"))
}
