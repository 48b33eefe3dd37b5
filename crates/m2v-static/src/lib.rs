//! `m2v-static`: dependency-free inference for model2vec static embedding models.
//!
//! Loads a model2vec model (ours, Python `model2vec`'s, or a published potion/M2V model)
//! and encodes texts exactly as Python `model2vec` 0.10.0 does:
//!
//! ```text
//! text ─▶ cut to max_length × median token length (code points)
//!      ─▶ tokenize (no special tokens, truncate to max_length) ─▶ drop unk ids
//!      ─▶ rows E[mapping[id]] × weights[id] ─▶ mean (zero vector if none)
//!      ─▶ normalize v / (‖v‖ + 1e-32) in f32 (argument, else config, else false)
//! ```
//!
//! It sits at the bottom of the m2v stack, next to [`m2v_tokenize`] (which it uses to
//! tokenize) and below `m2v-cli` (the `encode`, `tokenize` and `inspect` commands) and
//! the benches. It has no third-party dependencies, does no network I/O (unless built
//! with the `download` feature), and its core
//! path needs neither threads nor files (wasm32-friendly: [`StaticModel::from_bytes`]).
//!
//! Principal items:
//! - [`StaticModel`]: load ([`StaticModel::from_pretrained`], [`StaticModel::load`],
//!   [`StaticModel::from_bytes`]) and encode ([`StaticModel::encode`],
//!   [`StaticModel::encode_with`], [`StaticModel::encode_single`],
//!   [`StaticModel::encode_as_sequence`], [`StaticModel::tokenize`]).
//! - [`LoadOptions`] (normalize, max_length, dimensionality, dtype) and
//!   [`EncodeOptions`] (max_length, normalize, batch size, threads).
//! - [`Embeddings`]: the output, a contiguous row-major f32 matrix.
//! - [`Buffer`]: the safetensors bytes, owned or borrowed without copying.
//! - [`safetensors`]: a strict reader and a writer for the format; [`Dtype`], the one
//!   dtype vocabulary of the workspace.
//! - [`save`]: the model2vec folder writer ([`StaticModel::save_pretrained`] and the
//!   distiller use it), atomic, byte-compatible with Python's `save_pretrained`.
//! - [`Pipeline`]: a trained pipeline (a model and an MLP [`Head`], Python 0.10's
//!   `head.safetensors` format): `predict`, `predict_proba` (see [`pipeline`]).
//! - [`Layout`]: the three folder layouts; [`Config`]: the model config.
//! - [`hub`]: hub ids (`"minishlab/potion-base-8M"`) resolved through the Hugging Face
//!   cache by reading files; downloads only with the opt-in `download` feature.
//! - [`Error`]: the crate's one error type.
//!
//! Key design decision: the embedding matrix is never converted at load time. The model
//! keeps the safetensors bytes (read once, or borrowed from the caller) and the hot
//! loop decodes F32/F16/BF16/F64/I8 rows on the fly while summing them into an f32
//! (or, where numpy uses one, f64) accumulator, so loading costs one read and an f16
//! model takes its file size in memory. Results are returned in f32 for every dtype;
//! f32 models match Python bit for bit up to the summation order numpy uses, f16 models
//! differ from Python's f16-rounded output by about 1e-3.
//!
//! ```
//! use m2v_static::{Embeddings, EncodeOptions, LoadOptions, StaticModel};
//! # fn demo(dir: &std::path::Path) -> Result<(), m2v_static::Error> {
//! let model = StaticModel::load(dir, &LoadOptions::new().normalize(true))?;
//! let e: Embeddings = model.encode(&["hello world", "static embeddings"]);
//! assert_eq!((e.rows(), e.dim()), (2, model.dim()));
//! let one = model.encode_with(&["hi"], &EncodeOptions::new().threads(1).max_length(Some(16)));
//! assert_eq!(one.row(0).len(), model.dim());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod buffer;
mod card;
mod config;
mod convert;
mod embeddings;
mod error;
mod files;
mod half;
pub mod hub;
mod kernels;
mod layout;
mod mmap;
mod model;
pub mod pipeline;
mod promote;
pub mod safetensors;
pub mod save;
mod scratch;
mod table;
mod tokenizer;

pub use crate::buffer::Buffer;
pub use crate::config::{Config, DEFAULT_MAX_LENGTH};
pub use crate::embeddings::Embeddings;
pub use crate::error::Error;
pub use crate::files::{MAX_CONFIG_BYTES, MAX_TOKENIZER_BYTES};
pub use crate::half::{bf16_to_f32, f16_to_f32, f32_to_f16, f64_to_f16};
pub use crate::kernels::{KernelLevel, kernel_level};
pub use crate::layout::Layout;
pub use crate::model::{EncodeOptions, EncodeScratch, LoadOptions, MAX_DIM, MAX_ROWS, StaticModel};
pub use crate::pipeline::{Activation, Head, Label, Layer, Pipeline, Prediction};
pub use crate::safetensors::Dtype;
