//! [`Embeddings`]: the output of encoding, a contiguous row-major f32 matrix.

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

    /// A `rows × dim` matrix of zeros.
    pub(crate) fn zeros(rows: usize, dim: usize) -> Self {
        let mut data = vec![0.0; rows * dim];
        crate::mmap::advise_huge_pages(&mut data);
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
