//! A small, seeded, dependency-free byte mutator for the replay tests
//! (`tests/fuzz_replay.rs` of m2v-static and m2v-hub): CI cannot afford to build the
//! libFuzzer targets, so `cargo test` runs each target's check on its committed seeds
//! and on a fixed number of mutants of them (byte flips, inserted interesting bytes,
//! deleted and duplicated ranges, splices of two seeds). This is not coverage-guided
//! fuzzing (that is `run.sh`, see docs/robustness.md); it keeps the checks and the
//! code they exercise honest on every commit.

/// xorshift64*: a seeded generator, so a failure reproduces.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-enough in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bytes that matter to the parsers under test (JSON syntax, digits, separators,
/// control and non-ASCII bytes, size-field extremes).
const INTERESTING: &[u8] = b"{}[]\":,.-+0123456789eE\\/\0\x01\x1b\x7f\x80\xc3\xff @-_nulltrue";

/// One mutant of `seeds[k]` for a random `k`: one to four mutations.
pub fn mutant(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut d = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(d.len() + 1);
                d.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            2 if !d.is_empty() => {
                let i = rng.below(d.len());
                let n = 1 + rng.below((d.len() - i).min(16));
                d.drain(i..i + n);
            }
            3 if !d.is_empty() => {
                let i = rng.below(d.len());
                let n = 1 + rng.below((d.len() - i).min(32));
                let chunk = d[i..i + n].to_vec();
                let at = rng.below(d.len() + 1);
                d.splice(at..at, chunk);
            }
            4 if d.len() >= 8 => {
                // A little-endian size field set to an extreme.
                let i = rng.below(d.len() - 7);
                let v = [0u64, 1, 7, 8, u32::MAX as u64, u64::MAX][rng.below(6)];
                d[i..i + 8].copy_from_slice(&v.to_le_bytes());
            }
            _ => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(d.len() + 1);
                let from = rng.below(other.len() + 1);
                d.truncate(cut);
                d.extend_from_slice(&other[from..]);
            }
        }
    }
    d
}

/// Every file of `dir`, sorted by name (the seeds of one target).
pub fn seeds(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}
