//! The stored embedding matrix and the row kernels of the hot loop.
//!
//! A [`Table`] is a view of `rows × dim` elements inside a [`Buffer`], in the stored
//! dtype, with a row stride of `stride ≥ dim` elements (the stride is larger than `dim`
//! after a Matryoshka-style dimensionality truncation, which is therefore free).
//!
//! Accumulation follows numpy, so that f32 models give the same bits as Python
//! model2vec: rows are added in token order into an f32 accumulator for F32/F16/BF16
//! tables (numpy's `mean` accumulates f16 in f32), into an f64 one for F64 tables and for
//! I8 tables without weights (numpy's `mean` of integers is f64). With `weights`, each
//! row is multiplied by its weight first, in the promoted dtype of numpy's
//! `emb * weights[:, None]` (f32 for I8/F16/F32 rows with F32 weights, f64 with F64
//! weights), then summed.

use std::mem::MaybeUninit;
use std::sync::Arc;

use crate::buffer::Buffer;
use crate::half::{bf16_to_f32, f16_to_f32};
use crate::safetensors::Dtype;

/// A stored embedding matrix. Invariant (checked where it is built):
/// `start + ((rows - 1) * stride + dim) * dtype.size() <= buf.len()` when `rows > 0`,
/// `dim <= stride`, and `dtype` is one of F32, F16, BF16, F64, I8.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub buf: Buffer,
    pub start: usize,
    pub rows: usize,
    pub stride: usize,
    pub dim: usize,
    pub dtype: Dtype,
}

/// The dtypes an embedding matrix may have.
pub(crate) const TABLE_DTYPES: &str = "F32, F16, BF16, F64 or I8";

pub(crate) fn is_table_dtype(d: Dtype) -> bool {
    matches!(
        d,
        Dtype::F32 | Dtype::F16 | Dtype::BF16 | Dtype::F64 | Dtype::I8
    )
}

impl Table {
    /// The bytes of row `r` (its first `dim` elements), `None` when out of range.
    #[inline(always)]
    pub fn row(&self, r: usize) -> Option<&[u8]> {
        if r >= self.rows {
            return None;
        }
        let es = self.dtype.size();
        let s = self.start + r * self.stride * es;
        self.buf.as_slice().get(s..s + self.dim * es)
    }

    /// Decodes row `r` into `out` (`dim` values); `false` when `r` is out of range.
    pub fn decode_row(&self, r: usize, out: &mut [f32]) -> bool {
        let Some(row) = self.row(r) else { return false };
        match self.dtype {
            Dtype::F32 => F32::decode(out, row),
            Dtype::F16 => F16::decode(out, row),
            Dtype::BF16 => BF16::decode(out, row),
            Dtype::F64 => F64::decode(out, row),
            _ => I8::decode(out, row),
        }
        true
    }
}

/// Per-token weights, kept in their precision class.
#[derive(Debug, Clone)]
pub(crate) enum Weights {
    /// F32 or F16 weights (F16 widened exactly).
    F32(Arc<[f32]>),
    /// F64 weights.
    F64(Arc<[f64]>),
}

/// Everything needed to turn token ids into rows: the table, the optional
/// token → row mapping and the optional per-token weights. Invariant: every mapping
/// entry is `< table.rows`; `mapping` and `weights`, when present, have one entry per
/// token id of the vocabulary.
#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    pub table: Table,
    pub mapping: Option<Arc<[u32]>>,
    pub weights: Option<Weights>,
}

/// Row decoding for one stored dtype.
trait Row: 'static {
    fn get(c: &[u8], j: usize) -> f32;
    fn add(acc: &mut [f32], row: &[u8]);
    fn add_scaled(acc: &mut [f32], row: &[u8], w: f32);
    fn add64(acc: &mut [f64], row: &[u8]);
    fn add64_scaled(acc: &mut [f64], row: &[u8], w: f64);
    fn decode(out: &mut [f32], row: &[u8]);
    /// Bytes per element.
    const SIZE: usize;
}

macro_rules! row_impl {
    ($name:ident, $n:literal, $conv:expr, $conv64:expr) => {
        struct $name;
        impl Row for $name {
            const SIZE: usize = $n;
            #[inline(always)]
            fn get(c: &[u8], j: usize) -> f32 {
                let (chunks, _) = c.as_chunks::<$n>();
                chunks.get(j).map_or(0.0, |b| $conv(*b))
            }
            #[inline(always)]
            fn add(acc: &mut [f32], row: &[u8]) {
                for (a, b) in acc.iter_mut().zip(row.as_chunks::<$n>().0) {
                    *a += $conv(*b);
                }
            }
            #[inline(always)]
            fn add_scaled(acc: &mut [f32], row: &[u8], w: f32) {
                for (a, b) in acc.iter_mut().zip(row.as_chunks::<$n>().0) {
                    *a += $conv(*b) * w;
                }
            }
            #[inline(always)]
            fn add64(acc: &mut [f64], row: &[u8]) {
                for (a, b) in acc.iter_mut().zip(row.as_chunks::<$n>().0) {
                    *a += $conv64(*b);
                }
            }
            #[inline(always)]
            fn add64_scaled(acc: &mut [f64], row: &[u8], w: f64) {
                for (a, b) in acc.iter_mut().zip(row.as_chunks::<$n>().0) {
                    *a += $conv64(*b) * w;
                }
            }
            #[inline(always)]
            fn decode(out: &mut [f32], row: &[u8]) {
                for (o, b) in out.iter_mut().zip(row.as_chunks::<$n>().0) {
                    *o = $conv(*b);
                }
            }
        }
    };
}

row_impl!(F32, 4, |b: [u8; 4]| f32::from_le_bytes(b), |b: [u8; 4]| {
    f64::from(f32::from_le_bytes(b))
});
row_impl!(
    F16,
    2,
    |b: [u8; 2]| f16_to_f32(u16::from_le_bytes(b)),
    |b: [u8; 2]| f64::from(f16_to_f32(u16::from_le_bytes(b)))
);
row_impl!(
    BF16,
    2,
    |b: [u8; 2]| bf16_to_f32(u16::from_le_bytes(b)),
    |b: [u8; 2]| f64::from(bf16_to_f32(u16::from_le_bytes(b)))
);
row_impl!(
    F64,
    8,
    |b: [u8; 8]| f64::from_le_bytes(b) as f32,
    |b: [u8; 8]| f64::from_le_bytes(b)
);
row_impl!(
    I8,
    1,
    |b: [u8; 1]| f32::from(i8::from_le_bytes(b)),
    |b: [u8; 1]| f64::from(i8::from_le_bytes(b))
);

