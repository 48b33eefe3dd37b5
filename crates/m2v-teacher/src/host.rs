//! Kernels run on the host buffer of a CPU (`flex`) tensor: the linear layers
//! ([`linear`]), the BERT-shaped layers' attention ([`attention`]), RMSNorm
//! ([`rms_norm`]), RoPE ([`rope`]) and the feed-forward activations, alone
//! ([`activate`]) or gated ([`gated`]).
//!
//! [`linear`] calls the `gemm` crate (the one Burn's `flex` matmul calls) directly, with
//! the output prefilled with the bias rows and accumulated into: Burn's `linear` zeroes
//! its output, multiplies, then adds the bias in a second pass over it.
//!
//! Why: Burn's `flex` backend computes exact GELU with scalar `libm::erff` (the largest
//! cost after the matmuls; profiles in docs/teacher-speed.md) and the tanh GELU as
//! seven tensor passes, one of them a scalar `powf`. Here each is one
//! pass over the buffer, written branch-free so LLVM vectorises it, compiled for the
//! best instruction set the CPU has (`pulp`'s run-time dispatch: AVX-512, AVX2+FMA or
//! the x86-64 baseline) and split over the rayon pool.
//!
//! Accuracy (checked by the tests below against `f64` references): `erf` within
//! 4e-7 absolute on the whole line, `exp` within 2e-7 relative, so each activation is
//! within 1e-6 of the exact one (relative to `max(1, |x|)`), far below the 1e-4 parity
//! tolerance against PyTorch (which approximates `erf` and `exp` too).
//!
//! On a GPU device the Burn ops run unchanged (`nn.rs` picks the path by device).

use rayon::prelude::*;

use crate::config::Activation;

/// Elements per rayon task: large enough that scheduling costs nothing, small enough
/// that a `[256 * 3, 1536]` MiniLM intermediate splits into dozens of tasks.
const CHUNK: usize = 16 * 1024;

/// `x W + b` for `x` `[rows, k]` and `W` `[k, n]` (row-major) and `b` `[n]`:
/// `[rows, n]`, on the rayon pool's threads when the product is large enough to split.
pub(crate) fn linear(x: &[f32], k: usize, w: &[f32], n: usize, bias: Option<&[f32]>) -> Vec<f32> {
    assert!(k > 0 && x.len().is_multiple_of(k) && w.len() == k * n);
    let rows = x.len() / k;
    let parallelism = if rows * n * k >= 64 * 64 * 64 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // With a bias, the output starts as the bias rows and gemm adds `x w` to it; without,
    // it is left uninitialised and gemm writes every element (zeroing it first showed in
    // the profiles of docs/teacher-speed.md).
    let mut out = match bias {
        Some(b) => {
            assert_eq!(b.len(), n);
            b.repeat(rows)
        }
        None => Vec::with_capacity(rows * n),
    };
    // SAFETY: the pointers come from live allocations of the sizes checked above: `x`
    // is `rows x k` with strides (1, k), `w` is `k x n` with strides (1, n), `out` has
    // room for `rows x n` with strides (1, n) and does not alias the inputs (it is a
    // fresh allocation). With `read_dst` (bias) gemm computes `out = out + x w` over
    // initialised values; without, it computes `out = x w`, writing every one of the
    // `rows x n` elements without reading any (k > 0 was asserted), so they are all
    // initialised when `set_len` exposes them.
    unsafe {
        gemm::gemm(
            rows,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            bias.is_some(),
            x.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            1,
            n as isize,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        );
        if bias.is_none() {
            out.set_len(rows * n);
        }
    }
    out
}

