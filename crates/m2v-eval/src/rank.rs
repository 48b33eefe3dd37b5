//! The metrics of the newer MTEB families: nDCG@k and recall@k (retrieval), average
//! precision (pair classification), V-measure (clustering) and the F1 of
//! nearest-neighbour matching (bitext mining); and the exhaustive cosine search
//! behind retrieval and bitext mining.
//!
//! Each metric follows its reference's definition exactly (trec_eval's for nDCG,
//! scikit-learn's for the others) and is checked against it on a fixture written by
//! `scripts/golden_eval_metrics.py` (`tests/metrics_reference.rs`).

use rayon::prelude::*;

/// Scales every row of `m` (`rows × dim`) to unit length; all-zero rows stay zero
/// (their cosine with anything is 0, as [`crate::cosine`] says).
pub fn normalize_rows(m: &mut [f32], dim: usize) {
    if dim == 0 {
        return;
    }
    for row in m.chunks_exact_mut(dim) {
        let n = row
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt();
        if n > 0.0 {
            for v in row.iter_mut() {
                *v = (f64::from(*v) / n) as f32;
            }
        }
    }
}

/// Exhaustive search: for each row of `queries` (`nq × dim`), the indices of the `k`
/// rows of `corpus` (`nc × dim`) with the largest dot product, best first (ties by
/// lower index). With unit rows ([`normalize_rows`]) this is cosine search. Queries
/// run in parallel on the rayon pool; the result does not depend on the thread count.
pub fn top_k(queries: &[f32], corpus: &[f32], dim: usize, k: usize) -> Vec<Vec<usize>> {
    if dim == 0 {
        return Vec::new();
    }
    let nc = corpus.len() / dim;
    let k = k.min(nc);
    queries
        .par_chunks_exact(dim)
        .map(|q| {
            let mut scored: Vec<(f32, usize)> = corpus
                .chunks_exact(dim)
                .enumerate()
                .map(|(j, d)| (q.iter().zip(d).map(|(a, b)| a * b).sum::<f32>(), j))
                .collect();
            let order =
                |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
            if k < scored.len() && k > 0 {
                scored.select_nth_unstable_by(k - 1, order);
                scored.truncate(k);
            }
            scored.sort_unstable_by(order);
            scored.truncate(k);
            scored.into_iter().map(|(_, j)| j).collect()
        })
        .collect()
}

/// nDCG@k of one ranking, as trec_eval's `ndcg_cut_k` (what `pytrec_eval` and MTEB
/// report): gain = relevance, discount `log2(rank + 1)`, the ideal ranking from the
/// judged relevances sorted in decreasing order. `relevant` lists `(doc, relevance)`;
/// documents not in it have relevance 0. 0 when nothing is relevant.
pub fn ndcg_at_k(ranked: &[usize], relevant: &[(usize, f64)], k: usize) -> f64 {
    let rel = |d: usize| {
        relevant
            .iter()
            .find(|(r, _)| *r == d)
            .map_or(0.0, |(_, g)| *g)
    };
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &d)| rel(d) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<f64> = relevant
        .iter()
        .map(|(_, g)| *g)
        .filter(|g| *g > 0.0)
        .collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| g / ((i + 2) as f64).log2())
        .sum();
    if idcg > 0.0 { dcg / idcg } else { 0.0 }
}

/// Recall@k of one ranking: the share of the relevant documents (relevance > 0)
/// found in the first `k`, as trec_eval's `recall_k`. 0 when nothing is relevant.
pub fn recall_at_k(ranked: &[usize], relevant: &[(usize, f64)], k: usize) -> f64 {
    let rel: Vec<usize> = relevant
        .iter()
        .filter(|(_, g)| *g > 0.0)
        .map(|(d, _)| *d)
        .collect();
    if rel.is_empty() {
        return 0.0;
    }
    let found = ranked.iter().take(k).filter(|d| rel.contains(d)).count();
    found as f64 / rel.len() as f64
}

/// Average precision of `scores` for the binary `labels`, as scikit-learn's
/// `average_precision_score`: `sum_n (R_n - R_{n-1}) P_n` over the distinct score
/// thresholds in decreasing order (tied scores enter together). `None` when the
/// lengths differ or there is no positive.
pub fn average_precision(labels: &[bool], scores: &[f64]) -> Option<f64> {
    if labels.len() != scores.len() {
        return None;
    }
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut seen, mut ap, mut prev_recall) = (0usize, 0usize, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            tp += usize::from(labels[order[j]]);
            seen += 1;
            j += 1;
        }
        let recall = tp as f64 / positives as f64;
        ap += (recall - prev_recall) * (tp as f64 / seen as f64);
        prev_recall = recall;
        i = j;
    }
    Some(ap)
}

fn entropy(counts: impl Iterator<Item = usize>, n: f64) -> f64 {
    counts
        .filter(|&c| c > 0)
        .map(|c| {
            let p = c as f64 / n;
            -p * p.ln()
        })
        .sum()
}

