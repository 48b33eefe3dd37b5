//! Hostile and unlucky inputs (issue 19): model-controlled sizes, files that would
//! give silently wrong output, special files that would hang a load, and the rule for
//! memory-mapping. Each test failed before its fix.

use std::path::{Path, PathBuf};

use m2v_static::safetensors::{self, TensorSpec};
use m2v_static::{Dtype, Error, LoadOptions, MAX_DIM, StaticModel};

fn tiny(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tiny")
        .join(name)
}

fn tokenizer_json() -> Vec<u8> {
    std::fs::read(tiny("tiny_f32/tokenizer.json")).unwrap()
}

fn config_json() -> Vec<u8> {
    std::fs::read(tiny("tiny_f32/config.json")).unwrap()
}

fn vocab_size() -> usize {
    StaticModel::from_pretrained(tiny("tiny_f32"))
        .unwrap()
        .vocab_size()
}

fn err_of(r: Result<StaticModel, Error>) -> Error {
    match r {
        Err(e) => e,
        Ok(_) => panic!("loaded"),
    }
}

/// A model whose one embedding row is `dim` wide, every token mapped to it: a few
/// hundred KiB of file that declares a huge output per text.
#[test]
fn a_model_cannot_declare_a_huge_dimension() {
    let vocab = vocab_size();
    let ok_or_not = |dim: usize| {
        let row = vec![0u8; dim * 4];
        let mapping = vec![0u8; vocab * 4];
        let st = safetensors::serialize(
            &[
                (
                    TensorSpec {
                        name: "embeddings",
                        dtype: Dtype::F32,
                        shape: &[1, dim],
                    },
                    &row,
                ),
                (
                    TensorSpec {
                        name: "mapping",
                        dtype: Dtype::I32,
                        shape: &[vocab],
                    },
                    &mapping,
                ),
            ],
            &[],
        )
        .unwrap();
        StaticModel::from_bytes(&tokenizer_json(), st, &config_json(), &LoadOptions::new())
    };
    assert_eq!(ok_or_not(MAX_DIM).unwrap().dim(), MAX_DIM);
    let e = err_of(ok_or_not(65_536));
    let msg = e.to_string();
    assert!(matches!(e, Error::Shape { .. }), "{msg}");
    assert!(
        msg.contains("65536") && msg.contains(&MAX_DIM.to_string()),
        "{msg}"
    );
}
