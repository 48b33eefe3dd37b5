//! This CPU's fp32 ceiling, and the `gemm` crate's rate at the teachers' matmul shapes,
//! the two numbers docs/teacher-speed.md compares the teacher's GFLOP/s with.
//!
//! - **Ceiling:** independent chains of vector FMAs (12 accumulators, enough to hide
//!   the FMA latency on two ports), on 1 and on every core, for each instruction set
//!   the CPU has among AVX-512 and AVX2+FMA (`pulp`'s dispatch, as `host.rs` uses).
//! - **gemm:** `x W` with `x` `[m, k]` and `W` `[k, n]`, row-major, as `host::linear`
//!   calls it: the shapes of a distillation batch (256 sequences of 3 tokens = 768
//!   rows) through 768-wide layers (MiniLM's and MPNet's are 384 and 768 wide, their
//!   feed-forward 4x; EmbeddingGemma's feed-forward is 1152).
//!
//! PyTorch's side of the matmuls is `scripts/matmul_rate.py`.
//!
//!     cargo run --release -p m2v-teacher --example cpu_ceiling
//!
//! The gemm calls are the example's one `unsafe` block (the crate's `gemm` API is
//! raw pointers); the pointers come from live `Vec`s of the sizes passed.

use std::time::Instant;

use pulp::{Simd, WithSimd};

/// Independent FMA chains: `acc = acc * a + b`, `iters` times each.
struct Fma {
    iters: u64,
}

impl WithSimd for Fma {
    type Output = f32;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> f32 {
        let a = simd.splat_f32s(1.000_000_1);
        let b = simd.splat_f32s(0.999_999_9);
        let mut acc = [simd.splat_f32s(0.0); 12];
        for _ in 0..self.iters {
            for r in acc.iter_mut() {
                *r = simd.mul_add_f32s(*r, a, b);
            }
        }
        let mut sum = simd.splat_f32s(0.0);
        for r in acc {
            sum = simd.add_f32s(sum, r);
        }
        simd.reduce_sum_f32s(sum)
    }
}

/// GFLOP/s of `threads` threads each running `run` (which does `flops` flops).
fn rate(threads: usize, flops: f64, run: impl Fn() -> f32 + Sync) -> f64 {
    let start = Instant::now();
    let sink: f32 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(&run)).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("an FMA thread panicked"))
            .sum()
    });
    std::hint::black_box(sink);
    threads as f64 * flops / start.elapsed().as_secs_f64() / 1e9
}

fn ceiling(name: &str, lanes: usize, cores: usize, run: impl Fn(u64) -> f32 + Sync) {
    let iters = 100_000_000u64;
    let flops = iters as f64 * 12.0 * lanes as f64 * 2.0;
    run(iters / 10); // warm-up (clock ramp)
    for threads in [1, cores] {
        let gflops = rate(threads, flops, || run(iters));
        println!("{name} FMA peak, {threads} thread(s): {gflops:.0} GFLOP/s");
    }
}

fn gemm_rate(m: usize, k: usize, n: usize, threads: usize) -> f64 {
    let x: Vec<f32> = (0..m * k).map(|i| (i % 13) as f32 * 0.01).collect();
    let w: Vec<f32> = (0..k * n).map(|i| (i % 7) as f32 * 0.01).collect();
    let mut out = vec![0.0f32; m * n];
    let parallelism = if threads == 1 {
        gemm::Parallelism::None
    } else {
        gemm::Parallelism::Rayon(threads)
    };
    let mut run = || {
        // SAFETY: `x` is `m x k` (strides 1, k), `w` is `k x n` (strides 1, n), `out`
        // is `m x n` (strides 1, n), all live and of those sizes; `out` aliases neither.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                out.as_mut_ptr(),
                1,
                n as isize,
                false,
                x.as_ptr(),
                1,
                k as isize,
                w.as_ptr(),
                1,
                n as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
    };
    for _ in 0..5 {
        run();
    }
    let reps = 40;
    let start = Instant::now();
    for _ in 0..reps {
        run();
    }
    let secs = start.elapsed().as_secs_f64();
    std::hint::black_box(&out);
    reps as f64 * 2.0 * (m * k * n) as f64 / secs / 1e9
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{cores} core(s)");
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(simd) = pulp::x86::V4::try_new() {
            ceiling("AVX-512", 16, cores, |iters| {
                Simd::vectorize(simd, Fma { iters })
            });
        }
        if let Some(simd) = pulp::x86::V3::try_new() {
            ceiling("AVX2+FMA", 8, cores, |iters| {
                Simd::vectorize(simd, Fma { iters })
            });
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let lanes = std::mem::size_of::<<pulp::Scalar as Simd>::f32s>() / 4;
        ceiling("scalar", lanes, cores, |iters| {
            pulp::Scalar::new().vectorize(Fma { iters })
        });
    }
    for (m, k, n) in [
        (768, 768, 768),
        (768, 768, 1152),
        (768, 1152, 768),
        (768, 768, 3072),
        (768, 3072, 768),
    ] {
        let one = gemm_rate(m, k, n, 1);
        let all = gemm_rate(m, k, n, cores);
        println!("gemm {m}x{k} @ {k}x{n}: {one:.0} GFLOP/s on 1 thread, {all:.0} on {cores}");
    }
}
