//! `m2v-train`: fine-tune a model2vec static model with a small MLP head, as Python
//! `model2vec.train` 0.10 does, and save the result as a pipeline that
//! `m2v_static::Pipeline` and Python's `StaticModelPipeline` both load.
//!
//! Tasks ([`Task`]): single- and multi-label classification (focal cross-entropy,
//! class weights), similarity (cosine loss to target vectors) and regression (mean
//! squared error). The embedding table, the token weights and the head are all trained;
//! [`fit`] follows the reference's loop (Adam, plateau halving, early stopping, best
//! checkpoint restored; see [`train`]).
//!
//! ```text
//! data (CSV/TSV/JSONL) ─▶ data::read ─▶ fit(model, train, val, task, options)
//!     ─▶ Trained ─▶ save_pipeline(dir) ─▶ m2v_static::Pipeline::predict
//! ```
//!
//! **Design decision: gradients by hand, not Burn.** The model is a weighted mean of
//! embedding rows and a few dense layers. Its backward pass is forty lines
//! ([`net::Net::backward`], checked against finite differences in the tests), and
//! writing it out lets a step touch only the rows a batch uses plus one fused Adam
//! pass over the table, where a tensor framework materialises a dense table-sized
//! gradient and several table-sized temporaries per step. Burn stays the teacher's
//! framework (`m2v-teacher`); training has no GPU path.
//!
//! Randomness (initialisation, split, shuffling, dropout) comes from one seed
//! ([`Options::seed`]); runs are reproducible, but do not draw the numbers PyTorch
//! draws, so results match the reference in distribution (accuracy), not bit for bit.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod data;
mod error;
pub mod loss;
pub mod net;
pub mod optim;
pub mod report;
pub mod rng;
pub mod split;
pub mod train;

pub use crate::data::{Columns, Data, Format, TargetKind, Targets};
pub use crate::error::Error;
pub use crate::train::{ClassWeight, Options, Progress, Task, Trained, fit};
