//! Parity with Python model2vec 0.10.0 on golden outputs written by
//! `scripts/golden_static.py` (see `tests/fixtures/golden.json`).
//!
//! Every case compares all texts (200 STS-B sentences read from `../shared/data` plus
//! 30 edge cases) with the tolerance the fixture states:
//! - f32, f64 and int8 models: max abs diff <= 1e-6 (same summation order as numpy);
//! - f16 models: <= 1e-3 × max(1, |Python value|), because Python returns f16-rounded
//!   values (half an f16 ulp is 2^-11 relative; it also normalizes the f16-rounded
//!   mean) while m2v returns the f32 mean.
//!
//! The token ids `encode` averages must equal Python's exactly.

use std::path::{Path, PathBuf};

use m2v_static::{EncodeOptions, StaticModel};
use m2v_tokenize::json::{self, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn golden() -> Value {
    let text = std::fs::read_to_string(fixtures().join("golden.json")).unwrap();
    json::parse(&text).unwrap()
}

/// The texts of the golden cases: the real sentences (selected by the rule in
/// `texts.json`) then the edge cases.
fn texts() -> Option<Vec<String>> {
    let spec =
        json::parse(&std::fs::read_to_string(fixtures().join("texts.json")).unwrap()).unwrap();
    let n_real = spec.get("real_count").and_then(Value::as_u64).unwrap() as usize;
    let data = m2v_hub::testing::shared_data()?;
    let sts = std::fs::read_to_string(data.join("stsbenchmark/sts-test.csv")).unwrap();
    let kept: Vec<Vec<&str>> = sts
        .split('\n')
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f.len() >= 7)
        .collect();
    let mut out = Vec::new();
    for f in kept.iter().step_by(7) {
        out.push(f[5].to_string());
        out.push(f[6].to_string());
        if out.len() >= n_real {
            break;
        }
    }
    out.truncate(n_real);
    for e in spec.get("edge").and_then(Value::as_array).unwrap() {
        out.push(e.as_str().unwrap().to_string());
    }
    Some(out)
}

/// A committed tiny model's folder.
fn tiny_model_dir(name: &str) -> PathBuf {
    fixtures().join("tiny").join(name)
}

fn model_ref(spec: &str) -> Option<PathBuf> {
    if let Some(id) = spec.strip_prefix("hub:") {
        // `cargo xtask fetch` names models by the last part of their hub id.
        let fetch = id.rsplit('/').next().unwrap();
        m2v_hub::testing::model_or_skip(id, fetch)
    } else {
        Some(tiny_model_dir(spec.strip_prefix("tiny:").unwrap()))
    }
}

fn read_f32(rel: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixtures().join(rel)).unwrap();
    bytes
        .as_chunks::<4>()
        .0
        .iter()
        .map(|b| f32::from_le_bytes(*b))
        .collect()
}

fn read_ids(rel: &str) -> Vec<Vec<u32>> {
    let v = json::parse(&std::fs::read_to_string(fixtures().join(rel)).unwrap()).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect()
        })
        .collect()
}

/// Checks one golden case; returns its max abs diff.
fn check_case(case: &Value, all_texts: &[String]) -> Option<f32> {
    let name = case.get("name").and_then(Value::as_str).unwrap();
    let model_spec = case.get("model").and_then(Value::as_str).unwrap();
    let mref = model_ref(model_spec)?;
    let model = StaticModel::from_pretrained(&mref)
        .unwrap_or_else(|e| panic!("{name}: loading {model_spec}: {e}"));
    let idx: Vec<usize> = case
        .get("text_indices")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    let texts: Vec<&str> = idx.iter().map(|&i| all_texts[i].as_str()).collect();
    let enc = case.get("encode").unwrap();
    let mut opts = EncodeOptions::new();
    if let Some(m) = enc.get("max_length") {
        opts = opts.max_length(m.as_u64().map(|m| m as usize));
    }
    if let Some(n) = enc.get("normalize").and_then(Value::as_bool) {
        opts = opts.normalize(n);
    }
    assert_eq!(
        model.median_token_length() as u64,
        case.get("median_token_length")
            .and_then(Value::as_u64)
            .unwrap(),
        "{name}: median token length"
    );
    let max_length = case
        .get("max_length")
        .and_then(Value::as_u64)
        .map(|m| m as usize);

    // Token ids: exactly Python's.
    let want_ids = read_ids(case.get("ids").and_then(Value::as_str).unwrap());
    for (k, (t, want)) in texts.iter().zip(&want_ids).enumerate() {
        let got = model.tokenize(t, max_length);
        assert_eq!(
            &got,
            want,
            "{name}: ids of text {k} ({:?})",
            t.chars().take(60).collect::<String>()
        );
    }

    // Embeddings within the stated tolerance.
    let want = read_f32(case.get("output").and_then(Value::as_str).unwrap());
    let got = model.encode_with(&texts, &opts);
    assert_eq!(got.rows() * got.dim(), want.len(), "{name}: shape");
    let tol = case.get("tolerance").and_then(Value::as_f64).unwrap() as f32;
    // f16 cases (tolerance 1e-3) are relative above 1; the others absolute.
    let relative = tol >= 1e-3;
    let mut worst = (0.0f32, 0usize);
    for (i, (g, w)) in got.as_slice().iter().zip(&want).enumerate() {
        let d = (g - w).abs() / if relative { w.abs().max(1.0) } else { 1.0 };
        assert!(!d.is_nan(), "{name}: NaN at {i}");
        if d > worst.0 {
            worst = (d, i);
        }
    }
    let row = worst.1 / got.dim().max(1);
    assert!(
        worst.0 <= tol,
        "{name}: max abs diff {} > {tol} at text {row} ({:?})",
        worst.0,
        texts[row]
    );
    eprintln!("{name}: max abs diff {:e} (tolerance {tol:e})", worst.0);

    // Threads and batch size never change results.
    let par = model.encode_with(&texts, &opts.clone().threads(3).batch_size(7));
    assert_eq!(
        par.as_slice(),
        got.as_slice(),
        "{name}: threads changed the output"
    );
    Some(worst.0)
}

#[test]
fn golden_cases_match_python() {
    let Some(all) = texts() else { return };
    let g = golden();
    assert_eq!(
        all.len() as u64,
        g.get("texts").and_then(Value::as_u64).unwrap()
    );
    let mut checked = 0;
    for case in g.get("cases").and_then(Value::as_array).unwrap() {
        if check_case(case, &all).is_some() {
            checked += 1;
        }
    }
    // The tiny models are committed: those cases always run.
    assert!(checked >= 9, "only {checked} cases ran");
}

#[test]
fn encode_as_sequence_matches_python() {
    let g = golden();
    let seq = g.get("sequence").unwrap();
    let texts: Vec<&str> = seq
        .get("texts")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let rows = seq.get("rows").and_then(Value::as_object).unwrap();
    for (name, want) in rows {
        let model = StaticModel::from_pretrained(tiny_model_dir(name)).unwrap();
        let got = model.encode_as_sequence(&texts, None);
        for (k, (g, w)) in got.iter().zip(want.as_array().unwrap()).enumerate() {
            let w = w.as_array().unwrap();
            assert_eq!(g.rows(), w.len(), "{name} text {k}: token count");
            for (gr, wr) in g.iter().zip(w) {
                for (a, b) in gr.iter().zip(wr.as_array().unwrap()) {
                    let b = b.as_f64().unwrap() as f32;
                    // f32 rows times f32 weights: the same single rounding as numpy.
                    assert!((a - b).abs() <= 1e-6, "{name} text {k}: {a} vs {b}");
                }
            }
        }
    }
}
