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
}
