//! `m2v-tokenize`: a dependency-free `tokenizer.json` engine.
//!
//! This crate turns text into token ids with the semantics of Hugging Face
//! `tokenizers`' `encode(text, add_special_tokens=false)`, without any third-party
//! dependency, so that [`m2v-static`](../m2v_static/index.html) can stay dependency-free
//! and portable (wasm32). It sits at the bottom of the m2v stack: `m2v-static` uses it to
//! tokenize at inference time, `m2v-teacher` to feed the transformer, and the distillation
//! driver in `m2v-cli` for vocabulary surgery.
//!
//! Principal items:
//! - [`json`]: a strict JSON parser with line/column errors, shared by the crates that
//!   read `tokenizer.json`, `config.json` and safetensors headers.
//! - [`Error`]: the crate's one error type.

mod error;
pub mod json;

pub use crate::error::Error;
