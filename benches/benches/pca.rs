//! PCA of the distillation (m2v-reduce): 30000 token vectors of 384 and 768 dimensions
//! reduced to 256 components, as `m2v-cli distill` does with all-MiniLM-L6-v2 and
//! all-mpnet-base-v2 (about 30000 tokens after pruning).
//!
//! `cargo bench -p m2v-benches --bench pca -- --warm-up-time 1 --measurement-time 3`
//!
//! The matrix is random with a decaying spectrum (the eigendecomposition's cost does not
//! depend on the values much). Time covers centring, the f64 covariance, the symmetric
//! eigendecomposition, the scores and the sign rule, on all cores (faer's rayon pool).
//! Numbers on a shared machine are noisy.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use m2v_reduce::{PcaDims, pca};

/// Row-major `rows x cols`, column `j` uniform in ±2^(-j/64): decaying variances.
fn matrix(rows: usize, cols: usize) -> Vec<f32> {
    let mut state = 0x5eed_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
    };
    (0..rows * cols)
        .map(|i| next() * (-((i % cols) as f32) / 64.0).exp2())
        .collect()
}

fn bench(c: &mut Criterion) {
    let rows = 30_000;
    let mut group = c.benchmark_group("pca_to_256");
    group.sample_size(10);
    for cols in [384, 768] {
        let x = matrix(rows, cols);
        group.bench_with_input(BenchmarkId::new("30000x", cols), &x, |b, x| {
            b.iter(|| pca(x, rows, cols, PcaDims::Int(256)).map(|r| r.data.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
