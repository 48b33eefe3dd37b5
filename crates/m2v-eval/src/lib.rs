//! MTEB-style evaluation of embedding models (issue 21 moves the bench's evaluation
//! code here from `benches/`).
#![forbid(unsafe_code)]

/// Errors of the evaluation library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A data file could not be read or parsed.
    #[error("{path}: {message}")]
    Data {
        /// The file.
        path: std::path::PathBuf,
        /// What was wrong.
        message: String,
    },
}
