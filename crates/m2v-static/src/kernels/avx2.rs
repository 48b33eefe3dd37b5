//! The AVX2 kernels (and the F16C one, which needs only AVX): the pooling of F32/F16
//! rows in registers with rows prefetched ahead ([`try_pool`]), the portable
//! column-tile sums and exact int8 mean compiled with AVX2 enabled, and the f16 tile
//! sum with the F16C conversion instruction. The same operations in the same order as
//! the portable kernels, so the same bits. The callers in `table.rs` check the CPU
//! first (`try_pool` checks it itself).

use std::mem::MaybeUninit;

use super::AHEAD;
use super::portable::{
    Row, TILE, divide_by_count_generic, half_or_single, mean_i8_exact_generic, normalize_generic,
    sum_tiles,
};
use crate::scratch::Scratch;
use crate::table::Lookup;

/// [`sum_tiles`] for F16 rows with the F16C conversion instruction, over whole tiles
/// (`out.len()` is a multiple of [`TILE`]). `vcvtph2ps` is exact, and the multiply and
/// add stay separate instructions, so the bits equal the scalar path's.
#[target_feature(enable = "avx,f16c")]
pub(crate) fn sum_f16_f16c(bytes: &[u8], rows: &[(usize, f32)], weighted: bool, out: &mut [f32]) {
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

/// [`crate::table::normalize`] compiled with AVX2 enabled: 8-lane squares and
/// divisions, same bits.
#[target_feature(enable = "avx2")]
pub(crate) fn normalize_avx2(v: &mut [f32]) {
    normalize_generic(v);
}

/// [`crate::table::divide_by_count`] compiled with AVX2 enabled.
#[target_feature(enable = "avx2")]
pub(crate) fn divide_by_count_avx2(out: &mut [f32], n: usize) {
    divide_by_count_generic(out, n);
}

/// [`sum_tiles`] compiled with AVX2 enabled.
#[target_feature(enable = "avx2")]
pub(crate) fn sum_tiles_avx2<R: Row>(
    bytes: &[u8],
    rows: &[(usize, f32)],
    weighted: bool,
    out: &mut [f32],
) {
    sum_tiles::<R>(bytes, rows, weighted, out);
}

/// `Lookup::mean_i8_exact` compiled with AVX2 enabled (integer sums: the same result
/// on every path).
#[target_feature(enable = "avx2")]
pub(crate) fn mean_i8_exact_avx2(l: &Lookup, ids: &[u32], out: &mut [f32], s: &mut Scratch) {
    mean_i8_exact_generic(l, ids, out, s);
}

/// Columns summed per pass over a text's rows: 8 of AVX2's 16 registers, leaving room
/// for the loads, the weight and the conversions.
const PASS: usize = 64;

/// The pooling of F32 or F16 rows (F16 needs F16C) whose width is a multiple of 64,
/// with AVX2: the columns in passes of 64 (8 registers), each a sum over the rows in
/// row order from 0.0 (weighted: a multiply, then an add, never fused), divided by the
/// count in f32 and stored. The first pass prefetches every line of the row [`AHEAD`]
/// rows ahead (the rows of a text are scattered over a table larger than L2; the later
/// passes find them in L1). The same operations in the same order as
/// [`sum_tiles`] then [`crate::table::divide_by_count`], then, when `normalize`,
/// [`crate::table::normalize`] on the row while it is in L1 (the `bool` says so), so
/// the same bits.
///
/// `out` may be uninitialized: `Ok` with every element stored, or `Err(out)` untouched
/// where this path does not apply (no AVX2 and F16C, another dtype or width, no rows,
/// 2^24 rows or more).
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
    // `pool` is compiled with F16C for both dtypes, so both need it (every AVX2 CPU
    // has it).
    if !super::has_f16c()
        || out.is_empty()
        || !out.len().is_multiple_of(PASS)
        || rows.is_empty()
        || rows.len() >= 1 << 24
    {
        return Err(out);
    }
    // SAFETY (each call): the CPU supports AVX2 and F16C (checked above).
    unsafe {
        match (half, weighted) {
            (false, false) => pool::<false, false>(bytes, rows, out),
            (false, true) => pool::<false, true>(bytes, rows, out),
            (true, false) => pool::<true, false>(bytes, rows, out),
            (true, true) => pool::<true, true>(bytes, rows, out),
        }
    }
    // SAFETY: `pool` stored every element of `out` (a whole number of passes);
    // `MaybeUninit<f32>` has the layout of `f32`.
    let out = unsafe { &mut *(out as *mut [MaybeUninit<f32>] as *mut [f32]) };
    if normalize {
        // SAFETY: the CPU supports AVX2 (checked above).
        unsafe { normalize_avx2(out) };
    }
    Ok((out, normalize))
}

#[target_feature(enable = "avx2,f16c")]
fn pool<const HALF: bool, const WEIGHTED: bool>(
    bytes: &[u8],
    rows: &[(usize, f32)],
    out: &mut [MaybeUninit<f32>],
) {
    use std::arch::x86_64::{
        __m128i, _MM_HINT_T0, _mm_loadu_si128, _mm_prefetch, _mm256_add_ps, _mm256_cvtph_ps,
        _mm256_div_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps,
        _mm256_storeu_ps,
    };
    let es = if HALF { 2 } else { 4 };
    let dim = out.len();
    let lines = (dim * es).div_ceil(64);
    let d = _mm256_set1_ps(rows.len() as f32);
    let p = out.as_mut_ptr().cast::<f32>();
    for j in (0..dim).step_by(PASS) {
        let mut acc = [_mm256_setzero_ps(); PASS / 8];
        for (k, &(off, w)) in rows.iter().enumerate() {
            if j == 0
                && let Some(&(next, _)) = rows.get(k + AHEAD)
            {
                let q = bytes.as_ptr().wrapping_add(next);
                for l in 0..lines {
                    // SAFETY: a prefetch is only a hint: it reads nothing the program
                    // sees and cannot fault, whatever the address.
                    _mm_prefetch::<_MM_HINT_T0>(q.wrapping_add(64 * l).cast());
                }
            }
            let Some(b) = bytes.get(off + j * es..off + (j + PASS) * es) else {
                continue;
            };
            let wv = _mm256_set1_ps(w);
            for (r, a) in acc.iter_mut().enumerate() {
                let v = if HALF {
                    // SAFETY: `b` holds PASS halves; this reads 8 of them (16 bytes) at
                    // 8r, unaligned loads allowed.
                    _mm256_cvtph_ps(unsafe {
                        _mm_loadu_si128(b.as_ptr().add(16 * r).cast::<__m128i>())
                    })
                } else {
                    // SAFETY: `b` holds PASS floats; this reads 8 of them at 8r.
                    unsafe { _mm256_loadu_ps(b.as_ptr().add(32 * r).cast::<f32>()) }
                };
                *a = if WEIGHTED {
                    _mm256_add_ps(*a, _mm256_mul_ps(v, wv))
                } else {
                    _mm256_add_ps(*a, v)
                };
            }
        }
        for (r, a) in acc.iter().enumerate() {
            // SAFETY: `out` holds `dim` floats and `j + PASS <= dim` (`dim` is a
            // multiple of PASS); this writes 8 of them at j + 8r.
            unsafe { _mm256_storeu_ps(p.add(j + 8 * r), _mm256_div_ps(*a, d)) };
        }
    }
}
