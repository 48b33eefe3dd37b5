//! Vocabulary quantization: k-means over the token vectors
//! (`model2vec.vocabulary_quantization.quantize_vocabulary`, which uses scikit-learn's
//! `KMeans(n_clusters, random_state=42, init="random")`).
//!
//! The algorithm is scikit-learn's Lloyd k-means (same initialisation choice, `n_init`,
//! `max_iter`, tolerance rule and empty-cluster relocation), but with our own random
//! generator, so the clusters are not bit-identical to the reference's: only the format
//! and the way inference uses them are.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

use crate::error::{Error, check_shape};
use crate::sif::compute_weights;

/// Rows whose distances to all centres are computed in one matrix product.
const BLOCK: usize = 1024;

/// How the first centres are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KMeansInit {
    /// `n_clusters` distinct rows drawn uniformly (the reference's `init="random"`).
    #[default]
    Random,
    /// k-means++ (D² sampling, one candidate per step): better starts, `O(rows·k·cols)` extra.
    PlusPlus,
}

/// k-means settings; the default is the reference's (scikit-learn `KMeans` with
/// `random_state=42, init="random"`: 10 runs, 300 iterations, tolerance 1e-4).
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansOptions {
    /// Seed of the run; run `r` uses a generator seeded from `seed` and `r`.
    pub seed: u64,
    /// Initialisation.
    pub init: KMeansInit,
    /// Independent runs; the one with the lowest inertia wins (at least 1 is run).
    pub n_init: usize,
    /// Lloyd iterations per run at most.
    pub max_iter: usize,
    /// Relative tolerance: a run stops when the squared centre shift summed over clusters
    /// is at most `tol * mean(column variances)` (scikit-learn's rule), or when no label changes.
    pub tol: f64,
}

impl Default for KMeansOptions {
    fn default() -> Self {
        KMeansOptions {
            seed: 42,
            init: KMeansInit::Random,
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
        }
    }
}

/// What [`vocabulary_quantize`] returns: the tensors the reference saves, before PCA.
///
/// The driver then runs [`pca`](crate::pca) on `centres` (`n_clusters x cols`) and casts the
/// result with [`quantize`](crate::quantize) (not the weighted variant: in this path the
/// weights are stored, not multiplied in), and saves `mapping` as the `I32` tensor
/// `mapping` and `weights` as the `F64` tensor `weights`.
#[derive(Debug, Clone, PartialEq)]
pub struct VocabularyQuantization {
    /// Row-major `n_clusters x cols` cluster centres (the new embedding rows).
    pub centres: Vec<f32>,
    /// Number of centres (rows of `centres`).
    pub n_clusters: usize,
    /// Columns of `centres` (the input's).
    pub cols: usize,
    /// For each token (input row), the index of its centre.
    pub mapping: Vec<i32>,
    /// For each token, its weight: the SIF weight, or 1 without SIF (the reference's
    /// `compute_weights`; it never takes the norm branch of `quantize_vocabulary` when
    /// distilling).
    pub weights: Vec<f64>,
    /// Sum of squared distances of the rows to their centres, in the winning run.
    pub inertia: f64,
    /// Lloyd iterations of the winning run.
    pub iterations: usize,
}

/// SplitMix64: small, seedable, and the same on every platform.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (`n > 0`), by rejection so that it is unbiased.
    fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return (x % n) as usize;
            }
        }
    }
}

fn sq_dist(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum()
}

