//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while distilling or converting a model.
///
/// Messages name the file or option at fault; the underlying error, when there is one,
/// is the [`std::error::Error::source`] (not repeated in the message).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The teacher folder could not be loaded (config, weights, architecture).
    #[error("cannot load the teacher from {path}")]
    Teacher {
        /// The teacher folder.
        path: PathBuf,
        /// The teacher crate's error.
        #[source]
        source: m2v_teacher::Error,
    },
    /// The teacher's forward pass failed.
    #[error("teacher forward pass")]
    Forward(#[source] m2v_teacher::Error),
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file of the teacher is malformed.
    #[error("{path}: invalid JSON")]
    Json {
        /// The file.
        path: PathBuf,
        /// Where and why parsing failed.
        #[source]
        source: m2v_tokenize::json::JsonError,
    },
    /// The teacher folder lacks a file distillation needs.
    #[error("{path}: {message}")]
    MissingFile {
        /// The missing file.
        path: PathBuf,
        /// What it is needed for.
        message: &'static str,
    },
    /// Vocabulary surgery or tokenizer loading failed.
    #[error("tokenizer {path}")]
    Tokenizer {
        /// The teacher's `tokenizer.json`.
        path: PathBuf,
        /// The tokenizer crate's error.
        #[source]
        source: m2v_tokenize::Error,
    },
    /// `token_remove_pattern` is not a valid regular expression.
    #[error("invalid token remove pattern `{pattern}`")]
    Pattern {
        /// The pattern as given.
        pattern: String,
        /// The regex crate's error.
        #[source]
        source: regex::Error,
    },
    /// An option has a value that cannot be used.
    #[error("invalid option `{option}`: {message}")]
    InvalidOption {
        /// The option, e.g. `sif_coefficient`.
        option: &'static str,
        /// Why.
        message: String,
    },
    /// The teacher output handed to [`crate::Prepared::finish`] does not fit the inputs.
    #[error("teacher output has {len} values, expected {rows} x {dim}")]
    TeacherOutput {
        /// Rows expected (one per token).
        rows: usize,
        /// Columns expected (the teacher's hidden size).
        dim: usize,
        /// Values given.
        len: usize,
    },
    /// The pre-training corpus cannot be used.
    #[error("corpus {path}: {message}")]
    Corpus {
        /// The corpus file.
        path: PathBuf,
        /// What is wrong, with the line when there is one.
        message: String,
    },
    /// Pre-training (the trainer) failed.
    #[error(transparent)]
    Train(#[from] m2v_train::Error),
    /// PCA, SIF, k-means or quantization failed.
    #[error(transparent)]
    Reduce(#[from] m2v_reduce::Error),
    /// Loading or saving a static model failed.
    #[error(transparent)]
    Static(#[from] m2v_static::Error),
}
