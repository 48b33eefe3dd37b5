//! `m2v-reduce`: the numeric steps of distillation on plain slices.
//!
//! PCA (as Python `model2vec` 0.10 computes it), Zipf/SIF weighting and quantization.
//! It receives the teacher's token embeddings as a row-major `&[f32]` plus a shape from
//! the distillation driver and knows nothing of Burn or tokenizers.
//!
//! Principal items:
//! - [`Error`]: the crate's one error type.

mod error;

pub use crate::error::Error;
