//! PCA on real embeddings (potion-base-8M's 29528 x 256 matrix, from the HF cache) against
//! the reference's numbers in `tests/fixtures/reduce.json` (`scripts/golden_reduce.py`).
//! A flat spectrum (neighbouring eigenvalues within 1%), unlike the synthetic fixture.

use std::path::{Path, PathBuf};

use m2v_reduce::{PcaDims, pca};
use serde_json::Value;

/// The `embeddings` tensor of a safetensors file, as f32 (`F32` only).
fn embeddings(path: &Path) -> (Vec<f32>, usize, usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8])) as usize;
    let header: Value =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap_or_else(|e| panic!("header: {e}"));
    let t = &header["embeddings"];
    assert_eq!(t["dtype"].as_str(), Some("F32"));
    let shape: Vec<usize> = t["shape"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .map(|v| v as usize)
        .collect();
    let offs: Vec<usize> = t["data_offsets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .map(|v| v as usize)
        .collect();
    let data = &bytes[8 + n + offs[0]..8 + n + offs[1]];
    let x = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (x, shape[0], shape[1])
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .collect()
}

#[test]
fn potion_matches_reference() {
    let Some(dir) = m2v_hub::testing::model_or_skip("minishlab/potion-base-8M", "potion-base-8M")
    else {
        return;
    };
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reduce.json");
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
    let fx = &fx["potion"];
    assert!(
        fx.is_object(),
        "fixture made without potion-base-8M: rerun scripts/golden_reduce.py"
    );
    let (x, rows, cols) = embeddings(&dir.join("model.safetensors"));
    assert_eq!(
        (rows as u64, cols as u64),
        (
            fx["rows"].as_u64().unwrap_or(0),
            fx["cols"].as_u64().unwrap_or(0)
        )
    );

    for (key, dims) in [("64", PcaDims::Int(64)), ("0.9", PcaDims::Float(0.9))] {
        let case = &fx[key];
        let got = pca(&x, rows, cols, dims).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            got.cols as u64,
            case["out_cols"].as_u64().unwrap_or(0),
            "{dims}: chosen k"
        );
        let evr = floats(&case["explained_variance_ratio_f64"]);
        let d = got
            .explained_variance_ratio
            .iter()
            .zip(&evr)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        // Same f64 covariance, different eigensolver: 1e-12.
        assert!(
            d <= 1e-12,
            "{dims}: explained variance ratio differs by {d:e}"
        );
        if let Some(head) = case["scores_head_f64ref"].as_array() {
            let want: Vec<f32> = head
                .iter()
                .filter_map(Value::as_f64)
                .map(|v| v as f32)
                .collect();
            let f32ref: Vec<f32> = floats(&case["scores_head_f32ref"])
                .into_iter()
                .map(|v| v as f32)
                .collect();
            let ours = &got.data[..want.len()];
            let d64 = ours
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            let d32 = ours
                .iter()
                .zip(&f32ref)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            eprintln!("{dims}: head scores vs f64 reference {d64:e}, vs f32 reference {d32:e}");
            // After the sign rule, against the reference on f64 input: 1e-5 (scores ~0.1-1).
            assert!(
                d64 <= 1e-5,
                "{dims}: scores differ from the f64 reference by {d64}"
            );
            // Against the reference as it runs (f32 covariance, close eigenvalues): 1e-4
            // (measured 2.3e-5).
            assert!(
                d32 <= 1e-3,
                "{dims}: scores differ from the f32 reference by {d32}"
            );
        }
    }
}