/// Rows ahead of the current one that the register paths prefetch; `encode` prefetches
/// this many first rows of the next text, which the summing of that text does not.
pub(crate) const AHEAD: usize = 6;

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

impl Lookup {
    /// `true` when sums are accumulated in f64 (see the module doc).
    fn accumulates_in_f64(&self) -> bool {
        matches!(
            (&self.weights, self.table.dtype),
            (Some(Weights::F64(_)), _) | (_, Dtype::F64) | (None, Dtype::I8)
        )
    }

    /// [`Lookup::pool`] without normalization.
    #[cfg(test)]
    pub fn mean(&self, ids: &[u32], out: &mut [f32], s: &mut Scratch) {
        self.pool(ids, out, s, false);
    }

    /// Writes the mean of the (weighted) rows of `ids` into `out` (`dim` values): a
    /// zero vector when no id has a row. Ids without a row (never produced by a valid
    /// model's tokenizer) are skipped. Then [`normalize`]s it when `normalize` is set,
    /// in the same pass where the row fits in vector registers.
    #[inline]
    pub fn pool(&self, ids: &[u32], out: &mut [f32], s: &mut Scratch, normalize: bool) {
        // SAFETY: `MaybeUninit<f32>` has the layout of `f32`, and `pool_uninit` only
        // writes initialized values, so `out` stays initialized.
        let out = unsafe { &mut *(out as *mut [f32] as *mut [MaybeUninit<f32>]) };
        self.pool_uninit(ids, out, s, normalize);
    }

