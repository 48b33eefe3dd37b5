//! The crate's one error type (hand-written: this crate has no dependencies).

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong while loading or using a static model.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The tokenizer could not be loaded.
    Tokenizer(m2v_tokenize::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Tokenizer(e) => write!(f, "tokenizer: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Tokenizer(e) => Some(e),
        }
    }
}
