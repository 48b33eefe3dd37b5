//! Python model2vec 0.10 as a peer: `scripts/bench_python.py` embeds the task texts
//! and times the corpus; the scores come from the same Rust metrics as ours.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use m2v_eval::Speed;

/// A Python interpreter that can `import model2vec`.
#[derive(Debug, Clone)]
pub struct Python {
    /// The interpreter.
    pub exe: PathBuf,
    /// `model2vec.__version__`.
    pub version: String,
}

/// Finds Python with model2vec: `$M2V_PYTHON`, else `~/.cache/m2v/pyenv/bin/python`
/// when present, else `python3`. `Err` says why none works.
pub fn find() -> Result<Python, String> {
    let exe = if let Some(p) = std::env::var_os("M2V_PYTHON").filter(|v| !v.is_empty()) {
        PathBuf::from(p)
    } else {
        let venv = m2v_hub::testing::m2v_home().join("pyenv/bin/python");
        if venv.is_file() {
            venv
        } else {
            PathBuf::from("python3")
        }
    };
    let out = Command::new(&exe)
        .args(["-c", "import model2vec; print(model2vec.__version__)"])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!(
            "`{} -c \"import model2vec\"` failed",
            exe.display()
        ));
    }
    Ok(Python {
        exe,
        version: String::from_utf8_lossy(&out.stdout).trim().to_string(),
    })
}

/// What the peer measured.
#[derive(Debug)]
pub struct PeerRun {
    /// Embeddings of the texts (`rows × dim`).
    pub emb: Vec<f32>,
    /// Output dimension.
    pub dim: usize,
    /// Parameters (embedding matrix size).
    pub params: usize,
    /// Single-thread speed.
    pub single: Speed,
    /// Default (all cores) speed.
    pub all: Speed,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/bench_python.py")
}

fn speed_of(v: &serde_json::Value, threads: usize) -> Result<Speed> {
    let s = v.get("speed").context("python result lacks `speed`")?;
    let f = |k: &str| {
        s.get(k)
            .and_then(serde_json::Value::as_f64)
            .with_context(|| format!("python speed lacks `{k}`"))
    };
    Ok(Speed {
        threads,
        texts: f("texts")? as usize,
        seconds: f("seconds")?,
        texts_per_s: f("texts_per_s")?,
    })
}

/// Runs the peer on the model folder `dir`: embeds `texts` and times `corpus`
/// (single-threaded, then with model2vec's defaults). `work` holds the exchange files.
pub fn run(
    py: &Python,
    dir: &Path,
    texts: &[String],
    corpus: &[&str],
    (budget_s, min_s): (f64, f64),
    threads: usize,
    work: &Path,
) -> Result<PeerRun> {
    std::fs::create_dir_all(work)?;
    let texts_path = work.join("texts.json");
    let corpus_path = work.join("corpus.json");
    let emb_path = work.join("emb.f32");
    std::fs::write(&texts_path, serde_json::to_vec(texts)?)?;
    std::fs::write(&corpus_path, serde_json::to_vec(corpus)?)?;
    let call = |mode: &str, embed: bool| -> Result<serde_json::Value> {
        let result = work.join(format!("result-{mode}.json"));
        let mut cmd = Command::new(&py.exe);
        cmd.arg(script())
            .arg("--model")
            .arg(dir)
            .arg("--corpus")
            .arg(&corpus_path)
            .args(["--speed-seconds", &budget_s.to_string()])
            .args(["--min-seconds", &min_s.to_string(), "--mode", mode])
            .arg("--result")
            .arg(&result)
            .env("HF_HUB_OFFLINE", "1");
        if embed {
            cmd.arg("--texts")
                .arg(&texts_path)
                .arg("--emb-out")
                .arg(&emb_path);
        }
        if mode == "single" {
            cmd.env("TOKENIZERS_PARALLELISM", "false")
                .env("RAYON_NUM_THREADS", "1")
                .env("RAYON_RS_NUM_CPUS", "1")
                .env("OMP_NUM_THREADS", "1")
                .env("OPENBLAS_NUM_THREADS", "1")
                .env("MKL_NUM_THREADS", "1");
        }
        let status = cmd
            .status()
            .with_context(|| format!("running {}", py.exe.display()))?;
        if !status.success() {
            bail!("scripts/bench_python.py --mode {mode} failed ({status})");
        }
        Ok(serde_json::from_slice(&std::fs::read(&result)?)?)
    };
    let all = call("all", true)?;
    let single = call("single", false)?;
    let dim = all
        .get("dim")
        .and_then(serde_json::Value::as_u64)
        .context("python result lacks `dim`")? as usize;
    let params = all
        .get("params")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0) as usize;
    let bytes = std::fs::read(&emb_path)?;
    let emb: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if emb.len() != texts.len() * dim {
        bail!(
            "python returned {} values, expected {} × {dim}",
            emb.len(),
            texts.len()
        );
    }
    Ok(PeerRun {
        emb,
        dim,
        params,
        single: speed_of(&single, 1)?,
        all: speed_of(&all, threads)?,
    })
}

