//! The portable kernels: row decoding for each stored dtype ([`Row`]), the column-tile
//! sums ([`sum_tiles`]), the division by the count, numpy's normalization and the exact
//! int8 mean, in plain Rust that the compiler vectorizes for the target's baseline. The
//! AVX2 and AVX-512 builds (`avx2.rs`, `avx512.rs`) compile these same functions with
//! wider vectors, and their hand-written kernels do the same operations in the same
//! order, so every CPU gives these bits.

use std::mem::MaybeUninit;

use crate::half::{bf16_to_f32, f16_to_f32};
use crate::scratch::Scratch;
use crate::table::Lookup;

/// Row decoding for one stored dtype.
pub(crate) trait Row: 'static {
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
        pub(crate) struct $name;
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

/// Columns summed per pass over a text's rows: the partial sums of one tile stay in
/// vector registers (64 f32 = 4 AVX-512 or 8 AVX2 registers) while every row adds its
/// slice, instead of loading and storing the whole accumulator once per row.
/// `Some(true)` for [`F16`] rows, `Some(false)` for [`F32`] rows (the two dtypes the
/// register paths pool), `None` for the others.
#[inline(always)]
pub(crate) fn half_or_single<R: Row>() -> Option<bool> {
    use std::any::TypeId;
    let t = TypeId::of::<R>();
    if t == TypeId::of::<F16>() {
        Some(true)
    } else if t == TypeId::of::<F32>() {
        Some(false)
    } else {
        None
    }
}

pub(crate) const TILE: usize = 64;

/// `out[j] = Σ_rows w·row[j]` (or `Σ row[j]` when not `weighted`), each column summed
/// in row order from 0.0 in f32, exactly as adding one row at a time would: tiling
/// changes which columns are in flight, never the order of additions within a column,
/// and no multiply is fused with an add. So the result is bit-identical to the scalar
/// loop on every CPU. Rows are `(byte offset, weight)` into `bytes`; each holds
/// `out.len()` elements (checked by the caller's table invariant).
#[inline(always)]
pub(crate) fn sum_tiles<R: Row>(
    bytes: &[u8],
    rows: &[(usize, f32)],
    weighted: bool,
    out: &mut [f32],
) {
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
pub(crate) fn sum_tail<R: Row>(
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

/// [`crate::table::divide_by_count`] for any target (see there why the f32 division
/// gives numpy's bits).
#[inline(always)]
pub(crate) fn divide_by_count_generic(out: &mut [f32], n: usize) {
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

/// [`crate::table::normalize`] for any target.
#[inline(always)]
pub(crate) fn normalize_generic(v: &mut [f32]) {
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
pub(crate) fn pairwise_sum_squares(v: &[f32]) -> f32 {
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

/// `Lookup::mean_i8_exact` for any target: unweighted I8 rows summed exactly in i32,
/// then divided by the count in f64 as numpy does.
#[inline(always)]
pub(crate) fn mean_i8_exact_generic(l: &Lookup, ids: &[u32], out: &mut [f32], s: &mut Scratch) {
    let dim = out.len();
    let acc = &mut s.acc_i32;
    acc.clear();
    acc.resize(dim, 0);
    let mut n = 0usize;
    for &id in ids {
        let Some(row) = l.row_of(id) else { continue };
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
