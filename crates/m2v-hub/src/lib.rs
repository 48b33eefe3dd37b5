//! `m2v-hub`: Hugging Face hub I/O for m2v.
//!
//! Resolves hub ids (`ORG/NAME[@REVISION]`) to local snapshot folders in the standard
//! Hugging Face cache, the same layout Python `huggingface_hub` uses, so both share
//! downloads; with the `net` feature it also downloads missing files and pushes model
//! folders. It is the only library crate that may touch the network; `m2v-static`,
//! `m2v-teacher` and `m2v-reduce` receive folders or bytes from it (through `m2v-cli`).
//!
//! Principal items:
//! - [`HfCache`]: the cache folder and offline resolution ([`HfCache::snapshot`],
//!   [`HfCache::lookup`] for the files a task needs).
//! - [`RepoId`]: a parsed `ORG/NAME[@REVISION]`; [`FileSelection`]: which files a task
//!   downloads ([`FileSelection::static_model`], [`FileSelection::teacher`]).
//! - [`Token`]: an access token whose `Debug` is redacted.
//! - `net` feature: [`Hub`] (endpoint, token, retries, offline flag; injectable for
//!   tests), [`Hub::download`], [`snapshot_or_download`] (what `m2v-cli` calls for a
//!   model argument), [`push_folder`] with [`PushOptions`] → [`CommitInfo`].
//! - [`testing`]: where tests find the models `cargo xtask fetch` installs;
//!   `test_server` (feature `test-server`, hidden): a local hub for tests.
//! - [`Error`]: the crate's one error type.
//!
//! # Design: our own client on `ureq`, not `hf-hub`
//! `hf-hub` 1.0 uploads but pulls reqwest, aws-lc-sys (a C/cmake build) and hf-xet
//! (3 min, 637 MB); `hf-hub` 0.5 is light but cannot upload, and neither exposes
//! the behaviour this crate must guarantee and test: `.incomplete` files renamed only
//! after size *and* hash verification, resume by `Range` after a broken body, bounded
//! retries whose delays tests can shrink, an injectable endpoint, cache and token (no
//! process environment in parallel tests), `HF_HUB_OFFLINE`, and precise 401/403/404
//! errors. The protocol is small (one JSON call, `HEAD`/`GET` per file, four calls to
//! push), so it is written here on `ureq` 3 (blocking, rustls with `ring`, webpki
//! roots; no OpenSSL, no cmake: `ring` compiles a few C/assembly files with the system
//! C compiler) plus `sha2`/`sha1` for verification, `serde_json` and `base64`: 47 crates,
//! about 80 s of CPU for a cold debug build. The whole network stack is the `net`
//! feature, off by default: the other crates depend on `m2v-hub` for the cache only
//! and never compile an HTTP client.
//!
//! Limits: uploads offer only the `basic` LFS transfer (one `PUT` per file, so files
//! up to the storage's single-request limit, 5 GB on the real hub) and never Xet;
//! downloads use plain HTTP `GET`s of the resolve or storage URL. Everything was tested
//! against the local test hub (and Python `huggingface_hub` against the same hub), not
//! against huggingface.co, which is unreachable from the machines this was built on.
//!
//! Invariants: a blob in the cache is complete and verified; a snapshot entry points
//! at an existing blob; `refs/<rev>` is written after the files; no error, log line or
//! `Debug` output of this crate contains the token, which is sent only to the
//! endpoint's own origin (never to a storage host a redirect points at). `ureq` logs
//! through the `log` crate with `Authorization` redacted up to `DEBUG`; its `TRACE`
//! level is a raw wire dump, so an application must not enable `TRACE` for `ureq`
//! (`m2v-cli` installs no logger at all).
//!
//! ```
//! let id = m2v_hub::RepoId::parse("minishlab/potion-base-8M").unwrap();
//! assert_eq!(id.folder_name(), "models--minishlab--potion-base-8M");
//! let files = m2v_hub::FileSelection::static_model();
//! assert!(files.matches("model.safetensors") && !files.matches("onnx/model.onnx"));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// The crate doc links the `net` items; without that feature they do not exist.
#![cfg_attr(not(feature = "net"), allow(rustdoc::broken_intra_doc_links))]

mod cache;
#[cfg(feature = "net")]
mod download;
mod error;
mod files;
#[cfg(feature = "net")]
mod http;
#[cfg(feature = "test-server")]
#[doc(hidden)]
pub mod test_server;
pub mod testing;
mod token;
#[cfg(feature = "net")]
mod upload;

pub use crate::cache::{HfCache, RepoId, is_commit_hash, printable, valid_revision};
#[cfg(feature = "net")]
pub use crate::download::{
    DEFAULT_ENDPOINT, Hub, ModelInfo, ProgressFn, offline_from_env, snapshot_or_download,
};
pub use crate::error::Error;
pub use crate::files::{Alternative, FileSelection};
#[cfg(feature = "net")]
pub use crate::http::Retry;
pub use crate::token::Token;
#[cfg(feature = "net")]
pub use crate::upload::{CommitInfo, PushOptions, push_folder};
