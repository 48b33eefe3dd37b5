//! The encoder families beyond BERT and MPNet (DistilBERT, RoBERTa, XLM-RoBERTa,
//! ModernBERT with global and sliding-window layers) against PyTorch `transformers`, on
//! tiny seeded checkpoints written by
//! `scripts/golden_teacher_families.py` (real checkpoints of these families cannot be
//! fetched here). The sequences run as one right-padded batch, as in distillation and
//! sentence encoding. Tolerance: cosine >= 0.99999 and max |diff| <= 1e-4 per row.

use std::path::{Path, PathBuf};

use m2v_teacher::{DeviceChoice, Teacher};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/families")
        .join(name)
}

fn check(name: &str) {
    let dir = fixture(name);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("hidden.json")).unwrap()).unwrap();
    let seqs: Vec<Vec<u32>> = meta["sequences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect()
        })
        .collect();
    let h = meta["hidden_size"].as_u64().unwrap() as usize;
    let want: Vec<f32> = std::fs::read(dir.join("hidden.bin"))
        .unwrap()
        .as_chunks::<4>()
        .0
        .iter()
        .map(|b| f32::from_le_bytes(*b))
        .collect();
    let teacher = Teacher::load(&dir, DeviceChoice::Cpu).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(teacher.hidden_size(), h);
    let got = teacher.hidden_states(&seqs).unwrap();
    let mut k = 0;
    let (mut worst_cos, mut worst_abs) = (1.0f64, 0.0f32);
    for (b, s) in seqs.iter().enumerate() {
        for t in 0..s.len() {
            let ours = got.row(b, t);
            let theirs = &want[k * h..(k + 1) * h];
            k += 1;
            let dot: f64 = ours
                .iter()
                .zip(theirs)
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
            let n = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            worst_cos = worst_cos.min(dot / (n(ours) * n(theirs)));
            for (x, y) in ours.iter().zip(theirs) {
                worst_abs = worst_abs.max((x - y).abs());
            }
        }
    }
    assert_eq!(k * h, want.len(), "{name}: row count");
    eprintln!("{name}: worst cosine {worst_cos:.7}, max |diff| {worst_abs:.2e}");
    assert!(worst_cos >= 0.99999, "{name}: cosine {worst_cos}");
    assert!(worst_abs <= 1e-4, "{name}: max |diff| {worst_abs}");
}

#[test]
fn distilbert_matches_transformers() {
    check("distilbert");
}

#[test]
fn roberta_matches_transformers() {
    check("roberta");
}

#[test]
fn xlm_roberta_matches_transformers() {
    check("xlm-roberta");
}

#[test]
fn modernbert_matches_transformers() {
    check("modernbert");
}
