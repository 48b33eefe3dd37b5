//! The crate's one error type.
//!
//! Invariant: no variant ever holds a token; URLs in errors are built from the
//! endpoint and repository path only (tokens travel in headers, never in URLs).

use std::path::PathBuf;

/// Everything that can go wrong while resolving, downloading or uploading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hub id that is not `ORG/NAME[@REVISION]`.
    #[error("invalid hub id `{}`: {why}", crate::printable(id))]
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
    /// 401: the hub wants a (valid) token.
    #[error(
        "{url}: 401 unauthorized: {}; `{repo_id}` may also be private or not exist",
        if *.token_sent { "the token was rejected (wrong or expired)" } else { "no token was sent (set HF_TOKEN or pass --token)" }
    )]
    Unauthorized {
        /// The repository.
        repo_id: String,
        /// The URL (without credentials).
        url: String,
        /// Whether a token was sent.
        token_sent: bool,
    },
    /// 403: access denied, typically a gated repository whose terms were not accepted.
    #[error(
        "{url}: 403 forbidden: `{repo_id}` is gated or the token lacks permission{}",
        .message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default()
    )]
    Forbidden {
        /// The repository.
        repo_id: String,
        /// The URL (without credentials).
        url: String,
        /// The hub's `X-Error-Message`, if any.
        message: Option<String>,
    },
    /// 404 on the repository itself.
    #[error("repository `{repo_id}` not found on {endpoint}")]
    RepoNotFound {
        /// The repository.
        repo_id: String,
        /// The hub endpoint.
        endpoint: String,
    },
    /// 404 on a revision of an existing repository.
    #[error("revision `{revision}` not found in `{repo_id}`")]
    RevisionNotFound {
        /// The repository.
        repo_id: String,
        /// The revision asked for.
        revision: String,
    },
    /// A file the task needs is not in the repository at that revision.
    #[error("file `{path}` not found in `{repo_id}` at revision `{revision}`")]
    FileNotFound {
        /// The repository.
        repo_id: String,
        /// The revision (or commit).
        revision: String,
        /// The path inside the repository.
        path: String,
    },
    /// Any other HTTP error status (after retries for 5xx and 429).
    #[error("{method} {url}: HTTP {status}{}", .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Http {
        /// The HTTP method.
        method: &'static str,
        /// The URL (without credentials).
        url: String,
        /// The status code.
        status: u16,
        /// The hub's error message, if any.
        message: Option<String>,
    },
    /// The server could not be reached or the connection broke (after retries).
    #[error("{method} {url}: {reason} (after {attempts} attempts)")]
    Network {
        /// The HTTP method.
        method: &'static str,
        /// The URL (without credentials).
        url: String,
        /// What failed.
        reason: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// A downloaded file does not match its expected size or checksum (after retries);
    /// nothing was written to the cache.
    #[error("{url}: downloaded {what} mismatch: expected {expected}, got {actual}")]
    Verify {
        /// The URL of the file.
        url: String,
        /// `size`, `sha256` or `git sha1`.
        what: &'static str,
        /// The expected value.
        expected: String,
        /// What the download produced.
        actual: String,
    },
    /// The server answered something this client does not understand.
    #[error("{url}: unexpected response: {what}")]
    Protocol {
        /// The URL.
        url: String,
        /// What was wrong.
        what: String,
    },
    /// An upload needs a token and none was given.
    #[error("pushing to `{repo_id}` needs a token: set HF_TOKEN or pass --token")]
    TokenRequired {
        /// The repository.
        repo_id: String,
    },
    /// A folder to upload is unusable (missing, empty, or a name the hub refuses).
    #[error("{path}: cannot upload: {why}")]
    Upload {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// `true` for failures where the hub could not be reached or was down (connection
    /// errors, 5xx after retries): a complete cached snapshot may be used instead.
    pub fn is_unreachable(&self) -> bool {
        match self {
            Error::Network { .. } => true,
            Error::Http { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}