/// The initial centres (row-major `k x cols`).
fn init_centres(
    x: &[f32],
    rows: usize,
    cols: usize,
    k: usize,
    init: KMeansInit,
    rng: &mut Rng,
) -> Vec<f32> {
    let mut centres = Vec::with_capacity(k * cols);
    match init {
        KMeansInit::Random => {
            // The first k entries of a random permutation (partial Fisher-Yates).
            let mut idx: Vec<usize> = (0..rows).collect();
            for i in 0..k {
                let j = i + rng.below(rows - i);
                idx.swap(i, j);
                centres.extend_from_slice(&x[idx[i] * cols..(idx[i] + 1) * cols]);
            }
        }
        KMeansInit::PlusPlus => {
            let first = rng.below(rows);
            centres.extend_from_slice(&x[first * cols..(first + 1) * cols]);
            let mut d2: Vec<f64> = x
                .chunks_exact(cols)
                .map(|r| sq_dist(r, &centres[..cols]))
                .collect();
            for _ in 1..k {
                let total: f64 = d2.iter().sum();
                let pick = if total > 0.0 {
                    let target = rng.next_f64() * total;
                    let mut acc = 0.0;
                    d2.iter()
                        .position(|&d| {
                            acc += d;
                            acc > target
                        })
                        .unwrap_or(rows - 1)
                } else {
                    rng.below(rows)
                };
                let start = centres.len();
                centres.extend_from_slice(&x[pick * cols..(pick + 1) * cols]);
                let c = &centres[start..];
                for (d, r) in d2.iter_mut().zip(x.chunks_exact(cols)) {
                    *d = d.min(sq_dist(r, c));
                }
            }
        }
    }
    centres
}

/// E-step: the nearest centre of every row (lowest index on ties) and the squared
/// distance to it. Distances are `|x|² - 2 x·c + |c|²` with the product in `f32` (faer).
fn assign(
    x: &[f32],
    rows: usize,
    cols: usize,
    centres: &[f32],
    k: usize,
    labels: &mut [usize],
    dist: &mut [f64],
) {
    let c = MatRef::from_row_major_slice(centres, k, cols);
    let c_norm: Vec<f32> = centres
        .chunks_exact(cols)
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect();
    let mut dots = Mat::<f32>::zeros(BLOCK.min(rows), k);
    let mut start = 0;
    while start < rows {
        let n = BLOCK.min(rows - start);
        let xb = MatRef::from_row_major_slice(&x[start * cols..(start + n) * cols], n, cols);
        let mut dst = dots.as_mut().subrows_mut(0, n);
        matmul(
            dst.as_mut(),
            Accum::Replace,
            xb,
            c.transpose(),
            1.0f32,
            Par::rayon(0),
        );
        for i in 0..n {
            let mut best = (f32::INFINITY, 0usize);
            for (j, &cn) in c_norm.iter().enumerate() {
                let d = cn - 2.0 * dst[(i, j)];
                if d < best.0 {
                    best = (d, j);
                }
            }
            let row = &x[(start + i) * cols..(start + i + 1) * cols];
            let x_norm: f32 = row.iter().map(|v| v * v).sum();
            labels[start + i] = best.1;
            dist[start + i] = f64::from((x_norm + best.0).max(0.0));
        }
        start += n;
    }
}

/// M-step: the mean of each cluster, with scikit-learn's relocation of empty clusters to
/// the rows farthest from their centres. Returns the new centres.
fn update(x: &[f32], cols: usize, k: usize, labels: &mut [usize], dist: &[f64]) -> Vec<f32> {
    let mut sums = vec![0.0f64; k * cols];
    let mut counts = vec![0usize; k];
    for (row, &l) in x.chunks_exact(cols).zip(labels.iter()) {
        counts[l] += 1;
        for (s, &v) in sums[l * cols..(l + 1) * cols].iter_mut().zip(row) {
            *s += f64::from(v);
        }
    }
    let empty: Vec<usize> = (0..k).filter(|&j| counts[j] == 0).collect();
    if !empty.is_empty() {
        let mut far: Vec<usize> = (0..labels.len()).collect();
        far.sort_by(|&a, &b| dist[b].total_cmp(&dist[a]).then(a.cmp(&b)));
        for (&new, &i) in empty.iter().zip(&far) {
            let old = labels[i];
            if counts[old] <= 1 {
                continue;
            }
            let row = &x[i * cols..(i + 1) * cols];
            for (s, &v) in sums[old * cols..(old + 1) * cols].iter_mut().zip(row) {
                *s -= f64::from(v);
            }
            for (s, &v) in sums[new * cols..(new + 1) * cols].iter_mut().zip(row) {
                *s = f64::from(v);
            }
            counts[old] -= 1;
            counts[new] = 1;
            labels[i] = new;
        }
    }
    sums.chunks_exact(cols)
        .zip(&counts)
        .flat_map(|(s, &n)| {
            s.iter()
                .map(move |&v| if n > 0 { (v / n as f64) as f32 } else { 0.0 })
        })
        .collect()
}

