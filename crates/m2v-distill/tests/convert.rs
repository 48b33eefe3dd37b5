//! `convert` against Python `model2vec==0.10.0`'s `quantize_model` + `save_pretrained`.
//!
//! Fixtures from `scripts/golden_convert.py generate` (`tests/fixtures/convert/`): for
//! each case, the tensors Python saved (dtype, shape, sha256 of the values), its
//! `config.json`, and the converted model's `encode` of a few texts.
//!
//! Tolerances:
//! - saved tensors: the same dtype, shape and values (sha256 of the values written in
//!   Python's dtype; the one difference allowed is the `mapping` dtype, which we store
//!   as I32 where Python keeps the I64 it loaded: same numbers);
//! - `config.json`: the same values;
//! - `encode`: bit-identical for f32 and int8 models, max |diff| <= 1e-3 for the f16
//!   model (Python rounds its f16 model's output to f16, m2v returns f32);
//! - vocabulary quantization: our k-means is not scikit-learn's (other random numbers),
//!   so the check is on quality: the mean cosine of the converted model's outputs to the
//!   unconverted model's is at least Python's minus 0.02.
//!
//! The reverse direction (Python loading a folder `m2v-cli convert` wrote) is checked by
//! `scripts/golden_convert.py check`, which needs Python.

use std::path::{Path, PathBuf};

use m2v_distill::ConvertOptions;
use m2v_static::save::OutputFolder;
use m2v_static::{Dtype, StaticModel};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert")
}

fn golden() -> Value {
    serde_json::from_slice(&std::fs::read(fixtures().join("golden.json")).unwrap()).unwrap()
}

