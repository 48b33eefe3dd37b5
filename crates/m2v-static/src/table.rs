//! The stored embedding matrix ([`Table`], [`Lookup`]) and the dispatch of pooling to
//! the row kernels (`crate::kernels`): by dtype and width in [`Lookup::pool`], and by
//! the CPU's vector unit, chosen at run time, in [`sum_tiles_dispatch`],
//! [`divide_by_count`], [`normalize`] and `Lookup::mean_i8_exact`.
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
use crate::kernels::portable::{
    BF16, F16, F32, F64, I8, Row, TILE, divide_by_count_generic, half_or_single,
    mean_i8_exact_generic, normalize_generic, sum_tail, sum_tiles, zeroed,
};
#[cfg(target_arch = "x86_64")]
use crate::kernels::{avx2, avx512};
use crate::safetensors::Dtype;
use crate::scratch::Scratch;

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
    pub(crate) fn row_of(&self, id: u32) -> Option<&[u8]> {
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
            #[cfg(target_arch = "x86_64")]
            let out = match avx2::try_pool::<R>(bytes, rows, weighted, normalize, out) {
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
                unsafe { avx512::mean_i8_exact_avx512(self, ids, out, s) };
                return;
            }
            if crate::kernels::has_avx2() {
                // SAFETY: the CPU supports AVX2 (checked just above).
                unsafe { avx2::mean_i8_exact_avx2(self, ids, out, s) };
                return;
            }
        }
        mean_i8_exact_generic(self, ids, out, s);
    }

    /// Unweighted I8 rows of 64, 128 or 256 columns pooled in AVX-512 registers (see
    /// `avx512::try_pool_i8`); `Err(out)` untouched where that path does not apply.
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

/// [`sum_tiles`] compiled for the widest vector unit the CPU has (AVX-512, AVX2, or the
/// target's baseline), chosen at run time; the same bits on all of them.
#[inline]
pub(crate) fn sum_tiles_dispatch<R: Row>(
    bytes: &[u8],
    rows: &[(usize, f32)],
    weighted: bool,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::kernels::has_avx512() {
            if let Some(half) = half_or_single::<R>() {
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
            unsafe { avx512::sum_tiles_avx512::<R>(bytes, rows, weighted, out) };
            return;
        }
        if half_or_single::<R>() == Some(true) && crate::kernels::has_f16c() {
            let done = out.len() / TILE * TILE;
            // SAFETY: the CPU supports AVX and F16C (checked just above).
            unsafe { avx2::sum_f16_f16c(bytes, rows, weighted, &mut out[..done]) };
            sum_tail::<F16>(bytes, rows, weighted, out, done);
            return;
        }
        if crate::kernels::has_avx2() {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { avx2::sum_tiles_avx2::<R>(bytes, rows, weighted, out) };
            return;
        }
    }
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
    if crate::kernels::has_avx512() {
        // SAFETY: the CPU supports AVX-512F (checked just above).
        unsafe { avx512::divide_by_count_avx512(out, n) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::has_avx2() {
        // SAFETY: the CPU supports AVX2 (checked just above).
        unsafe { avx2::divide_by_count_avx2(out, n) };
        return;
    }
    divide_by_count_generic(out, n);
}

/// Normalises `v` in place as model2vec does: `v / (‖v‖ + 1e-32)` in f32, with the norm
/// computed like `np.linalg.norm` (squares in f32, numpy's pairwise summation, sqrt).
pub(crate) fn normalize(v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::has_avx512() {
        // SAFETY: the CPU supports AVX-512F (checked just above).
        unsafe { avx512::normalize_avx512(v) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::has_avx2() {
        // SAFETY: the CPU supports AVX2 (checked just above).
        unsafe { avx2::normalize_avx2(v) };
        return;
    }
    normalize_generic(v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::half::f16_to_f32;
    use crate::kernels::portable::pairwise_sum_squares;

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
        for dim in [
            2 * TILE + 13,
            64,
            128,
            192,
            256,
            512,
            256 + 128 + 64 + 32 + 16 + 5,
        ] {
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
                // The AVX2 register path, called directly (the dispatch prefers
                // AVX-512 where the CPU has it), gives the same bits.
                #[cfg(target_arch = "x86_64")]
                if dtype != Dtype::I8 && crate::kernels::has_f16c() {
                    let es = if dtype == Dtype::F16 { 2 } else { 4 };
                    let rows: Vec<(usize, f32)> = ids
                        .iter()
                        .map(|&i| {
                            (
                                i as usize * dim * es,
                                if weighted { w[i as usize] } else { 1.0 },
                            )
                        })
                        .collect();
                    let pool = |normalize: bool, out: &mut [MaybeUninit<f32>]| {
                        let done = if dtype == Dtype::F16 {
                            avx2::try_pool::<F16>(&bytes, &rows, weighted, normalize, out)
                        } else {
                            avx2::try_pool::<F32>(&bytes, &rows, weighted, normalize, out)
                        };
                        done.ok()
                            .map(|(got, normalized)| (got.to_vec(), normalized))
                    };
                    let mut out = vec![MaybeUninit::new(f32::NAN); dim];
                    let done = pool(false, &mut out);
                    assert_eq!(
                        done.is_some(),
                        dim.is_multiple_of(64),
                        "avx2 path, dim={dim}"
                    );
                    let mut unit = want.clone();
                    normalize_generic(&mut unit);
                    let mut out2 = vec![MaybeUninit::new(f32::NAN); dim];
                    let fused = pool(true, &mut out2);
                    if let Some((got, normalized)) = fused {
                        assert!(normalized);
                        let same = got
                            .iter()
                            .zip(&unit)
                            .all(|(a, b)| a.to_bits() == b.to_bits());
                        assert!(
                            same,
                            "avx2 normalized: {dtype:?} weighted={weighted} dim={dim}"
                        );
                    }
                    if let Some((got, normalized)) = done {
                        assert!(!normalized);
                        let same = got
                            .iter()
                            .zip(&want)
                            .all(|(a, b)| a.to_bits() == b.to_bits());
                        assert!(same, "avx2: {dtype:?} weighted={weighted} dim={dim}");
                    }
                }
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