    /// [`Lookup::pool`] into a row that may be uninitialized; returns it initialized.
    /// The whole-row AVX-512 path stores the result straight from registers; the other
    /// paths zero the row first.
    #[inline]
    pub fn pool_uninit<'o>(
        &self,
        ids: &[u32],
        out: &'o mut [MaybeUninit<f32>],
        s: &mut Scratch,
        normalize: bool,
    ) -> &'o mut [f32] {
        let (out, fused) = match self.table.dtype {
            Dtype::F32 => self.mean_typed::<F32>(ids, out, s, normalize),
            Dtype::F16 => self.mean_typed::<F16>(ids, out, s, normalize),
            Dtype::BF16 => self.mean_typed::<BF16>(ids, out, s, normalize),
            Dtype::F64 => self.mean_typed::<F64>(ids, out, s, normalize),
            _ => self.mean_typed::<I8>(ids, out, s, normalize),
        };
        if normalize && !fused {
            self::normalize(out);
        }
        out
    }

    /// Hints the CPU to start loading the rows of `ids` (no effect on results).
    #[inline]
    pub fn prefetch(&self, ids: &[u32]) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let t = &self.table;
            let es = t.dtype.size();
            let bytes = t.buf.as_slice();
            let len = t.dim * es;
            for &id in ids {
                let Some(r) = self.row_index(id) else {
                    continue;
                };
                let p = bytes.as_ptr().wrapping_add(t.start + r * t.stride * es);
                let mut o = 0;
                while o < len {
                    // SAFETY: a prefetch is only a hint: it reads nothing the program
                    // sees and cannot fault, whatever the address.
                    unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(o).cast()) };
                    o += 64;
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = ids;
    }

    #[inline(always)]
    fn row_of(&self, id: u32) -> Option<&[u8]> {
        self.table.row(self.row_index(id)?)
    }

    /// The table row of a token id (through the mapping, if any); `None` when the id
    /// has no row.
    #[inline(always)]
    fn row_index(&self, id: u32) -> Option<usize> {
        let r = match &self.mapping {
            None => id as usize,
            Some(m) => *m.get(id as usize)? as usize,
        };
        (r < self.table.rows).then_some(r)
    }

    /// Returns `out`, initialized, and `true` when it also normalized it (only asked
    /// when `normalize`).
    #[inline(always)]
    fn mean_typed<'o, R: Row>(
        &self,
        ids: &[u32],
        out: &'o mut [MaybeUninit<f32>],
        s: &mut Scratch,
        normalize: bool,
    ) -> (&'o mut [f32], bool) {
        let mut n = 0usize;
        // (More ids than 2^23 could overflow the i32 sums: those take the f64 path.)
        if self.table.dtype == Dtype::I8 && self.weights.is_none() && ids.len() < 1 << 23 {
            #[cfg(target_arch = "x86_64")]
            let out = match self.try_pool_i8(ids, out, s, normalize) {
                Ok(done) => return done,
                Err(out) => out,
            };
            let out = zeroed(out);
            self.mean_i8_exact(ids, out, s);
            return (out, false);
        }
        let acc64 = &mut s.acc64;
        if self.accumulates_in_f64() {
            let out = zeroed(out);
            acc64.clear();
            acc64.resize(out.len(), 0.0);
            for &id in ids {
                let Some(row) = self.row_of(id) else { continue };
                match &self.weights {
                    None => R::add64(acc64, row),
                    Some(Weights::F64(w)) => {
                        R::add64_scaled(acc64, row, w.get(id as usize).copied().unwrap_or(0.0))
                    }
                    Some(Weights::F32(w)) => R::add64_scaled(
                        acc64,
                        row,
                        f64::from(w.get(id as usize).copied().unwrap_or(0.0)),
                    ),
                }
                n += 1;
            }
            if n == 0 {
                return (out, false);
            }
            let d = n as f64;
            for (o, a) in out.iter_mut().zip(acc64.iter()) {
                *o = (*a / d) as f32;
            }
            (out, false)
        } else {
            // Resolve every token to its row and weight first, then sum the rows in
            // column tiles (see `sum_tiles`).
            let rows = &mut s.rows;
            rows.clear();
            let es = R::SIZE;
            let t = &self.table;
            for &id in ids {
                let Some(r) = self.row_index(id) else {
                    continue;
                };
                let w = match &self.weights {
                    None => 1.0,
                    Some(Weights::F32(w)) => w.get(id as usize).copied().unwrap_or(0.0),
                    Some(Weights::F64(w)) => w.get(id as usize).copied().unwrap_or(0.0) as f32,
                };
                rows.push((t.start + r * t.stride * es, w));
            }
            n = rows.len();
            if n == 0 {
                return (zeroed(out), false);
            }
            let bytes = t.buf.as_slice();
            let weighted = self.weights.is_some();
            #[cfg(target_arch = "x86_64")]
            let out = match avx512::try_pool::<R>(bytes, rows, weighted, normalize, out) {
                Ok(done) => return done,
                Err(out) => out,
            };
            let out = zeroed(out);
            sum_tiles_dispatch::<R>(bytes, rows, weighted, out);
            divide_by_count(out, n);
            (out, false)
        }
    }

    /// Unweighted I8 rows: numpy sums them in f64, where every partial sum of integers
    /// is exact, so summing in i32 (exact below 2^23 rows of |v| <= 128; the caller
    /// checks) and converting once gives the same f64 sums, then the same division and
    /// rounding.
    fn mean_i8_exact(&self, ids: &[u32], out: &mut [f32], s: &mut Scratch) {
        #[cfg(target_arch = "x86_64")]
        {
            if avx512::has_bw() {
                // SAFETY: the CPU supports AVX-512F/BW (checked just above).
                unsafe { self.mean_i8_exact_avx512(ids, out, s) };
                return;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                unsafe { self.mean_i8_exact_avx2(ids, out, s) };
                return;
            }
        }
        self.mean_i8_exact_generic(ids, out, s);
    }

    /// [`Lookup::mean_i8_exact`] with 16 lanes of widening adds (integer sums: the
    /// same result on every path).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn mean_i8_exact_avx512(&self, ids: &[u32], out: &mut [f32], s: &mut Scratch) {
        self.mean_i8_exact_generic(ids, out, s);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn mean_i8_exact_avx2(&self, ids: &[u32], out: &mut [f32], s: &mut Scratch) {
        self.mean_i8_exact_generic(ids, out, s);
    }

    #[inline(always)]
    fn mean_i8_exact_generic(&self, ids: &[u32], out: &mut [f32], s: &mut Scratch) {
        let dim = out.len();
        let acc = &mut s.acc_i32;
        acc.clear();
        acc.resize(dim, 0);
        let mut n = 0usize;
        for &id in ids {
            let Some(row) = self.row_of(id) else { continue };
            for (a, &b) in acc.iter_mut().zip(row) {
                *a += i32::from(b as i8);
            }
            n += 1;
        }
        if n == 0 {
            out.fill(0.0);
            return;
        }
        let d = n as f64;
        for (o, &a) in out.iter_mut().zip(acc.iter()) {
            *o = (f64::from(a) / d) as f32;
        }
    }

    /// Unweighted I8 rows of 64, 128 or 256 columns pooled in AVX-512 registers (see
    /// [`avx512::try_pool_i8`]); `Err(out)` untouched where that path does not apply.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[allow(clippy::type_complexity)]
    fn try_pool_i8<'o>(
        &self,
        ids: &[u32],
        out: &'o mut [MaybeUninit<f32>],
        s: &mut Scratch,
        normalize: bool,
    ) -> Result<(&'o mut [f32], bool), &'o mut [MaybeUninit<f32>]> {
        if !matches!(out.len(), 64 | 128 | 256) || !avx512::has_bw() {
            return Err(out);
        }
        let rows = &mut s.rows;
        rows.clear();
        let t = &self.table;
        for &id in ids {
            if let Some(r) = self.row_index(id) {
                rows.push((t.start + r * t.stride, 1.0));
            }
        }
        if rows.is_empty() {
            return Ok((zeroed(out), false));
        }
        avx512::try_pool_i8(t.buf.as_slice(), rows, normalize, out)
    }

    /// The (weighted) row of one token id, as `encode_as_sequence` returns it; `false`
    /// when the id has no row.
    pub fn token_row(&self, id: u32, out: &mut [f32]) -> bool {
        let Some(r) = self.row_index(id) else {
            return false;
        };
        if !self.table.decode_row(r, out) {
            return false;
        }
        match &self.weights {
            None => {}
            Some(Weights::F32(w)) => {
                let w = w.get(id as usize).copied().unwrap_or(0.0);
                out.iter_mut().for_each(|x| *x *= w);
            }
            Some(Weights::F64(w)) => {
                let w = w.get(id as usize).copied().unwrap_or(0.0);
                let Some(row) = self.table.row(r) else {
                    return false;
                };
                for (j, x) in out.iter_mut().enumerate() {
                    let v = match self.table.dtype {
                        Dtype::F64 => {
                            let (c, _) = row.as_chunks::<8>();
                            c.get(j).map_or(0.0, |b| f64::from_le_bytes(*b))
                        }
                        Dtype::F16 => f64::from(F16::get(row, j)),
                        Dtype::BF16 => f64::from(BF16::get(row, j)),
                        Dtype::I8 => f64::from(I8::get(row, j)),
                        _ => f64::from(F32::get(row, j)),
                    };
                    *x = (v * w) as f32;
                }
            }
        }
        true
    }
}

/// Columns summed per pass over a text's rows: the partial sums of one tile stay in
/// vector registers (64 f32 = 4 AVX-512 or 8 AVX2 registers) while every row adds its
/// slice, instead of loading and storing the whole accumulator once per row.
const TILE: usize = 64;

/// `out[j] = Σ_rows w·row[j]` (or `Σ row[j]` when not `weighted`), each column summed
/// in row order from 0.0 in f32, exactly as adding one row at a time would: tiling
/// changes which columns are in flight, never the order of additions within a column,
/// and no multiply is fused with an add. So the result is bit-identical to the scalar
/// loop on every CPU. Rows are `(byte offset, weight)` into `bytes`; each holds
/// `out.len()` elements (checked by the caller's table invariant).
#[inline(always)]
fn sum_tiles<R: Row>(bytes: &[u8], rows: &[(usize, f32)], weighted: bool, out: &mut [f32]) {
    let es = R::SIZE;
    let dim = out.len();
    let mut j = 0;
    while j + TILE <= dim {
        let mut acc = [0.0f32; TILE];
        for &(off, w) in rows {
            let Some(b) = bytes.get(off + j * es..off + (j + TILE) * es) else {
                continue;
            };
            if weighted {
                R::add_scaled(&mut acc, b, w);
            } else {
                R::add(&mut acc, b);
            }
        }
        out[j..j + TILE].copy_from_slice(&acc);
        j += TILE;
    }
    sum_tail::<R>(bytes, rows, weighted, out, j);
}