/// Rotary position embedding of `x` `[.., len, d]` (row-major, `d` even):
/// `x * cos + rotate_half(x) * sin` with `rotate_half([x1, x2]) = [-x2, x1]` and the
/// tables `cos`, `sin` `[len, d]` indexed by the row's position.
pub(crate) fn rope(x: &[f32], len: usize, d: usize, cos: &[f32], sin: &[f32]) -> Vec<f32> {
    assert!(d > 0 && d.is_multiple_of(2) && x.len().is_multiple_of(len * d));
    assert!(cos.len() == len * d && sin.len() == len * d);
    let mut out = vec![0.0f32; x.len()];
    let half = d / 2;
    // Whole sequences (`len` rows) per task.
    let per_task = (CHUNK / (len * d)).max(1) * len * d;
    out.par_chunks_mut(per_task)
        .zip(x.par_chunks(per_task))
        .for_each(|(out, x)| {
            for (o_seq, x_seq) in out.chunks_exact_mut(len * d).zip(x.chunks_exact(len * d)) {
                let rows = o_seq.chunks_exact_mut(d).zip(x_seq.chunks_exact(d));
                for ((o, x), (c, s)) in rows.zip(cos.chunks_exact(d).zip(sin.chunks_exact(d))) {
                    let (x1, x2) = x.split_at(half);
                    let (o1, o2) = o.split_at_mut(half);
                    for j in 0..half {
                        o1[j] = x1[j] * c[j] - x2[j] * s[j];
                        o2[j] = x2[j] * c[half + j] + x1[j] * s[half + j];
                    }
                }
            }
        });
    out
}

/// Multi-head attention of BERT-shaped layers straight from the fused projection:
/// `qkv` is `[batch, len, 3 * hidden]` (queries, keys, values side by side, head `h`
/// at columns `h * d..(h + 1) * d` of each), the output `[batch, len, hidden]`.
///
/// Row `b` attends to its first `lengths[b]` keys only (key padding, as the padded
/// batch's mask says); `bias` (MPNet's relative positions), `[1 or batch, heads, len,
/// len]`, is added to the scaled scores. The softmax is exact: the largest score is
/// subtracted before [`exp`]. One rayon task per sequence.
pub(crate) fn attention(
    qkv: &[f32],
    lengths: &[usize],
    len: usize,
    heads: usize,
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let batch = lengths.len();
    assert!(batch > 0 && len > 0 && heads > 0 && qkv.len().is_multiple_of(batch * len * 3 * heads));
    let hidden = qkv.len() / (batch * len * 3);
    let d = hidden / heads;
    assert!(lengths.iter().all(|&n| (1..=len).contains(&n)));
    let bias_rows = match bias {
        Some(b) => {
            assert!(b.len() == heads * len * len || b.len() == batch * heads * len * len);
            b.len() / (heads * len * len)
        }
        None => 0,
    };
    let mut out = vec![0.0f32; batch * len * hidden];
    out.par_chunks_mut(len * hidden)
        .zip(qkv.par_chunks(len * 3 * hidden))
        .zip(lengths.par_iter())
        .enumerate()
        .for_each(|(b, ((out, qkv), &n))| {
            let bias = bias.map(|all| {
                let at = if bias_rows == 1 { 0 } else { b };
                &all[at * heads * len * len..(at + 1) * heads * len * len]
            });
            pulp::Arch::new().dispatch(Attend {
                out,
                qkv,
                n,
                len,
                heads,
                d,
                bias,
            })
        });
    out
}

/// One sequence of [`attention`].
struct Attend<'a> {
    out: &'a mut [f32],
    qkv: &'a [f32],
    n: usize,
    len: usize,
    heads: usize,
    d: usize,
    bias: Option<&'a [f32]>,
}

