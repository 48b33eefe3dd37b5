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
    /// A JSON file could not be parsed or does not have the expected structure.
    #[error("{path}: {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde reported (with line and column).
        message: String,
    },
    /// A field has a value this crate does not support (an unknown activation, an
    /// unsupported architecture or module, ...).
    #[error("{path}: unsupported {field} `{value}`")]
    Unsupported {
        /// The file the value comes from.
        path: PathBuf,
        /// The field (e.g. `hidden_act`, `model_type`).
        field: String,
        /// The value found.
        value: String,
    },
    /// `config.json` names an architecture this crate has no module for.
    #[error(
        "{path}: unsupported model_type `{model_type}` (supported: {}); each architecture is one module behind the encoder trait of m2v-teacher",
        supported.join(", ")
    )]
    UnsupportedArchitecture {
        /// The `config.json`.
        path: PathBuf,
        /// Its `model_type`.
        model_type: String,
        /// The architectures that load.
        supported: &'static [&'static str],
    },
    /// A required field is missing or inconsistent with another.
    #[error("{path}: invalid field `{field}`: {message}")]
    InvalidField {
        /// The file.
        path: PathBuf,
        /// The field.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The safetensors file is malformed.
    #[error("{path}: malformed safetensors file: {message}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A `pytorch_model.bin` is malformed or in a format this crate does not read.
    #[error("{path}: unreadable pytorch_model.bin: {message}")]
    Pytorch {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A sentence-transformers module (e.g. `2_Dense`) could not be loaded.
    #[error("{path}: a module could not be loaded: {message}")]
    Module {
        /// The `modules.json` that lists it.
        path: PathBuf,
        /// What went wrong (naming the module's file).
        message: String,
    },
    /// A model folder has no checkpoint file this crate reads.
    #[error(
        "{dir}: no weights: expected model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json"
    )]
    NoWeights {
        /// The model folder.
        dir: PathBuf,
    },
    /// A tensor the architecture needs is not in the checkpoint.
    #[error("{path}: missing tensor `{name}`")]
    MissingTensor {
        /// The checkpoint.
        path: PathBuf,
        /// The checkpoint key (without the architecture prefix).
        name: String,
    },
    /// The checkpoint holds tensors the architecture does not use (a sign that it is a
    /// different model than `config.json` says).
    #[error("{path}: {} unused tensors, e.g. `{}`", names.len(), names.first().map(String::as_str).unwrap_or(""))]
    UnusedTensors {
        /// The checkpoint.
        path: PathBuf,
        /// Their keys.
        names: Vec<String>,
    },
    /// A tensor has the wrong shape.
    #[error("{path}: tensor `{name}` has shape {actual:?}, expected {expected:?}")]
    TensorShape {
        /// The checkpoint.
        path: PathBuf,
        /// The checkpoint key.
        name: String,
        /// The shape the architecture needs.
        expected: Vec<usize>,
        /// The shape in the file.
        actual: Vec<usize>,
    },
    /// A tensor has a dtype this crate cannot read.
    #[error("{path}: tensor `{name}` has unsupported dtype {dtype}")]
    TensorDtype {
        /// The checkpoint.
        path: PathBuf,
        /// The checkpoint key.
        name: String,
        /// The dtype in the header.
        dtype: String,
    },
    /// An input sequence cannot be run through the model.
    #[error("sequence {index}: {message}")]
    BadInput {
        /// Its index in the batch.
        index: usize,
        /// What is wrong (empty, too long, id out of range).
        message: String,
    },
    /// The GPU backend was requested but is not available.
    #[error("gpu device unavailable: {0}")]
    GpuUnavailable(String),
    /// The backend failed while running or reading back a tensor.
    #[error("backend: {0}")]
    Backend(String),
    /// Sentences were to be encoded but the folder has no usable tokenizer.
    #[error("{path}: no tokenizer: {message}")]
    NoTokenizer {
        /// The tokenizer file looked for.
        path: PathBuf,
        /// Why it is not available.
        message: String,
    },
    /// The tokenizer could not be loaded or failed.
    #[error("tokenizer: {0}")]
    Tokenizer(#[from] m2v_tokenize::Error),
}
