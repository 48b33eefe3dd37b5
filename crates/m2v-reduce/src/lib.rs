//! `m2v-reduce`: the numeric steps of distillation on plain slices.
//!
//! After the teacher (`m2v-teacher`) has produced one `f32` vector per token, the
//! distillation driver (`m2v-distill`) hands the row-major matrix and its shape to
//! this crate, which does what Python `model2vec` 0.10.0 does next (steps 7-10 of
//! "Distillation" in `docs/REFERENCE.md`), and hands back plain bytes for the
//! safetensors writer. It knows nothing of Burn, tokenizers or files; it uses
//! `m2v-static` (dependency-free) only for the dtype and the f16 conversion.
//!
//! 1. [`nan_to_num`]: the reference's clean-up of the teacher output.
//! 2. [`pca`] with [`PcaDims`] → [`PcaResult`]: centre, covariance in `f64`, symmetric
//!    eigendecomposition (faer), descending components, scores, the max-|score| sign rule,
//!    and the reference's clamps and skips (reported in [`PcaResult::note`]).
//! 3. [`sif_weights`] / [`compute_weights`]: Zipf/SIF weights per token id (ones without
//!    SIF), bit-identical to the reference's `f64`.
//! 4. [`quantize_weighted`] with those weights (multiplied in `f64` and rounded once, as the
//!    reference's default path; pass the ones too when SIF is off, the reference still
//!    multiplies) → [`Quantized`] bytes in an [`m2v_static::Dtype`] (the workspace's one
//!    dtype vocabulary). [`quantize`] casts an unweighted `f32` matrix (the
//!    vocabulary-quantization path). The f16 rounding is `m2v-static`'s
//!    ([`m2v_static::f32_to_f16`], [`m2v_static::f64_to_f16`]); [`apply_weights`]
//!    multiplies in place when only `f32` output is wanted.
//! 5. Optionally [`vocabulary_quantize`] ([`KMeansOptions`] → [`VocabularyQuantization`]):
//!    k-means on the pre-PCA vectors; the driver then runs [`pca`] on the centres,
//!    [`quantize`]s them and stores `mapping` (I32) and `weights` (F64).
//!
//! Key decision: PCA is covariance + eigendecomposition on faer, as the reference does
//! (`np.linalg.eigh`), not an iterative solver: under a second on a 30000x768 matrix, and
//! the explained-variance figures mean what the reference's mean. Accumulating in `f64`
//! makes our scores closer to the exact PCA than the reference's own `f32` ones.
//!
//! The default path of the driver, as the reference's `distill_from_model`:
//!
//! ```
//! use m2v_reduce::{PcaDims, compute_weights, pca, quantize_weighted};
//! use m2v_static::Dtype;
//!
//! # fn main() -> Result<(), m2v_reduce::Error> {
//! let (rows, cols) = (6, 3);
//! let teacher: Vec<f32> = (0..rows * cols).map(|i| ((i * 7) % 5) as f32 - 2.0).collect();
//! let reduced = pca(&teacher, rows, cols, PcaDims::Int(2))?;
//! assert_eq!((reduced.rows, reduced.cols), (6, 2));
//! let weights = compute_weights(rows, Some(1e-4))?; // None: ones
//! let tensor = quantize_weighted(&reduced.data, reduced.rows, reduced.cols, &weights, Dtype::F16)?;
//! assert_eq!(tensor.shape, [6, 2]);
//! assert_eq!(tensor.bytes.len(), 6 * 2 * 2);
//! assert_eq!(tensor.dtype.name(), "F16");
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod kmeans;
mod pca;
mod quantize;
mod sif;

pub use crate::error::Error;
pub use crate::kmeans::{
    Clustering, KMeansInit, KMeansOptions, VocabularyQuantization, kmeans, vocabulary_quantize,
};
pub use crate::pca::{PcaDims, PcaResult, nan_to_num, pca};
pub use crate::quantize::{Quantized, quantize, quantize_weighted};
pub use crate::sif::{apply_weights, compute_weights, sif_weights};
