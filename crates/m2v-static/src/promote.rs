//! Promotion: a memory-mapped table is copied into memory of the model's own once the
//! model has pooled enough tokens for the copy to pay for itself.
//!
//! Why: mapping makes loading fast (no copy, any table size), but a mapped table sits on
//! 4 KiB pages (the rows of a text are scattered over the whole table, so most rows
//! also miss the TLB) and wherever the file's header puts it (potion-base-8M's rows
//! start 24 bytes into a cache line: each 1 KiB row touches 17 lines and every 64-byte
//! load is split). The copy is dense (`stride == dim`), its first row 64-byte aligned,
//! on transparent huge pages where the OS offers them, and pooling from it measured
//! faster (see `docs/bench.md`, "Tuning notes").
//!
//! When: making the copy takes about as long as pooling about 32 tokens per table row
//! loses on the mapped table against the copy (measured on potion-base-8M; figures in
//! `docs/bench.md`). So the copy is made once the model has pooled
//! [`TOKENS_PER_ROW`] tokens per row: like renting skis until the rent paid equals the
//! price, this costs at most about twice what the best choice in hindsight costs, for
//! any amount of work. Tables smaller than [`MIN_BYTES`] are never copied (their pages
//! fit the TLB).
//!
//! Invariants relied on: the copy holds the same bytes per row as the mapping, and the
//! pooling kernels read rows in the same order whatever their address, so results are
//! bit-identical before and after the switch (tested). After the copy the mapping's
//! pages are released (`MADV_DONTNEED`): the table is then resident once, not twice. A
//! thread still reading the mapping refaults the pages from the unchanged file.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::buffer::Buffer;
use crate::mmap::Mapped;
use crate::table::{Lookup, Table};

/// Tokens pooled per table row before the copy is made (see the module doc).
pub(crate) const TOKENS_PER_ROW: usize = 32;

/// Tables below this size stay mapped.
pub(crate) const MIN_BYTES: usize = 8 << 20;

/// The promotion state of a model whose table is memory-mapped.
#[derive(Debug)]
pub(crate) struct Promotion {
    threshold: usize,
    pooled: AtomicUsize,
    claimed: AtomicBool,
    copy: OnceLock<Lookup>,
    mapped: Arc<Mapped>,
}

impl Promotion {
    /// `None` when `lookup`'s table is smaller than [`MIN_BYTES`].
    pub fn new(lookup: &Lookup, mapped: Arc<Mapped>) -> Option<Self> {
        let t = &lookup.table;
        if t.rows * t.dim * t.dtype.size() < MIN_BYTES {
            return None;
        }
        Some(Self::after(t.rows.saturating_mul(TOKENS_PER_ROW), mapped))
    }

    /// A promotion made once `threshold` tokens were pooled, whatever the table size.
    pub fn after(threshold: usize, mapped: Arc<Mapped>) -> Self {
        Promotion {
            threshold,
            pooled: AtomicUsize::new(0),
            claimed: AtomicBool::new(false),
            copy: OnceLock::new(),
            mapped,
        }
    }

    /// The copy, once made.
    #[inline]
    pub fn get(&self) -> Option<&Lookup> {
        self.copy.get()
    }

    /// Counts `tokens` about to be pooled; the call that crosses the threshold makes the
    /// copy of `base` (the others go on with `base` meanwhile, never waiting).
    pub fn note(&self, tokens: usize, base: &Lookup) -> Option<&Lookup> {
        if let Some(c) = self.copy.get() {
            return Some(c);
        }
        let before = self.pooled.fetch_add(tokens, Ordering::Relaxed);
        if before.saturating_add(tokens) >= self.threshold
            && !self.claimed.swap(true, Ordering::AcqRel)
        {
            let copy = Lookup {
                table: dense_aligned(&base.table),
                mapping: base.mapping.clone(),
                weights: base.weights.clone(),
            };
            let _ = self.copy.set(copy);
            self.mapped.release_resident();
        }
        self.copy.get()
    }
}

/// A copy of `t` with rows `dim` elements apart, the first one 64-byte aligned, in
/// memory advised onto huge pages.
pub(crate) fn dense_aligned(t: &Table) -> Table {
    let es = t.dtype.size();
    let row = t.dim * es;
    let len = t.rows * row;
    let (mut v, off) = crate::mmap::huge_aligned(len, 0);
    let src = t.buf.as_slice();
    let dst = &mut v[off..off + len];
    if t.stride == t.dim {
        if let Some(s) = src.get(t.start..t.start + len) {
            dst.copy_from_slice(s);
        }
    } else {
        for (r, d) in dst.chunks_exact_mut(row.max(1)).enumerate() {
            if let Some(s) = t.row(r) {
                d.copy_from_slice(s);
            }
        }
    }
    Table {
        buf: Buffer::owned_at(v, off, len),
        start: 0,
        rows: t.rows,
        stride: t.dim,
        dim: t.dim,
        dtype: t.dtype,
    }
}
