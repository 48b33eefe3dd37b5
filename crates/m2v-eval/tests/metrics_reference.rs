//! The retrieval, clustering, pair-classification and bitext metrics against the
//! implementations MTEB uses, on the fixture `scripts/golden_eval_metrics.py` writes:
//! pytrec_eval (trec_eval) for nDCG@k and Recall@k, scikit-learn for average
//! precision, V-measure and bitext mining's weighted F1. Both sides compute in f64
//! with the same formulas, so the tolerance is 1e-12.

use m2v_eval::{average_precision, bitext_f1, ndcg_at_k, recall_at_k, v_measure};
use serde_json::Value;

const TOL: f64 = 1e-12;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/eval_metrics.json")).unwrap()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn check(what: &str, got: f64, want: &Value) {
    let want = want.as_f64().unwrap();
    assert!(
        (got - want).abs() < TOL,
        "{what}: {got} vs reference {want}"
    );
}

#[test]
fn ndcg_and_recall_match_pytrec_eval() {
    let f = fixture();
    let queries = f["retrieval"].as_array().unwrap();
    let mut nonzero = 0;
    for (i, q) in queries.iter().enumerate() {
        let ranked = usizes(&q["ranked"]);
        let judged: Vec<(usize, f64)> = q["judged"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_u64().unwrap() as usize, p[1].as_f64().unwrap()))
            .collect();
        check(
            &format!("q{i} nDCG@5"),
            ndcg_at_k(&ranked, &judged, 5),
            &q["ndcg_cut_5"],
        );
        check(
            &format!("q{i} nDCG@10"),
            ndcg_at_k(&ranked, &judged, 10),
            &q["ndcg_cut_10"],
        );
        check(
            &format!("q{i} R@5"),
            recall_at_k(&ranked, &judged, 5),
            &q["recall_5"],
        );
        check(
            &format!("q{i} R@100"),
            recall_at_k(&ranked, &judged, 100),
            &q["recall_100"],
        );
        nonzero += usize::from(q["ndcg_cut_10"].as_f64().unwrap() > 0.0);
    }
    // The fixture exercises partial rankings, not only zeros.
    assert!(nonzero >= 3, "{nonzero} queries with nDCG@10 > 0");
}

#[test]
fn average_precision_matches_sklearn() {
    let f = &fixture()["average_precision"];
    let labels: Vec<bool> = f["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_bool().unwrap())
        .collect();
    let scores: Vec<f64> = f["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    check("AP", average_precision(&labels, &scores).unwrap(), &f["ap"]);
}

#[test]
fn v_measure_matches_sklearn() {
    let f = &fixture()["v_measure"];
    let v = v_measure(&usizes(&f["classes"]), &usizes(&f["clusters"])).unwrap();
    check("V-measure", v, &f["v"]);
}

#[test]
fn bitext_f1_matches_sklearn_weighted_f1() {
    let f = &fixture()["bitext"];
    check("bitext F1", bitext_f1(&usizes(&f["predicted"])), &f["f1"]);
}
