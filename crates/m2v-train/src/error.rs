//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading training data, training or saving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The data file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A row of the data is bad: missing column, empty text, bad label or target.
    #[error("{}: row {row}: {message}", path.display())]
    Row {
        /// The file.
        path: PathBuf,
        /// The 1-based row (the line for JSONL, the record after the header for CSV).
        row: usize,
        /// What is wrong, naming the column.
        message: String,
    },
    /// The data as a whole cannot be trained on (one class only, no rows, mismatched
    /// vector lengths between files).
    #[error("{}: {message}", path.display())]
    Data {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An option is out of range.
    #[error("invalid option `{option}`: {message}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// Why.
        message: String,
    },
    /// Loading or saving the model or pipeline failed.
    #[error(transparent)]
    Model(#[from] m2v_static::Error),
}
