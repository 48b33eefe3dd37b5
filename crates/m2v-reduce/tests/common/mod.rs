//! Shared by the integration tests: the input matrix that `scripts/golden_reduce.py` also builds.

#![allow(dead_code)]

/// SplitMix64, the same stream as `SplitMix64` in `scripts/golden_reduce.py`.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1) with 24 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0
    }
}

/// `matrix()` of the Python script: `U diag(s) A + offset` summed in f64 in the same order,
/// rounded once to f32.
pub fn matrix(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut g = SplitMix64::new(seed);
    let a: Vec<Vec<f64>> = (0..cols)
        .map(|_| (0..cols).map(|_| g.uniform()).collect())
        .collect();
    let offset: Vec<f64> = (0..cols).map(|_| g.uniform() * 3.0).collect();
    let s: Vec<f64> = (0..cols).map(|j| 2f64.powf(-(j as f64) / 4.0)).collect();
    let mut out = Vec::with_capacity(rows * cols);
    for _ in 0..rows {
        let u: Vec<f64> = (0..cols).map(|_| g.uniform()).collect();
        for col in 0..cols {
            let mut acc = offset[col];
            for j in 0..cols {
                acc += u[j] * s[j] * a[j][col];
            }
            out.push(acc as f32);
        }
    }
    out
}
