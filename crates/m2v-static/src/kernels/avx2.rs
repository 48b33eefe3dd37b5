//! The AVX2 kernels (and the F16C one, which needs only AVX): the portable column-tile
//! sums and exact int8 mean compiled with AVX2 enabled, and the f16 tile sum with the
//! F16C conversion instruction. The same operations in the same order as the portable
//! kernels, so the same bits. The callers in `table.rs` check the CPU first.

use super::portable::{Row, TILE, mean_i8_exact_generic, sum_tiles};
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
