//! `cargo xtask ci`: the whole test suite, exactly what CI runs (`.ci/run`).
//!
//! Steps: fetch the test assets, `cargo fmt --check`, `cargo clippy --workspace
//! --all-targets -- -D warnings`, `cargo test --workspace` (unit, integration and doc tests) with `M2V_REQUIRE_ASSETS=1`
//! (so a test that needs a fetched model fails instead of skipping), and `cargo doc`.

use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

pub fn run(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        bail!("`cargo xtask ci` takes no arguments (got `{a}`)");
    }
    step("fetch test assets", || {
        crate::fetch::fetch(crate::fetch::TEST_ASSETS)
    })?;
    step("cargo fmt", || cargo(&["fmt", "--all", "--check"], &[]))?;
    step("cargo clippy", || {
        cargo(
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        )
    })?;
    // Library, binary, integration and doc tests; criterion benches are compiled by
    // clippy above but not run here (they are measured with `cargo bench`).
    step("cargo test", || {
        cargo(&["test", "--workspace"], &[("M2V_REQUIRE_ASSETS", "1")])
    })?;
    step("cargo doc", || {
        cargo(
            &["doc", "--workspace", "--no-deps"],
            &[("RUSTDOCFLAGS", "-D warnings")],
        )
    })?;
    println!("\nci: all steps passed");
    Ok(())
}

fn step(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    println!("\n=== {name}");
    let t = std::time::Instant::now();
    f().with_context(|| format!("ci step `{name}` failed"))?;
    println!("=== {name}: ok ({:.1}s)", t.elapsed().as_secs_f64());
    Ok(())
}

fn cargo(args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .with_context(|| format!("running {cargo}"))?;
    ensure!(
        status.success(),
        "`cargo {}` failed ({status})",
        args.join(" ")
    );
    Ok(())
}
