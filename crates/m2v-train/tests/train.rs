//! Training end to end on the tiny committed model and the synthetic three-topic data
//! (`tests/fixtures/synthetic`, written by `scripts/golden_pipeline.py`): every task
//! learns (validation accuracy up, validation loss down), a seed fixes the result, and
//! the saved pipeline computes what the trained network computes.

use std::path::{Path, PathBuf};

use m2v_static::{EncodeOptions, Pipeline, StaticModel};
use m2v_train::{Columns, Data, Options, Progress, TargetKind, Targets, Task, fit};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tiny() -> StaticModel {
    StaticModel::from_pretrained(root().join("crates/m2v-static/tests/fixtures/tiny/tiny_f32"))
        .unwrap()
}

fn read(column: &str, kind: TargetKind) -> Data {
    let path = root().join("crates/m2v-train/tests/fixtures/synthetic/train.jsonl");
    let cols = Columns {
        text: "text".into(),
        target: column.into(),
    };
    m2v_train::data::read(&path, None, &cols, &kind).unwrap()
}

fn opts(lr: f32, epochs: usize) -> Options {
    Options {
        learning_rate: lr,
        max_epochs: Some(epochs),
        hidden_dim: 32,
        patience: None,
        ..Options::default()
    }
}

/// Trains and returns the validation losses and accuracies, in order.
fn run(data: &Data, task: Task, o: &Options) -> (m2v_train::Trained, Vec<f64>, Vec<Option<f64>>) {
    let (mut losses, mut accs) = (Vec::new(), Vec::new());
    let t = fit(&tiny(), data, None, task, o, &mut |p| {
        if let Progress::Validation { loss, accuracy, .. } = p {
            losses.push(*loss);
            accs.push(*accuracy);
        }
    })
    .unwrap();
    (t, losses, accs)
}

#[test]
fn classification_learns_the_topics() {
    let data = read("label", TargetKind::Classes { separator: None });
    let (t, losses, accs) = run(&data, Task::Classify, &opts(0.03, 15));
    let first = accs[0].unwrap();
    assert!(
        t.best >= 0.95,
        "best validation accuracy {} (first {first})",
        t.best
    );
    assert!(losses.last().unwrap() < &(losses[0] * 0.5), "{losses:?}");
}

#[test]
fn similarity_regression_and_pairs_reduce_their_validation_loss() {
    // Similarity: each text's target is its topic's corner of a 3-d cube (cosine loss).
    let labels = read("label", TargetKind::Classes { separator: None });
    let Targets::Single(l) = &labels.targets else {
        panic!()
    };
    let corner = |name: &str| match name {
        "music" => [1.0, 0.1, 0.1],
        "street" => [0.1, 1.0, 0.1],
        _ => [0.1, 0.1, 1.0],
    };
    let mut sim = labels.clone();
    sim.targets = Targets::Vectors {
        dim: 3,
        data: l.iter().flat_map(|x| corner(&x.to_string())).collect(),
    };
    let (_, losses, _) = run(&sim, Task::Similarity, &opts(0.01, 10));
    assert!(
        losses.last().unwrap() < &(losses[0] * 0.5),
        "similarity {losses:?}"
    );

    let reg = read("score", TargetKind::Vectors);
    let (_, losses, _) = run(&reg, Task::Regression, &opts(0.003, 10));
    assert!(
        losses.last().unwrap() < &(losses[0] * 0.7),
        "regression {losses:?}"
    );

    // Pairs: each text with the next text of the same topic.
    let mut pairs = labels.clone();
    let mut b = Vec::new();
    for (i, li) in l.iter().enumerate() {
        let j = (1..l.len())
            .map(|k| (i + k) % l.len())
            .find(|&j| &l[j] == li)
            .unwrap();
        b.push(labels.texts[j].clone());
    }
    pairs.targets = Targets::Texts(b);
    let (t, losses, _) = run(&pairs, Task::Pairs, &opts(0.01, 10));
    assert!(
        losses.last().unwrap() < &(losses[0] * 0.9),
        "pairs {losses:?}"
    );
    assert_eq!(
        t.head().unwrap().activation(),
        m2v_static::Activation::Identity
    );
}

#[test]
fn a_seed_fixes_the_result_and_the_pipeline_computes_what_was_trained() {
    let data = read("label", TargetKind::Classes { separator: None });
    let mut o = opts(0.03, 3);
    o.token_dropout = 0.1;
    let (a, _, _) = run(&data, Task::Classify, &o);
    let (b, _, _) = run(&data, Task::Classify, &o);
    assert_eq!(a.net, b.net, "same seed, different parameters");
    o.seed = 43;
    let (c, _, _) = run(&data, Task::Classify, &o);
    assert_ne!(a.net, c.net);

    // Learned token weights are folded into the rows when saved (no mapping): the
    // pipeline's logits equal the trained network's.
    o.seed = 42;
    o.freeze_weights = Some(false);
    let (t, _, _) = run(&data, Task::Classify, &o);
    assert!(
        t.net
            .weights
            .as_ref()
            .unwrap()
            .iter()
            .any(|w| (w - 1.0).abs() > 1e-3)
    );
    let dir = tempfile::tempdir().unwrap();
    let out = t.save_pipeline(&dir.path().join("p"), false).unwrap();
    let p = Pipeline::from_pretrained(&out).unwrap();
    let texts = &data.texts[..20];
    let ours = p.logits(texts, &EncodeOptions::new());
    let model = tiny();
    let seqs: Vec<Vec<u32>> = texts.iter().map(|s| model.tokenize(s, None)).collect();
    let batch: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
    let mut cache = m2v_train::net::Cache::default();
    t.net.forward(&batch, &mut cache);
    let worst = ours
        .as_slice()
        .iter()
        .zip(cache.logits())
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-4, "pipeline and network differ by {worst}");
}