impl pulp::WithSimd for Attend<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let (n, len, d) = (self.n, self.len, self.d);
        let hidden = self.heads * d;
        let scale = 1.0 / (d as f32).sqrt();
        let mut p = vec![0.0f32; n];
        for h in 0..self.heads {
            for i in 0..len {
                let row = |t: usize, part: usize| {
                    let at = t * 3 * hidden + part * hidden + h * d;
                    &self.qkv[at..at + d]
                };
                let q = row(i, 0);
                let mut max = f32::NEG_INFINITY;
                for (j, pj) in p.iter_mut().enumerate() {
                    let k = row(j, 1);
                    let dot: f32 = dot(q, k);
                    let mut s = dot * scale;
                    if let Some(bias) = self.bias {
                        s += bias[(h * len + i) * len + j];
                    }
                    *pj = s;
                    max = max.max(s);
                }
                let mut sum = 0.0f32;
                for pj in p.iter_mut() {
                    *pj = exp(*pj - max);
                    sum += *pj;
                }
                let inv = 1.0 / sum;
                let o = &mut self.out[i * hidden + h * d..i * hidden + (h + 1) * d];
                o.fill(0.0);
                for (j, &pj) in p.iter().enumerate() {
                    let w = pj * inv;
                    for (o, &v) in o.iter_mut().zip(row(j, 2)) {
                        *o = w.mul_add(v, *o);
                    }
                }
            }
        }
    }
}

/// `sum a[i] b[i]` with eight partial sums, so it vectorises.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] = x[k].mul_add(y[k], acc[k]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Applies `act` to every element of `x`, in place.
pub(crate) fn activate(x: &mut [f32], act: Activation) {
    x.par_chunks_mut(CHUNK)
        .for_each(|x| pulp::Arch::new().dispatch(Activate { x, act }));
}

/// The gated feed-forward input: for every row `[a | b]` of `2 * width` values,
/// `act(a) * b` (`width` values). `x.len()` is a multiple of `2 * width`.
pub(crate) fn gated(x: &[f32], width: usize, act: Activation) -> Vec<f32> {
    debug_assert!(width > 0 && x.len().is_multiple_of(2 * width));
    let rows = x.len() / (2 * width);
    let mut out = vec![0.0f32; rows * width];
    // Whole rows per task, about CHUNK outputs each.
    let rows_per_task = (CHUNK / width).max(1);
    out.par_chunks_mut(rows_per_task * width)
        .zip(x.par_chunks(rows_per_task * 2 * width))
        .for_each(|(out, x)| pulp::Arch::new().dispatch(Gated { out, x, width, act }));
    out
}

/// RMSNorm of every row of `x` (width `weight.len()`), in place:
/// `x / sqrt(mean(x^2) + eps) * weight`, the mean accumulated in `f32` like PyTorch.
pub(crate) fn rms_norm(x: &mut [f32], weight: &[f32], eps: f32) {
    let width = weight.len();
    debug_assert!(width > 0 && x.len().is_multiple_of(width));
    let rows_per_task = (CHUNK / width).max(1);
    x.par_chunks_mut(rows_per_task * width)
        .for_each(|x| pulp::Arch::new().dispatch(RmsNorm { x, weight, eps }));
}

/// One chunk of [`activate`]. A `pulp` op rather than a closure: `with_simd` is
/// inlined into the target-feature function `dispatch` picks, so the loops below are
/// compiled (and vectorised, with FMA) for that instruction set.
struct Activate<'a> {
    x: &'a mut [f32],
    act: Activation,
}

impl pulp::WithSimd for Activate<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        match self.act {
            Activation::Gelu => self.x.iter_mut().for_each(|v| *v = gelu(*v)),
            Activation::GeluTanh => self.x.iter_mut().for_each(|v| *v = gelu_tanh(*v)),
            Activation::Relu => self.x.iter_mut().for_each(|v| *v = v.max(0.0)),
            Activation::Silu => self.x.iter_mut().for_each(|v| *v = silu(*v)),
        }
    }
}

/// Whole rows of [`gated`].
struct Gated<'a> {
    out: &'a mut [f32],
    x: &'a [f32],
    width: usize,
    act: Activation,
}

impl pulp::WithSimd for Gated<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let w = self.width;
        for (o, i) in self.out.chunks_exact_mut(w).zip(self.x.chunks_exact(2 * w)) {
            let (a, b) = i.split_at(w);
            match self.act {
                Activation::Gelu => gate_row(o, a, b, gelu),
                Activation::GeluTanh => gate_row(o, a, b, gelu_tanh),
                Activation::Relu => gate_row(o, a, b, |v| v.max(0.0)),
                Activation::Silu => gate_row(o, a, b, silu),
            }
        }
    }
}