/// The columns `from..` of [`sum_tiles`], in one pass per row.
#[inline(always)]
fn sum_tail<R: Row>(
    bytes: &[u8],
    rows: &[(usize, f32)],
    weighted: bool,
    out: &mut [f32],
    from: usize,
) {
    let es = R::SIZE;
    let dim = out.len();
    if from >= dim {
        return;
    }
    let rest = &mut out[from..];
    rest.fill(0.0);
    for &(off, w) in rows {
        let Some(b) = bytes.get(off + from * es..off + dim * es) else {
            continue;
        };
        if weighted {
            R::add_scaled(rest, b, w);
        } else {
            R::add(rest, b);
        }
    }
}

/// [`sum_tiles`] for F16 rows with the F16C conversion instruction, over whole tiles
/// (`out.len()` is a multiple of [`TILE`]). `vcvtph2ps` is exact, and the multiply and
/// add stay separate instructions, so the bits equal the scalar path's.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
fn sum_f16_f16c(bytes: &[u8], rows: &[(usize, f32)], weighted: bool, out: &mut [f32]) {
    use std::arch::x86_64::{
        __m128i, _mm_loadu_si128, _mm256_add_ps, _mm256_cvtph_ps, _mm256_mul_ps, _mm256_set1_ps,
        _mm256_setzero_ps, _mm256_storeu_ps,
    };
    const LANES: usize = 8;
    const REGS: usize = TILE / LANES;
    for (t, dst) in out.chunks_exact_mut(TILE).enumerate() {
        let j = t * TILE;
        let mut acc = [_mm256_setzero_ps(); REGS];
        for &(off, w) in rows {
            let Some(b) = bytes.get(off + 2 * j..off + 2 * (j + TILE)) else {
                continue;
            };
            let wv = _mm256_set1_ps(w);
            for (k, a) in acc.iter_mut().enumerate() {
                // SAFETY: `b` holds TILE halves = REGS * 16 bytes; this reads bytes
                // 16k..16k+16 of it, unaligned loads allowed.
                let h = unsafe { _mm_loadu_si128(b.as_ptr().add(16 * k).cast::<__m128i>()) };
                let v = _mm256_cvtph_ps(h);
                *a = if weighted {
                    _mm256_add_ps(*a, _mm256_mul_ps(v, wv))
                } else {
                    _mm256_add_ps(*a, v)
                };
            }
        }
        for (k, a) in acc.iter().enumerate() {
            // SAFETY: `dst` holds TILE floats; this writes 8 of them at 8k.
            unsafe { _mm256_storeu_ps(dst.as_mut_ptr().add(LANES * k), *a) };
        }
    }
}

/// [`sum_tiles`] compiled for the widest vector unit the CPU has (AVX-512, AVX2, or the
/// target's baseline), chosen at run time; the same bits on all of them.
#[inline]
fn sum_tiles_dispatch<R: Row>(
    bytes: &[u8],
    rows: &[(usize, f32)],
    weighted: bool,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            let half = std::any::TypeId::of::<R>() == std::any::TypeId::of::<F16>();
            if half || std::any::TypeId::of::<R>() == std::any::TypeId::of::<F32>() {
                // SAFETY: the CPU supports AVX-512F (checked just above).
                let done = unsafe { avx512::sum(bytes, rows, weighted, half, out) };
                if half {
                    sum_tail::<F16>(bytes, rows, weighted, out, done);
                } else {
                    sum_tail::<F32>(bytes, rows, weighted, out, done);
                }
                return;
            }
            // SAFETY: the CPU supports AVX-512F (checked just above).
            unsafe { sum_tiles_avx512::<R>(bytes, rows, weighted, out) };
            return;
        }
        if std::any::TypeId::of::<R>() == std::any::TypeId::of::<F16>()
            && std::arch::is_x86_feature_detected!("avx")
            && std::arch::is_x86_feature_detected!("f16c")
        {
            let done = out.len() / TILE * TILE;
            // SAFETY: the CPU supports AVX and F16C (checked just above).
            unsafe { sum_f16_f16c(bytes, rows, weighted, &mut out[..done]) };
            sum_tail::<F16>(bytes, rows, weighted, out, done);
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { sum_tiles_avx2::<R>(bytes, rows, weighted, out) };
            return;
        }
    }
    sum_tiles::<R>(bytes, rows, weighted, out);
}

