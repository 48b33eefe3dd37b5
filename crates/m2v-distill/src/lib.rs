//! `m2v-distill`: turn a sentence transformer into a model2vec static model.
//!
//! The distillation driver, as Python `model2vec` 0.10.0's `distill_from_model` (see
//! `docs/REFERENCE.md`, "Distillation"): teacher folder → vocabulary surgery
//! ([`m2v_tokenize::distill_vocabulary`]) → teacher inputs → teacher forward pass
//! ([`m2v_teacher`]) → PCA → SIF weights → quantization ([`m2v_reduce`]) → a model
//! that [`m2v_static`] saves ([`Distilled::save_pretrained`]) or encodes with
//! ([`Distilled::to_static_model`]). [`convert`] re-saves an existing model with
//! Python's `quantize_model` options made permanent.
//!
//! It sits above the teacher, the reductions, the tokenizer and the format owner, and
//! below `m2v-cli` (`distill` and `convert` are argument parsing plus a call here).
//!
//! Principal items:
//! - [`DistillOptions`] (plain fields, the reference's defaults from
//!   [`DistillOptions::new`]), [`distill`] → [`Distilled`] with its [`Summary`].
//! - The stages, for callers that reuse a teacher output: [`prepare`] → [`Prepared`],
//!   [`Prepared::run_teacher`] → [`TeacherOutput`], [`Prepared::finish`].
//! - [`Progress`] for the long forward pass ([`Quiet`] for none).
//! - [`convert`] with [`ConvertOptions`].
//! - [`Error`]: the crate's one error type.
//!
//! Key decision: the stages are public so that a test (or a sweep over PCA sizes)
//! runs the teacher once and reduces its output many times; there is no hidden cache.
//!
//! ```no_run
//! use m2v_distill::{DistillOptions, Quiet, distill};
//!
//! # fn main() -> Result<(), m2v_distill::Error> {
//! let opts = DistillOptions::new("path/to/all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2");
//! let model = distill(&opts, &Quiet)?;
//! model.save_pretrained("my-static-model")?;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod convert;
mod distill;
mod error;
mod inputs;
mod pretrain;
mod transformers;

pub use crate::convert::{ConvertOptions, convert};
pub use crate::distill::{
    BATCH_SIZE, DEFAULT_REMOVE_PATTERN, DistillOptions, Distilled, GPU_BATCH_SIZE, Prepared,
    Progress, Quiet, Summary, TeacherOutput, compile_pattern, distill, prepare,
};
pub use crate::error::Error;
pub use crate::pretrain::{
    CorpusOptions, MAX_CORPUS_BYTES, PretrainSummary, Stage, distill_pretrained, featurize,
    read_corpus,
};
pub use m2v_reduce::PcaDims;
pub use m2v_teacher::{DeviceChoice as Device, Pooling};
pub use m2v_train::{Options as TrainOptions, Progress as TrainProgress};
