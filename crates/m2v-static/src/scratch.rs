//! The encoding threads' working memory ([`Scratch`], [`EncodeScratch`]) and the pool
//! a model keeps it in between calls ([`ScratchPool`]).
//!
//! Why a pool: `encode` runs its threads in `std::thread::scope`, so they live for one
//! call, and their thread-local tokenizer caches would start cold every time. Each
//! thread takes a scratch from the model's pool instead (warm from an earlier call when
//! there is one) and gives it back when the call ends. Results never depend on which
//! scratch a thread gets: the caches hold pure functions of their keys.

use std::fmt;
use std::sync::Mutex;

use m2v_tokenize::TokenizerScratch;

/// Reusable per-thread scratch space for pooling.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub ids: Vec<u32>,
    pub acc64: Vec<f64>,
    /// (byte offset of the row in the buffer, weight) of each token, in token order.
    pub rows: Vec<(usize, f32)>,
    /// Exact integer sums of unweighted I8 rows.
    pub acc_i32: Vec<i32>,
    /// Tokens pooled by single-text calls and not yet counted for promotion.
    pub pending: usize,
    /// The ids of a group of texts, back to back, and where each text's ids end.
    pub group_ids: Vec<u32>,
    pub group_ends: Vec<usize>,
}

/// Reusable scratch space for [`StaticModel::encode_into`] (token ids, accumulators).
/// `encode_into` tokenizes with the thread's own tokenizer cache; the second field is
/// the tokenizer working memory of the batch path's pooled scratches.
///
/// [`StaticModel::encode_into`]: crate::StaticModel::encode_into
#[derive(Debug, Default)]
pub struct EncodeScratch(pub(crate) Scratch, pub(crate) TokenizerScratch);

/// Scratches a model keeps between calls (one per encoding thread; each holds up to
/// about 1.4 MiB once used).
const MAX_SCRATCH: usize = 64;

/// Working memory of the encoding threads, kept between calls (at most
/// [`MAX_SCRATCH`]).
#[derive(Default)]
pub(crate) struct ScratchPool(Mutex<Vec<EncodeScratch>>);

impl fmt::Debug for ScratchPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ScratchPool {
    /// Working memory for one encoding thread, warm from an earlier call when there is
    /// one: scoped threads live for one call, so their thread-local tokenizer caches
    /// would start cold every time (with cold caches, two threads barely beat one for a
    /// Unigram model; see docs/bench.md, "Tuning notes").
    pub(crate) fn take(&self) -> EncodeScratch {
        let mut pool = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pool.pop().unwrap_or_default()
    }

    /// Returns `s` to the pool (keeping at most [`MAX_SCRATCH`]).
    pub(crate) fn give(&self, s: EncodeScratch) {
        let mut pool = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < MAX_SCRATCH {
            pool.push(s);
        }
    }
}
