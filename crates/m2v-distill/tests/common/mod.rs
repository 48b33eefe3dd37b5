//! What the distillation tests against Python share: reading a saved model's rows and
//! the reference's goldens, and the row comparison.

#![allow(dead_code)] // each test binary uses its own part

use std::path::Path;

/// Little-endian float16 values as `f32`.
pub fn f16_rows(bytes: &[u8]) -> Vec<f32> {
    bytes
        .as_chunks::<2>()
        .0
        .iter()
        .map(|b| m2v_static::f16_to_f32(u16::from_le_bytes(*b)))
        .collect()
}

/// The `embeddings` tensor of a saved `model.safetensors` (float16) and its width.
pub fn saved_rows(model_dir: &Path) -> (Vec<f32>, usize) {
    let model = std::fs::read(model_dir.join("model.safetensors")).unwrap();
    let h = m2v_static::safetensors::read_header(&model).unwrap();
    let e = h.get("embeddings").unwrap();
    assert_eq!(e.dtype, m2v_static::Dtype::F16, "embeddings dtype");
    (f16_rows(e.data(&model).unwrap()), e.shape[1])
}

/// The lowest cosine between corresponding rows of `ours` and `theirs` (width `dim`),
/// and its row.
pub fn worst_cosine(ours: &[f32], theirs: &[f32], dim: usize) -> (f64, usize) {
    let mut worst = (1.0f64, 0usize);
    for (r, (a, b)) in ours
        .chunks_exact(dim)
        .zip(theirs.chunks_exact(dim))
        .enumerate()
    {
        let c = cosine(a, b);
        if c < worst.0 {
            worst = (c, r);
        }
    }
    worst
}

/// The cosine of two rows, in f64.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let n = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

/// Copies a tiny seeded teacher into `dir` (created): the checkpoint of m2v-teacher's
/// fixtures (`families/<name>`, or `decoders/qwen3` for the Qwen3 names) plus the
/// tokenizer files this crate's `fixtures/families/<name>` has (Qwen3's hub repos have
/// no `special_tokens_map.json`).
pub fn copy_tiny_teacher(name: &str, dir: &Path) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir).unwrap();
    let fixtures = manifest.join("../m2v-teacher/tests/fixtures");
    let ckpt = if name.starts_with("qwen3") {
        fixtures.join("decoders/qwen3")
    } else {
        fixtures.join("families").join(name)
    };
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(ckpt.join(f), dir.join(f)).unwrap();
    }
    let tok = manifest.join("tests/fixtures/families").join(name);
    for f in [
        "tokenizer.json",
        "special_tokens_map.json",
        "tokenizer_config.json",
    ] {
        if tok.join(f).is_file() || f == "tokenizer.json" {
            std::fs::copy(tok.join(f), dir.join(f)).unwrap();
        }
    }
}