/// Whole rows of [`rms_norm`].
struct RmsNorm<'a> {
    x: &'a mut [f32],
    weight: &'a [f32],
    eps: f32,
}

impl pulp::WithSimd for RmsNorm<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let w = self.weight.len();
        for row in self.x.chunks_exact_mut(w) {
            // Eight partial sums, so the reduction vectorises.
            let mut acc = [0.0f32; 8];
            let mut chunks = row.chunks_exact(8);
            for c in &mut chunks {
                for (a, &v) in acc.iter_mut().zip(c) {
                    *a = v.mul_add(v, *a);
                }
            }
            let tail: f32 = chunks.remainder().iter().map(|v| v * v).sum();
            let mean = (acc.iter().sum::<f32>() + tail) / w as f32;
            let inv = 1.0 / (mean + self.eps).sqrt();
            for (v, &g) in row.iter_mut().zip(self.weight) {
                *v = *v * inv * g;
            }
        }
    }
}

#[inline(always)]
fn gate_row(o: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32) -> f32) {
    for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
        *o = f(a) * b;
    }
}

/// Exact GELU, `0.5 x (1 + erf(x / sqrt 2))`.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The tanh GELU, `0.5 x (1 + tanh(u))` with `u = sqrt(2 / pi) (x + 0.044715 x^3)`,
/// computed as the equal `x / (1 + e^(-2u))` (one `exp`, one division).
#[inline(always)]
fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let inner = SQRT_2_OVER_PI * (0.044_715 * x * x).mul_add(x, x);
    x / (1.0 + exp(-2.0 * inner))
}

/// SiLU, `x / (1 + exp(-x))`.
#[inline(always)]
fn silu(x: f32) -> f32 {
    x / (1.0 + exp(-x))
}

/// `erf` as a rational function of `x^2` (odd numerator of degree 13, even denominator
/// of degree 8) on `[-4, 4]`, clamped outside it, where `erf` is within 2e-8 of 1.
/// The coefficients are the published minimax fit used by XLA and Eigen for `f32`.
#[inline(always)]
fn erf(x: f32) -> f32 {
    const ALPHA: [f32; 7] = [
        -2.726_142_3e-10,
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_6e-3,
        -1.609_603_3e-2,
    ];
    const BETA: [f32; 5] = [
        -1.456_607_2e-5,
        -2.133_740_6e-4,
        -1.682_827e-3,
        -7.373_329e-3,
        -1.426_474e-2,
    ];
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = ALPHA[0];
    for &a in &ALPHA[1..] {
        p = p.mul_add(x2, a);
    }
    let mut q = BETA[0];
    for &b in &BETA[1..] {
        q = q.mul_add(x2, b);
    }
    x * p / q
}

