//! Kernels run on the host buffer of a CPU (`flex`) tensor: the linear layers
//! ([`linear`]), attention with its q/k RMSNorm and RoPE ([`attention`]), RMSNorm
//! ([`rms_norm`]) and the feed-forward activations, alone ([`activate`]) or gated
//! ([`gated`]).
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

/// Which keys a real query at position `q` sees, besides key padding (`k < n`, the
/// row's real length). The spans of `transformers`' masks (`decoder.rs`,
/// `modernbert.rs` spell them out per family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Span {
    /// Every key (BERT, global layers).
    All,
    /// Keys with `|q - k| < w` (bidirectional sliding window).
    Window(usize),
    /// Keys with `k <= q` (causal).
    Causal,
    /// Keys with `k <= q` and `q - k < w` (causal sliding window).
    CausalWindow(usize),
}

impl Span {
    /// The keys `[lo, hi)` query `q` sees in a row of real length `n`. A padding query
    /// (`q >= n`) sees every real key: its output is discarded (the pooling and the
    /// other positions' keys skip it), so any finite value does, and the window may
    /// hold no real key there.
    fn keys(self, q: usize, n: usize) -> (usize, usize) {
        if q >= n {
            return (0, n);
        }
        match self {
            Self::All => (0, n),
            Self::Window(w) => ((q + 1).saturating_sub(w), n.min(q + w)),
            Self::Causal => (0, q + 1),
            Self::CausalWindow(w) => ((q + 1).saturating_sub(w), q + 1),
        }
    }
}

/// The shape and extras of one attention layer for [`attention`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Heads<'a> {
    /// Query heads.
    pub(crate) heads: usize,
    /// Key/value heads (grouped-query attention: query head `h` reads group
    /// `h / (heads / kv_heads)`); `heads` in multi-head attention.
    pub(crate) kv_heads: usize,
    /// Multiplies the query-key products (`1 / sqrt(head_dim)` unless the family says).
    pub(crate) scale: f32,
    pub(crate) span: Span,
    /// Added to the scaled scores (MPNet's relative positions): `[1 or batch, heads,
    /// len, len]`.
    pub(crate) bias: Option<&'a [f32]>,
    /// RMSNorm of every query and key head vector (Gemma 3, Qwen 3): the query and key
    /// weights (`[head_dim]` each) and epsilon, applied before `rope`.
    pub(crate) qk_norm: Option<(&'a [f32], &'a [f32], f32)>,
    /// Rotary embedding of queries and keys: the cosine and sine tables `[len,
    /// head_dim]`, indexed by position: `x * cos + rotate_half(x) * sin` with
    /// `rotate_half([x1, x2]) = [-x2, x1]`.
    pub(crate) rope: Option<(&'a [f32], &'a [f32])>,
}

