//! Parity with Python model2vec 0.10.0, from the fixtures of `scripts/golden_reduce.py`.

mod common;

use std::path::PathBuf;

use m2v_reduce::{
    KMeansOptions, PcaDims, pca, quantize, quantize_weighted, sif_weights, vocabulary_quantize,
};
// The workspace's one f16 conversion lives in m2v-static; its parity with numpy is
// checked here too, against this crate's golden f16 cases.
use m2v_static::{
    Dtype as DType, f16_to_f32 as f16_bits_to_f32, f32_to_f16 as f32_to_f16_bits,
    f64_to_f16 as f64_to_f16_bits,
};
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

fn json() -> Value {
    let path = fixtures().join("reduce.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bytes(name: &str) -> Vec<u8> {
    let path = fixtures().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn f32s(name: &str) -> Vec<f32> {
    bytes(name)
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn usize_of(v: &Value) -> usize {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}")) as usize
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("not a number: {x}")))
        .collect()
}

/// The fixture's input matrix, rebuilt and checked against the script's checksum.
fn input(fx: &Value) -> (Vec<f32>, usize, usize) {
    let (rows, cols) = (usize_of(&fx["rows"]), usize_of(&fx["cols"]));
    let x = common::matrix(rows, cols, fx["seed"].as_u64().unwrap_or_default());
    let sum: f64 = x.iter().map(|&v| f64::from(v)).sum();
    let expect = fx["checksum_f64_sum"].as_f64().unwrap_or(f64::NAN);
    // Different summation order from NumPy's, so allow for f64 rounding only.
    assert!(
        (sum - expect).abs() <= 1e-9 * expect.abs().max(1.0),
        "checksum {sum} vs {expect}"
    );
    let bits = |vals: &[f32]| {
        vals.iter()
            .map(|v| u64::from(v.to_bits()))
            .collect::<Vec<_>>()
    };
    let first: Vec<u64> = fx["first_bits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    let last: Vec<u64> = fx["last_bits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(bits(&x[..8]), first);
    assert_eq!(bits(&x[x.len() - 8..]), last);
    (x, rows, cols)
}

fn dims_of(v: &Value) -> PcaDims {
    match v {
        Value::Null => PcaDims::None,
        Value::String(s) if s == "auto" => PcaDims::Auto,
        Value::Number(n) if n.is_u64() => PcaDims::Int(n.as_u64().unwrap_or_default() as usize),
        Value::Number(n) => PcaDims::Float(n.as_f64().unwrap_or(f64::NAN)),
        other => panic!("unexpected dims {other}"),
    }
}

/// Max |a - b| over all entries.
fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn pca_matches_reference() {
    let fx = json();
    let (x, rows, cols) = input(&fx);
    let cases = fx["pca"]
        .as_array()
        .unwrap_or_else(|| panic!("no pca cases"));
    for case in cases {
        let dims = dims_of(&case["dims"]);
        let got = pca(&x, rows, cols, dims).unwrap_or_else(|e| panic!("{dims}: {e}"));
        assert_eq!(
            got.applied,
            case["applied"].as_bool().unwrap_or_default(),
            "{dims}: applied"
        );
        assert_eq!(got.cols, usize_of(&case["out_cols"]), "{dims}: chosen k");
        assert_eq!(got.rows, rows);
        if !got.applied {
            assert_eq!(got.data, x, "{dims}: unchanged");
            continue;
        }
        // Explained variance and its ratio against the reference run in f64: both are
        // eigenvalues of the same f64 covariance, so only rounding differs.
        let ev = f64s(&case["explained_variance_f64"]);
        let evr = f64s(&case["explained_variance_ratio_f64"]);
        assert_eq!(got.explained_variance.len(), ev.len());
        for (a, b) in got.explained_variance.iter().zip(&ev) {
            assert!(
                (a - b).abs() <= 1e-12 * ev[0],
                "{dims}: variance {a} vs {b}"
            );
        }
        for (a, b) in got.explained_variance_ratio.iter().zip(&evr) {
            assert!((a - b).abs() <= 1e-12, "{dims}: ratio {a} vs {b}");
        }
        // Against the reference's own f32 run: its f32 covariance limits it to ~1e-6.
        for (a, b) in got
            .explained_variance_ratio
            .iter()
            .zip(&f64s(&case["explained_variance_ratio_f32"]))
        {
            assert!((a - b).abs() <= 1e-5, "{dims}: f32 ratio {a} vs {b}");
        }
        // `project` applies the fitted map (mean, signed components) to other rows; on
        // the fitted rows it must give the scores (same f64 products, another order).
        let projected = got.project(&x).unwrap();
        let d = max_abs_diff(&projected, &got.data);
        assert!(
            d <= 1e-5,
            "{dims}: projecting the fitted rows differs by {d}"
        );
        if let Some(name) = case["scores_f64ref"].as_str() {
            // Scores after the sign rule, against the reference's function run on f64 input
            // and rounded to f32: max abs diff <= 1e-6 (scores are O(1)-O(10); measured 1.5e-11).
            let want = f32s(name);
            let d = max_abs_diff(&got.data, &want);
            eprintln!("{dims}: max |score - f64 reference| = {d:e}");
            assert!(
                d <= 1e-6,
                "{dims}: scores differ from the f64 reference by {d}"
            );
        }
        if let Some(name) = case["scores_f32ref"].as_str() {
            // Against the reference exactly as it runs (f32 mean, covariance, eigh and
            // product): its own rounding error dominates. Components explaining more than 0.1%
            // match to 2e-5 (measured <= 5.8e-6); the trailing ones of `auto` (down to 1e-7 of
            // the variance) are only determined to the f32 covariance's precision: 5e-4
            // (measured <= 1.2e-4).
            let want = f32s(name);
            let k = got.cols;
            for j in 0..k {
                let col_diff = (0..rows)
                    .map(|i| (got.data[i * k + j] - want[i * k + j]).abs())
                    .fold(0.0, f32::max);
                let ratio = got.explained_variance_ratio[j];
                let tol = if ratio > 1e-3 { 2e-5 } else { 5e-4 };
                eprintln!(
                    "{dims}: component {j} (ratio {ratio:.2e}): max |score - f32 reference| = {col_diff:e}"
                );
                assert!(
                    col_diff <= tol,
                    "{dims}: component {j} (ratio {ratio:e}) differs by {col_diff}"
                );
            }
        }
    }
}

#[test]
fn pca_skip_when_dims_reach_rows() {
    let fx = json();
    let (x, _, cols) = input(&fx);
    let rows = usize_of(&fx["pca_small_rows"]);
    let small = &x[..rows * cols];
    for case in fx["pca_small"].as_array().into_iter().flatten() {
        let dims = dims_of(&case["dims"]);
        let got = pca(small, rows, cols, dims).unwrap_or_else(|e| panic!("{dims}: {e}"));
        assert_eq!(
            got.applied,
            case["applied"].as_bool().unwrap_or_default(),
            "{dims}: applied"
        );
        assert_eq!(got.cols, usize_of(&case["out_cols"]), "{dims}: chosen k");
        if !got.applied {
            assert!(
                got.note
                    .as_deref()
                    .is_some_and(|n| n.contains("Not applying PCA")),
                "{dims}: {:?}",
                got.note
            );
            assert_eq!(got.data, small);
        }
    }
}

#[test]
fn sif_weights_bit_identical() {
    let fx = json();
    for case in fx["sif"].as_array().into_iter().flatten() {
        let n = usize_of(&case["n"]);
        let coef = case["coefficient"].as_f64().unwrap_or(f64::NAN);
        let w = sif_weights(n, coef).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.len(), n);
        let idx = case["index"].as_array().into_iter().flatten().map(usize_of);
        let bits = case["bits"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64);
        for (i, b) in idx.zip(bits) {
            // Tolerance: none (same f64 operations, NumPy's pairwise sum reproduced).
            assert_eq!(
                w[i].to_bits(),
                b,
                "n={n} s={coef} i={i}: {} vs {}",
                w[i],
                f64::from_bits(b)
            );
        }
    }
}

