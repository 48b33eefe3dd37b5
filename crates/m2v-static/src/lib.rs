//! `m2v-static`: dependency-free inference for model2vec static embedding models.
//!
//! Loads a model2vec model (ours, Python `model2vec`'s, or a published potion/M2V model)
//! and encodes texts: tokenize with [`m2v_tokenize`], look up embedding rows, take the
//! (weighted) mean, optionally normalize. It is the crate most users depend on and sits
//! at the bottom of the stack next to `m2v-tokenize`: no third-party dependencies, no
//! threads or file I/O needed on the core path (wasm32-friendly).
//!
//! Principal items:
//! - [`Error`]: the crate's one error type.

mod error;

pub use crate::error::Error;
