//! The crate's one error type.

use std::fmt;
use std::path::PathBuf;

use crate::json::JsonError;

/// Everything that can go wrong while loading or using a tokenizer.
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
    /// The JSON text is malformed.
    Json {
        /// The file, when the JSON came from one.
        path: Option<PathBuf>,
        /// Where and why.
        source: JsonError,
    },
    /// The JSON is well-formed but a field is missing or has the wrong type.
    Format {
        /// The file, when known.
        path: Option<PathBuf>,
        /// The JSON path of the field, e.g. `model.vocab`.
        field: String,
        /// What was wrong.
        message: String,
    },
    /// A component type this engine does not implement.
    Unsupported {
        /// The file, when known.
        path: Option<PathBuf>,
        /// The component kind, e.g. `normalizer`.
        component: String,
        /// The `type` value found.
        kind: String,
    },
    /// A `{"Regex": ...}` pattern that is malformed or uses syntax this engine does not
    /// implement (the engine covers what real `tokenizer.json` files use).
    Regex {
        /// The file, when known.
        path: Option<PathBuf>,
        /// The JSON path of the pattern, e.g. `normalizer.normalizers[1].pattern`.
        field: String,
        /// The pattern, the byte offset in it where the problem was found, and what was
        /// wrong (one string, so that the error stays small).
        message: String,
    },
}

fn file(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!("{}: ", p.display()),
        None => String::new(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Json { path, source } => write!(f, "{}invalid JSON: {source}", file(path)),
            Error::Format {
                path,
                field,
                message,
            } => {
                write!(f, "{}field `{field}`: {message}", file(path))
            }
            Error::Unsupported {
                path,
                component,
                kind,
            } => {
                write!(f, "{}unsupported {component} type `{kind}`", file(path))
            }
            Error::Regex {
                path,
                field,
                message,
            } => write!(f, "{}field `{field}`: {message}", file(path)),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Json { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<JsonError> for Error {
    fn from(source: JsonError) -> Self {
        Error::Json { path: None, source }
    }
}

impl Error {
    /// The error for a refused regex found at JSON path `field`.
    pub(crate) fn regex(field: String, e: crate::regex::RegexError) -> Self {
        Error::Regex {
            path: None,
            field,
            message: format!("regex `{}` at byte {}: {}", e.pattern, e.offset, e.message),
        }
    }

    /// Attaches a file path to an error that was produced without one.
    pub fn with_path(mut self, p: &std::path::Path) -> Self {
        match &mut self {
            Error::Json { path, .. }
            | Error::Format { path, .. }
            | Error::Unsupported { path, .. }
            | Error::Regex { path, .. } => {
                if path.is_none() {
                    *path = Some(p.to_path_buf());
                }
            }
            Error::Io { .. } => {}
        }
        self
    }
}
