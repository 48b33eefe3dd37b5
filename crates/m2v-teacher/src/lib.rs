//! `m2v-teacher`: sentence-transformer teacher models in Burn.
//!
//! Loads a sentence-transformers folder (BERT-shaped, MPNet, ModernBERT, or the decoders
//! Gemma 3 and Qwen 3) and computes hidden states for batches of token ids on Burn's
//! pure-Rust CPU backend (`flex`) or, with the `wgpu` feature, on a GPU chosen at run
//! time. The distillation driver in `m2v-cli` feeds it every vocabulary token framed by
//! the tokenizer's specials (`[CLS] tok [SEP]`, `<bos> tok <eos>`); what crosses the
//! crate boundary is plain `Vec<f32>` plus a shape, so `m2v-reduce` and the CLI never
//! see Burn types.
//! Tokenization comes from [`m2v_tokenize`].
//!
//! Principal items:
//! - [`Teacher`]: a loaded folder. [`Teacher::hidden_states`] gives
//!   `last_hidden_state` ([`Hidden`]) for a padded batch of ids,
//!   [`Teacher::encode_ids`] pooled rows for any number of sequences (sorted by
//!   length, batched, order restored, with a progress callback), and
//!   [`Teacher::encode_sentences`] the whole sentence-transformers pipeline.
//! - [`DeviceChoice`]: CPU (default) or GPU.
//! - [`Pooling`]: mean, first (CLS), last, max, mean/sqrt(len), pooler.
//! - [`ModelConfig`] and [`SentenceConfig`]: `config.json` and the
//!   sentence-transformers files, mirrored.
//! - [`Error`]: the crate's one error type; load errors name the file and field.
//!
//! Design: the weights are plain Burn tensors filled from `model.safetensors` through a
//! key table per architecture (`bert.rs`, `mpnet.rs`, `decoder.rs`, ...), and every
//! checkpoint tensor must be used. Inference runs Burn's functional ops (`linear`,
//! norms, fused `attention`); pooling is done on the host. Everything is fp32.
//!
//! ```no_run
//! use m2v_teacher::{DeviceChoice, Pooling, Teacher};
//!
//! let teacher = Teacher::load("path/to/all-MiniLM-L6-v2", DeviceChoice::Cpu)?;
//! // `[CLS] hello [SEP]` and `[CLS] world [SEP]`, as distillation feeds them.
//! let seqs = vec![vec![101, 7592, 102], vec![101, 2088, 102]];
//! let rows = teacher.encode_ids(&seqs, Pooling::Mean, 256, &mut |_, _| {})?;
//! assert_eq!(rows.len(), 2 * teacher.hidden_size());
//! # Ok::<(), m2v_teacher::Error>(())
//! ```

#![warn(missing_docs)]

mod alloc;
mod bert;
mod config;
mod decoder;
mod dense;
mod encoder;
mod error;
mod host;
mod modernbert;
mod mpnet;
mod nn;
mod pooling;
mod pytorch;
mod teacher;
mod text;
mod weights;

pub use crate::config::{DenseActivation, DenseModule, ModelConfig, SentenceConfig};
pub use crate::error::Error;
pub use crate::pooling::Pooling;
pub use crate::teacher::{DeviceChoice, Hidden, Teacher};
