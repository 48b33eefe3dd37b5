//! The AVX-512 kernels.
//!
//! [`sum`]: [`sum_tiles`] for F32 and F16 rows with AVX-512 registers: up to 256
//! columns (16 registers) per pass over the rows, so a 256-wide model reads each row
//! once, front to back, and the rows [`AHEAD`] tokens ahead are prefetched while the
//! current one is added (the rows of a text are scattered over a table larger than L2,
//! and waiting for them was most of the summing time). Same additions in the same order
//! as the scalar loop (`vcvtph2ps` is exact; multiply and add are separate
//! instructions), so the same bits.
//!
//! Also here: the whole pooling of a row in registers ([`try_pool`] for 128- or
//! 256-wide F32/F16 rows, [`try_pool_i8`] for unweighted int8 rows of 64, 128 or 256
//! columns), and the portable kernels compiled with AVX-512 enabled (the same IEEE
//! operations on wider vectors, so the same bits). Every function needs AVX-512F
//! (`try_pool`, `try_pool_i8` and `has_bw` check it themselves); the callers in
//! `table.rs` check the CPU first.

use std::mem::MaybeUninit;

use std::arch::x86_64::{
    __m128i, __m256i, __m512, __m512d, __m512i, _MM_HINT_T0, _mm_loadu_si128, _mm_prefetch,
    _mm256_add_ps, _mm256_castpd_ps, _mm256_castps_pd, _mm256_loadu_si256, _mm256_setzero_ps,
    _mm256_storeu_ps, _mm512_add_epi32, _mm512_add_ps, _mm512_castpd_ps, _mm512_castps_pd,
    _mm512_castps256_ps512, _mm512_castps512_ps256, _mm512_castsi512_si256, _mm512_cvtepi8_epi32,
    _mm512_cvtepi32_pd, _mm512_cvtpd_ps, _mm512_cvtph_ps, _mm512_div_pd, _mm512_div_ps,
    _mm512_extractf64x4_pd, _mm512_extracti64x4_epi64, _mm512_insertf64x4, _mm512_loadu_ps,
    _mm512_mul_ps, _mm512_set1_pd, _mm512_set1_ps, _mm512_setzero_ps, _mm512_setzero_si512,
    _mm512_storeu_ps,
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
use super::portable::{
    Row, divide_by_count_generic, half_or_single, mean_i8_exact_generic, normalize_generic,
    sum_tiles,
};
use crate::scratch::Scratch;
use crate::table::Lookup;

/// Sums the columns `0..done` of `out` (see [`sum_tiles`]) and returns
/// `done`, a multiple of 16; the caller sums the rest. `half`: F16 rows, else F32.
#[target_feature(enable = "avx512f")]
pub(crate) fn sum(
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
/// order as [`crate::table::divide_by_count`] and [`crate::table::normalize`], so the
/// same bits.
/// `out` may be uninitialized: `Ok` with `out` initialized (every element stored)
/// and whether it normalized; `Err(out)` untouched where this path does not apply
/// (no AVX-512, another dtype or width, 2^24 rows or more).
#[inline]
#[allow(clippy::type_complexity)]
pub(crate) fn try_pool<'o, R: Row>(
    bytes: &[u8],
    rows: &[(usize, f32)],
    weighted: bool,
    normalize: bool,
    out: &'o mut [MaybeUninit<f32>],
) -> Result<(&'o mut [f32], bool), &'o mut [MaybeUninit<f32>]> {
    let Some(half) = half_or_single::<R>() else {
        return Err(out);
    };
    if !(out.len() == 128 || out.len() == 256) || rows.len() >= 1 << 24 || !super::has_avx512() {
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
    // registers spilled to the stack would become a `memcpy` call, which once cost a
    // measurable share of encode time (see docs/bench.md, "Tuning notes").
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
/// [`crate::table::normalize`] does (numpy's pairwise sum of squares, in blocks of 128,
/// `+ 1e-32`) and stores them at `p` (every store writes a value computed right before
/// it, so the loop does not become a `memcpy` call).
///
/// # Safety
///
/// `p` must be valid for 16·REGS writes of `f32` (unaligned allowed), and the CPU must
/// support AVX-512F.
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
pub(crate) fn has_bw() -> bool {
    super::has_avx512()
}

/// The pooling of unweighted I8 rows of 64, 128 or 256 columns (`rows`: byte
/// offsets, at least one) in registers: exact i32 sums (the caller keeps fewer
/// than 2^23 rows), each converted to f64 (exact), divided by the count in f64 and
/// rounded to f32, which is numpy's f64 mean of integers cast to f32; then
/// normalized like [`pool`] when asked. Same values as the scalar path
/// (`Lookup::mean_i8_exact` and [`crate::table::normalize`]), so the same bits. `out`
/// may be uninitialized; on success every element is stored.
#[inline]
#[allow(clippy::type_complexity)]
pub(crate) fn try_pool_i8<'o>(
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

/// [`sum_tiles`] compiled with AVX-512 enabled.
#[target_feature(enable = "avx512f")]
pub(crate) fn sum_tiles_avx512<R: Row>(
    bytes: &[u8],
    rows: &[(usize, f32)],
    weighted: bool,
    out: &mut [f32],
) {
    sum_tiles::<R>(bytes, rows, weighted, out);
}

/// [`crate::table::divide_by_count`] with 16-lane divisions (the same IEEE operations,
/// so the same bits as the baseline build's 4-lane ones).
#[target_feature(enable = "avx512f")]
pub(crate) fn divide_by_count_avx512(out: &mut [f32], n: usize) {
    divide_by_count_generic(out, n);
}

/// [`crate::table::normalize`] compiled with AVX-512 enabled: wider divisions, same
/// bits.
#[target_feature(enable = "avx512f")]
pub(crate) fn normalize_avx512(v: &mut [f32]) {
    normalize_generic(v);
}

/// `Lookup::mean_i8_exact` with 16 lanes of widening adds (integer sums: the same
/// result on every path).
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) fn mean_i8_exact_avx512(l: &Lookup, ids: &[u32], out: &mut [f32], s: &mut Scratch) {
    mean_i8_exact_generic(l, ids, out, s);
}
