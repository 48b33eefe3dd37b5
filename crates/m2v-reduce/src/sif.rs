//! Zipf/SIF token weights (`model2vec.distill.inference.compute_weights`).

use crate::error::{Error, check_shape};

/// NumPy's pairwise summation of a contiguous `f64` slice (`np.sum`), reproduced so that
/// the SIF weights are bit-identical to the reference's.
///
/// Blocks of at most 128 values are summed with eight interleaved accumulators;
/// longer slices are split in two at a multiple of eight and summed recursively.
pub(crate) fn pairwise_sum(a: &[f64]) -> f64 {
    const BLOCK: usize = 128;
    let n = a.len();
    if n < 8 {
        // NumPy starts from -0.0 here so that a sum of negative zeros stays -0.0.
        let mut res = -0.0;
        for &v in a {
            res += v;
        }
        res
    } else if n <= BLOCK {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let mut i = 8;
        while i < n - (n % 8) {
            for (k, acc) in r.iter_mut().enumerate() {
                *acc += a[i + k];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// The SIF weight of every token id `0..n`, as the reference computes it in `f64`:
/// `p_i = (1/(i+2)) / Σ_j 1/(j+2)` (Zipf's law over the id order, which is assumed to
/// be frequency order), `w_i = s / (s + p_i)`.
///
/// `coefficient` (`sif_coefficient`, default `1e-4` in the reference) must lie in (0, 1).
/// Without SIF the reference uses weights of one; this function is not called then.
pub fn sif_weights(n: usize, coefficient: f64) -> Result<Vec<f64>, Error> {
    if !(coefficient > 0.0 && coefficient < 1.0) {
        return Err(Error::SifCoefficient(coefficient));
    }
    // `1 / np.arange(2, n + 2)`: an integer array divided in f64.
    let inv_rank: Vec<f64> = (0..n).map(|i| 1.0 / (i as f64 + 2.0)).collect();
    let total = pairwise_sum(&inv_rank);
    Ok(inv_rank
        .into_iter()
        .map(|r| coefficient / (coefficient + r / total))
        .collect())
}

/// The per-token weights of the reference's `compute_weights(n, sif_coefficient)`:
/// [`sif_weights`] with `Some(s)`, ones with `None`.
///
/// The driver multiplies by these even without SIF (as the reference does with
/// `np.ones`): that makes the reference's array `f64`, which changes the int8 arithmetic,
/// so pass them to [`quantize_weighted`](crate::quantize_weighted) either way.
pub fn compute_weights(n: usize, sif_coefficient: Option<f64>) -> Result<Vec<f64>, Error> {
    match sif_coefficient {
        Some(s) => sif_weights(n, s),
        None => Ok(vec![1.0; n]),
    }
}

/// Multiplies row `i` of a row-major matrix by `weights[i]`, the product taken in `f64`
/// and rounded once to `f32` (what the reference's `embeddings * weights[:, None]`
/// followed by `astype(float32)` gives).
///
/// For `float16`, `float64` or `int8` output use [`quantize_weighted`](crate::quantize_weighted)
/// instead: the reference keeps the `f64` product and rounds it only once, to the target.
pub fn apply_weights(data: &mut [f32], cols: usize, weights: &[f64]) -> Result<(), Error> {
    let rows = weights.len();
    check_shape(data.len(), rows, cols)?;
    if cols == 0 {
        return Ok(());
    }
    for (row, &w) in data.chunks_exact_mut(cols).zip(weights) {
        for v in row {
            *v = (f64::from(*v) * w) as f32;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficient_range() {
        assert!(sif_weights(3, 0.0).is_err());
        assert!(sif_weights(3, 1.0).is_err());
        assert!(sif_weights(3, f64::NAN).is_err());
        let w = sif_weights(3, 0.5).unwrap_or_default();
        // p = [1/2, 1/3, 1/4] / (13/12) = [6/13, 4/13, 3/13]
        let expect = [
            0.5 / (0.5 + 6.0 / 13.0),
            0.5 / (0.5 + 4.0 / 13.0),
            0.5 / (0.5 + 3.0 / 13.0),
        ];
        for (a, b) in w.iter().zip(expect) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
    }

    #[test]
    fn pairwise_matches_exact_sum_of_integers() {
        let v: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(pairwise_sum(&v), 499_500.0);
        assert_eq!(pairwise_sum(&[]), 0.0);
    }

    #[test]
    fn weights_shape_checked() {
        let mut d = vec![1.0f32; 6];
        assert!(apply_weights(&mut d, 3, &[1.0]).is_err());
        assert!(apply_weights(&mut d, 3, &[2.0, 0.5]).is_ok());
        assert_eq!(d, [2.0, 2.0, 2.0, 0.5, 0.5, 0.5]);
    }
}