struct Run {
    centres: Vec<f32>,
    labels: Vec<usize>,
    inertia: f64,
    iterations: usize,
}

fn lloyd(
    x: &[f32],
    rows: usize,
    cols: usize,
    k: usize,
    tol: f64,
    opts: &KMeansOptions,
    rng: &mut Rng,
) -> Run {
    let mut centres = init_centres(x, rows, cols, k, opts.init, rng);
    let mut labels = vec![0usize; rows];
    let mut old = vec![usize::MAX; rows];
    let mut dist = vec![0.0f64; rows];
    let mut iterations = 0;
    for _ in 0..opts.max_iter {
        iterations += 1;
        assign(x, rows, cols, &centres, k, &mut labels, &mut dist);
        let new = update(x, cols, k, &mut labels, &dist);
        let shift: f64 = new
            .chunks_exact(cols)
            .zip(centres.chunks_exact(cols))
            .map(|(a, b)| sq_dist(a, b))
            .sum();
        centres = new;
        if labels == old {
            break;
        }
        if shift <= tol {
            break;
        }
        old.copy_from_slice(&labels);
    }
    // Labels of the final centres (scikit-learn reruns the E-step unless the labels were
    // stable; rerunning always also gives the inertia of the final centres, and `predict`).
    assign(x, rows, cols, &centres, k, &mut labels, &mut dist);
    let inertia = dist.iter().sum();
    Run {
        centres,
        labels,
        inertia,
        iterations,
    }
}

/// A k-means clustering of the rows of a matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// `n_clusters x cols` centres, row-major.
    pub centres: Vec<f32>,
    /// The centre of each row (`predict` on the input).
    pub labels: Vec<i32>,
    /// Sum of squared distances of the rows to their centres.
    pub inertia: f64,
    /// Lloyd iterations of the best run.
    pub iterations: usize,
}

/// k-means on the rows of `data` as scikit-learn's `KMeans(n_clusters, init="random",
/// random_state=seed)` with its tolerance rule (seeded; our generator is not numpy's, so
/// clusterings are as good as the reference's, not the same).
///
/// Errors: a shape mismatch, `n_clusters == 0` or `n_clusters > rows`.
pub fn kmeans(
    data: &[f32],
    rows: usize,
    cols: usize,
    n_clusters: usize,
    opts: &KMeansOptions,
) -> Result<Clustering, Error> {
    check_shape(data.len(), rows, cols)?;
    if n_clusters == 0 || n_clusters > rows || cols == 0 {
        return Err(Error::Clusters {
            clusters: n_clusters,
            rows,
        });
    }
    // scikit-learn's `_tolerance`: mean of the column variances times `tol`.
    let mut mean = vec![0.0f64; cols];
    let mut sq = vec![0.0f64; cols];
    for row in data.chunks_exact(cols) {
        for ((m, s), &v) in mean.iter_mut().zip(sq.iter_mut()).zip(row) {
            *m += f64::from(v);
            *s += f64::from(v) * f64::from(v);
        }
    }
    let n = rows as f64;
    let mean_var = mean
        .iter()
        .zip(&sq)
        .map(|(m, s)| (s / n - (m / n) * (m / n)).max(0.0))
        .sum::<f64>()
        / cols as f64;
    let tol = mean_var * opts.tol;

    let mut best: Option<Run> = None;
    for run in 0..opts.n_init.max(1) {
        let mut rng = Rng(opts.seed ^ (run as u64).wrapping_mul(0xd1b5_4a32_d192_ed03));
        let r = lloyd(data, rows, cols, n_clusters, tol, opts, &mut rng);
        if best.as_ref().is_none_or(|b| r.inertia < b.inertia) {
            best = Some(r);
        }
    }
    let Some(best) = best else {
        return Err(Error::Clusters {
            clusters: n_clusters,
            rows,
        });
    };
    Ok(Clustering {
        centres: best.centres,
        labels: best.labels.iter().map(|&l| l as i32).collect(),
        inertia: best.inertia,
        iterations: best.iterations,
    })
}