/// [`sum_tiles`] for F32 and F16 rows with AVX-512 registers: up to 256 columns (16
/// registers) per pass over the rows, so a 256-wide model reads each row once,
/// front to back, and the rows a few tokens ahead are prefetched while the current one
/// is added (the rows of a text are scattered over a table larger than L2, and waiting
/// for them was most of the summing time). Same additions in the same order as the
/// scalar loop (`vcvtph2ps` is exact; multiply and add are separate instructions), so
/// the same bits.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::mem::MaybeUninit;

    use std::arch::x86_64::{
        __m128i, __m256i, __m512, __m512d, __m512i, _MM_HINT_T0, _mm_loadu_si128, _mm_prefetch,
        _mm256_add_ps, _mm256_castpd_ps, _mm256_castps_pd, _mm256_loadu_si256, _mm256_setzero_ps,
        _mm256_storeu_ps, _mm512_add_epi32, _mm512_add_ps, _mm512_castpd_ps, _mm512_castps_pd,
        _mm512_castps256_ps512, _mm512_castps512_ps256, _mm512_castsi512_si256,
        _mm512_cvtepi8_epi32, _mm512_cvtepi32_pd, _mm512_cvtpd_ps, _mm512_cvtph_ps, _mm512_div_pd,
        _mm512_div_ps, _mm512_extractf64x4_pd, _mm512_extracti64x4_epi64, _mm512_insertf64x4,
        _mm512_loadu_ps, _mm512_mul_ps, _mm512_set1_pd, _mm512_set1_ps, _mm512_setzero_ps,
        _mm512_setzero_si512, _mm512_storeu_ps,
    };

    /// Calls `f::<REGS, HALF, WEIGHTED>(args)` with the two flags turned into const
    /// parameters.
    macro_rules! by_kind {
        ($half:expr, $weighted:expr, $f:ident::<$regs:literal>($($a:expr),*)) => {
            match ($half, $weighted) {
                (false, false) => $f::<$regs, false, false>($($a),*),
                (false, true) => $f::<$regs, false, true>($($a),*),
                (true, false) => $f::<$regs, true, false>($($a),*),
                (true, true) => $f::<$regs, true, true>($($a),*),
            }
        };
    }

    use super::AHEAD;

    /// Sums the columns `0..done` of `out` (see [`super::sum_tiles`]) and returns
    /// `done`, a multiple of 16; the caller sums the rest. `half`: F16 rows, else F32.
    #[target_feature(enable = "avx512f")]
    pub(super) fn sum(
        bytes: &[u8],
        rows: &[(usize, f32)],
        weighted: bool,
        half: bool,
        out: &mut [f32],
    ) -> usize {
        let dim = out.len();
        let mut j = 0;
        macro_rules! pass {
            ($regs:literal) => {
                by_kind!(half, weighted, tile::<$regs>(bytes, rows, j, out));
                j += $regs * 16;
            };
        }
        while dim - j >= 256 {
            pass!(16);
        }
        if dim - j >= 128 {
            pass!(8);
        }
        if dim - j >= 64 {
            pass!(4);
        }
        if dim - j >= 32 {
            pass!(2);
        }
        if dim - j >= 16 {
            pass!(1);
        }
        j
    }

    /// The whole pooling of a 128- or 256-wide F32/F16 row in registers: sum, divide
    /// by the count, and normalize when asked (numpy's pairwise sum of squares, on
    /// 8-lane halves in numpy's order), then one store. Same operations in the same
    /// order as [`super::divide_by_count`] and [`super::normalize`], so the same bits.
    /// `out` may be uninitialized: `Ok` with `out` initialized (every element stored)
    /// and whether it normalized; `Err(out)` untouched where this path does not apply
    /// (no AVX-512, another dtype or width, 2^24 rows or more).
    #[inline]
    #[allow(clippy::type_complexity)]
    pub(super) fn try_pool<'o, R: super::Row>(
        bytes: &[u8],
        rows: &[(usize, f32)],
        weighted: bool,
        normalize: bool,
        out: &'o mut [MaybeUninit<f32>],
    ) -> Result<(&'o mut [f32], bool), &'o mut [MaybeUninit<f32>]> {
        use std::any::TypeId;
        let half = TypeId::of::<R>() == TypeId::of::<super::F16>();
        if !(half || TypeId::of::<R>() == TypeId::of::<super::F32>())
            || !(out.len() == 128 || out.len() == 256)
            || rows.len() >= 1 << 24
            || !std::arch::is_x86_feature_detected!("avx512f")
        {
            return Err(out);
        }
        macro_rules! go {
            ($regs:literal) => {
                // SAFETY: the CPU supports AVX-512F (checked above).
                unsafe { by_kind!(half, weighted, pool::<$regs>(bytes, rows, normalize, out)) }
            };
        }
        if out.len() == 256 {
            go!(16);
        } else {
            go!(8);
        }
        // SAFETY: `pool` stored all 16·REGS = `out.len()` elements (the length was
        // checked above to be 128 or 256); same layout.
        let out = unsafe { &mut *(out as *mut [MaybeUninit<f32>] as *mut [f32]) };
        Ok((out, normalize))
    }

    #[target_feature(enable = "avx512f")]
    fn pool<const REGS: usize, const HALF: bool, const WEIGHTED: bool>(
        bytes: &[u8],
        rows: &[(usize, f32)],
        normalize: bool,
        out: &mut [MaybeUninit<f32>],
    ) {
        let acc = sum_regs::<REGS, HALF, WEIGHTED>(bytes, rows, 0);
        let d = _mm512_set1_ps(rows.len() as f32);
        assert!(out.len() >= 16 * REGS);
        let p = out.as_mut_ptr().cast::<f32>();
        // Every store writes a value computed right before it: a loop that only copied
        // registers spilled to the stack would become a `memcpy` call (6% of encode
        // time once).
        if normalize {
            let mut mean = acc;
            for a in mean.iter_mut() {
                *a = _mm512_div_ps(*a, d);
            }
            // SAFETY: `out` holds at least 16·REGS floats (asserted).
            unsafe { store_normalized(&mean, p) };
        } else {
            for (r, a) in acc.iter().enumerate() {
                // SAFETY: as above.
                unsafe { _mm512_storeu_ps(p.add(16 * r), _mm512_div_ps(*a, d)) };
            }
        }
    }

    /// Divides the 16·REGS values of `mean` (REGS of 4, 8 or 16) by their norm as
    /// [`super::normalize`] does (numpy's pairwise sum of squares, in blocks of 128,
    /// `+ 1e-32`) and stores them at `p`, which must be valid for 16·REGS writes (every
    /// store writes a value computed right before it, so the loop does not become a
    /// `memcpy` call).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn store_normalized<const REGS: usize>(mean: &[__m512; REGS], p: *mut f32) {
        let mut ss = block_squares(&mean[..REGS.min(8)]);
        if REGS == 16 {
            // numpy splits 256 values into two pairwise sums of 128.
            ss += block_squares(&mean[8..]);
        }
        let nv = _mm512_set1_ps(ss.sqrt() + 1e-32_f32);
        for (r, m) in mean.iter().enumerate() {
            // SAFETY: `p` is valid for 16·REGS writes (the caller's contract); this
            // writes 16 of them at 16r.
            unsafe { _mm512_storeu_ps(p.add(16 * r), _mm512_div_ps(*m, nv)) };
        }
    }

    /// `true` when the CPU has AVX-512F and AVX-512BW.
    #[inline]
    pub(super) fn has_bw() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
    }

    /// The pooling of unweighted I8 rows of 64, 128 or 256 columns (`rows`: byte
    /// offsets, at least one) in registers: exact i32 sums (the caller keeps fewer
    /// than 2^23 rows), each converted to f64 (exact), divided by the count in f64 and
    /// rounded to f32, which is numpy's f64 mean of integers cast to f32; then
    /// normalized like [`pool`] when asked. Same values as the scalar path
    /// (`Lookup::mean_i8_exact` and [`super::normalize`]), so the same bits. `out`
    /// may be uninitialized; on success every element is stored.
    #[inline]
    #[allow(clippy::type_complexity)]
    pub(super) fn try_pool_i8<'o>(
        bytes: &[u8],
        rows: &[(usize, f32)],
        normalize: bool,
        out: &'o mut [MaybeUninit<f32>],
    ) -> Result<(&'o mut [f32], bool), &'o mut [MaybeUninit<f32>]> {
        if rows.is_empty() || rows.len() >= 1 << 23 || !has_bw() {
            return Err(out);
        }
        // SAFETY (each call): the CPU supports AVX-512F/BW (checked above).
        match out.len() {
            64 => unsafe { pool_i8::<4>(bytes, rows, normalize, out) },
            128 => unsafe { pool_i8::<8>(bytes, rows, normalize, out) },
            256 => unsafe { pool_i8::<16>(bytes, rows, normalize, out) },
            _ => return Err(out),
        }
        // SAFETY: `pool_i8` stored all 16·REGS = `out.len()` elements; same layout.
        let out = unsafe { &mut *(out as *mut [MaybeUninit<f32>] as *mut [f32]) };
        Ok((out, normalize))
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    fn pool_i8<const REGS: usize>(
        bytes: &[u8],
        rows: &[(usize, f32)],
        normalize: bool,
        out: &mut [MaybeUninit<f32>],
    ) {
        let len = 16 * REGS;
        let lines = len.div_ceil(64);
        let mut acc = [_mm512_setzero_si512(); REGS];
        for (k, &(off, _)) in rows.iter().enumerate() {
            if let Some(&(next, _)) = rows.get(k + AHEAD) {
                let p = bytes.as_ptr().wrapping_add(next);
                for l in 0..lines {
                    // SAFETY: a prefetch is only a hint: it reads nothing the program
                    // sees and cannot fault, whatever the address.
                    _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64 * l).cast());
                }
            }
            let Some(b) = bytes.get(off..off + len) else {
                continue;
            };
            for (r, a) in acc.iter_mut().enumerate() {
                // SAFETY: `b` holds 16·REGS bytes; this reads 16 of them at 16r.
                let x = unsafe { _mm_loadu_si128(b.as_ptr().add(16 * r).cast::<__m128i>()) };
                *a = _mm512_add_epi32(*a, _mm512_cvtepi8_epi32(x));
            }
        }
        let d = _mm512_set1_pd(rows.len() as f64);
        assert!(out.len() >= len);
        let p = out.as_mut_ptr().cast::<f32>();
        if normalize {
            let mut mean = [_mm512_setzero_ps(); REGS];
            for (m, a) in mean.iter_mut().zip(&acc) {
                *m = mean_i32(*a, d);
            }
            // SAFETY: `out` holds at least 16·REGS floats (asserted).
            unsafe { store_normalized(&mean, p) };
        } else {
            for (r, a) in acc.iter().enumerate() {
                // SAFETY: as above; each store writes a value computed right before it
                // (a loop copying spilled registers would become a `memcpy` call).
                unsafe { _mm512_storeu_ps(p.add(16 * r), mean_i32(*a, d)) };
            }
        }
    }

    /// The 16 means of one register of i32 sums: each sum to f64 (exact), divided by
    /// the count `d` in f64, rounded to f32. (A function with the target feature, not a
    /// closure: closures do not inherit it, and their intrinsics would not inline.)
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn mean_i32(a: __m512i, d: __m512d) -> __m512 {
        let lo = _mm512_cvtepi32_pd(_mm512_castsi512_si256(a));
        let hi = _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64::<1>(a));
        let lo = _mm512_cvtpd_ps(_mm512_div_pd(lo, d));
        let hi = _mm512_cvtpd_ps(_mm512_div_pd(hi, d));
        _mm512_castpd_ps(_mm512_insertf64x4::<1>(
            _mm512_castps_pd(_mm512_castps256_ps512(lo)),
            _mm256_castps_pd(hi),
        ))
    }

    /// numpy's pairwise sum of the squares of 128 values (8 registers): eight
    /// accumulators `r[j] = Σ_i x[8i + j]²` in `i` order, then
    /// `((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn block_squares(regs: &[__m512]) -> f32 {
        let lo = |x: __m512| _mm512_castps512_ps256(x);
        let hi = |x: __m512| _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(x)));
        let mut r = _mm256_setzero_ps();
        for (k, &x) in regs.iter().enumerate() {
            let sq = _mm512_mul_ps(x, x);
            r = if k == 0 {
                lo(sq)
            } else {
                _mm256_add_ps(r, lo(sq))
            };
            r = _mm256_add_ps(r, hi(sq));
        }
        let mut a = [0.0f32; 8];
        // SAFETY: `a` holds 8 floats.
        unsafe { _mm256_storeu_ps(a.as_mut_ptr(), r) };
        ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
    }

    #[target_feature(enable = "avx512f")]
    fn store<const REGS: usize>(acc: &[__m512; REGS], dst: &mut [f32]) {
        assert!(dst.len() >= 16 * REGS);
        for (r, a) in acc.iter().enumerate() {
            // SAFETY: `dst` holds at least 16·REGS floats (asserted); this writes 16
            // of them at 16r.
            unsafe { _mm512_storeu_ps(dst.as_mut_ptr().add(16 * r), *a) };
        }
    }

    /// Columns `j..j + 16·REGS` of every row, summed into `out`.
    #[target_feature(enable = "avx512f")]
    fn tile<const REGS: usize, const HALF: bool, const WEIGHTED: bool>(
        bytes: &[u8],
        rows: &[(usize, f32)],
        j: usize,
        out: &mut [f32],
    ) {
        let acc = sum_regs::<REGS, HALF, WEIGHTED>(bytes, rows, j);
        store(&acc, &mut out[j..j + 16 * REGS]);
    }

    /// Columns `j..j + 16·REGS` of every row, summed in registers.
    #[target_feature(enable = "avx512f")]
    fn sum_regs<const REGS: usize, const HALF: bool, const WEIGHTED: bool>(
        bytes: &[u8],
        rows: &[(usize, f32)],
        j: usize,
    ) -> [__m512; REGS] {
        let es = if HALF { 2 } else { 4 };
        let len = REGS * 16 * es;
        let lines = len.div_ceil(64);
        let mut acc: [__m512; REGS] = [_mm512_setzero_ps(); REGS];
        for (k, &(off, w)) in rows.iter().enumerate() {
            if let Some(&(next, _)) = rows.get(k + AHEAD) {
                let p = bytes.as_ptr().wrapping_add(next + j * es);
                for l in 0..lines {
                    // SAFETY: a prefetch is only a hint: it reads nothing the program
                    // sees and cannot fault, whatever the address.
                    _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64 * l).cast());
                }
            }
            let Some(b) = bytes.get(off + j * es..off + j * es + len) else {
                continue;
            };
            let wv = _mm512_set1_ps(w);
            for (r, a) in acc.iter_mut().enumerate() {
                let v = if HALF {
                    // SAFETY: `b` holds 16·REGS halves; this reads 32 bytes at 32r.
                    let h = unsafe { _mm256_loadu_si256(b.as_ptr().add(32 * r).cast::<__m256i>()) };
                    _mm512_cvtph_ps(h)
                } else {
                    // SAFETY: `b` holds 16·REGS floats; this reads 16 of them at 16r.
                    unsafe { _mm512_loadu_ps(b.as_ptr().add(64 * r).cast::<f32>()) }
                };
                *a = if WEIGHTED {
                    _mm512_add_ps(*a, _mm512_mul_ps(v, wv))
                } else {
                    _mm512_add_ps(*a, v)
                };
            }
        }
        acc
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sum_tiles_avx512<R: Row>(bytes: &[u8], rows: &[(usize, f32)], weighted: bool, out: &mut [f32]) {
    sum_tiles::<R>(bytes, rows, weighted, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum_tiles_avx2<R: Row>(bytes: &[u8], rows: &[(usize, f32)], weighted: bool, out: &mut [f32]) {
    sum_tiles::<R>(bytes, rows, weighted, out);
}

/// `out[j] /= n` as numpy's `mean` does for an f32 sum: it divides by the intp count in
/// f64 and rounds to f32. For `n < 2^24` (exact in f32) that equals the f32 division:
/// the f64 quotient is rounded twice, and double rounding is innocuous for division
/// when the wide format has at least 2p+2 bits (53 ≥ 2·24+2; Figueroa 1995), so the
/// cheaper f32 division (twice the lanes, and faster per lane) gives the same bits. The
/// test `f32_division_equals_numpys_f64_route` checks it on random values.
#[inline]
pub(crate) fn divide_by_count(out: &mut [f32], n: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just above).
        unsafe { divide_by_count_avx512(out, n) };
        return;
    }
    divide_by_count_generic(out, n);
}

