//! `cargo xtask ci`: the whole test suite, exactly what CI runs (`.ci/run`).
//!
//! Steps: fetch the test assets, `cargo fmt --check`, `cargo clippy --workspace
//! --all-targets -- -D warnings`, `cargo test --workspace` (unit, integration and doc
//! tests) with `M2V_REQUIRE_ASSETS=1` (so a test that needs a fetched model fails
//! instead of skipping), the GPU parity test on Mesa's software Vulkan driver
//! (lavapipe) when that is installed (`.ci/run` installs `mesa-vulkan-drivers`; without
//! it the step says it was skipped), the bench's smoke test `m2v-bench --quick
//! --no-python` (into `target/bench-quick/`), the server's demo page driven in headless
//! Chromium (`browser.rs`), the Python package's pytest suite (`python.rs`: parity with
//! model2vec, the Ray test), `cargo doc`, and a lint of the default
//! (CPU-only) build of the teacher and the CLI.
//!
//! Build sharing (the cold run must stay well inside CI's limit on 2 cores): clippy,
//! the tests, the bench smoke test and the docs all build the workspace with the same
//! features ([`FEATURES`]: the teacher's `wgpu` on, so the GPU test needs no second
//! build of Burn), the bench in the test build's profile, not a release build. Only
//! the last step checks Burn once more, without `wgpu`.

use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

/// The features every build step of CI uses, so that they share their artifacts: the
/// teacher's GPU backend and the bench's model2vec-rs peer.
const FEATURES: &str = "m2v-teacher/wgpu,m2v-benches/peers";

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
                "--features",
                FEATURES,
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
        cargo(
            &["test", "--workspace", "--features", FEATURES],
            &[("M2V_REQUIRE_ASSETS", "1")],
        )
    })?;
    step("wgpu parity test on software Vulkan", || {
        let Some(icd) = lavapipe_icd() else {
            println!(
                "skipped: Mesa's lavapipe is not installed \
                 (apt-get install mesa-vulkan-drivers libvulkan1)"
            );
            return Ok(());
        };
        let icd = icd.to_string_lossy().into_owned();
        // Mesa wants a runtime dir and complains (harmlessly) without one.
        let runtime = std::env::temp_dir().to_string_lossy().into_owned();
        cargo(
            &[
                "test",
                "--workspace",
                "--features",
                FEATURES,
                "--test",
                "wgpu",
            ],
            &[
                ("M2V_REQUIRE_ASSETS", "1"),
                ("M2V_REQUIRE_GPU", "1"),
                ("VK_ICD_FILENAMES", icd.as_str()),
                ("CUBECL_AUTOTUNE_LEVEL", "minimal"),
                ("XDG_RUNTIME_DIR", runtime.as_str()),
            ],
        )
    })?;
    // The bench's smoke test: subsets, potion-base-8M and the MiniLM teacher, with the
    // model2vec-rs peer; the Python peer is left to full runs. It runs the `m2v-bench`
    // binary the test step built (m2v-benches has an integration test, `benches/tests/
    // cli.rs`, so `cargo test` builds its binary, with the same features): no second
    // build. Speeds in this
    // unoptimised build mean nothing; full runs use `cargo xtask bench` (release).
    step("m2v-bench --quick", || {
        let out = crate::bench::default_out("bench-quick");
        let bin = crate::bench::default_out("debug").join("m2v-bench");
        ensure!(
            bin.is_file(),
            "{} was not built by the test step",
            bin.display()
        );
        let status = Command::new(&bin)
            .args(["--quick", "--no-python", "--out"])
            .arg(&out)
            .status()
            .with_context(|| format!("running {}", bin.display()))?;
        ensure!(status.success(), "m2v-bench --quick failed ({status})");
        check_quick_bench(&out.join("results.json"))
    })?;
    // The server's demo page in a real browser (the test step built the binary).
    step("m2v-cli serve: demo page in headless Chromium", || {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        crate::browser::run(&root)
    })?;
    // The Python package against model2vec, and the Ray test (python.rs).
    step("Python package: pytest (model2vec parity, Ray)", || {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        crate::python::run_tests(&root)
    })?;
    step("cargo doc", || {
        cargo(
            &["doc", "--workspace", "--no-deps", "--features", FEATURES],
            &[("RUSTDOCFLAGS", "-D warnings")],
        )
    })?;
    // Everything above had the GPU feature on; the default build is what users get.
    step("cargo clippy (default features, CPU-only teacher)", || {
        cargo(
            &[
                "clippy",
                "-p",
                "m2v-teacher",
                "-p",
                "m2v-distill",
                "-p",
                "m2v-cli",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        )
    })?;
    // The light release check (docs/release.md): metadata, versions, licenses, `cargo
    // package --no-verify`, and m2v-static's README example built from its .crate (the
    // two dependency-free crates only; about a minute cold).
    step("cargo xtask release --ci", || {
        crate::release::run(&["--ci".to_string()])
    })?;
    println!("\nci: all steps passed");
    Ok(())
}

