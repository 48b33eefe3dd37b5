//! `cargo xtask demo`: the README's main command, end to end on a fresh machine.
//!
//! Fetches all-MiniLM-L6-v2 into the HF cache, builds `m2v-cli` in release mode,
//! distills the teacher into a static model under `target/demo/`, encodes three
//! sentences with the result and prints their cosine-similarity matrix and the timings.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};

const TEACHER: &str = "sentence-transformers/all-MiniLM-L6-v2";
const SENTENCES: [&str; 3] = [
    "A man is playing a guitar.",
    "Someone strums an acoustic guitar on stage.",
    "The stock market fell sharply on Monday.",
];

pub fn run(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        bail!("`cargo xtask demo` takes no arguments (got `{a}`)");
    }
    crate::fetch::fetch(&["all-MiniLM-L6-v2"])?;
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    println!("building m2v-cli (release)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--release", "--quiet", "-p", "m2v-cli"])
        .current_dir(&root)
        .status()
        .context("running cargo build")?;
    ensure!(status.success(), "building m2v-cli failed");
    let cli = target
        .join("release")
        .join(format!("m2v-cli{}", std::env::consts::EXE_SUFFIX));

    let out = root
        .join("target")
        .join("demo")
        .join("m2v-all-MiniLM-L6-v2");
    let t = Instant::now();
    let status = Command::new(&cli)
        .args([
            "distill",
            "--model",
            TEACHER,
            "--pca-dims",
            "256",
            "--force",
            "--output",
        ])
        .arg(&out)
        .status()
        .context("running m2v-cli distill")?;
    ensure!(status.success(), "m2v-cli distill failed");
    let distill_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let rows = encode(&cli, &out)?;
    let encode_s = t.elapsed().as_secs_f64();
    println!("\ncosine similarity (static model distilled from {TEACHER}):");
    for (i, a) in rows.iter().enumerate() {
        print!("  [{i}] {:<46}", SENTENCES[i]);
        for b in &rows {
            print!(" {:>6.3}", cosine(a, b));
        }
        println!();
    }
    println!(
        "\ndistill: {distill_s:.1} s (whole process)   encode 3 sentences: {:.0} ms (whole process, \
         model load included)\nmodel: {}",
        encode_s * 1e3,
        out.display()
    );
    Ok(())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Encodes the demo sentences with `m2v-cli encode --format jsonl`.
fn encode(cli: &Path, model: &Path) -> Result<Vec<Vec<f64>>> {
    let mut child = Command::new(cli)
        .args([
            "encode", "--format", "jsonl", "--input", "-", "--output", "-", "--model",
        ])
        .arg(model)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("running m2v-cli encode")?;
    {
        let mut stdin = child.stdin.take().context("no stdin")?;
        stdin.write_all(SENTENCES.join("\n").as_bytes())?;
        stdin.write_all(b"\n")?;
    }
    let out = child.wait_with_output()?;
    ensure!(out.status.success(), "m2v-cli encode failed");
    let text = String::from_utf8(out.stdout).context("m2v-cli encode wrote invalid UTF-8")?;
    let rows: Vec<Vec<f64>> = text
        .lines()
        .map(|l| serde_json::from_str(l).with_context(|| format!("bad output line: {l}")))
        .collect::<Result<_>>()?;
    ensure!(
        rows.len() == SENTENCES.len(),
        "expected 3 rows, got {}",
        rows.len()
    );
    Ok(rows)
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cosine_is_scale_invariant() {
        assert!((super::cosine(&[1.0, 0.0], &[3.0, 0.0]) - 1.0).abs() < 1e-12);
        assert!(super::cosine(&[1.0, 0.0], &[0.0, 2.0]).abs() < 1e-12);
        assert_eq!(super::cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
