//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while loading or running a teacher.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The tokenizer could not be loaded.
    #[error("tokenizer: {0}")]
    Tokenizer(#[from] m2v_tokenize::Error),
}
