//! The GPU check: wgpu against PyTorch on the same weights, and the distillation
//! workload's speed on the GPU and on the CPU backend. Driven by `scripts/gpu_check.sh`
//! on a machine with a GPU; needs `--features wgpu`.
//!
//! `gpu_check <model dir> <fixture dir> <reference dir> <report.json> [--quick]`
//!
//! `--quick` times 2048 tokens and the texts once (a dry run on a software driver).
//!
//! - `<fixture dir>` holds `hidden.json` (token-id sequences) and `sentences.json`
//!   (texts), as committed under `tests/fixtures/<model>/`.
//! - `<reference dir>` holds `hidden.bin` and `sentences.bin` that
//!   `scripts/gpu_reference.py` computed with PyTorch from the same `<model dir>`.
//!
//! Tolerances (as `tests/wgpu.rs`): GPU rows need cosine >= 0.9999 and max abs diff
//! <= 5e-4 against PyTorch (GPU kernels sum in another order); CPU rows need 0.99999
//! and 1e-4 (as `tests/parity.rs`). Exits 1 when a check fails, 2 without an adapter.

use std::path::{Path, PathBuf};
use std::time::Instant;

use m2v_teacher::{DeviceChoice, Error, Pooling, Teacher};
use serde_json::{Value, json};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    match run() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("gpu_check: {e}");
            std::process::exit(2);
        }
    }
}

fn run() -> Res<bool> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let (quick, args) = match args.split_last() {
        Some((last, rest)) if last.as_os_str() == "--quick" => (true, rest),
        _ => (false, args.as_slice()),
    };
    let [model, fixtures, reference, report] = args else {
        return Err(
            "usage: gpu_check <model dir> <fixture dir> <reference dir> <report.json> [--quick]"
                .into(),
        );
    };
    let t = Instant::now();
    let gpu = match Teacher::load(model, DeviceChoice::Gpu) {
        Ok(t) => t,
        Err(Error::GpuUnavailable(why)) => return Err(format!("no wgpu adapter: {why}").into()),
        Err(e) => return Err(e.into()),
    };
    let gpu_load = t.elapsed().as_secs_f64();
    let cpu = Teacher::load(model, DeviceChoice::Cpu)?;
    let dim = gpu.hidden_size();

    let meta = read_json(&fixtures.join("hidden.json"))?;
    let seqs: Vec<Vec<u32>> = meta["sequences"]
        .as_array()
        .ok_or("hidden.json: no sequences")?
        .iter()
        .map(|s| ids_of(&s["ids"]))
        .collect();
    let texts: Vec<String> = read_json(&fixtures.join("sentences.json"))?["texts"]
        .as_array()
        .ok_or("sentences.json: no texts")?
        .iter()
        .map(|t| t.as_str().unwrap_or_default().to_string())
        .collect();
    let hidden_ref = read_f32(&reference.join("hidden.bin"))?;
    let sent_ref = read_f32(&reference.join("sentences.bin"))?;

    let mut ok = true;
    let mut parity = serde_json::Map::new();
    for (name, teacher, min_cos, max_abs) in [
        ("gpu", &gpu, 0.9999, 5e-4f32),
        ("cpu", &cpu, 0.99999, 1e-4f32),
    ] {
        let t = Instant::now();
        let h = teacher.hidden_states(&seqs)?;
        let first = t.elapsed().as_secs_f64();
        let ours: Vec<f32> = (0..h.batch).flat_map(|b| h.sequence(b).to_vec()).collect();
        let hidden = compare(&ours, &hidden_ref, dim);
        let sentences = compare(&teacher.encode_sentences(&texts, 16)?, &sent_ref, dim);
        let pass = [hidden, sentences]
            .iter()
            .all(|c| c.0 >= min_cos && c.1 <= max_abs);
        ok &= pass;
        println!(
            "{name} parity: hidden states ({} rows) cosine >= {:.7}, max abs {:.2e}; \
             sentences ({} rows) cosine >= {:.7}, max abs {:.2e}; tolerance cosine >= {min_cos}, \
             max abs <= {max_abs:e}: {}",
            ours.len() / dim,
            hidden.0,
            hidden.1,
            texts.len(),
            sentences.0,
            sentences.1,
            if pass { "PASS" } else { "FAIL" }
        );
        parity.insert(
            name.to_string(),
            json!({"hidden_min_cosine": hidden.0, "hidden_max_abs": hidden.1,
                   "sentences_min_cosine": sentences.0, "sentences_max_abs": sentences.1,
                   "min_cosine": min_cos, "max_abs": max_abs, "pass": pass,
                   "first_batch_s": first}),
        );
    }

    // The distillation workload: `[CLS] id [SEP]` for every vocabulary id, mean pooled.
    let vocab = gpu.config().vocab_size as u32;
    let (cls, sep) = (101, 102);
    let all: Vec<Vec<u32>> = (0..vocab).map(|i| vec![cls, i, sep]).collect();
    let repeat = if quick { 1 } else { 10 };
    let sentences: Vec<String> = texts
        .iter()
        .cycle()
        .take(texts.len() * repeat)
        .cloned()
        .collect();
    let (n_gpu, n_cpu) = if quick {
        (2048, 2048)
    } else {
        (all.len(), 8192)
    };
    // A failed measurement (e.g. a batch too large for a software driver's buffers) is
    // reported and recorded; it does not stop the others.
    let mut speed = serde_json::Map::new();
    for (name, teacher, n) in [("gpu", &gpu, n_gpu), ("cpu", &cpu, n_cpu)] {
        let ids = &all[..n.min(all.len())];
        let mut rows = serde_json::Map::new();
        for batch in [256, 1024] {
            let r = best_of(3, || {
                teacher.encode_ids(ids, Pooling::Mean, batch, &mut |_, _| {})?;
                Ok(())
            });
            let v = report_speed(
                name,
                &format!("distillation, batches of {batch}"),
                ids.len(),
                "tokens",
                r,
            );
            rows.insert(format!("distill_batch_{batch}_tokens_per_s"), v);
        }
        let r = best_of(3, || {
            teacher.encode_sentences(&sentences, 64)?;
            Ok(())
        });
        let v = report_speed(
            name,
            "sentences, batches of 64",
            sentences.len(),
            "sentences",
            r,
        );
        rows.insert("sentences_per_s".into(), v);
        rows.insert("distill_tokens".into(), json!(ids.len()));
        rows.insert("sentences".into(), json!(sentences.len()));
        speed.insert(name.to_string(), Value::Object(rows));
    }
    let out = json!({
        "model": model.display().to_string(),
        "gpu_load_s": gpu_load,
        "cpu_threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "parity": parity,
        "speed": speed,
    });
    std::fs::write(report, serde_json::to_string_pretty(&out)? + "\n")?;
    Ok(ok)
}

