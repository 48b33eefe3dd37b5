//! PCA exactly as `model2vec.distill.inference.apply_pca` / `_pca_fit_transform` (0.10.0).

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::{Accum, Mat, MatRef, Par, Side};

use crate::error::{Error, check_shape};

/// Rows converted to `f64` at a time: bounds the extra memory to `BLOCK * cols` f64s.
const BLOCK: usize = 2048;

/// How many principal components to keep (`pca_dims` in the reference).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PcaDims {
    /// Keep `k` components (`k > cols` keeps all of them, with a note).
    Int(usize),
    /// The smallest `k` whose cumulative explained-variance ratio reaches this value,
    /// meant to lie in (0, 1). Like the reference, a value of 1 or more keeps all
    /// components, and a value above `cols` acts as `Int(cols)`.
    Float(f64),
    /// All components: rotate onto the principal axes without reducing (`"auto"`).
    Auto,
    /// No PCA: the data is returned unchanged (`None`).
    None,
}

impl std::fmt::Display for PcaDims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PcaDims::Int(k) => write!(f, "{k}"),
            PcaDims::Float(x) => write!(f, "{x}"),
            PcaDims::Auto => f.write_str("auto"),
            PcaDims::None => f.write_str("none"),
        }
    }
}

impl std::str::FromStr for PcaDims {
    type Err = Error;

    /// Parses `auto`, `none`, an integer (`256`) or a float (`0.9`), as the CLI takes them.
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        let bad = |reason| Error::InvalidPcaDims {
            value: s.to_owned(),
            reason,
        };
        match t.to_ascii_lowercase().as_str() {
            "auto" => return Ok(PcaDims::Auto),
            "none" => return Ok(PcaDims::None),
            _ => {}
        }
        if let Ok(k) = t.parse::<usize>() {
            if k == 0 {
                return Err(bad("must be at least 1"));
            }
            return Ok(PcaDims::Int(k));
        }
        match t.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Ok(PcaDims::Float(x)),
            Ok(_) => Err(bad("a float must be finite and > 0")),
            Err(_) => Err(bad("expected an integer, a float, auto or none")),
        }
    }
}

/// What [`pca`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct PcaResult {
    /// Row-major `rows x cols` scores (or the input unchanged when PCA was skipped).
    pub data: Vec<f32>,
    /// Rows (the input's).
    pub rows: usize,
    /// Columns: the number of components kept, or the input's when PCA was skipped.
    pub cols: usize,
    /// Whether PCA was applied (false for [`PcaDims::None`] and the `k >= rows` skip).
    pub applied: bool,
    /// Variance along each kept component (eigenvalues of the covariance, clipped at 0),
    /// descending. Empty when PCA was skipped.
    pub explained_variance: Vec<f64>,
    /// `explained_variance / total variance`, one per kept component. Empty when skipped.
    pub explained_variance_ratio: Vec<f64>,
    /// The reference's warnings (`pca_dims` larger than the columns; not applied
    /// because `pca_dims >= rows`), joined by a space; `None` when there was none.
    pub note: Option<String>,
    /// The fitted map, to project other rows the same way ([`PcaResult::project`]):
    /// the input's column means (empty when PCA was skipped).
    pub mean: Vec<f64>,
    /// The kept components with the output's signs applied, `input cols × cols`
    /// row-major (empty when PCA was skipped).
    pub components: Vec<f64>,
}

impl PcaResult {
    /// Projects `data` (rows of the fitted input's width) as the fitted rows were:
    /// `(x − mean) · components`, so `project(fitted input) == data` up to rounding.
    /// Without PCA, the rows are returned unchanged.
    pub fn project(&self, data: &[f32]) -> Result<Vec<f32>, Error> {
        if !self.applied {
            return Ok(data.to_vec());
        }
        let inp = self.mean.len();
        check_shape(data.len(), data.len() / inp.max(1), inp)?;
        let k = self.cols;
        let mut out = Vec::with_capacity(data.len() / inp * k);
        let mut acc = vec![0.0f64; k];
        for row in data.chunks_exact(inp) {
            acc.fill(0.0);
            for ((&x, &m), comp) in row
                .iter()
                .zip(&self.mean)
                .zip(self.components.chunks_exact(k))
            {
                let c = f64::from(x) - m;
                for (a, &v) in acc.iter_mut().zip(comp) {
                    *a += c * v;
                }
            }
            out.extend(acc.iter().map(|&a| a as f32));
        }
        Ok(out)
    }
}

