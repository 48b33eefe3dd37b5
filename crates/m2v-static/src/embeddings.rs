//! [`Embeddings`]: the output of encoding, a contiguous row-major f32 matrix.

use std::mem::MaybeUninit;

/// A contiguous row-major `rows × dim` matrix of f32, one row per input text.
///
/// Invariant: `as_slice().len() == rows() * dim()`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Embeddings {
    data: Vec<f32>,
    rows: usize,
    dim: usize,
}

impl Embeddings {
    /// Wraps row-major data; `None` when `data.len() != rows * dim`.
    pub fn from_vec(data: Vec<f32>, rows: usize, dim: usize) -> Option<Self> {
        (rows.checked_mul(dim) == Some(data.len())).then_some(Embeddings { data, rows, dim })
    }

    /// A `rows × dim` matrix whose every value `fill` writes. Not zeroed first: a
    /// reused heap block would be cleared by `calloc` in a separate pass over memory
    /// (a measurable share of encoding time; see `docs/bench.md`, "Tuning notes").
    ///
    /// Invariant required of `fill`: it initializes every element of its argument
    /// (a panic inside it leaves nothing uninitialized visible: the matrix is dropped).
    pub(crate) fn filled_by(
        rows: usize,
        dim: usize,
        fill: impl FnOnce(&mut [MaybeUninit<f32>]),
    ) -> Self {
        let n = rows * dim;
        let mut data: Vec<f32> = Vec::with_capacity(n);
        let spare = &mut data.spare_capacity_mut()[..n];
        crate::mmap::advise_huge_pages(spare);
        fill(spare);
        // SAFETY: `fill` initialized the first `n` elements (the invariant above), and
        // `n` is within the capacity.
        unsafe { data.set_len(n) };
        Embeddings { data, rows, dim }
    }

    /// Number of rows (texts).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (the model's dimension).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// `true` when there is no row.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Row `i`.
    ///
    /// # Panics
    /// When `i >= rows()`, like slice indexing; see [`Embeddings::get`].
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// Row `i`, or `None` when out of range.
    pub fn get(&self, i: usize) -> Option<&[f32]> {
        if i < self.rows {
            self.data.get(i * self.dim..(i + 1) * self.dim)
        } else {
            None
        }
    }

    /// The rows in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[f32]> + '_ {
        (0..self.rows).map(move |i| &self.data[i * self.dim..(i + 1) * self.dim])
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// All values, row-major, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The row-major values.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }
}