/// [`divide_by_count`] with 16-lane divisions (the same IEEE operations, so the same
/// bits as the baseline build's 4-lane ones).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn divide_by_count_avx512(out: &mut [f32], n: usize) {
    divide_by_count_generic(out, n);
}

#[inline(always)]
fn divide_by_count_generic(out: &mut [f32], n: usize) {
    if n < 1 << 24 {
        let d = n as f32;
        for o in out.iter_mut() {
            *o /= d;
        }
    } else {
        let d = n as f64;
        for o in out.iter_mut() {
            *o = (f64::from(*o) / d) as f32;
        }
    }
}

/// Writes zeros into `row` and returns it as initialized floats. Cheap: the zeros
/// bring the row into L1, where pooling's writes then land, instead of a separate
/// pass over the whole output.
#[inline]
pub(crate) fn zeroed(row: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    for x in row.iter_mut() {
        x.write(0.0);
    }
    // SAFETY: every element was just initialized; same layout.
    unsafe { &mut *(row as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// Normalises `v` in place as model2vec does: `v / (‖v‖ + 1e-32)` in f32, with the norm
/// computed like `np.linalg.norm` (squares in f32, numpy's pairwise summation, sqrt).
pub(crate) fn normalize(v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just above).
        unsafe { normalize_avx512(v) };
        return;
    }
    normalize_generic(v);
}

/// [`normalize`] compiled with AVX-512 enabled: wider divisions, same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn normalize_avx512(v: &mut [f32]) {
    normalize_generic(v);
}

