//! Seeded mini-batch k-means (Sculley 2010, as scikit-learn's `MiniBatchKMeans`
//! with `batch_size = 500`, what MTEB clusters with): k-means++ initialisation on a
//! sample of `3 × batch` points, then per-centre learning rates `1 / count`, stopped
//! when the smoothed batch inertia has not improved for 10 steps (scikit-learn's
//! `max_no_improvement`) or after `max_epochs` passes; finally every point goes to
//! its nearest centre. Random reassignment of small clusters is not done.

use crate::metrics::SplitMix64;

/// Mini-batch k-means settings.
#[derive(Debug, Clone, Copy)]
pub struct KMeansConfig {
    /// Number of clusters.
    pub k: usize,
    /// Points per mini-batch.
    pub batch: usize,
    /// Passes over the data at most.
    pub max_epochs: usize,
    /// Steps without improvement of the smoothed inertia before stopping.
    pub max_no_improvement: usize,
}

impl KMeansConfig {
    /// scikit-learn's defaults as MTEB uses them: batch 500, 100 epochs, patience 10.
    pub fn new(k: usize) -> Self {
        KMeansConfig {
            k,
            batch: 500,
            max_epochs: 100,
            max_no_improvement: 10,
        }
    }
}

fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn nearest(x: &[f32], centers: &[f32], dim: usize) -> (usize, f32) {
    let mut best = (0, f32::INFINITY);
    for (c, row) in centers.chunks_exact(dim).enumerate() {
        let d = sq_dist(x, row);
        if d < best.1 {
            best = (c, d);
        }
    }
    best
}

/// Clusters the rows of `x` (`n × dim`) into `cfg.k` clusters with the random
/// stream of `seed`; returns each row's cluster. Deterministic for a given seed.
/// Fewer rows than clusters give each row its own cluster.
pub fn mini_batch_kmeans(x: &[f32], dim: usize, cfg: &KMeansConfig, seed: u64) -> Vec<usize> {
    let n = x.len().checked_div(dim).unwrap_or(0);
    let k = cfg.k.max(1);
    if n <= k {
        return (0..n).collect();
    }
    let row = |i: usize| &x[i * dim..(i + 1) * dim];
    let mut rng = SplitMix64::new(seed);
    // k-means++ on a sample of 3 × batch points (scikit-learn's `init_size`).
    let mut sample: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut sample);
    sample.truncate((3 * cfg.batch).max(k).min(n));
    let mut centers: Vec<f32> = Vec::with_capacity(k * dim);
    centers.extend_from_slice(row(sample[rng.below(sample.len())]));
    let mut d2: Vec<f64> = sample
        .iter()
        .map(|&i| f64::from(sq_dist(row(i), &centers[..dim])))
        .collect();
    while centers.len() < k * dim {
        let total: f64 = d2.iter().sum();
        let pick = if total > 0.0 {
            let mut r = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
            let mut p = d2.len() - 1;
            for (j, d) in d2.iter().enumerate() {
                if r < *d {
                    p = j;
                    break;
                }
                r -= d;
            }
            p
        } else {
            rng.below(sample.len())
        };
        let c = row(sample[pick]).to_vec();
        for (j, &i) in sample.iter().enumerate() {
            d2[j] = d2[j].min(f64::from(sq_dist(row(i), &c)));
        }
        centers.extend_from_slice(&c);
    }
    // Mini-batch updates.
    let batch = cfg.batch.clamp(1, n);
    let steps = (cfg.max_epochs * n).div_ceil(batch);
    let alpha = (2.0 * batch as f64 / (n as f64 + 1.0)).min(1.0);
    let mut counts = vec![0.0f64; k];
    let (mut ewa, mut best, mut stale) = (None::<f64>, f64::INFINITY, 0);
    let mut idx: Vec<usize> = Vec::with_capacity(batch);
    let mut assign: Vec<usize> = Vec::with_capacity(batch);
    for _ in 0..steps {
        idx.clear();
        idx.extend((0..batch).map(|_| rng.below(n)));
        assign.clear();
        let mut inertia = 0.0f64;
        for &i in &idx {
            let (c, d) = nearest(row(i), &centers, dim);
            assign.push(c);
            inertia += f64::from(d);
        }
        for (&i, &c) in idx.iter().zip(&assign) {
            counts[c] += 1.0;
            let eta = (1.0 / counts[c]) as f32;
            for (v, &xv) in centers[c * dim..(c + 1) * dim].iter_mut().zip(row(i)) {
                *v += eta * (xv - *v);
            }
        }
        let b = inertia / batch as f64;
        let e = ewa.map_or(b, |e| e * (1.0 - alpha) + b * alpha);
        ewa = Some(e);
        if e < best {
            best = e;
            stale = 0;
        } else {
            stale += 1;
            if stale >= cfg.max_no_improvement {
                break;
            }
        }
    }
    (0..n).map(|i| nearest(row(i), &centers, dim).0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::v_measure;

    #[test]
    fn separated_blobs_are_recovered() {
        // Three tight blobs of 200 points far apart: any seed finds them exactly.
        let mut rng = SplitMix64::new(7);
        let centers = [[0.0f32, 0.0], [10.0, 0.0], [0.0, 10.0]];
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..600 {
            let c = i % 3;
            let jitter = |r: &mut SplitMix64| (r.below(1000) as f32 / 1000.0 - 0.5) * 0.5;
            x.push(centers[c][0] + jitter(&mut rng));
            x.push(centers[c][1] + jitter(&mut rng));
            y.push(c);
        }
        let cfg = KMeansConfig {
            batch: 64,
            ..KMeansConfig::new(3)
        };
        for seed in 0..4 {
            let labels = mini_batch_kmeans(&x, 2, &cfg, seed);
            assert_eq!(v_measure(&y, &labels), Some(1.0), "seed {seed}");
            assert_eq!(labels, mini_batch_kmeans(&x, 2, &cfg, seed));
        }
        assert_eq!(mini_batch_kmeans(&x[..4], 2, &cfg, 0), vec![0, 1]);
    }
}
