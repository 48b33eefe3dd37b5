//! `m2v-teacher`: sentence-transformer teacher models in Burn.
//!
//! Loads a sentence-transformers folder (BERT or MPNet) and computes hidden states for
//! batches of token ids on a CPU backend or, with the `wgpu` feature, on a GPU. The
//! distillation driver in `m2v-cli` feeds it every vocabulary token; what crosses the
//! crate boundary is plain `Vec<f32>` plus a shape, so `m2v-reduce` and the CLI never see
//! Burn types. Tokenization comes from [`m2v_tokenize`].
//!
//! Principal items:
//! - [`Error`]: the crate's one error type.

mod error;

pub use crate::error::Error;