/// Vocabulary quantization as the reference's distillation does it
/// (`vocabulary_quantization=n_clusters`): `weights = compute_weights(rows, sif_coefficient)`
/// (SIF weights, or ones when `sif_coefficient` is `None`), then [`kmeans`] on the
/// pre-PCA `f32` vectors; the centres become the embedding rows and `mapping[token]` the
/// centre of each token.
///
/// Deterministic for a given `opts.seed` (and thread count). Errors: a shape mismatch,
/// `n_clusters == 0` or `n_clusters > rows`, a SIF coefficient outside (0, 1).
pub fn vocabulary_quantize(
    data: &[f32],
    rows: usize,
    cols: usize,
    n_clusters: usize,
    sif_coefficient: Option<f64>,
    opts: &KMeansOptions,
) -> Result<VocabularyQuantization, Error> {
    check_shape(data.len(), rows, cols)?;
    if n_clusters == 0 || n_clusters > rows || cols == 0 {
        return Err(Error::Clusters {
            clusters: n_clusters,
            rows,
        });
    }
    let weights = compute_weights(rows, sif_coefficient)?;
    let c = kmeans(data, rows, cols, n_clusters, opts)?;
    Ok(VocabularyQuantization {
        centres: c.centres,
        n_clusters,
        cols,
        mapping: c.labels,
        weights,
        inertia: c.inertia,
        iterations: c.iterations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well-separated blobs: every run must find them.
    #[test]
    fn finds_separated_blobs() {
        let mut rng = Rng(7);
        let centres = [[10.0f32, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]];
        let mut data = Vec::new();
        let mut truth = Vec::new();
        for i in 0..300 {
            let c = i % 3;
            truth.push(c);
            for v in centres[c] {
                data.push(v + (rng.next_f64() as f32 - 0.5));
            }
        }
        for init in [KMeansInit::Random, KMeansInit::PlusPlus] {
            let opts = KMeansOptions {
                init,
                n_init: 3,
                ..KMeansOptions::default()
            };
            let q = vocabulary_quantize(&data, 300, 3, 3, Some(1e-4), &opts)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(q.mapping.len(), 300);
            assert_eq!(q.weights.len(), 300);
            // Same partition as the truth, up to relabelling.
            for i in 0..300 {
                for j in 0..300 {
                    assert_eq!(
                        truth[i] == truth[j],
                        q.mapping[i] == q.mapping[j],
                        "{init:?} rows {i} {j}"
                    );
                }
            }
            // Each centre is its blob's mean: within the noise of ±0.5 / sqrt(100).
            for c in q.centres.chunks_exact(3) {
                let near = centres.iter().any(|t| sq_dist(c, t) < 0.05);
                assert!(near, "{c:?}");
            }
            let again = vocabulary_quantize(&data, 300, 3, 3, Some(1e-4), &opts)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(again, q, "deterministic");
        }
    }

    #[test]
    fn rejects_bad_cluster_counts() {
        let o = KMeansOptions::default();
        assert!(vocabulary_quantize(&[0.0; 6], 3, 2, 0, None, &o).is_err());
        assert!(vocabulary_quantize(&[0.0; 6], 3, 2, 4, None, &o).is_err());
        let q = vocabulary_quantize(&[0.0; 6], 3, 2, 3, None, &o).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.weights, [1.0; 3]);
    }
}
