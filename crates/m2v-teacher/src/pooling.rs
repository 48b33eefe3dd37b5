//! Pooling token rows into one row per sequence, on the host, with sentence-transformers'
//! semantics (padding rows never count).

use std::str::FromStr;

/// How the hidden states of one sequence become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pooling {
    /// Mean of all real positions (specials included): sentence-transformers'
    /// `pooling_mode_mean_tokens`, model2vec's default.
    Mean,
    /// The first position (`[CLS]`): `pooling_mode_cls_token`, model2vec's `first`.
    First,
    /// The last real position: `pooling_mode_lasttoken`, model2vec's `last`.
    Last,
    /// Element-wise maximum over real positions: `pooling_mode_max_tokens`.
    Max,
    /// Sum over real positions divided by the square root of their number:
    /// `pooling_mode_mean_sqrt_len_tokens`.
    MeanSqrtLen,
    /// The model's pooler, `tanh(dense(first row))` (`pooler_output` in
    /// `transformers`); an error for checkpoints without one.
    Pooler,
    /// Mean of the positions between the first and the last, i.e. without the
    /// specials that frame a sequence (`[CLS]`/`[SEP]`, `<s>`/`</s>`, `<bos>`/`<eos>`):
    /// Tokenlearn's featurization (`token_embeddings[1:-1].mean(0)`). A sequence of at
    /// most two positions has no inner position; its mean of all positions is used.
    MeanInner,
}

impl Pooling {
    /// The name used on the command line and in model2vec (`mean`, `first`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Pooling::Mean => "mean",
            Pooling::First => "first",
            Pooling::Last => "last",
            Pooling::Max => "max",
            Pooling::MeanSqrtLen => "mean_sqrt_len",
            Pooling::Pooler => "pooler",
            Pooling::MeanInner => "mean_inner",
        }
    }
}

impl std::fmt::Display for Pooling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Pooling {
    type Err = String;

    /// Accepts model2vec's names (`mean`, `first`, `last`, `pooler`) and
    /// sentence-transformers' (`cls`, `max`, `mean_sqrt_len_tokens`, `lasttoken`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "mean" => Pooling::Mean,
            "first" | "cls" => Pooling::First,
            "last" | "lasttoken" => Pooling::Last,
            "max" => Pooling::Max,
            "mean_sqrt_len" | "mean_sqrt_len_tokens" => Pooling::MeanSqrtLen,
            "pooler" => Pooling::Pooler,
            "mean_inner" => Pooling::MeanInner,
            other => return Err(format!("unknown pooling `{other}`")),
        })
    }
}

/// Pools `rows` (`len * hidden` values: the real positions of one sequence, `len >= 1`)
/// into `out` (`hidden` values). `Pooling::Pooler` is handled by the model, not here,
/// and is treated like `First`.
pub(crate) fn pool_rows(rows: &[f32], hidden: usize, pooling: Pooling, out: &mut [f32]) {
    let len = rows.len() / hidden;
    match pooling {
        Pooling::First | Pooling::Pooler => out.copy_from_slice(&rows[..hidden]),
        Pooling::Last => out.copy_from_slice(&rows[(len - 1) * hidden..]),
        Pooling::Max => {
            out.copy_from_slice(&rows[..hidden]);
            for row in rows.chunks_exact(hidden).skip(1) {
                for (o, &v) in out.iter_mut().zip(row) {
                    if v > *o {
                        *o = v;
                    }
                }
            }
        }
        Pooling::MeanInner if len > 2 => pool_rows(
            &rows[hidden..(len - 1) * hidden],
            hidden,
            Pooling::Mean,
            out,
        ),
        Pooling::Mean | Pooling::MeanSqrtLen | Pooling::MeanInner => {
            out.fill(0.0);
            for row in rows.chunks_exact(hidden) {
                for (o, &v) in out.iter_mut().zip(row) {
                    *o += v;
                }
            }
            let d = if pooling != Pooling::MeanSqrtLen {
                len as f32
            } else {
                (len as f32).sqrt()
            };
            for o in out.iter_mut() {
                *o /= d;
            }
        }
    }
}

/// Scales `row` to unit length like `torch.nn.functional.normalize` (norm clamped to
/// at least `1e-12`).
pub(crate) fn normalize(row: &mut [f32]) {
    let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    for v in row.iter_mut() {
        *v /= norm;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pooling: Pooling, expected: &[f32]) {
        // Three positions of width 2.
        let rows = [1.0, -2.0, 3.0, 0.0, -1.0, 4.0];
        let mut out = [0.0; 2];
        pool_rows(&rows, 2, pooling, &mut out);
        for (a, b) in out.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{pooling}: {out:?} vs {expected:?}");
        }
    }

    #[test]
    fn pools() {
        check(Pooling::Mean, &[1.0, 2.0 / 3.0]);
        check(
            Pooling::MeanSqrtLen,
            &[3.0 / 3f32.sqrt(), 2.0 / 3f32.sqrt()],
        );
        check(Pooling::First, &[1.0, -2.0]);
        check(Pooling::Last, &[-1.0, 4.0]);
        check(Pooling::Max, &[3.0, 4.0]);
        // Only the middle position of three.
        check(Pooling::MeanInner, &[3.0, 0.0]);
        let mut out = [0.0; 2];
        pool_rows(&[1.0, -2.0, 3.0, 0.0], 2, Pooling::MeanInner, &mut out);
        assert_eq!(out, [2.0, -1.0], "two positions: the mean of both");
    }

    #[test]
    fn names_round_trip() {
        for p in [
            Pooling::Mean,
            Pooling::First,
            Pooling::Last,
            Pooling::Max,
            Pooling::MeanSqrtLen,
            Pooling::Pooler,
            Pooling::MeanInner,
        ] {
            assert_eq!(p.name().parse::<Pooling>(), Ok(p));
        }
        assert_eq!("cls".parse::<Pooling>(), Ok(Pooling::First));
        assert!("median".parse::<Pooling>().is_err());
    }

    #[test]
    fn normalizes() {
        let mut v = [3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut z = [0.0, 0.0];
        normalize(&mut z);
        assert_eq!(z, [0.0, 0.0]);
    }
}
