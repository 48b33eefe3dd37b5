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
    check_with(name, &fixture(name));
}

/// Compares the teacher loaded from `teacher_dir` with the goldens of fixture `name`.
fn check_with(name: &str, teacher_dir: &Path) {
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
    let teacher = Teacher::load(teacher_dir, DeviceChoice::Cpu).unwrap_or_else(|e| panic!("{e}"));
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

/// A copy of the ModernBERT fixture in a fresh folder.
fn modernbert_copy(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("m2v-modernbert-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(fixture("modernbert").join(f), dir.join(f)).unwrap();
    }
    dir
}

/// The hub's form of the same model: a `ModernBertForMaskedLM` checkpoint (keys under
/// `model.`, plus the `head.*` and `decoder.bias` of the masked-LM head) and a
/// transformers 4.x `config.json` (`global_attn_every_n_layers`, `global_rope_theta`,
/// `local_rope_theta`, no `layer_types` or `rope_parameters`), as
/// `answerdotai/ModernBERT-base` has them. Same goldens, same tolerance.
#[test]
fn modernbert_masked_lm_checkpoint_and_legacy_config() {
    let dir = modernbert_copy("mlm");
    let cfg_path = dir.join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    let obj = cfg.as_object_mut().unwrap();
    obj.remove("layer_types").unwrap();
    obj.remove("rope_parameters").unwrap();
    obj.insert("global_rope_theta".into(), 160000.0.into());
    obj.insert("local_rope_theta".into(), 10000.0.into());
    obj.insert(
        "architectures".into(),
        serde_json::json!(["ModernBertForMaskedLM"]),
    );
    std::fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();

    // Rename every key to `model.<key>` and add the head's tensors, their data borrowed
    // from tensors of the same size (the reader does not mind shared ranges).
    let st_path = dir.join("model.safetensors");
    let bytes = std::fs::read(&st_path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let mut out = serde_json::Map::new();
    for (k, v) in &header {
        let k = if k == "__metadata__" {
            k.clone()
        } else {
            format!("model.{k}")
        };
        out.insert(k, v.clone());
    }
    let borrow = |from: &str, shape: serde_json::Value| {
        let mut v = header[from].clone();
        v["shape"] = shape;
        v
    };
    out.insert(
        "head.dense.weight".into(),
        borrow("layers.0.attn.Wo.weight", serde_json::json!([32, 32])),
    );
    out.insert(
        "head.norm.weight".into(),
        borrow("final_norm.weight", serde_json::json!([32])),
    );
    let mut bias = header["embeddings.tok_embeddings.weight"].clone();
    let start = bias["data_offsets"][0].as_u64().unwrap();
    bias["data_offsets"] = serde_json::json!([start, start + 4000]);
    bias["shape"] = serde_json::json!([1000]);
    out.insert("decoder.bias".into(), bias);
    let mut h = serde_json::to_vec(&out).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut file = (h.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(&h);
    file.extend_from_slice(&bytes[8 + n..]);
    std::fs::write(&st_path, file).unwrap();

    check_with("modernbert", &dir);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Configurations this module does not implement are refused with the file and field.
#[test]
fn modernbert_refuses_other_rope_types() {
    let dir = modernbert_copy("rope");
    let cfg_path = dir.join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    cfg["rope_parameters"]["sliding_attention"]["rope_type"] = "yarn".into();
    std::fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    let e = Teacher::load(&dir, DeviceChoice::Cpu)
        .unwrap_err()
        .to_string();
    assert!(e.contains("config.json"), "{e}");
    assert!(
        e.contains("unsupported rope_parameters.sliding_attention.rope_type `yarn`"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