/// The reference's `np.nan_to_num` applied to the teacher's output before PCA:
/// NaN becomes 0, +inf the largest finite `f32`, -inf the most negative.
pub fn nan_to_num(data: &mut [f32]) {
    for v in data {
        if v.is_nan() {
            *v = 0.0;
        } else if *v == f32::INFINITY {
            *v = f32::MAX;
        } else if *v == f32::NEG_INFINITY {
            *v = f32::MIN;
        }
    }
}

/// Resolved request: keep `Int(k)` components or pick by explained variance.
enum Keep {
    Count(usize),
    Ratio(f64),
}

/// PCA of a row-major `rows x cols` matrix, as the reference's `apply_pca(embeddings, pca_dims)`.
///
/// Decision (the reference's, in order): `None` returns the data unchanged; `Auto` means
/// `cols`; a request larger than `cols` becomes `cols` (with a note); a request `>= rows`
/// skips PCA entirely (with a note); otherwise:
///
/// 1. centre on the column mean; covariance `Xcᵀ Xc / (rows - 1)` accumulated in `f64`
///    (the reference works in `f32`; `f64` is the more accurate of the two);
/// 2. symmetric eigendecomposition (faer), eigenvalues descending and clipped at 0;
/// 3. `k`: as asked, or for [`PcaDims::Float`] `f` the smallest `k` with
///    `cumsum(eig)/sum(eig) >= f` (NumPy `searchsorted + 1`, capped at `cols`);
/// 4. scores `Xc · V_k`, computed in `f64` and rounded to `f32`;
/// 5. sign rule: in each score column, the entry with the largest absolute value (the first
///    one on ties) is made positive by flipping the whole column (`np.sign`, so an all-zero
///    column stays zero).
///
/// Errors: a shape mismatch, [`PcaDims::Int(0)`](PcaDims::Int) or a non-finite or
/// non-positive [`PcaDims::Float`] (the reference would return zero columns or one
/// component), fewer than 2 rows when PCA would run, or a failed eigendecomposition.
pub fn pca(data: &[f32], rows: usize, cols: usize, dims: PcaDims) -> Result<PcaResult, Error> {
    check_shape(data.len(), rows, cols)?;
    let unchanged = |note: Option<String>| PcaResult {
        data: data.to_vec(),
        rows,
        cols,
        applied: false,
        explained_variance: Vec::new(),
        explained_variance_ratio: Vec::new(),
        note,
        mean: Vec::new(),
        components: Vec::new(),
    };
    let keep = match dims {
        PcaDims::None => return Ok(unchanged(None)),
        PcaDims::Auto => Keep::Count(cols),
        PcaDims::Int(0) => {
            return Err(Error::InvalidPcaDims {
                value: "0".to_owned(),
                reason: "must be at least 1",
            });
        }
        PcaDims::Int(k) => Keep::Count(k),
        PcaDims::Float(x) if !(x.is_finite() && x > 0.0) => {
            return Err(Error::InvalidPcaDims {
                value: x.to_string(),
                reason: "a float must be finite and > 0",
            });
        }
        PcaDims::Float(x) => Keep::Ratio(x),
    };
    if cols == 0 {
        // Nothing to rotate (the reference would fail on the empty covariance).
        return Ok(unchanged(None));
    }
    let mut notes = Vec::new();
    // `if pca_dims > embeddings.shape[1]`: clamp (a float too, which becomes an int).
    let too_big = match keep {
        Keep::Count(k) => k > cols,
        Keep::Ratio(x) => x > cols as f64,
    };
    let keep = if too_big {
        notes.push(format!(
            "PCA dimension ({dims}) is larger than the number of dimensions in the embeddings ({cols}). \
             Applying PCA, but not reducing dimensionality."
        ));
        Keep::Count(cols)
    } else {
        keep
    };
    // `if pca_dims >= embeddings.shape[0]`: skip.
    let skip = match keep {
        Keep::Count(k) => k >= rows,
        Keep::Ratio(x) => x >= rows as f64,
    };
    if skip {
        let shown = match keep {
            Keep::Count(k) => k.to_string(),
            Keep::Ratio(x) => x.to_string(),
        };
        notes.push(format!(
            "PCA dimension ({shown}) is larger than the number of tokens in the vocabulary ({rows}). \
             Not applying PCA."
        ));
        return Ok(unchanged(Some(notes.join(" "))));
    }
    if rows < 2 {
        return Err(Error::TooFewRows { rows });
    }
    let note = (!notes.is_empty()).then(|| notes.join(" "));
    fit_transform(data, rows, cols, keep, note)
}

