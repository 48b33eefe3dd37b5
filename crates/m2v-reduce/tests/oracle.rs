//! The principal subspace equals linfa-reduction's (a different algorithm: truncated SVD by
//! LOBPCG), on a moderate matrix with a decaying spectrum.

mod common;

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_reduction::Pca;
use m2v_reduce::{PcaDims, pca};
use ndarray::Array2;

/// Gram-Schmidt orthonormal basis of the columns of a row-major `rows x k` matrix (f64).
fn orthonormal(m: &[f64], rows: usize, k: usize) -> Vec<Vec<f64>> {
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for j in 0..k {
        let mut v: Vec<f64> = (0..rows).map(|i| m[i * k + j]).collect();
        for _ in 0..2 {
            for b in &basis {
                let d: f64 = v.iter().zip(b).map(|(x, y)| x * y).sum();
                v.iter_mut().zip(b).for_each(|(x, y)| *x -= d * y);
            }
        }
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        basis.push(v);
    }
    basis
}

#[test]
fn same_subspace_as_linfa() {
    let (rows, cols, k) = (600, 48, 12);
    let x = common::matrix(rows, cols, 7);
    let ours = pca(&x, rows, cols, PcaDims::Int(k)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ours.cols, k);

    let records = Array2::from_shape_fn((rows, cols), |(i, j)| f64::from(x[i * cols + j]));
    let model = Pca::params(k)
        .fit(&DatasetBase::from(records.clone()))
        .unwrap_or_else(|e| panic!("{e}"));
    let centred = &records - model.mean();
    let theirs = centred.dot(&model.components().t()); // rows x k

    // Principal angles between the two score subspaces: with orthonormal bases Q1, Q2,
    // ||Q1ᵀ Q2||_F² = k - Σ sin²θ_i. Tolerance: Σ sin²θ <= 1e-8.
    let q1 = orthonormal(
        &ours.data.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
        rows,
        k,
    );
    let q2 = orthonormal(
        theirs
            .as_slice()
            .unwrap_or_else(|| panic!("not contiguous")),
        rows,
        k,
    );
    let mut fro = 0.0;
    for a in &q1 {
        for b in &q2 {
            let d: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            fro += d * d;
        }
    }
    let sin2 = k as f64 - fro;
    assert!(
        sin2.abs() <= 1e-8,
        "sum of sin² of principal angles: {sin2}"
    );

    // Column by column, up to sign (the spectrum is well separated): |score| agree to 1e-4
    // (ours are rounded to f32).
    for j in 0..k {
        let diff = (0..rows)
            .map(|i| (f64::from(ours.data[i * k + j]).abs() - theirs[(i, j)].abs()).abs())
            .fold(0.0, f64::max);
        assert!(diff <= 1e-4, "component {j}: {diff}");
    }

    // Explained variance: linfa's singular values give σ²/(n-1) per component.
    for (j, (s, ev)) in model
        .singular_values()
        .iter()
        .zip(&ours.explained_variance)
        .enumerate()
    {
        let theirs = s * s / (rows as f64 - 1.0);
        assert!(
            (theirs - ev).abs() <= 1e-8 * ev.max(1e-12),
            "component {j}: {theirs} vs {ev}"
        );
    }
}