/// V-measure (β = 1) of a clustering against the true classes, as scikit-learn's
/// `v_measure_score`: the harmonic mean of homogeneity `1 - H(C|K)/H(C)` and
/// completeness `1 - H(K|C)/H(K)` (each 1 when its denominator entropy is 0).
/// 1 for empty input; `None` when the lengths differ.
pub fn v_measure(classes: &[usize], clusters: &[usize]) -> Option<f64> {
    if classes.len() != clusters.len() {
        return None;
    }
    if classes.is_empty() {
        return Some(1.0);
    }
    let n = classes.len() as f64;
    let mut joint = std::collections::HashMap::<(usize, usize), usize>::new();
    let mut cc = std::collections::HashMap::<usize, usize>::new();
    let mut kc = std::collections::HashMap::<usize, usize>::new();
    for (&c, &k) in classes.iter().zip(clusters) {
        *joint.entry((c, k)).or_default() += 1;
        *cc.entry(c).or_default() += 1;
        *kc.entry(k).or_default() += 1;
    }
    let h_c = entropy(cc.values().copied(), n);
    let h_k = entropy(kc.values().copied(), n);
    // H(C|K) = -sum n_ck/n log(n_ck/n_k); H(K|C) likewise with n_c.
    let (mut h_c_k, mut h_k_c) = (0.0, 0.0);
    for (&(c, k), &nck) in &joint {
        let p = nck as f64 / n;
        h_c_k -= p * (nck as f64 / kc[&k] as f64).ln();
        h_k_c -= p * (nck as f64 / cc[&c] as f64).ln();
    }
    let hom = if h_c == 0.0 { 1.0 } else { 1.0 - h_c_k / h_c };
    let com = if h_k == 0.0 { 1.0 } else { 1.0 - h_k_c / h_k };
    Some(if hom + com == 0.0 {
        0.0
    } else {
        2.0 * hom * com / (hom + com)
    })
}

/// F1 of bitext mining, as MTEB computes it: source sentence `i` is matched to target
/// `predicted[i]` and its gold target is `i`; the score is scikit-learn's
/// `f1_score(gold, predicted, average="weighted")`. Each gold label occurs once, so
/// this is the mean over `i` of `2 / (1 + m_i)` when `predicted[i] == i` (where `m_i`
/// is how many sources predicted `i`) and 0 otherwise.
pub fn bitext_f1(predicted: &[usize]) -> f64 {
    if predicted.is_empty() {
        return 0.0;
    }
    let mut times = std::collections::HashMap::<usize, usize>::new();
    for &p in predicted {
        *times.entry(p).or_default() += 1;
    }
    let sum: f64 = predicted
        .iter()
        .enumerate()
        .filter(|(i, p)| *i == **p)
        .map(|(_, p)| 2.0 / (1.0 + times[p] as f64))
        .sum();
    sum / predicted.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_cases() {
        // nDCG@3 with docs 7 (rel 1) and 9 (rel 2) ranked 2nd and 3rd:
        // DCG = 1/log2(3) + 2/log2(4) = 0.63093 + 1; IDCG = 2 + 1/log2(3).
        let n = ndcg_at_k(&[4, 7, 9], &[(7, 1.0), (9, 2.0)], 3);
        let want = (1.0 / 3f64.log2() + 1.0) / (2.0 + 1.0 / 3f64.log2());
        assert!((n - want).abs() < 1e-12, "{n} {want}");
        assert_eq!(ndcg_at_k(&[9, 7], &[(7, 1.0), (9, 2.0)], 10), 1.0);
        assert_eq!(recall_at_k(&[4, 7, 9], &[(7, 1.0), (9, 2.0)], 2), 0.5);
        // AP: scores 0.9 (pos), 0.8 (neg), 0.7 (pos): 1/2 * 1 + 1/2 * 2/3.
        let ap = average_precision(&[true, false, true], &[0.9, 0.8, 0.7]).unwrap();
        assert!((ap - (0.5 + 1.0 / 3.0)).abs() < 1e-12);
        assert_eq!(average_precision(&[false], &[1.0]), None);
        assert_eq!(v_measure(&[0, 0, 1, 1], &[5, 5, 3, 3]), Some(1.0));
        // Sources 0 and 1 both pick target 0: F1 = (2/3 + 0 + 1) / 3.
        assert!((bitext_f1(&[0, 0, 2]) - (2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn search_finds_the_nearest_rows() {
        let mut corpus = vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0];
        normalize_rows(&mut corpus, 2);
        let q = vec![0.0, 2.0, 3.0, 0.1];
        let mut qn = q.clone();
        normalize_rows(&mut qn, 2);
        let r = top_k(&qn, &corpus, 2, 3);
        assert_eq!(r, vec![vec![1, 2, 0], vec![0, 2, 1]]);
        // k beyond the corpus size returns every row.
        assert_eq!(top_k(&qn, &corpus, 2, 10)[0].len(), 4);
    }
}