/// Scaled dot-product attention straight from a fused projection: `qkv` is `[batch,
/// len, (heads + 2 * kv_heads) * d]`, queries then keys then values side by side (head
/// `h` at columns `h * d..(h + 1) * d` of its block), the output `[batch, len, heads *
/// d]`. This is the layout of BERT's concatenated q/k/v weights, ModernBERT's `Wqkv`
/// and the decoders' fused q/k/v projection.
///
/// Row `b` attends to its first `lengths[b]` keys, within `span`. Queries and keys get
/// the RMSNorm and rotary embedding of `spec` first; `bias` is added to the scaled
/// scores. The softmax is exact: the largest score is subtracted before [`exp`]. One
/// rayon task per sequence. It replaces Burn's attention and the head-major copies,
/// grouped-query repeats and separate norm and RoPE passes around it (profiles in
/// docs/teacher-speed.md).
pub(crate) fn attention(qkv: &[f32], lengths: &[usize], len: usize, spec: &Heads<'_>) -> Vec<f32> {
    let batch = lengths.len();
    let (heads, kv) = (spec.heads, spec.kv_heads);
    assert!(batch > 0 && len > 0 && kv > 0 && heads.is_multiple_of(kv));
    let width = qkv.len() / (batch * len);
    assert!(qkv.len() == batch * len * width && width.is_multiple_of(heads + 2 * kv));
    let d = width / (heads + 2 * kv);
    assert!(lengths.iter().all(|&n| (1..=len).contains(&n)));
    let bias_rows = match spec.bias {
        Some(b) => {
            assert!(b.len() == heads * len * len || b.len() == batch * heads * len * len);
            b.len() / (heads * len * len)
        }
        None => 0,
    };
    if let Span::Window(w) | Span::CausalWindow(w) = spec.span {
        // Loading rejects empty windows (`decoder.rs`); ModernBERT's is `radius + 1`.
        assert!(w > 0, "an empty attention window");
    }
    if let Some((qw, kw, _)) = spec.qk_norm {
        assert!(qw.len() == d && kw.len() == d);
    }
    if let Some((cos, sin)) = spec.rope {
        assert!(d.is_multiple_of(2) && cos.len() == len * d && sin.len() == len * d);
    }
    let mut out = vec![0.0f32; batch * len * heads * d];
    out.par_chunks_mut(len * heads * d)
        .zip(qkv.par_chunks(len * width))
        .zip(lengths.par_iter())
        .enumerate()
        // One scratch buffer per rayon job, reused across its sequences.
        .for_each_init(Vec::new, |scratch, (b, ((out, qkv), &n))| {
            let bias = spec.bias.map(|all| {
                let at = if bias_rows == 1 { 0 } else { b };
                &all[at * heads * len * len..(at + 1) * heads * len * len]
            });
            pulp::Arch::new().dispatch(Attend {
                out,
                qkv,
                n,
                len,
                d,
                spec,
                bias,
                scratch,
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
    d: usize,
    spec: &'a Heads<'a>,
    bias: Option<&'a [f32]>,
    /// Room for the prepared keys, a query and the scores (`(n + 1) * d + n`).
    scratch: &'a mut Vec<f32>,
}

impl Attend<'_> {
    /// Head vector `h` (counted across the q, k, v blocks) of position `t`, normed
    /// (with `norm`) and rotated into `dst` when the spec says so.
    #[inline(always)]
    fn prepare(&self, dst: &mut [f32], t: usize, h: usize, norm: Option<&[f32]>) {
        let d = self.d;
        let width = (self.spec.heads + 2 * self.spec.kv_heads) * d;
        let src = &self.qkv[t * width + h * d..t * width + (h + 1) * d];
        dst.copy_from_slice(src);
        if let (Some(w), Some((_, _, eps))) = (norm, self.spec.qk_norm) {
            rms_row(dst, w, eps);
        }
        if let Some((cos, sin)) = self.spec.rope {
            let (c, s) = (&cos[t * d..(t + 1) * d], &sin[t * d..(t + 1) * d]);
            let half = d / 2;
            for j in 0..half {
                let (x1, x2) = (dst[j], dst[half + j]);
                dst[j] = x1 * c[j] - x2 * s[j];
                dst[half + j] = x2 * c[half + j] + x1 * s[half + j];
            }
        }
    }
}

impl pulp::WithSimd for Attend<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let (n, len, d) = (self.n, self.len, self.d);
        let (heads, kv) = (self.spec.heads, self.spec.kv_heads);
        let group = heads / kv;
        let width = (heads + 2 * kv) * d;
        let (q_norm, k_norm) = match self.spec.qk_norm {
            Some((q, k, _)) => (Some(q), Some(k)),
            None => (None, None),
        };
        // The real keys of one group, prepared once for its `group` query heads.
        let mut scratch = std::mem::take(self.scratch);
        scratch.resize((n + 1) * d + n, 0.0);
        let (keys, rest) = scratch.split_at_mut(n * d);
        let (q, p) = rest.split_at_mut(d);
        for g in 0..kv {
            for (t, k) in keys.chunks_exact_mut(d).enumerate() {
                self.prepare(k, t, heads + g, k_norm);
            }
            let value = |t: usize| {
                let at = t * width + (heads + kv + g) * d;
                &self.qkv[at..at + d]
            };
            for h in g * group..(g + 1) * group {
                for i in 0..len {
                    self.prepare(q, i, h, q_norm);
                    let (lo, hi) = self.spec.span.keys(i, n);
                    let p = &mut p[lo..hi];
                    let mut max = f32::NEG_INFINITY;
                    for (j, pj) in (lo..hi).zip(p.iter_mut()) {
                        let mut s = dot(q, &keys[j * d..(j + 1) * d]) * self.spec.scale;
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
                    let at = (i * heads + h) * d;
                    let out = &mut self.out[at..at + d];
                    out.fill(0.0);
                    for (j, &pj) in (lo..hi).zip(p.iter()) {
                        let w = pj * inv;
                        for (o, &v) in out.iter_mut().zip(value(j)) {
                            *o = w.mul_add(v, *o);
                        }
                    }
                }
            }
        }
        *self.scratch = scratch;
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
            rms_row(row, self.weight, self.eps);
        }
    }
}

/// RMSNorm of one row, in place (`row.len() == weight.len()`).
#[inline(always)]
fn rms_row(row: &mut [f32], weight: &[f32], eps: f32) {
    // Eight partial sums, so the reduction vectorises.
    let mut acc = [0.0f32; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = v.mul_add(v, *a);
        }
    }
    let tail: f32 = chunks.remainder().iter().map(|v| v * v).sum();
    let mean = (acc.iter().sum::<f32>() + tail) / row.len() as f32;
    let inv = 1.0 / (mean + eps).sqrt();
    for (v, &g) in row.iter_mut().zip(weight) {
        *v = *v * inv * g;
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

    /// Attention against a plain `f64` computation: multi-head with padding and a bias
    /// (BERT, MPNet), and grouped-query with q/k RMSNorm, RoPE and every span (the
    /// decoders, ModernBERT).
    #[test]
    fn attention_matches_a_plain_softmax() {
        let (len, d) = (6, 8);
        let lengths = [6usize, 4];
        let batch = lengths.len();
        let cos: Vec<f32> = (0..len * d).map(|i| (i as f32 * 0.21).cos()).collect();
        let sin: Vec<f32> = (0..len * d).map(|i| (i as f32 * 0.21).sin()).collect();
        let qw: Vec<f32> = (0..d).map(|j| 0.5 + j as f32 * 0.1).collect();
        let kw: Vec<f32> = (0..d).map(|j| 1.5 - j as f32 * 0.1).collect();
        let bias: Vec<f32> = (0..2 * len * len).map(|i| (i % 7) as f32 * 0.1).collect();
        let cases = [
            // (heads, kv heads, span, bias, norm + rope)
            (2, 2, Span::All, false, false),
            (2, 2, Span::All, true, false),
            (4, 2, Span::All, false, true),
            (4, 1, Span::Window(2), false, true),
            (2, 2, Span::Causal, false, true),
            (4, 2, Span::CausalWindow(3), false, true),
        ];
        for (heads, kv, span, with_bias, extras) in cases {
            let width = (heads + 2 * kv) * d;
            let qkv: Vec<f32> = (0..batch * len * width)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03)
                .collect();
            let spec = Heads {
                heads,
                kv_heads: kv,
                scale: 0.3,
                span,
                bias: with_bias.then_some(bias.as_slice()),
                qk_norm: extras.then_some((qw.as_slice(), kw.as_slice(), 1e-6)),
                rope: extras.then_some((cos.as_slice(), sin.as_slice())),
            };
            let out = attention(&qkv, &lengths, len, &spec);
            assert_eq!(out.len(), batch * len * heads * d);
            // Head vector `h` of position `t` in row `b`, normed and rotated in f64.
            let vector = |b: usize, t: usize, h: usize, w: Option<&[f32]>| -> Vec<f64> {
                let at = (b * len + t) * width + h * d;
                let mut x: Vec<f64> = qkv[at..at + d].iter().map(|&v| f64::from(v)).collect();
                if !extras {
                    return x;
                }
                if let Some(w) = w {
                    let ms = x.iter().map(|v| v * v).sum::<f64>() / d as f64;
                    let inv = 1.0 / (ms + 1e-6).sqrt();
                    x.iter_mut()
                        .zip(w)
                        .for_each(|(v, &g)| *v *= inv * f64::from(g));
                }
                (0..d)
                    .map(|j| {
                        let rot = if j < d / 2 {
                            -x[j + d / 2]
                        } else {
                            x[j - d / 2]
                        };
                        x[j] * f64::from(cos[t * d + j]) + rot * f64::from(sin[t * d + j])
                    })
                    .collect()
            };
            for (b, &n) in lengths.iter().enumerate() {
                for h in 0..heads {
                    let g = h / (heads / kv);
                    // Real queries only: padding positions' outputs are discarded.
                    for i in 0..n {
                        let q = vector(b, i, h, Some(&qw));
                        let visible = |j: usize| match span {
                            Span::All => true,
                            Span::Window(w) => i.abs_diff(j) < w,
                            Span::Causal => j <= i,
                            Span::CausalWindow(w) => j <= i && i - j < w,
                        };
                        let keys: Vec<usize> = (0..n).filter(|&j| visible(j)).collect();
                        let scores: Vec<f64> = keys
                            .iter()
                            .map(|&j| {
                                let k = vector(b, j, heads + g, Some(&kw));
                                let dot: f64 = q.iter().zip(&k).map(|(a, b)| a * b).sum();
                                let extra = if with_bias {
                                    f64::from(bias[(h * len + i) * len + j])
                                } else {
                                    0.0
                                };
                                dot * 0.3 + extra
                            })
                            .collect();
                        let max = scores.iter().copied().fold(f64::MIN, f64::max);
                        let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                        let sum: f64 = e.iter().sum();
                        for c in 0..d {
                            let want: f64 = keys
                                .iter()
                                .zip(&e)
                                .map(|(&j, e)| {
                                    let at = (b * len + j) * width + (heads + kv + g) * d + c;
                                    e / sum * f64::from(qkv[at])
                                })
                                .sum();
                            let got = f64::from(out[((b * len + i) * heads + h) * d + c]);
                            assert!(
                                (got - want).abs() < 1e-5,
                                "{span:?} heads {heads}/{kv} b{b} h{h} i{i} c{c}: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}