fn model(id: &str) -> Option<PathBuf> {
    let name = match id {
        "minishlab/potion-base-8M" => "potion-base-8M",
        _ => "tokenlearn-static-model",
    };
    m2v_hub::testing::model_or_skip(id, name)
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("m2v-convert-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn options(v: &Value) -> ConvertOptions {
    let mut o = ConvertOptions::default();
    if let Some(d) = v["quantize_to"].as_str() {
        o.quantize_to = Some(d.parse().unwrap());
    }
    o.dimensionality = v["dimensionality"].as_u64().map(|k| k as usize);
    o.vocabulary_quantization = v["vocabulary_quantization"].as_u64().map(|k| k as usize);
    o
}

fn texts(g: &Value) -> Vec<String> {
    g["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .as_chunks::<4>()
        .0
        .iter()
        .map(|c| f32::from_le_bytes(*c))
        .collect()
}

/// The sha256 of a tensor's values written as numpy's `dtype` would store them.
fn values_sha(file: &[u8], t: &m2v_static::safetensors::TensorInfo, numpy: &str) -> String {
    let data = t.data(file).unwrap();
    let bytes: Vec<u8> = if t.dtype.numpy_name() == numpy {
        data.to_vec()
    } else if t.dtype == Dtype::I32 && numpy == "int64" {
        data.as_chunks::<4>()
            .0
            .iter()
            .flat_map(|c| i64::from(i32::from_le_bytes(*c)).to_le_bytes())
            .collect()
    } else {
        panic!("tensor {} is {}, Python's is {numpy}", t.name, t.dtype)
    };
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn mean_cosine(a: &[f32], b: &[f32], dim: usize) -> f64 {
    let mut sum = 0.0;
    let mut n = 0;
    for (x, y) in a.chunks_exact(dim).zip(b.chunks_exact(dim)) {
        let dot: f64 = x
            .iter()
            .zip(y)
            .map(|(p, q)| f64::from(*p) * f64::from(*q))
            .sum();
        let nx = x.iter().map(|p| f64::from(*p).powi(2)).sum::<f64>().sqrt();
        let ny = y.iter().map(|p| f64::from(*p).powi(2)).sum::<f64>().sqrt();
        if nx > 0.0 && ny > 0.0 {
            sum += dot / (nx * ny);
            n += 1;
        }
    }
    sum / f64::from(n)
}

fn check(case_name: &str) {
    let g = golden();
    let case = g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == case_name)
        .unwrap_or_else(|| panic!("no golden case {case_name}"));
    let Some(dir) = model(case["model"].as_str().unwrap()) else {
        return;
    };
    let opts = options(&case["options"]);
    let root = temp(case_name);
    let out = root.join("model");
    m2v_distill::convert(&dir, &opts, OutputFolder::new(&out, false).unwrap())
        .unwrap_or_else(|e| panic!("{case_name}: {e}"));

    let texts = texts(&g);
    let ours = StaticModel::from_pretrained(&out).unwrap().encode(&texts);
    let want = read_f32(&fixtures().join(case["output"].as_str().unwrap()));
    assert_eq!(
        ours.as_slice().len(),
        want.len(),
        "{case_name}: output size"
    );

    if opts.vocabulary_quantization.is_some() {
        let base = StaticModel::from_pretrained(&dir).unwrap().encode(&texts);
        let dim = ours.dim();
        let mine = mean_cosine(ours.as_slice(), base.as_slice(), dim);
        let python = mean_cosine(&want, base.as_slice(), dim);
        eprintln!(
            "{case_name}: mean cosine to the unconverted model: ours {mine:.4}, Python {python:.4}"
        );
        assert!(
            mine >= python - 0.02,
            "{case_name}: {mine} < {python} - 0.02"
        );
        let header = std::fs::read(out.join("model.safetensors")).unwrap();
        let h = m2v_static::safetensors::read_header(&header).unwrap();
        for (name, t) in case["tensors"].as_object().unwrap() {
            let shape: Vec<usize> = t["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(
                h.get(name).unwrap().shape,
                shape,
                "{case_name}: {name} shape"
            );
        }
    } else {
        let tol = if case["tensors"]["embeddings"]["dtype"] == "float16" {
            1e-3
        } else {
            0.0
        };
        let worst = ours
            .as_slice()
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= tol, "{case_name}: max |diff| {worst} > {tol}");
        let file = std::fs::read(out.join("model.safetensors")).unwrap();
        let h = m2v_static::safetensors::read_header(&file).unwrap();
        for (name, t) in case["tensors"].as_object().unwrap() {
            let info = h
                .get(name)
                .unwrap_or_else(|| panic!("{case_name}: no tensor {name}"));
            let shape: Vec<usize> = t["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(info.shape, shape, "{case_name}: {name} shape");
            assert_eq!(
                values_sha(&file, info, t["dtype"].as_str().unwrap()),
                t["sha256"].as_str().unwrap(),
                "{case_name}: {name} values"
            );
        }
        assert_eq!(
            h.tensors.len(),
            case["tensors"].as_object().unwrap().len(),
            "{case_name}: tensor count"
        );
    }
    let config: Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config, case["config"], "{case_name}: config.json");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn potion_to_float16_like_python() {
    check("potion_f16");
}

#[test]
fn potion_to_int8_like_python() {
    check("potion_int8");
}

#[test]
fn potion_fewer_dimensions_like_python() {
    check("potion_dim64");
}

#[test]
fn potion_int8_and_fewer_dimensions_like_python() {
    check("potion_int8_dim128");
}

#[test]
fn tokenlearn_to_float32_like_python() {
    check("tokenlearn_f32");
}

#[test]
fn tokenlearn_fewer_dimensions_like_python() {
    check("tokenlearn_dim32");
}

#[test]
fn vocabulary_quantization_as_good_as_python() {
    check("potion_vq16");
}

/// Undoing vocabulary quantization changes no output (no Python equivalent exists).
#[test]
fn unquantize_vocabulary_keeps_outputs() {
    let Some(dir) = model("pypi/tokenlearn-static-model") else {
        return;
    };
    let root = temp("unquantize");
    let out = root.join("model");
    let opts = ConvertOptions {
        unquantize_vocabulary: true,
        ..ConvertOptions::default()
    };
    m2v_distill::convert(&dir, &opts, OutputFolder::new(&out, false).unwrap()).unwrap();
    let texts = texts(&golden());
    let before = StaticModel::from_pretrained(&dir).unwrap();
    let after = StaticModel::from_pretrained(&out).unwrap();
    assert!(!after.has_mapping());
    assert_eq!(after.rows(), before.vocab_size());
    assert_eq!(
        after.encode(&texts).as_slice(),
        before.encode(&texts).as_slice()
    );
    // Twice is an error, as quantizing twice is.
    let again = m2v_distill::convert(
        &out,
        &opts,
        OutputFolder::new(&root.join("again"), false).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(again.contains("not vocabulary-quantized"), "{again}");
    let twice = m2v_distill::convert(
        &dir,
        &ConvertOptions {
            vocabulary_quantization: Some(4),
            ..ConvertOptions::default()
        },
        OutputFolder::new(&root.join("twice"), false).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(twice.contains("already vocabulary-quantized"), "{twice}");
    assert!(!root.join("again").exists() && !root.join("twice").exists());
    std::fs::remove_dir_all(&root).unwrap();
}
