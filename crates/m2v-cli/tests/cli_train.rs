//! End-to-end tests of `m2v-cli train`, `predict` and `evaluate` on the tiny committed
//! model and the synthetic three-topic data (`crates/m2v-train/tests/fixtures`): the
//! three tasks train and save pipelines that `predict` and `evaluate` read, and bad
//! input gets a message naming the file, row and column with nothing left behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tiny() -> String {
    root()
        .join("crates/m2v-static/tests/fixtures/tiny/tiny_f32")
        .to_string_lossy()
        .into_owned()
}

fn data(name: &str) -> String {
    root()
        .join("crates/m2v-train/tests/fixtures/synthetic")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("m2v-cli-train-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn m2v(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_m2v-cli"))
        .args(args)
        .output()
        .expect("cannot run m2v-cli")
}

fn ok(args: &[&str]) -> String {
    let o = m2v(args);
    assert!(
        o.status.success(),
        "{args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn classifier_trains_predicts_and_evaluates() {
    let dir = temp("classify");
    let out = dir.join("pipe");
    let out_s = out.to_string_lossy().into_owned();
    let (model, train) = (tiny(), data("train.jsonl"));
    // A higher learning rate than the default: the tiny model has 8 dimensions and the
    // test should not take many epochs.
    ok(&[
        "train",
        "classify",
        "--model",
        &model,
        "--data",
        &train,
        "--output",
        &out_s,
        "--learning-rate",
        "0.03",
        "--hidden-dim",
        "32",
        "--max-epochs",
        "30",
        "--quiet",
    ]);
    for f in [
        "head.safetensors",
        "model.safetensors",
        "tokenizer.json",
        "config.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let report = ok(&[
        "evaluate",
        "--model",
        &out_s,
        "--data",
        &data("test.jsonl"),
        "--json",
    ]);
    let r: serde_json::Value = serde_json::from_str(&report).unwrap();
    // The topics are told apart by words the tiny vocabulary has: a working trainer
    // gets most of the 60 test texts right (chance is 1/3).
    let acc = r["accuracy"].as_f64().unwrap();
    assert!(acc >= 0.8, "test accuracy {acc}");
    let text_path = dir.join("texts.txt");
    std::fs::write(&text_path, "boat water swimming\nguitar singing album\n").unwrap();
    let preds = ok(&[
        "predict",
        "--model",
        &out_s,
        "--input",
        &text_path.to_string_lossy(),
        "--proba",
    ]);
    let lines: Vec<serde_json::Value> = preds
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["label"], "water");
    assert_eq!(lines[1]["label"], "music");
    let p: f64 = lines[0]["proba"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((p - 1.0).abs() < 1e-5);
}

#[test]
fn multilabel_and_regression_train() {
    let dir = temp("multi");
    let (model, train) = (tiny(), data("train.jsonl"));
    let multi = dir.join("multi").to_string_lossy().into_owned();
    ok(&[
        "train",
        "classify",
        "--model",
        &model,
        "--data",
        &train,
        "--label-column",
        "labels",
        "--output",
        &multi,
        "--learning-rate",
        "0.03",
        "--max-epochs",
        "20",
        "--quiet",
    ]);
    let cfg = std::fs::read_to_string(Path::new(&multi).join("config.json")).unwrap();
    assert!(cfg.contains("\"sigmoid\""), "{cfg}");
    let r: serde_json::Value = serde_json::from_str(&ok(&[
        "evaluate",
        "--model",
        &multi,
        "--data",
        &data("test.jsonl"),
        "--label-column",
        "labels",
        "--json",
    ]))
    .unwrap();
    // Exact match of the label sets; chance is far below this.
    assert!(r["accuracy"].as_f64().unwrap() >= 0.5, "{r}");
    let reg = dir.join("reg").to_string_lossy().into_owned();
    ok(&[
        "train",
        "regression",
        "--model",
        &model,
        "--data",
        &train,
        "--label-column",
        "score",
        "--output",
        &reg,
        "--max-epochs",
        "3",
        "--quiet",
    ]);
    let preds = ok(&["predict", "--model", &reg, "--input", &data("test.jsonl")]);
    let first: serde_json::Value = serde_json::from_str(preds.lines().next().unwrap()).unwrap();
    assert_eq!(first["values"].as_array().unwrap().len(), 1);
    // Pairs, with the default `text_a` / `text_b` columns (a CSV file).
    let pairs_csv = dir.join("pairs.csv");
    let mut body = String::from("text_a,text_b\n");
    for i in 0..40 {
        let (a, b) = if i % 2 == 0 {
            ("boat water", "swimming pool")
        } else {
            ("guitar show", "singing album")
        };
        body.push_str(&format!("{a} {i},{b}\n"));
    }
    std::fs::write(&pairs_csv, body).unwrap();
    let pairs = dir.join("pairs").to_string_lossy().into_owned();
    ok(&[
        "train",
        "pairs",
        "--model",
        &model,
        "--data",
        &pairs_csv.to_string_lossy(),
        "--output",
        &pairs,
        "--max-epochs",
        "2",
        "--quiet",
    ]);
    let preds = ok(&["predict", "--model", &pairs, "--input", &data("test.jsonl")]);
    let first: serde_json::Value = serde_json::from_str(preds.lines().next().unwrap()).unwrap();
    // The projection keeps the model's dimension (8).
    assert_eq!(first["values"].as_array().unwrap().len(), 8);
}

