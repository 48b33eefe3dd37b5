//! The whole sentence-transformers pipeline as the bench scores a teacher with it:
//! pooling, two `Dense` modules (Tanh with bias; Identity without bias, with a residual
//! projection), `Normalize`, and prompts from `config_sentence_transformers.json`.
//! Goldens: `SentenceTransformer.encode` of the same folder
//! (`scripts/golden_teacher_pipeline.py`). Tolerance: cosine >= 0.99999 and max |diff|
//! <= 1e-4 per sentence.

use std::path::{Path, PathBuf};

use m2v_teacher::{DeviceChoice, Teacher};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pipeline")
}

fn rows(v: &serde_json::Value) -> Vec<Vec<f32>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

fn compare(what: &str, got: &[f32], want: &[Vec<f32>]) {
    let dim = want[0].len();
    assert_eq!(got.len(), want.len() * dim, "{what}");
    for (ours, theirs) in got.chunks_exact(dim).zip(want) {
        let dot: f64 = ours
            .iter()
            .zip(theirs)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum();
        let n = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        let cos = dot / (n(ours) * n(theirs));
        assert!(cos >= 0.99999, "{what}: cosine {cos}");
        for (x, y) in ours.iter().zip(theirs) {
            assert!((x - y).abs() <= 1e-4, "{what}: {x} vs {y}");
        }
    }
}

#[test]
fn dense_modules_normalize_and_prompts_match_sentence_transformers() {
    let dir = fixture();
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let texts: Vec<String> = expected["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let teacher = Teacher::load(dir.join("model"), DeviceChoice::Cpu).unwrap();
    assert_eq!(teacher.hidden_size(), 32);
    assert_eq!(teacher.sentence_dim().unwrap(), 24);
    let plain = teacher.encode_sentences(&texts, 3).unwrap();
    compare("no prompt", &plain, &rows(&expected["plain"]));
    let query = teacher
        .encode_sentences_with_prompt(&texts, Some("query"), 3)
        .unwrap();
    compare("prompt `query`", &query, &rows(&expected["query"]));
    let e = teacher
        .encode_sentences_with_prompt(&texts, Some("nope"), 3)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no prompt named `nope`") && e.contains("document, query"),
        "{e}"
    );
}

#[test]
fn a_broken_dense_module_fails_encoding_but_not_loading() {
    let src = fixture().join("model");
    let dir = std::env::temp_dir().join(format!("m2v-pipeline-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    for e in walk(&src) {
        let rel = e.strip_prefix(&src).unwrap();
        std::fs::create_dir_all(dir.join(rel).parent().unwrap()).unwrap();
        std::fs::copy(&e, dir.join(rel)).unwrap();
    }
    std::fs::remove_file(dir.join("3_Dense/model.safetensors")).unwrap();
    // Distillation needs only the transformer: the teacher still loads and runs ids.
    let teacher = Teacher::load(&dir, DeviceChoice::Cpu).unwrap();
    assert_eq!(
        teacher
            .hidden_states(&[vec![101u32, 7, 102]])
            .unwrap()
            .hidden,
        32
    );
    let e = teacher.encode_sentences(&["x"], 1).unwrap_err().to_string();
    assert!(e.contains("3_Dense") && e.contains("no weights"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
