//! `save_pretrained` round trips: every tiny model of the fixtures (written by Python
//! model2vec and sentence-transformers, `scripts/golden_static.py`), in every layout,
//! saves to a model2vec folder that loads and encodes to the same bits; load-time
//! options become permanent; a non-empty output is refused and left as it was.

use std::path::{Path, PathBuf};

use m2v_static::save::SaveOptions;
use m2v_static::{Dtype, Layout, LoadOptions, StaticModel};

fn tiny() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny")
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("m2v-static-save-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

const TEXTS: [&str; 4] = ["hello world", "", "the quick brown fox", "unknownwordzzz"];

#[test]
fn every_fixture_round_trips() {
    let mut n = 0;
    for entry in std::fs::read_dir(tiny()).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let model = StaticModel::from_pretrained(&dir).unwrap();
        let out = temp(&name);
        model.save_pretrained(&out).unwrap();
        let back = StaticModel::from_pretrained(&out).unwrap();
        assert_eq!(back.layout(), Some(Layout::Model2Vec), "{name}");
        assert_eq!(
            back.encode(&TEXTS).as_slice(),
            model.encode(&TEXTS).as_slice(),
            "{name}"
        );
        assert_eq!(back.normalize(), model.normalize(), "{name}");
        assert_eq!(back.max_length(), model.max_length(), "{name}");
        assert_eq!(back.has_mapping(), model.has_mapping(), "{name}");
        assert_eq!(back.has_weights(), model.has_weights(), "{name}");
        for f in ["config.json", "modules.json", "README.md", "tokenizer.json"] {
            assert!(out.join(f).is_file(), "{name}: no {f}");
        }
        std::fs::remove_dir_all(&out).unwrap();
        n += 1;
    }
    assert!(n >= 5, "only {n} fixtures");
}

#[test]
fn load_options_become_permanent_and_bytes_models_save() {
    let dir = tiny().join("tiny_f32");
    let opts = LoadOptions::new()
        .dtype(Dtype::F16)
        .dimensionality(4)
        .normalize(false);
    let model = StaticModel::load(&dir, &opts).unwrap();
    let out = temp("options");
    model.save_pretrained(&out).unwrap();
    let back = StaticModel::from_pretrained(&out).unwrap();
    assert_eq!(
        (back.dtype(), back.dim(), back.normalize()),
        (Dtype::F16, 4, false)
    );
    assert_eq!(
        back.encode(&TEXTS).as_slice(),
        model.encode(&TEXTS).as_slice()
    );
    // A model given as bytes keeps its tokenizer for saving.
    let read = |f: &str| std::fs::read(out.join(f)).unwrap();
    let bytes = StaticModel::from_bytes(
        &read("tokenizer.json"),
        read("model.safetensors"),
        &read("config.json"),
        &LoadOptions::new(),
    )
    .unwrap();
    let again = temp("bytes");
    bytes.save_pretrained(&again).unwrap();
    assert_eq!(
        std::fs::read(again.join("tokenizer.json")).unwrap(),
        read("tokenizer.json")
    );
    assert_eq!(
        std::fs::read(again.join("model.safetensors")).unwrap(),
        read("model.safetensors")
    );
    // A non-empty output is refused, untouched; `force` replaces it.
    let err = bytes.save_pretrained(&out).unwrap_err().to_string();
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(
        std::fs::read(out.join("tokenizer.json")).unwrap(),
        read("tokenizer.json")
    );
    bytes
        .save_pretrained_with(&out, &SaveOptions::new().force(true))
        .unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_dir_all(&again).unwrap();
}