#[test]
fn bad_data_is_named_and_leaves_no_pipeline() {
    let dir = temp("bad");
    let out = dir.join("pipe");
    let out_s = out.to_string_lossy().into_owned();
    let model = tiny();
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "missing.csv",
            "text,label\nwater boat,water\n,music\n",
            &[],
            "row 2: column `text` is empty",
        ),
        (
            "nocol.csv",
            "sentence,label\nwater,water\n",
            &[],
            "no column `text`",
        ),
        (
            "one.csv",
            "text,label\nwater boat,water\nboat,water\npool,water\n",
            &[],
            "only one class",
        ),
        (
            "vec.jsonl",
            "{\"text\":\"a\",\"label\":[1,2]}\n{\"text\":\"b\",\"label\":[1]}\n",
            &["--task-regression"],
            "1 values, earlier rows have 2",
        ),
        (
            "num.csv",
            "text,label\nwater,abc\n",
            &["--task-regression"],
            "`abc` is not a finite number",
        ),
    ];
    for (name, body, extra, needle) in cases {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        let task = if extra.contains(&"--task-regression") {
            "regression"
        } else {
            "classify"
        };
        let o = m2v(&[
            "train",
            task,
            "--model",
            &model,
            "--data",
            &p.to_string_lossy(),
            "--output",
            &out_s,
            "--quiet",
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{name} succeeded");
        assert!(
            err.contains(needle) && err.contains(name),
            "{name}: expected {needle:?} in:\n{err}"
        );
        assert!(!out.exists(), "{name} left a pipeline");
    }
    // A model folder is not a pipeline.
    let o = m2v(&["predict", "--model", &model, "--input", &data("test.jsonl")]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a pipeline"));
}

#[test]
fn a_killed_training_leaves_no_pipeline() {
    let dir = temp("killed");
    let out = dir.join("pipe");
    let out_s = out.to_string_lossy().into_owned();
    let (model, train) = (tiny(), data("train.jsonl"));
    // Without early stopping and with a huge epoch budget, the run is still training
    // when it is killed (SIGKILL: no handler runs).
    let mut child = Command::new(env!("CARGO_BIN_EXE_m2v-cli"))
        .args([
            "train",
            "classify",
            "--model",
            &model,
            "--data",
            &train,
            "--output",
            &out_s,
            "--patience",
            "none",
            "--max-epochs",
            "1000000",
            "--quiet",
        ])
        .spawn()
        .expect("cannot run m2v-cli");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the training ended before it could be killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists(), "a killed training left {}", out.display());

    // The next run writes the pipeline (and clears what the killed one may have left).
    ok(&[
        "train",
        "classify",
        "--model",
        &model,
        "--data",
        &train,
        "--output",
        &out_s,
        "--max-epochs",
        "1",
        "--quiet",
    ]);
    assert!(out.join("head.safetensors").is_file());
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        ["pipe"],
        "only the pipeline is left in {}",
        dir.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
