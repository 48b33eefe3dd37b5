//! The reference's train/validation split (`model2vec/train/utils.py`, `split_indices`):
//! a fraction of the rows (rounded half to even, as Python's `round`), capped at
//! 10,000, at least one row on each side; stratified by label when every label occurs
//! at least twice and there are no more labels than validation rows, each label's
//! share given by `_stratum_test_sizes`.

use crate::rng::Rng;

/// The most rows a fractional validation split takes.
pub const MAX_VALIDATION_SIZE: usize = 10_000;

/// How many validation rows `test_size` asks for out of `n`: a fraction when below 1,
/// else a count.
pub fn validation_rows(n: usize, test_size: f64) -> usize {
    let k = if test_size < 1.0 {
        ((n as f64 * test_size).round_ties_even() as usize).min(MAX_VALIDATION_SIZE)
    } else {
        test_size as usize
    };
    k.max(1).min(n.saturating_sub(1))
}

/// `n_test` test rows divided over strata of `sizes` in proportion, each stratum
/// keeping at least one row on each side.
fn stratum_test_sizes(sizes: &[usize], n_test: usize) -> Vec<usize> {
    let total: usize = sizes.iter().sum();
    let quotas: Vec<f64> = sizes
        .iter()
        .map(|&s| s as f64 * n_test as f64 / total as f64)
        .collect();
    let mut counts: Vec<usize> = quotas
        .iter()
        .zip(sizes)
        .map(|(q, &s)| (q.round_ties_even() as usize).clamp(1, s - 1))
        .collect();
    loop {
        let sum: usize = counts.iter().sum();
        if sum == n_test {
            break;
        }
        let shrink = sum > n_test;
        let candidates: Vec<usize> = (0..counts.len())
            .filter(|&i| {
                if shrink {
                    counts[i] > 1
                } else {
                    counts[i] < sizes[i] - 1
                }
            })
            .collect();
        if candidates.is_empty() {
            break;
        }
        let score = |i: usize| (counts[i] as f64 - quotas[i]) * if shrink { 1.0 } else { -1.0 };
        // np.argmax: the first maximum.
        let mut best = candidates[0];
        for &i in &candidates[1..] {
            if score(i) > score(best) {
                best = i;
            }
        }
        if shrink {
            counts[best] -= 1;
        } else {
            counts[best] += 1;
        }
    }
    counts
}

/// Splits `0..n` into sorted (train, validation) indices. `strata`: the rows of each
/// label in order of first occurrence, or `None` for a plain random split.
pub fn split(
    n: usize,
    test_size: f64,
    strata: Option<Vec<Vec<usize>>>,
    rng: &mut Rng,
) -> (Vec<usize>, Vec<usize>) {
    let n_test = validation_rows(n, test_size);
    let strata = strata.filter(|s| s.iter().all(|m| m.len() >= 2) && s.len() <= n_test);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    match strata {
        None => {
            let mut idx: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut idx);
            test.extend_from_slice(&idx[..n_test]);
            train.extend_from_slice(&idx[n_test..]);
        }
        Some(strata) => {
            let sizes: Vec<usize> = strata.iter().map(Vec::len).collect();
            for (mut members, k) in strata.into_iter().zip(stratum_test_sizes(&sizes, n_test)) {
                rng.shuffle(&mut members);
                test.extend_from_slice(&members[..k]);
                train.extend_from_slice(&members[k..]);
            }
        }
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// The rows of each distinct key, in order of first occurrence.
pub fn strata_of<K: std::hash::Hash + Eq>(keys: &[K]) -> Vec<Vec<usize>> {
    let mut index = std::collections::HashMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let s = *index.entry(k).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        out[s].push(i);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_reference() {
        // Python: round(67349 * 0.1) = 6735; capped at 10,000; banker's rounding.
        assert_eq!(validation_rows(67_349, 0.1), 6_735);
        assert_eq!(validation_rows(500_000, 0.1), 10_000);
        assert_eq!(validation_rows(25, 0.1), 2); // round(2.5) = 2
        assert_eq!(validation_rows(35, 0.1), 4); // round(3.5) = 4
        assert_eq!(validation_rows(1, 0.1), 0);
        assert_eq!(validation_rows(10, 3.0), 3);
        // Python's _stratum_test_sizes on the same inputs (checked with model2vec 0.10):
        // quotas 8.91, 0.89, 0.198 round and clip to 9, 1, 1; one too many, taken from the
        // only stratum above one. More strata than rows: every stratum keeps one.
        assert_eq!(stratum_test_sizes(&[90, 9, 2], 10), vec![8, 1, 1]);
        assert_eq!(stratum_test_sizes(&[3, 3, 3, 3], 2), vec![1, 1, 1, 1]);
    }

    #[test]
    fn stratified_split_keeps_label_shares() {
        let labels: Vec<u8> = (0..1000).map(|i| if i % 10 == 0 { 1 } else { 0 }).collect();
        let (train, test) = split(1000, 0.1, Some(strata_of(&labels)), &mut Rng::new(0));
        assert_eq!((train.len(), test.len()), (900, 100));
        assert_eq!(test.iter().filter(|&&i| labels[i] == 1).count(), 10);
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
    }
}
