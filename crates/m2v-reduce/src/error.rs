//! The crate's one error type.

/// Everything that can go wrong in the reduction steps.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input matrix does not have the shape it claims.
    #[error("matrix data has {len} values, expected {rows}x{cols}")]
    Shape {
        /// Claimed rows.
        rows: usize,
        /// Claimed columns.
        cols: usize,
        /// Actual number of values.
        len: usize,
    },
    /// A per-row vector (weights) does not have one value per row.
    #[error("{what} has {len} values, expected one per row ({rows})")]
    PerRowLength {
        /// What the vector is (`"weights"`).
        what: &'static str,
        /// Rows of the matrix.
        rows: usize,
        /// Actual length.
        len: usize,
    },
    /// `pca_dims` is not a usable value.
    #[error("invalid pca dims {value}: {reason}")]
    InvalidPcaDims {
        /// The value as given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// PCA was asked of a matrix with fewer than two rows (the covariance divides by n-1).
    #[error("pca needs at least 2 rows, got {rows}")]
    TooFewRows {
        /// Rows of the matrix.
        rows: usize,
    },
    /// The symmetric eigendecomposition did not converge.
    #[error("eigendecomposition of the {dim}x{dim} covariance did not converge")]
    NoConvergence {
        /// Size of the covariance matrix.
        dim: usize,
    },
    /// The SIF coefficient is outside (0, 1).
    #[error("sif coefficient must be > 0 and < 1, got {0}")]
    SifCoefficient(f64),
    /// A dtype the reference does not quantize to.
    #[error("cannot quantize to {0}: expected float16, float32, float64 or int8")]
    UnsupportedDtype(m2v_static::Dtype),
    /// Vocabulary quantization was asked for more clusters than there are rows, or none.
    #[error("cannot make {clusters} clusters from {rows} rows")]
    Clusters {
        /// Requested clusters.
        clusters: usize,
        /// Rows available.
        rows: usize,
    },
}

/// Checks that `len == rows * cols` (without overflow).
pub(crate) fn check_shape(len: usize, rows: usize, cols: usize) -> Result<(), Error> {
    match rows.checked_mul(cols) {
        Some(n) if n == len => Ok(()),
        _ => Err(Error::Shape { rows, cols, len }),
    }
}