#[test]
fn quantization_identical() {
    let fx = json();
    let (x, rows, cols) = input(&fx);
    let weights = sif_weights(
        rows,
        fx["quantize_weights_sif"].as_f64().unwrap_or(f64::NAN),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for (key, dtype) in [
        ("float16", DType::F16),
        ("float32", DType::F32),
        ("int8", DType::I8),
    ] {
        for src in ["f32", "f64"] {
            let case = &fx["quantize"][format!("{src}_{key}")];
            assert_eq!(case["dtype"].as_str(), Some(dtype.numpy_name()));
            let want = bytes(case["file"].as_str().unwrap_or_default());
            let got = if src == "f32" {
                quantize(&x, rows, cols, dtype)
            } else {
                quantize_weighted(&x, rows, cols, &weights, dtype)
            }
            .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(got.shape, [rows, cols]);
            // Tolerance: none, every byte equal (f16 bits, f32 bits, int8 values).
            let diff = got.bytes.iter().zip(&want).filter(|(a, b)| a != b).count();
            assert_eq!(got.bytes.len(), want.len(), "{src} {key}: length");
            assert_eq!(diff, 0, "{src} {key}: {diff} bytes differ");
        }
    }
}

#[test]
fn f16_specials_identical() {
    let fx = json();
    for case in fx["f16_specials"].as_array().into_iter().flatten() {
        let v = case["value"].as_f64().unwrap_or(f64::NAN);
        let from64 = case["from_f64"].as_u64().unwrap_or_default() as u16;
        let from32 = case["from_f32"].as_u64().unwrap_or_default() as u16;
        assert_eq!(f64_to_f16_bits(v), from64, "f64 {v:e}");
        assert_eq!(f32_to_f16_bits(v as f32), from32, "f32 {v:e}");
        let back = f16_bits_to_f32(from64);
        assert!(
            back.is_infinite()
                || (f64::from(back) - v).abs() <= v.abs() * 2f64.powi(-11) + 2f64.powi(-25)
        );
    }
}

#[test]
fn vocabulary_quantization_as_good_as_reference() {
    let fx = json();
    let (x, rows, cols) = input(&fx);
    for (k, case) in fx["vocabulary_quantization"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let k: usize = k.parse().unwrap_or_default();
        // What the reference stores: f32 centres, int32 mapping, float64 weights.
        assert_eq!(case["centres_dtype"].as_str(), Some("float32"));
        assert_eq!(case["mapping_dtype"].as_str(), Some("int32"));
        assert_eq!(case["weights_dtype"].as_str(), Some("float64"));
        let q = vocabulary_quantize(&x, rows, cols, k, Some(1e-4), &KMeansOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.centres.len(), k * cols);
        assert_eq!(q.mapping.len(), rows);
        assert!(q.mapping.iter().all(|&m| (0..k as i32).contains(&m)));
        assert_eq!(q.weights, sif_weights(rows, 1e-4).unwrap_or_default());
        // Not bit-reproducible (different random stream): our clustering must be within 3%
        // of scikit-learn's inertia (sum of squared distances to the centres).
        let inertia: f64 = x
            .chunks_exact(cols)
            .zip(&q.mapping)
            .map(|(r, &m)| {
                let c = &q.centres[m as usize * cols..(m as usize + 1) * cols];
                r.iter()
                    .zip(c)
                    .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                    .sum::<f64>()
            })
            .sum();
        let reference = case["inertia"].as_f64().unwrap_or(f64::NAN);
        eprintln!(
            "k={k}: inertia {inertia} (scikit-learn {reference}), {} iterations",
            q.iterations
        );
        assert!(
            inertia <= reference * 1.03,
            "k={k}: inertia {inertia} vs scikit-learn {reference}"
        );
        assert!(
            (inertia - q.inertia).abs() <= 1e-3 * inertia,
            "reported inertia {} vs {inertia}",
            q.inertia
        );
    }
}
