//! The crate's one error type (hand-written: this crate has no dependencies).

use std::fmt;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while loading or using a static model.
///
/// Every variant that comes from a file carries the file (`None` when the model was
/// loaded from bytes) and the facts of the problem.
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
    /// A model file is not a regular file (a FIFO, a device, a folder) or is larger
    /// than its limit.
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// No known layout (model2vec, sentence-transformers, `0_StaticEmbedding`) in a folder.
    NoLayout {
        /// The folder.
        dir: PathBuf,
    },
    /// The tokenizer could not be loaded.
    Tokenizer {
        /// The `tokenizer.json` file, when known.
        path: Option<PathBuf>,
        /// The tokenizer crate's error.
        source: m2v_tokenize::Error,
    },
    /// A safetensors file is malformed (header length, JSON, offsets, sizes).
    Safetensors {
        /// The file, when known.
        path: Option<PathBuf>,
        /// What was wrong.
        message: String,
    },
    /// A tensor the model needs is missing from the safetensors file.
    MissingTensor {
        /// The file, when known.
        path: Option<PathBuf>,
        /// The tensor name that was looked for.
        name: String,
    },
    /// A tensor has a dtype this crate cannot use there.
    Dtype {
        /// The file, when known.
        path: Option<PathBuf>,
        /// The tensor.
        tensor: String,
        /// The dtype found.
        dtype: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// A tensor has the wrong shape, or one that does not match the vocabulary.
    Shape {
        /// The file, when known.
        path: Option<PathBuf>,
        /// The tensor.
        tensor: String,
        /// The shape found.
        shape: Vec<usize>,
        /// What was expected, in words.
        expected: String,
    },
    /// A `mapping` entry points outside the embedding matrix.
    BadMapping {
        /// The file, when known.
        path: Option<PathBuf>,
        /// The token id whose entry is bad.
        token: usize,
        /// The value found.
        value: i64,
        /// The number of embedding rows.
        rows: usize,
    },
    /// A config file is malformed or a field has the wrong type.
    Config {
        /// The file, when known.
        path: Option<PathBuf>,
        /// What was wrong.
        message: String,
    },
    /// An output folder cannot be written (it is a file, or a non-empty folder without
    /// `force`).
    Output {
        /// The output path.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A model name is neither a folder nor a valid hub id.
    NotFound {
        /// The name given.
        name: PathBuf,
        /// Why it is neither.
        message: String,
    },
    /// A hub id is not in the local Hugging Face cache (and this build does not
    /// download: see the `download` feature).
    NotCached {
        /// The hub id.
        name: String,
        /// The cache folder that was searched.
        cache: PathBuf,
        /// How to get the model.
        hint: &'static str,
    },
    /// Downloading a hub id failed (the `download` feature).
    Download {
        /// The hub id.
        name: String,
        /// `m2v-hub`'s error.
        message: String,
    },
    /// A load or encode option cannot be applied to this model.
    InvalidOption {
        /// The option, e.g. `dimensionality`.
        option: &'static str,
        /// Why.
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
            Error::File { path, message } => write!(f, "{}: {message}", path.display()),
            Error::NoLayout { dir } => write!(
                f,
                "{}: no model found (tried config.json + model.safetensors + tokenizer.json, \
                 config_sentence_transformers.json + model.safetensors + tokenizer.json, and \
                 the same under 0_StaticEmbedding/)",
                dir.display()
            ),
            Error::Tokenizer { path, source } => write!(f, "{}tokenizer: {source}", file(path)),
            Error::Safetensors { path, message } => {
                write!(f, "{}invalid safetensors: {message}", file(path))
            }
            Error::MissingTensor { path, name } => {
                write!(f, "{}no tensor named `{name}`", file(path))
            }
            Error::Dtype {
                path,
                tensor,
                dtype,
                expected,
            } => write!(
                f,
                "{}tensor `{tensor}` has dtype {dtype}, expected {expected}",
                file(path)
            ),
            Error::Shape {
                path,
                tensor,
                shape,
                expected,
            } => write!(
                f,
                "{}tensor `{tensor}` has shape {shape:?}, expected {expected}",
                file(path)
            ),
            Error::BadMapping {
                path,
                token,
                value,
                rows,
            } => write!(
                f,
                "{}tensor `mapping` maps token {token} to row {value}, but `embeddings` has {rows} rows",
                file(path)
            ),
            Error::Config { path, message } => write!(f, "{}invalid config: {message}", file(path)),
            Error::Output { path, message } => write!(f, "{}: {message}", path.display()),
            Error::NotFound { name, message } => write!(f, "{}: {message}", name.display()),
            Error::NotCached { name, cache, hint } => write!(
                f,
                "{name} is not in the Hugging Face cache ({}): {hint}",
                cache.display()
            ),
            Error::Download { name, message } => write!(f, "downloading {name}: {message}"),
            Error::InvalidOption { option, message } => {
                write!(f, "invalid option `{option}`: {message}")
            }
        }
    }
}

/// The messages of `Io` and `Tokenizer` already include their cause, so `source` is
/// `None` for them: a caller printing the chain (`anyhow`'s `{:#}`) would otherwise
/// show the cause twice.
impl std::error::Error for Error {}

impl Error {
    /// Attaches a file path to an error produced while parsing bytes without one.
    pub(crate) fn with_path(mut self, p: &Path) -> Self {
        match &mut self {
            Error::Tokenizer { path, .. }
            | Error::Safetensors { path, .. }
            | Error::MissingTensor { path, .. }
            | Error::Dtype { path, .. }
            | Error::Shape { path, .. }
            | Error::BadMapping { path, .. }
            | Error::Config { path, .. } => {
                if path.is_none() {
                    *path = Some(p.to_path_buf());
                }
            }
            Error::Io { .. }
            | Error::File { .. }
            | Error::NoLayout { .. }
            | Error::Output { .. }
            | Error::NotFound { .. }
            | Error::NotCached { .. }
            | Error::Download { .. }
            | Error::InvalidOption { .. } => {}
        }
        self
    }
}
