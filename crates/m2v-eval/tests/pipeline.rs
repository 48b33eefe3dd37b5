//! The `cargo xtask bench` pipeline end to end on the real task data with the
//! parameter-free hashing model: the CI smoke test of the bench (debug build, seconds),
//! standing in for running the release binary with real models.

use m2v_eval::{
    Embedder, Group, HashingEmbedder, LogRegConfig, ModelResult, Report, SuiteOptions, TaskInfo,
    encode_all, gensim_dir, load_tasks, measure_speed, render_png, report_svg, score_tasks,
    unique_texts,
};

#[test]
fn quick_suite_with_hashing_model() {
    let Some(data) = m2v_eval::shared_data() else {
        return;
    };
    let mut opts = SuiteOptions::quick();
    opts.max_items = Some(300);
    opts.max_pairs = Some(100);
    let tasks = load_tasks(&data, &gensim_dir(), &opts).unwrap();
    assert!(tasks.len() >= 13, "{}", tasks.len());
    let texts = unique_texts(&tasks);
    let model = HashingEmbedder::new(256);
    let emb = encode_all(&model, &texts, 2, 1000, false).unwrap();
    let scores = score_tasks(&tasks, &texts, &emb, 256, &LogRegConfig::default()).unwrap();
    assert_eq!(scores.len(), tasks.len());
    for s in &scores {
        assert!(
            s.score.is_finite() && (-100.0..=100.0).contains(&s.score),
            "{s:?}"
        );
    }
    // A bag of words is well above chance on the topic task (4 classes, chance 25)
    // and correlates positively with STS-B gold (word overlap).
    let get = |n: &str| scores.iter().find(|s| s.task == n).unwrap().score;
    assert!(get("AG News") > 40.0, "{}", get("AG News"));
    assert!(get("STS-B") > 20.0, "{}", get("STS-B"));
    // The newer families: word overlap finds some relevant abstracts and German
    // paragraphs, and the bag of words beats chance on the 20 topics (V-measure 0).
    assert!(get("SciFact") > 10.0, "{}", get("SciFact"));
    assert!(get("XQuAD-de") > 10.0, "{}", get("XQuAD-de"));
    assert!(get("20NG") > 1.0, "{}", get("20NG"));
    for n in ["TwitterURL", "XQuAD-zh-en", "STSb-de", "Tatoeba-zh"] {
        assert!(scores.iter().any(|s| s.task == n), "no {n}");
    }
    let corpus: Vec<&str> = texts.iter().take(500).map(String::as_str).collect();
    let speed = measure_speed(&model, &corpus, 1, 100, 10.0, 0.0).unwrap();
    assert_eq!(speed.texts, 500);
    let report = Report {
        mode: "test".into(),
        date: m2v_eval::utc_now(),
        command: "test".into(),
        machine: m2v_eval::machine(),
        threads: 2,
        classifier: "logreg".into(),
        tasks: tasks.iter().map(TaskInfo::from).collect(),
        corpus_texts: corpus.len(),
        speed_budget_s: 10.0,
        speed_min_s: 0.0,
        models: vec![ModelResult {
            name: model.name(),
            implementation: model.implementation(),
            params: model.params(),
            dim: model.dim(),
            scores,
            scores_not_run: None,
            tasks_skipped: None,
            speed_single: Some(speed),
            speed_all: Some(speed),
            eval_seconds: 0.0,
        }],
        runtime_s: 1.0,
        notes: vec![],
    };
    let avg = report.models[0].average(&report.tasks, None).unwrap();
    assert!(avg > 0.0);
    assert!(
        report.models[0]
            .average(&report.tasks, Some(Group::Classification))
            .is_some()
    );
    let md = report.to_markdown();
    assert!(
        md.contains(&format!(
            "| hashing-bow-256 | m2v-eval (baseline) | {avg:.2} |"
        )),
        "{md}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["models"][0]["scores"].as_array().unwrap().len(),
        tasks.len()
    );
    let svg = report_svg(&report);
    assert!(svg.contains("hashing-bow-256"));
    let png = std::env::temp_dir().join(format!("m2v-bench-test-{}.png", std::process::id()));
    render_png(&svg, &png, 1.0).unwrap();
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let _ = std::fs::remove_file(&png);
}
