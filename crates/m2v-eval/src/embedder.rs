//! The one interface every benchmarked model implements, and a hashing baseline.

use crate::error::Error;

/// A model that turns texts into fixed-size vectors.
///
/// Invariant: `encode` returns `texts.len() * self.dim()` values, row-major, and the
/// rows do not depend on `threads` or on how the caller batches texts.
pub trait Embedder: Sync {
    /// Display name (the table's Model column).
    fn name(&self) -> String;
    /// What runs it, e.g. `m2v (static)`, `m2v-teacher (burn flex)`.
    fn implementation(&self) -> String;
    /// Number of parameters (embedding rows × dim for static models).
    fn params(&self) -> usize;
    /// Output dimension.
    fn dim(&self) -> usize;
    /// Embeds `texts` using up to `threads` threads.
    fn encode(&self, texts: &[&str], threads: usize) -> Result<Vec<f32>, Error>;
}

/// Runs `f` on contiguous chunks of `texts` in up to `threads` scoped threads and
/// concatenates the results in order. A helper for embedders without their own
/// threading; the output does not depend on `threads`.
pub fn par_chunks<F>(texts: &[&str], dim: usize, threads: usize, f: F) -> Result<Vec<f32>, Error>
where
    F: Fn(&[&str]) -> Result<Vec<f32>, Error> + Sync,
{
    let threads = threads.max(1);
    if threads == 1 || texts.len() < 2 * threads {
        return f(texts);
    }
    let per = texts.len().div_ceil(threads);
    let parts: Vec<Result<Vec<f32>, Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = texts.chunks(per).map(|c| s.spawn(|| f(c))).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Model {
                        model: "par_chunks".into(),
                        what: "an encoding thread panicked".into(),
                    })
                })
            })
            .collect()
    });
    let mut out = Vec::with_capacity(texts.len() * dim);
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// A bag-of-words baseline with no parameters: lowercased alphanumeric words hashed
/// (FNV-1a) into `dim` buckets with a ±1 sign from another bit of the hash. It needs
/// no files, so the pipeline tests and `--models hashing` run anywhere.
#[derive(Debug, Clone)]
pub struct HashingEmbedder {
    dim: usize,
}

impl HashingEmbedder {
    /// A hashing embedder with `dim` buckets (at least 1).
    pub fn new(dim: usize) -> Self {
        HashingEmbedder { dim: dim.max(1) }
    }

    fn embed_one(&self, text: &str, out: &mut [f32]) {
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in word.to_lowercase().bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            let bucket = (h % self.dim as u64) as usize;
            out[bucket] += if h >> 63 == 0 { 1.0 } else { -1.0 };
        }
    }
}

impl Embedder for HashingEmbedder {
    fn name(&self) -> String {
        format!("hashing-bow-{}", self.dim)
    }
    fn implementation(&self) -> String {
        "m2v-eval (baseline)".into()
    }
    fn params(&self) -> usize {
        0
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn encode(&self, texts: &[&str], threads: usize) -> Result<Vec<f32>, Error> {
        par_chunks(texts, self.dim, threads, |chunk| {
            let mut out = vec![0.0; chunk.len() * self.dim];
            for (t, row) in chunk.iter().zip(out.chunks_exact_mut(self.dim)) {
                self.embed_one(t, row);
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_is_deterministic_and_thread_independent() {
        let m = HashingEmbedder::new(16);
        let texts: Vec<String> = (0..50)
            .map(|i| format!("word{i} The the cat {i}"))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let a = m.encode(&refs, 1).unwrap();
        let b = m.encode(&refs, 3).unwrap();
        assert_eq!(a.len(), 50 * 16);
        assert_eq!(a, b);
        // "The the" hashes twice into the same bucket with the same sign.
        let one = m.encode(&["the"], 1).unwrap();
        let two = m.encode(&["The the"], 1).unwrap();
        assert_eq!(two, one.iter().map(|v| v * 2.0).collect::<Vec<_>>());
        assert!(m.encode(&["..."], 1).unwrap().iter().all(|&v| v == 0.0));
    }
}