/// What the PyTorch teacher peer measured (speed only).
#[derive(Debug)]
pub struct TeacherRun {
    /// `torch.__version__` and `sentence_transformers.__version__`.
    pub implementation: String,
    /// Output dimension.
    pub dim: usize,
    /// Parameters of the whole sentence-transformers model.
    pub params: usize,
    /// One torch thread.
    pub single: Speed,
    /// torch's default threads (one per core).
    pub all: Speed,
}

/// Runs PyTorch (`sentence-transformers`) on the teacher folder `dir`: times `corpus`
/// in calls of `batch` texts by the rule of our own speed rows, single-threaded and
/// with torch's default threads. `Err` when this Python has no torch or
/// sentence-transformers (the caller notes it and goes on).
pub fn run_teacher(
    py: &Python,
    dir: &Path,
    corpus: &[&str],
    batch: usize,
    (budget_s, min_s): (f64, f64),
    threads: usize,
    work: &Path,
) -> Result<TeacherRun> {
    let probe = Command::new(&py.exe)
        .args(["-c", "import torch, sentence_transformers"])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .with_context(|| format!("running {}", py.exe.display()))?;
    if !probe.status.success() {
        bail!(
            "`{} -c \"import torch, sentence_transformers\"` failed",
            py.exe.display()
        );
    }
    std::fs::create_dir_all(work)?;
    let corpus_path = work.join("teacher-corpus.json");
    std::fs::write(&corpus_path, serde_json::to_vec(corpus)?)?;
    let call = |mode: &str| -> Result<serde_json::Value> {
        let result = work.join(format!("teacher-{mode}.json"));
        let status = Command::new(&py.exe)
            .arg(script())
            .arg("--teacher")
            .arg("--model")
            .arg(dir)
            .arg("--corpus")
            .arg(&corpus_path)
            .args(["--batch", &batch.to_string()])
            .args(["--speed-seconds", &budget_s.to_string()])
            .args(["--min-seconds", &min_s.to_string(), "--mode", mode])
            .arg("--result")
            .arg(&result)
            .env("HF_HUB_OFFLINE", "1")
            .env("TOKENIZERS_PARALLELISM", "false")
            .status()
            .with_context(|| format!("running {}", py.exe.display()))?;
        if !status.success() {
            bail!("scripts/bench_python.py --teacher --mode {mode} failed ({status})");
        }
        Ok(serde_json::from_slice(&std::fs::read(&result)?)?)
    };
    let all = call("all")?;
    let single = call("single")?;
    let text = |k: &str| {
        all.get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let num = |k: &str| all.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0) as usize;
    Ok(TeacherRun {
        implementation: format!(
            "PyTorch {} (sentence-transformers {})",
            text("torch"),
            text("sentence_transformers")
        ),
        dim: num("dim"),
        params: num("params"),
        single: speed_of(&single, 1)?,
        all: speed_of(&all, threads)?,
    })
}