#[inline(always)]
fn normalize_generic(v: &mut [f32]) {
    let norm = pairwise_sum_squares(v).sqrt() + 1e-32_f32;
    for x in v.iter_mut() {
        *x /= norm;
    }
}

/// numpy's `pairwise_sum` (float32) of the squares of `v`: blocks of at most 128
/// elements are summed with 8 accumulators, longer runs are split in two halves (the
/// first rounded down to a multiple of 8). Bit-identical to `np.add.reduce(x * x)`
/// along a contiguous axis.
#[inline(always)]
fn pairwise_sum_squares(v: &[f32]) -> f32 {
    let n = v.len();
    if n < 8 {
        let mut res = 0.0f32;
        for x in v {
            res += x * x;
        }
        res
    } else if n <= 128 {
        // Eight interleaved accumulators, as one 8-lane vector.
        let (blocks, rest) = v.as_chunks::<8>();
        let Some((first, blocks)) = blocks.split_first() else {
            return 0.0;
        };
        let mut r = first.map(|x| x * x);
        for b in blocks {
            for (rj, x) in r.iter_mut().zip(b) {
                *rj += x * x;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for x in rest {
            res += x * x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum_squares(&v[..n2]) + pairwise_sum_squares(&v[n2..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(dtype: Dtype, bytes: Vec<u8>, rows: usize, dim: usize) -> Table {
        Table {
            buf: Buffer::from(bytes),
            start: 0,
            rows,
            stride: dim,
            dim,
            dtype,
        }
    }

    /// A deterministic pseudo-random sequence (SplitMix64).
    fn noise(seed: u64, n: usize) -> Vec<u64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^ (z >> 31)
            })
            .collect()
    }

    /// The fast paths (tiles, SIMD dispatch, F16C, exact i8 sums) give the bits of the
    /// plain per-row loop, for widths with whole tiles and a tail, with and without
    /// weights.
    #[test]
    fn fast_paths_equal_the_scalar_loop() {
        for dim in [2 * TILE + 13, 64, 128, 256, 256 + 128 + 64 + 32 + 16 + 5] {
            fast_paths_equal_the_scalar_loop_at(dim);
        }
    }

    fn fast_paths_equal_the_scalar_loop_at(dim: usize) {
        let rows = 50usize;
        let ids: Vec<u32> = noise(7, 40)
            .iter()
            .map(|v| (v % rows as u64) as u32)
            .collect();
        let w: Vec<f32> = noise(8, rows)
            .iter()
            .map(|v| (v % 1000) as f32 / 997.0)
            .collect();
        for dtype in [Dtype::F32, Dtype::F16, Dtype::I8] {
            let raw = noise(dtype as u64 + 1, rows * dim);
            let (bytes, vals): (Vec<u8>, Vec<f32>) = match dtype {
                Dtype::F32 => {
                    let v: Vec<f32> = raw.iter().map(|r| (*r as i32) as f32 / 1e9).collect();
                    (v.iter().flat_map(|x| x.to_le_bytes()).collect(), v)
                }
                Dtype::F16 => {
                    // Finite halves only (exponent field below 31).
                    let h: Vec<u16> = raw.iter().map(|r| (*r as u16) & 0xBBFF).collect();
                    let v = h.iter().map(|&b| f16_to_f32(b)).collect();
                    (h.iter().flat_map(|x| x.to_le_bytes()).collect(), v)
                }
                _ => {
                    let v: Vec<i8> = raw.iter().map(|r| *r as i8).collect();
                    (
                        v.iter().map(|&b| b as u8).collect(),
                        v.iter().map(|&b| f32::from(b)).collect(),
                    )
                }
            };
            for weighted in [false, true] {
                if dtype == Dtype::I8 && weighted {
                    continue;
                }
                let l = Lookup {
                    table: table(dtype, bytes.clone(), rows, dim),
                    mapping: None,
                    weights: weighted.then(|| Weights::F32(w.clone().into())),
                };
                // NaN first: every path must write every value (encode passes rows
                // that were never initialized).
                let mut got = vec![f32::NAN; dim];
                l.mean(&ids, &mut got, &mut Scratch::default());
                let mut want = vec![0.0f32; dim];
                for (j, o) in want.iter_mut().enumerate() {
                    if dtype == Dtype::I8 {
                        let s: f64 = ids
                            .iter()
                            .map(|&i| f64::from(vals[i as usize * dim + j]))
                            .sum();
                        *o = (s / ids.len() as f64) as f32;
                    } else {
                        let mut s = 0.0f32;
                        for &i in &ids {
                            let v = vals[i as usize * dim + j];
                            s += if weighted { v * w[i as usize] } else { v };
                        }
                        *o = (f64::from(s) / ids.len() as f64) as f32;
                    }
                }
                let same = got
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{dtype:?} weighted={weighted} dim={dim}");
                // Pooling with normalization (fused in registers for 128/256 columns)
                // equals the mean followed by the plain normalization.
                got.fill(f32::NAN);
                l.pool(&ids, &mut got, &mut Scratch::default(), true);
                normalize_generic(&mut want);
                let same = got
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "normalized: {dtype:?} weighted={weighted} dim={dim}");
            }
        }
    }

    #[test]
    fn mean_of_f32_rows_and_empty() {
        let vals = [1.0f32, 2.0, 3.0, 5.0, -1.0, 0.5];
        let bytes = vals.iter().flat_map(|x| x.to_le_bytes()).collect();
        let l = Lookup {
            table: table(Dtype::F32, bytes, 3, 2),
            mapping: None,
            weights: None,
        };
        let mut out = [9.0f32; 2];
        let mut acc = Scratch::default();
        l.mean(&[0, 1, 1], &mut out, &mut acc);
        assert_eq!(out, [(1.0 + 3.0 + 3.0) / 3.0, (2.0 + 5.0 + 5.0) / 3.0]);
        l.mean(&[], &mut out, &mut acc);
        assert_eq!(out, [0.0, 0.0]);
        // An id without a row is skipped, not a panic.
        l.mean(&[7, 2], &mut out, &mut acc);
        assert_eq!(out, [-1.0, 0.5]);
    }

    #[test]
    fn int8_with_mapping_and_weights() {
        let l = Lookup {
            table: table(Dtype::I8, vec![1, 2, 0xff, 4], 2, 2),
            mapping: Some(vec![1, 0, 1].into()),
            weights: Some(Weights::F32(vec![0.5, 2.0, 1.0].into())),
        };
        let mut out = [0.0f32; 2];
        l.mean(&[0, 1], &mut out, &mut Scratch::default());
        // token 0 -> row 1 ([-1, 4]) * 0.5; token 1 -> row 0 ([1, 2]) * 2.
        assert_eq!(out, [(-0.5 + 2.0) / 2.0, (2.0 + 4.0) / 2.0]);
        assert!(l.token_row(0, &mut out));
        assert_eq!(out, [-0.5, 2.0]);
        assert!(!l.token_row(5, &mut out));
    }

    #[test]
    fn stride_views_first_columns() {
        let vals: Vec<u8> = (0..6).map(|x| x as u8).collect();
        let mut t = table(Dtype::I8, vals, 2, 3);
        t.dim = 2;
        assert_eq!(t.row(1), Some(&[3u8, 4][..]));
        assert_eq!(t.row(2), None);
    }

    /// `divide_by_count`'s f32 division gives the bits of numpy's f64 division rounded
    /// to f32, on random sums and counts.
    #[test]
    fn f32_division_equals_numpys_f64_route() {
        let raw = noise(11, 200_000);
        for pair in raw.chunks_exact(2) {
            let x = f32::from_bits(pair[0] as u32 & 0xBFFF_FFFF);
            let n = (pair[1] % 4096 + 1) as usize;
            let mut got = [x];
            divide_by_count(&mut got, n);
            let want = (f64::from(x) / n as f64) as f32;
            assert_eq!(got[0].to_bits(), want.to_bits(), "{x:e} / {n}");
        }
    }

    #[test]
    fn normalize_matches_numpy_definition() {
        let mut v = vec![3.0f32, 4.0];
        normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut z = vec![0.0f32; 300];
        normalize(&mut z);
        assert!(z.iter().all(|&x| x == 0.0));
        // Long vectors split like numpy: same as the plain sum up to rounding.
        let v: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin()).collect();
        let plain: f64 = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        assert!((f64::from(pairwise_sum_squares(&v)) - plain).abs() < 1e-3);
    }
}
