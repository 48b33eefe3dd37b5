//! The softmax regression against scikit-learn on a non-trivial 3-class problem
//! (golden values from `scripts/bench_logreg_golden.py`).

use m2v_eval::{LogReg, LogRegConfig, accuracy};

fn matrix(v: &serde_json::Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

fn flat_f32(m: &[Vec<f64>]) -> Vec<f32> {
    m.iter().flatten().map(|&x| x as f32).collect()
}

fn labels(v: &serde_json::Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn matches_scikit_learn() {
    let text = include_str!("fixtures/logreg_sklearn.json");
    let g: serde_json::Value = serde_json::from_str(text).unwrap();
    let x_train = flat_f32(&matrix(&g["x_train"]));
    let x_test = flat_f32(&matrix(&g["x_test"]));
    let (y_train, y_test) = (labels(&g["y_train"]), labels(&g["y_test"]));
    // Run to convergence, as the golden fit did (tol 1e-12).
    let cfg = LogRegConfig {
        max_iter: 10_000,
        gtol: 1e-10,
        ..Default::default()
    };
    let m = LogReg::fit(&x_train, 4, &y_train, 3, &cfg);
    let (w, _) = m.coefficients();
    let coef: Vec<f64> = matrix(&g["coef"]).into_iter().flatten().collect();
    // Tolerance 1e-5 absolute on coefficients of size ~0.1-1: both solvers stop at
    // a gradient of ~1e-10, so what remains is f32 rounding of the standardised data.
    for (a, b) in w.iter().zip(&coef) {
        assert!((a - b).abs() < 1e-5, "coef {a} vs sklearn {b}");
    }
    // Probabilities do not depend on the (unidentified) shift of the intercepts.
    let proba: Vec<f64> = matrix(&g["proba_test"]).into_iter().flatten().collect();
    for (a, b) in m.predict_proba(&x_test).iter().zip(&proba) {
        assert!((a - b).abs() < 1e-6, "proba {a} vs sklearn {b}");
    }
    let acc = accuracy(&m.predict(&x_test), &y_test);
    assert_eq!(acc, g["accuracy_test"].as_f64().unwrap());
    // Non-trivial: the classes overlap.
    assert!(acc > 0.4 && acc < 0.9, "{acc}");
}