/// The smoke test's results must be complete: the default quick models (potion-base-8M,
/// the MiniLM teacher, and model2vec-rs's potion row), every scored row with all of its
/// task scores finite, every speed positive.
fn check_quick_bench(path: &std::path::Path) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let tasks = v["tasks"].as_array().map_or(0, Vec::len);
    let models = v["models"].as_array().context("results.json: no models")?;
    ensure!(tasks > 0, "results.json: no tasks");
    for want in ["potion-base-8M", "all-MiniLM-L6-v2"] {
        ensure!(
            models.iter().any(|m| m["name"] == want),
            "results.json: no row for {want}"
        );
    }
    for m in models {
        let name = format!("{} ({})", m["name"], m["implementation"]);
        if m["scores_not_run"].is_null() {
            let scores = m["scores"].as_array().map_or(&[][..], Vec::as_slice);
            ensure!(
                scores.len() == tasks,
                "{name}: {} of {tasks} task scores",
                scores.len()
            );
            for s in scores {
                let x = s["score"].as_f64().unwrap_or(f64::NAN);
                ensure!(x.is_finite(), "{name}: {} scored {x}", s["task"]);
            }
        }
        for speed in ["speed_single", "speed_all"] {
            let s = m[speed]["texts_per_s"].as_f64().unwrap_or(0.0);
            ensure!(s.is_finite() && s > 0.0, "{name}: {speed} is {s}");
        }
    }
    println!(
        "bench --quick: {} rows, {tasks} tasks, all complete",
        models.len()
    );
    Ok(())
}

/// Mesa's software Vulkan driver manifest, when installed.
fn lavapipe_icd() -> Option<std::path::PathBuf> {
    std::fs::read_dir("/usr/share/vulkan/icd.d")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("lvp_icd"))
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn write(v: &serde_json::Value) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("results.json");
        std::fs::write(&p, v.to_string()).unwrap();
        (d, p)
    }

    fn row(name: &str, scores: serde_json::Value, speed: f64) -> serde_json::Value {
        let s = serde_json::json!({"texts_per_s": speed});
        serde_json::json!({"name": name, "implementation": "m2v", "scores": scores,
            "scores_not_run": null, "speed_single": s, "speed_all": s})
    }

    #[test]
    fn quick_bench_check_rejects_incomplete_results() {
        let one = serde_json::json!([{"task": "STS-B", "score": 75.4}]);
        let ok = serde_json::json!({"tasks": [{"name": "STS-B"}], "models": [
            row("potion-base-8M", one.clone(), 1e5), row("all-MiniLM-L6-v2", one.clone(), 90.0)]});
        let (_d, p) = write(&ok);
        check_quick_bench(&p).unwrap();
        let missing = serde_json::json!({"tasks": [{"name": "STS-B"}], "models": [
            row("potion-base-8M", one.clone(), 1e5), row("all-MiniLM-L6-v2", serde_json::json!([]), 90.0)]});
        let (_d, p) = write(&missing);
        assert!(
            check_quick_bench(&p)
                .unwrap_err()
                .to_string()
                .contains("0 of 1")
        );
        let slow = serde_json::json!({"tasks": [{"name": "STS-B"}], "models": [
            row("potion-base-8M", one.clone(), 0.0), row("all-MiniLM-L6-v2", one, 90.0)]});
        let (_d, p) = write(&slow);
        assert!(
            check_quick_bench(&p)
                .unwrap_err()
                .to_string()
                .contains("speed_single")
        );
    }
}