/// `e^x`: `2^n e^r` with `n = round(x / ln 2)` (ties to even: one vector instruction), `|r| <= ln 2 / 2` (ln 2 split in two
/// so `r` is exact), `e^r` by its Taylor polynomial to degree 7 (relative error below
/// 2e-8 there), and `2^n` built in the exponent bits. `x` is clamped to `[-87, 88]`,
/// where `2^n` stays a normal float: below it the result is at most 2e-38 instead of
/// 0, above it about 1.7e38 instead of infinity, which every caller here absorbs.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E).round_ties_even();
    let r = n.mul_add(-LN2_LO, n.mul_add(-LN2_HI, x));
    // Taylor coefficients 1/k!, k = 7 down to 0.
    const C: [f32; 8] = [
        1.0 / 5040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
    let mut p = C[0];
    for &c in &C[1..] {
        p = p.mul_add(r, c);
    }
    // n is in [-126, 127]: 2^n is the normal float with biased exponent n + 127.
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 1e-4 on `[-lim, lim]`, plus the far ends.
    fn grid(lim: f64) -> impl Iterator<Item = f32> {
        let n = (lim * 1e4) as i64;
        (-n..=n)
            .map(|i| (i as f64 * 1e-4) as f32)
            .chain([-1e4, -100.0, -30.0, 30.0, 100.0, 1e4, 0.0, -0.0])
    }

    #[test]
    fn erf_is_within_4e_7_of_libm_everywhere() {
        let worst = grid(8.0)
            .map(|x| (f64::from(erf(x)) - libm::erf(f64::from(x))).abs())
            .fold(0.0, f64::max);
        assert!(worst < 4e-7, "max |erf error| {worst:e}");
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(f32::INFINITY), erf(4.0));
    }

    #[test]
    fn exp_is_within_2e_7_relative_on_its_range() {
        let worst = grid(87.0)
            .filter(|x| x.abs() <= 87.0)
            .map(|x| {
                let e = f64::from(x).exp();
                (f64::from(exp(x)) - e).abs() / e
            })
            .fold(0.0, f64::max);
        assert!(worst < 2e-7, "max relative exp error {worst:e}");
        assert!(exp(-1e4) < 1e-37 && exp(-1e4) >= 0.0);
        assert!(exp(1e4).is_finite() && exp(1e4) > 1e38);
    }

    /// The activations against their `f64` definitions, relative to `max(1, |x|)`.
    #[test]
    fn activations_match_their_definitions() {
        let gelu64 = |x: f64| 0.5 * x * (1.0 + libm::erf(x / 2f64.sqrt()));
        let tanh64 = |x: f64| {
            let c = (2.0 / std::f64::consts::PI).sqrt();
            0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
        };
        let silu64 = |x: f64| x / (1.0 + (-x).exp());
        let relu64 = |x: f64| x.max(0.0);
        let cases: [(Activation, &dyn Fn(f64) -> f64); 4] = [
            (Activation::Gelu, &gelu64),
            (Activation::GeluTanh, &tanh64),
            (Activation::Silu, &silu64),
            (Activation::Relu, &relu64),
        ];
        let xs: Vec<f32> = grid(20.0).filter(|x| x.abs() <= 100.0).collect();
        for (act, reference) in cases {
            let mut ys = xs.clone();
            activate(&mut ys, act);
            let worst = xs
                .iter()
                .zip(&ys)
                .map(|(&x, &y)| {
                    let x = f64::from(x);
                    (f64::from(y) - reference(x)).abs() / x.abs().max(1.0)
                })
                .fold(0.0, f64::max);
            assert!(worst < 1e-6, "{act:?}: max scaled error {worst:e}");
        }
    }

    #[test]
    fn gated_multiplies_the_activated_half_by_the_other() {
        let width = 5;
        // 3 rows of [a | b].
        let x: Vec<f32> = (0..30).map(|i| (i as f32 - 15.0) * 0.37).collect();
        for act in [
            Activation::Gelu,
            Activation::GeluTanh,
            Activation::Silu,
            Activation::Relu,
        ] {
            let out = gated(&x, width, act);
            assert_eq!(out.len(), 15);
            for (r, row) in x.chunks(2 * width).enumerate() {
                let mut a = row[..width].to_vec();
                activate(&mut a, act);
                for j in 0..width {
                    assert_eq!(out[r * width + j], a[j] * row[width + j], "{act:?} {r} {j}");
                }
            }
        }
    }

    #[test]
    fn rms_norm_matches_its_definition() {
        let width = 37;
        let weight: Vec<f32> = (0..width).map(|j| 0.5 + j as f32 * 0.1).collect();
        let x: Vec<f32> = (0..width * 9)
            .map(|i| ((i * 7919) % 101) as f32 * 0.13 - 6.0)
            .collect();
        let mut y = x.clone();
        rms_norm(&mut y, &weight, 1e-6);
        for (xr, yr) in x.chunks(width).zip(y.chunks(width)) {
            let ms = xr.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / width as f64;
            let inv = 1.0 / (ms + 1e-6).sqrt();
            for j in 0..width {
                let want = f64::from(xr[j]) * inv * f64::from(weight[j]);
                assert!(
                    (f64::from(yr[j]) - want).abs() < 1e-5,
                    "{j}: {} vs {want}",
                    yr[j]
                );
            }
        }
    }

    #[test]
    fn linear_matches_a_plain_product() {
        let (rows, k, n) = (70, 33, 45);
        let x: Vec<f32> = (0..rows * k)
            .map(|i| ((i * 31) % 17) as f32 * 0.25 - 2.0)
            .collect();
        let w: Vec<f32> = (0..k * n)
            .map(|i| ((i * 7) % 13) as f32 * 0.1 - 0.6)
            .collect();
        let b: Vec<f32> = (0..n).map(|j| j as f32 * 0.01).collect();
        for bias in [None, Some(b.as_slice())] {
            let out = linear(&x, k, &w, n, bias);
            assert_eq!(out.len(), rows * n);
            for r in 0..rows {
                for c in 0..n {
                    let mut want = bias.map_or(0.0, |b| f64::from(b[c]));
                    for i in 0..k {
                        want += f64::from(x[r * k + i]) * f64::from(w[i * n + c]);
                    }
                    let got = f64::from(out[r * n + c]);
                    assert!((got - want).abs() < 1e-4, "{r},{c}: {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn rope_rotates_each_pair_by_its_position() {
        let (seqs, len, d) = (3, 4, 6);
        let x: Vec<f32> = (0..seqs * len * d)
            .map(|i| (i as f32 * 0.37).sin())
            .collect();
        let cos: Vec<f32> = (0..len * d).map(|i| (i as f32 * 0.11).cos()).collect();
        let sin: Vec<f32> = (0..len * d).map(|i| (i as f32 * 0.11).sin()).collect();
        let out = rope(&x, len, d, &cos, &sin);
        for (r, (o, xr)) in out.chunks(d).zip(x.chunks(d)).enumerate() {
            let p = r % len;
            for j in 0..d {
                let rotated = if j < d / 2 {
                    -xr[j + d / 2]
                } else {
                    xr[j - d / 2]
                };
                let want = xr[j] * cos[p * d + j] + rotated * sin[p * d + j];
                assert!((o[j] - want).abs() < 1e-6, "row {r} col {j}");
            }
        }
    }

    /// Attention against a plain `f64` computation, with padding and a bias.
    #[test]
    fn attention_matches_a_plain_softmax() {
        let (len, heads, d) = (5, 2, 12);
        let hidden = heads * d;
        let lengths = [5usize, 3];
        let batch = lengths.len();
        let qkv: Vec<f32> = (0..batch * len * 3 * hidden)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03)
            .collect();
        let bias: Vec<f32> = (0..heads * len * len)
            .map(|i| (i % 7) as f32 * 0.1)
            .collect();
        for bias in [None, Some(bias.as_slice())] {
            let out = attention(&qkv, &lengths, len, heads, bias);
            for (b, &n) in lengths.iter().enumerate() {
                for h in 0..heads {
                    for i in 0..len {
                        let at = |t: usize, part: usize, c: usize| {
                            f64::from(qkv[(b * len + t) * 3 * hidden + part * hidden + h * d + c])
                        };
                        let scores: Vec<f64> = (0..n)
                            .map(|j| {
                                let dot: f64 = (0..d).map(|c| at(i, 0, c) * at(j, 1, c)).sum();
                                let extra =
                                    bias.map_or(0.0, |bs| f64::from(bs[(h * len + i) * len + j]));
                                dot / (d as f64).sqrt() + extra
                            })
                            .collect();
                        let max = scores.iter().copied().fold(f64::MIN, f64::max);
                        let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                        let sum: f64 = e.iter().sum();
                        for c in 0..d {
                            let want: f64 = (0..n).map(|j| e[j] / sum * at(j, 2, c)).sum();
                            let got = f64::from(out[(b * len + i) * hidden + h * d + c]);
                            assert!(
                                (got - want).abs() < 1e-5,
                                "b{b} h{h} i{i} c{c}: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}