/// Column means of a row-major matrix, summed in `f64`.
fn column_mean(data: &[f32], rows: usize, cols: usize) -> Vec<f64> {
    let mut mean = vec![0.0f64; cols];
    for row in data.chunks_exact(cols) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v);
        }
    }
    for m in &mut mean {
        *m /= rows as f64;
    }
    mean
}

/// Copies rows `start..start+n` minus the mean into `buf` (row-major `n x cols`, f64).
fn centred_block(
    data: &[f32],
    cols: usize,
    mean: &[f64],
    start: usize,
    n: usize,
    buf: &mut Vec<f64>,
) {
    buf.clear();
    for row in data[start * cols..(start + n) * cols].chunks_exact(cols) {
        buf.extend(row.iter().zip(mean).map(|(&v, &m)| f64::from(v) - m));
    }
}

/// The reference's `_pca_fit_transform` (the caller has validated the request).
fn fit_transform(
    data: &[f32],
    rows: usize,
    cols: usize,
    keep: Keep,
    note: Option<String>,
) -> Result<PcaResult, Error> {
    let par = Par::rayon(0);
    let mean = column_mean(data, rows, cols);

    // Lower triangle of Xcᵀ Xc, accumulated block by block.
    let mut cov = Mat::<f64>::zeros(cols, cols);
    let mut buf = Vec::with_capacity(BLOCK.min(rows) * cols);
    let mut start = 0;
    while start < rows {
        let n = BLOCK.min(rows - start);
        centred_block(data, cols, &mean, start, n, &mut buf);
        let block = MatRef::from_row_major_slice(&buf, n, cols);
        triangular::matmul(
            cov.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Add,
            block.transpose(),
            BlockStructure::Rectangular,
            block,
            BlockStructure::Rectangular,
            1.0 / (rows as f64 - 1.0),
            par,
        );
        start += n;
    }

    let evd = cov
        .as_ref()
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| Error::NoConvergence { dim: cols })?;
    // faer: ascending. Reverse, clip at zero.
    let s = evd.S().column_vector();
    let eig: Vec<f64> = (0..cols).rev().map(|i| s[i].max(0.0)).collect();
    let total: f64 = eig.iter().sum();

    let k = match keep {
        Keep::Count(k) => k,
        Keep::Ratio(x) => {
            // np.searchsorted(cumsum / total, x) + 1 == (number of entries < x) + 1; a NaN
            // entry (total == 0) is never < x, as NumPy sorts NaN last.
            let mut acc = 0.0;
            let below = eig
                .iter()
                .take_while(|&&e| {
                    acc += e;
                    acc / total < x
                })
                .count();
            (below + 1).min(cols)
        }
    };

    // V_k: the eigenvectors of the k largest eigenvalues, as columns, descending.
    let u = evd.U();
    let v = Mat::<f64>::from_fn(cols, k, |i, j| u[(i, cols - 1 - j)]);

    let mut out = vec![0.0f32; rows * k];
    let mut best = vec![(0.0f64, 0.0f64); k]; // (max |score|, its signed value), first wins
    let mut scores = Mat::<f64>::zeros(BLOCK.min(rows), k);
    let mut start = 0;
    while start < rows {
        let n = BLOCK.min(rows - start);
        centred_block(data, cols, &mean, start, n, &mut buf);
        let block = MatRef::from_row_major_slice(&buf, n, cols);
        let mut dst = scores.as_mut().subrows_mut(0, n);
        matmul(dst.as_mut(), Accum::Replace, block, v.as_ref(), 1.0, par);
        for i in 0..n {
            let orow = &mut out[(start + i) * k..(start + i + 1) * k];
            for (j, (o, b)) in orow.iter_mut().zip(best.iter_mut()).enumerate() {
                let x = dst[(i, j)];
                if x.abs() > b.0 {
                    *b = (x.abs(), x);
                }
                *o = x as f32;
            }
        }
        start += n;
    }
    // np.sign of the largest-|score| entry; 0 (an all-zero column) zeroes the column.
    let signs: Vec<f32> = best
        .iter()
        .map(|&(_, x)| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        })
        .collect();
    for row in out.chunks_exact_mut(k) {
        for (o, &s) in row.iter_mut().zip(&signs) {
            *o *= s;
        }
    }

    let explained_variance = eig[..k].to_vec();
    let explained_variance_ratio = explained_variance.iter().map(|e| e / total).collect();
    let components = (0..cols)
        .flat_map(|i| (0..k).map(move |j| (i, j)))
        .map(|(i, j)| v[(i, j)] * f64::from(signs[j]))
        .collect();
    Ok(PcaResult {
        data: out,
        rows,
        cols: k,
        applied: true,
        explained_variance,
        explained_variance_ratio,
        note,
        mean,
        components,
    })
}
