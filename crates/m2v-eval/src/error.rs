//! The one error type of `m2v-eval`.

use std::path::PathBuf;

/// Everything that can go wrong while loading evaluation data, running a model or
/// writing a report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of an evaluation file does not have the expected shape.
    #[error("{path}:{line}: {what}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was expected.
        what: String,
    },
    /// Two inputs that must agree in length do not.
    #[error("{what}: expected {expected} items, got {actual}")]
    Length {
        /// What was being compared.
        what: String,
        /// The expected count.
        expected: usize,
        /// The actual count.
        actual: usize,
    },
    /// A task cannot be evaluated (too few items, a class with fewer members than folds).
    #[error("task `{task}`: {what}")]
    Task {
        /// The task name.
        task: String,
        /// What is wrong.
        what: String,
    },
    /// A model could not be loaded or failed to encode.
    #[error("model `{model}`: {what}")]
    Model {
        /// The model name as given on the command line.
        model: String,
        /// What went wrong.
        what: String,
    },
    /// The Python peer failed.
    #[error("python peer: {0}")]
    Python(String),
    /// The figure could not be rendered.
    #[error("{path}: cannot render the figure: {what}")]
    Plot {
        /// The output file.
        path: PathBuf,
        /// What went wrong.
        what: String,
    },
    /// JSON (de)serialisation failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
