//! The crate's error type: what can go wrong starting the server (a request's
//! errors are HTTP answers, `api.rs`).

use std::path::PathBuf;

/// What can go wrong starting the server (requests' errors are HTTP answers).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model or pipeline folder did not load.
    #[error("loading model `{name}` from {}: {error}", path.display())]
    Model {
        /// The model's name in the API.
        name: String,
        /// Its folder.
        path: PathBuf,
        /// Why (boxed: the library's error is large). Shown in the message, so it is
        /// not also reported as the error's `source()`.
        error: Box<m2v_static::Error>,
    },
    /// Two models were given the same name.
    #[error("two models are named `{0}`: name them with NAME=PATH")]
    DuplicateName(String),
    /// No model was given.
    #[error("no model to serve: give at least one --model")]
    NoModel,
    /// The API key file could not be read or holds no key.
    #[error("API key file {}: {message}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The problem.
        message: String,
    },
    /// An option is out of range.
    #[error("--{option}: {message}")]
    Option {
        /// The option's name.
        option: &'static str,
        /// The problem.
        message: String,
    },
    /// Binding the address, or another I/O failure of the server itself.
    #[error("{context}: {error}")]
    Io {
        /// What was being done.
        context: String,
        /// The error (in the message, not also as `source()`).
        error: std::io::Error,
    },
}
