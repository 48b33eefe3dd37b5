//! Pipelines against Python model2vec 0.10.0's `StaticModelPipeline`, on goldens from
//! `scripts/golden_pipeline.py` (`tests/fixtures/pipelines/golden.json`).
//!
//! Every pipeline folder there (`py_*`: trained and saved by Python's
//! `model2vec.train`; `m2v_*`: trained and saved by `m2v-cli train`, then loaded by
//! Python) is loaded with [`Pipeline`] and run on the golden's test texts:
//! - probabilities (softmax, sigmoid) and regression outputs within 1e-5 absolute of
//!   Python's (f32 matrix products in a different summation order);
//! - the predicted labels equal Python's `predict` (argmax; every class above 0.5).

use std::path::{Path, PathBuf};

use m2v_static::{Activation, EncodeOptions, Label, Pipeline, Prediction};
use m2v_tokenize::json::{self, Value};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pipelines")
}

fn label(v: &Value) -> Label {
    match v {
        Value::String(s) => Label::Str(s.clone()),
        other => Label::Int(other.as_i64().unwrap()),
    }
}

#[test]
fn pipelines_match_python() {
    let golden = json::parse(&std::fs::read_to_string(dir().join("golden.json")).unwrap()).unwrap();
    let texts: Vec<String> = golden
        .get("texts")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let pipelines = golden.get("pipelines").and_then(Value::as_object).unwrap();
    assert!(
        pipelines.len() >= 3,
        "expected Python's three pipelines at least"
    );
    let opts = EncodeOptions::new();
    for (name, case) in pipelines {
        let p =
            Pipeline::from_pretrained(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let activation = case.get("activation").and_then(Value::as_str).unwrap();
        assert_eq!(p.head().activation().name(), activation, "{name}");
        let want: Vec<Vec<f64>> = case
            .get("outputs")
            .and_then(Value::as_array)
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            })
            .collect();
        let got = match p.head().activation() {
            Activation::Identity => p.logits(&texts, &opts),
            _ => p.predict_proba(&texts, &opts).unwrap(),
        };
        assert_eq!(got.rows(), want.len(), "{name}");
        let mut worst = 0f64;
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.len(), w.len(), "{name}");
            for (a, b) in g.iter().zip(w) {
                worst = worst.max((f64::from(*a) - b).abs());
            }
        }
        eprintln!("{name}: max abs diff {worst:e}");
        assert!(worst <= 1e-5, "{name}: max abs diff {worst:e} > 1e-5");
        let classes = case.get("classes").and_then(Value::as_array);
        if let Some(classes) = classes {
            let ours: Vec<Label> = p.head().classes().unwrap().to_vec();
            assert_eq!(
                ours,
                classes.iter().map(label).collect::<Vec<_>>(),
                "{name}"
            );
        }
        let Some(preds) = case.get("predictions").and_then(Value::as_array) else {
            continue;
        };
        let ours = p.predict(&texts, &opts, 0.5);
        for (i, (o, w)) in ours.iter().zip(preds).enumerate() {
            let want = match w {
                Value::Array(items) => Prediction::Classes(items.iter().map(label).collect()),
                v => Prediction::Class(label(v)),
            };
            assert_eq!(o, &want, "{name}: text {i} `{}`", texts[i]);
        }
    }
}

#[test]
fn a_model_folder_is_not_a_pipeline_and_says_so() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny/tiny_f32");
    let e = Pipeline::from_pretrained(&model).unwrap_err().to_string();
    assert!(
        e.contains("head.safetensors") && e.contains("not a pipeline"),
        "{e}"
    );
}

#[test]
fn a_pipeline_saved_here_reloads_identically_and_a_bad_head_config_is_named() {
    let src = dir().join("py_single");
    let p = Pipeline::from_pretrained(&src).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("copy");
    p.save_pretrained_with(&out, &Default::default()).unwrap();
    let q = Pipeline::from_pretrained(&out).unwrap();
    assert_eq!(p.head(), q.head());
    let texts = ["boat water little person", "guitar show"];
    let opts = EncodeOptions::new();
    assert_eq!(
        p.predict_proba(&texts, &opts).unwrap().as_slice(),
        q.predict_proba(&texts, &opts).unwrap().as_slice()
    );
    // Break the config: the error names config.json and the field.
    let cfg = out.join("config.json");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("\"softmax\"", "\"tanh\"");
    std::fs::write(&cfg, text).unwrap();
    let e = Pipeline::from_pretrained(&out).unwrap_err().to_string();
    assert!(e.contains("config.json") && e.contains("tanh"), "{e}");
}
