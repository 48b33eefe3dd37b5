//! `m2v-hub`: Hugging Face hub I/O for m2v.
//!
//! Resolves hub ids (`ORG/NAME[@REVISION]`) to local snapshot folders in the standard
//! Hugging Face cache, the same layout Python `huggingface_hub` uses, so both share
//! downloads. It is the only library crate that may touch the network; `m2v-static`,
//! `m2v-teacher` and `m2v-reduce` receive folders or bytes from it (through `m2v-cli`).
//!
//! Principal items:
//! - [`HfCache`]: the cache folder and offline resolution ([`HfCache::snapshot`]).
//! - [`RepoId`]: a parsed `ORG/NAME[@REVISION]`.
//! - [`testing`]: where tests find the models `cargo xtask fetch` installs.
//! - [`Error`]: the crate's one error type.
//!
//! ```
//! let id = m2v_hub::RepoId::parse("minishlab/potion-base-8M").unwrap();
//! assert_eq!(id.folder_name(), "models--minishlab--potion-base-8M");
//! ```

mod cache;
mod error;
pub mod testing;

pub use crate::cache::{HfCache, RepoId, is_commit_hash};
pub use crate::error::Error;
