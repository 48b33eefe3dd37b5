//! The reference's classification report (`model2vec.inference.evaluation`,
//! `evaluate_single_or_multi_label`): per-class precision, recall, F1 and support over
//! one-hot (or multi-hot) labels, the accuracy (exact match of the label sets), and
//! macro and support-weighted averages. The classes are those of the truth and the
//! predictions together, sorted.

use std::collections::BTreeSet;

use m2v_static::Label;

/// One row of the report.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// Rows that truly have the class (the total for the averages).
    pub support: f64,
}

/// The report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Per class, sorted by class.
    pub classes: Vec<(Label, Scores)>,
    /// Share of rows whose predicted label set equals the true one.
    pub accuracy: f64,
    /// Unweighted mean over classes.
    pub macro_avg: Scores,
    /// Mean over classes weighted by support.
    pub weighted_avg: Scores,
}

/// The report of `predicted` label sets against `truth` (one set per row; a
/// single-label task has sets of one).
pub fn report(truth: &[Vec<Label>], predicted: &[Vec<Label>]) -> Report {
    let classes: Vec<Label> = truth
        .iter()
        .chain(predicted)
        .flatten()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let k = classes.len();
    let (mut tp, mut fp, mut fneg, mut support) =
        (vec![0.0; k], vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    let mut exact = 0usize;
    for (t, p) in truth.iter().zip(predicted) {
        let ts: BTreeSet<&Label> = t.iter().collect();
        let ps: BTreeSet<&Label> = p.iter().collect();
        exact += usize::from(ts == ps);
        for (i, c) in classes.iter().enumerate() {
            let (a, b) = (ts.contains(c), ps.contains(c));
            support[i] += f64::from(u8::from(a));
            tp[i] += f64::from(u8::from(a && b));
            fp[i] += f64::from(u8::from(!a && b));
            fneg[i] += f64::from(u8::from(a && !b));
        }
    }
    let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let per: Vec<Scores> = (0..k)
        .map(|i| {
            let precision = div(tp[i], tp[i] + fp[i]);
            let recall = div(tp[i], tp[i] + fneg[i]);
            Scores {
                precision,
                recall,
                f1: div(2.0 * precision * recall, precision + recall),
                support: support[i],
            }
        })
        .collect();
    let total: f64 = support.iter().sum();
    let mean = |f: fn(&Scores) -> f64| per.iter().map(f).sum::<f64>() / k.max(1) as f64;
    let weighted = |f: fn(&Scores) -> f64| {
        if total > 0.0 {
            per.iter().map(|s| f(s) * s.support / total).sum::<f64>()
        } else {
            0.0
        }
    };
    Report {
        accuracy: exact as f64 / truth.len().max(1) as f64,
        macro_avg: Scores {
            precision: mean(|s| s.precision),
            recall: mean(|s| s.recall),
            f1: mean(|s| s.f1),
            support: total,
        },
        weighted_avg: Scores {
            precision: weighted(|s| s.precision),
            recall: weighted(|s| s.recall),
            f1: weighted(|s| s.f1),
            support: total,
        },
        classes: classes.into_iter().zip(per).collect(),
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = self
            .classes
            .iter()
            .map(|(c, _)| c.to_string().chars().count())
            .max()
            .unwrap_or(0)
            .max(12);
        writeln!(f, "{:>w$}  precision    recall  f1-score   support", "")?;
        for (c, s) in &self.classes {
            writeln!(
                f,
                "{:>w$}  {:>9.4} {:>9.4} {:>9.4} {:>9}",
                c.to_string(),
                s.precision,
                s.recall,
                s.f1,
                s.support
            )?;
        }
        writeln!(
            f,
            "{:>w$}  {:>9} {:>9} {:>9.4}",
            "accuracy", "", "", self.accuracy
        )?;
        for (name, s) in [
            ("macro avg", &self.macro_avg),
            ("weighted avg", &self.weighted_avg),
        ] {
            writeln!(
                f,
                "{:>w$}  {:>9.4} {:>9.4} {:>9.4} {:>9}",
                name, s.precision, s.recall, s.f1, s.support
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str) -> Label {
        Label::Str(s.into())
    }

    #[test]
    fn matches_scikit_learns_report_on_a_small_case() {
        // model2vec 0.10 evaluate_single_or_multi_label(np.array(["a","b","b","a"]),
        // ["a","a","b","c"]) (as scikit-learn's report): a: p 0.5 r 0.5; b: p 0.5 r 1.0 f1 0.6667; c: 0 0 0;
        // accuracy 0.5; macro f1 0.3889; weighted f1 (0.5·2 + 0.6667 + 0)/4 = 0.4167.
        let t = [vec![l("a")], vec![l("a")], vec![l("b")], vec![l("c")]];
        let p = [vec![l("a")], vec![l("b")], vec![l("b")], vec![l("a")]];
        let r = report(&t, &p);
        assert_eq!(r.accuracy, 0.5);
        let b = r.classes[1].1;
        assert!((b.precision - 0.5).abs() < 1e-12 && (b.recall - 1.0).abs() < 1e-12);
        assert!(
            (r.macro_avg.f1 - 0.388_888_9).abs() < 1e-6,
            "{}",
            r.macro_avg.f1
        );
        assert!(
            (r.weighted_avg.f1 - 0.416_666_7).abs() < 1e-6,
            "{}",
            r.weighted_avg.f1
        );
    }
}