/// Prints one timing and returns its JSON value (items/s, or the error as a string).
fn report_speed(device: &str, what: &str, n: usize, unit: &str, r: Res<f64>) -> Value {
    match r {
        Ok(secs) => {
            let rate = n as f64 / secs;
            println!("{device} speed: {what}: {rate:.1} {unit}/s ({n} {unit})");
            json!(rate)
        }
        Err(e) => {
            let e = e.to_string();
            let first = e.lines().next().unwrap_or_default();
            println!("{device} speed: {what}: FAILED: {first}");
            json!(format!("error: {e}"))
        }
    }
}

/// Best wall-clock seconds of `n` runs after one warm-up run (which compiles the GPU
/// kernels for every batch shape).
fn best_of(n: usize, mut f: impl FnMut() -> Res<()>) -> Res<f64> {
    f()?;
    let mut best = f64::INFINITY;
    for _ in 0..n {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// (smallest row cosine, largest absolute difference) of two row-major matrices.
fn compare(ours: &[f32], reference: &[f32], dim: usize) -> (f64, f32) {
    if ours.len() != reference.len() {
        return (f64::NEG_INFINITY, f32::INFINITY);
    }
    let mut min_cos = f64::INFINITY;
    let mut max_abs = 0.0f32;
    for (a, b) in ours.chunks_exact(dim).zip(reference.chunks_exact(dim)) {
        let dot: f64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum();
        let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        min_cos = min_cos.min(dot / (na * nb));
        max_abs = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(max_abs, f32::max);
    }
    (min_cos, max_abs)
}

fn read_json(path: &Path) -> Res<Value> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?)
}

fn read_f32(path: &Path) -> Res<Vec<f32>> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn ids_of(v: &Value) -> Vec<u32> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_u64())
                .map(|x| x as u32)
                .collect()
        })
        .unwrap_or_default()
}
