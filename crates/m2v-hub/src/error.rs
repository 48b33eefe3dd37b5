//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while resolving, downloading or uploading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hub id that is not `ORG/NAME[@REVISION]`.
    #[error("invalid hub id `{id}`: {why}")]
    InvalidId {
        /// The id as given.
        id: String,
        /// What was wrong.
        why: &'static str,
    },
    /// The model is not in the local cache (and the network was not used).
    #[error(
        "`{repo_id}` (revision `{revision}`) is not in the Hugging Face cache at {cache}; \
         {hint}"
    )]
    NotCached {
        /// The repository id.
        repo_id: String,
        /// The revision asked for.
        revision: String,
        /// The cache folder that was searched.
        cache: PathBuf,
        /// How to obtain the model.
        hint: String,
    },
    /// A cache file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}
