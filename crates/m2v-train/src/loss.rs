//! The losses of the four tasks, each returning the loss, its gradient with respect to
//! the logits and the task's metrics, as `model2vec.train` computes them:
//!
//! - single-label: focal cross-entropy (`FocalLoss` in `classifier.py`; `γ = 0` is
//!   cross-entropy), class-weighted like `torch.nn.CrossEntropyLoss(weight=…)`
//!   (`Σ wᵧ·lossᵧ / Σ wᵧ`); metric: accuracy of the argmax;
//! - multi-label: binary focal loss with `pos_weight`, averaged over samples and
//!   classes; metric: Jaccard accuracy of `sigmoid > 0.5`;
//! - similarity: `1 − cos(z, y)` averaged over the batch (`CosineLoss`);
//! - regression: mean squared error over all outputs (`nn.MSELoss`);
//! - pairs: InfoNCE with in-batch negatives (`PairInfoNCELoss` in `pairs.py`).

/// The targets of one batch.
#[derive(Debug, Clone, Copy)]
pub enum Targets<'a> {
    /// Class indices.
    Classes(&'a [u32]),
    /// Multi-hot rows, `rows × classes`.
    MultiHot(&'a [f32]),
    /// Target vectors, `rows × out`.
    Vectors(&'a [f32]),
    /// Pairs: the batch holds the first texts, then their second texts; one id per row,
    /// shared by identical texts.
    Pairs(&'a [u32]),
}

/// Which loss.
#[derive(Debug, Clone, PartialEq)]
pub enum Loss {
    /// Focal cross-entropy with optional class weights.
    Focal {
        /// `γ`.
        gamma: f32,
        /// One weight per class.
        weight: Option<Vec<f32>>,
    },
    /// Binary focal loss with optional positive weights.
    BinaryFocal {
        /// `γ`.
        gamma: f32,
        /// One positive weight per class.
        pos_weight: Option<Vec<f32>>,
    },
    /// `1 − cos`.
    Cosine,
    /// Mean squared error.
    Mse,
    /// InfoNCE over a batch of pairs with in-batch negatives (`PairInfoNCELoss`):
    /// cosine similarities over `temperature`, cross-entropy towards each first text's
    /// own second text; a second text identical to the positive, or paired with a first
    /// text identical to the anchor, is not a negative.
    InfoNce {
        /// The temperature (0.05).
        temperature: f32,
    },
}

/// The loss of a batch and its metric.
#[derive(Debug, Clone, Copy, Default)]
pub struct Value {
    /// The loss.
    pub loss: f64,
    /// Accuracy (classification), `None` otherwise.
    pub accuracy: Option<f64>,
}

fn log_softmax(z: &[f32], out: &mut Vec<f64>) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = z.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>().ln() + max;
    out.clear();
    out.extend(z.iter().map(|&v| v as f64 - lse));
}

/// `softplus(x) = log(1 + eˣ)`, stable.
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl Loss {
    /// The loss over `rows` rows of `logits` (`rows × k`), its gradient into `grad`
    /// (same shape), and the metric.
    pub fn eval(
        &self,
        logits: &[f32],
        k: usize,
        targets: Targets<'_>,
        grad: &mut Vec<f32>,
    ) -> Value {
        let rows = logits.len() / k.max(1);
        grad.clear();
        grad.resize(logits.len(), 0.0);
        if rows == 0 {
            return Value::default();
        }
        match (self, targets) {
            (Loss::Focal { gamma, weight }, Targets::Classes(y)) => {
                let gamma = f64::from(*gamma);
                let wsum: f64 = match weight {
                    Some(w) => y.iter().map(|&c| f64::from(w[c as usize])).sum(),
                    None => rows as f64,
                };
                let mut total = 0.0;
                let mut correct = 0usize;
                let mut lsm = Vec::with_capacity(k);
                for (r, z) in logits.chunks_exact(k).enumerate() {
                    let c = y[r] as usize;
                    log_softmax(z, &mut lsm);
                    let nll = -lsm[c];
                    let p = (-nll).exp();
                    // (1 − p)^γ, with (1 − p) = −expm1(−nll) clamped as the reference does.
                    let one_minus_p = (-(-nll).exp_m1()).max(f64::from(f32::MIN_POSITIVE));
                    let m = if gamma == 0.0 {
                        1.0
                    } else {
                        one_minus_p.powf(gamma)
                    };
                    let sw = weight.as_ref().map_or(1.0, |w| f64::from(w[c]));
                    total += sw * m * nll;
                    // dL/dp = −γ(1−p)^(γ−1)·nll − (1−p)^γ / p; dp/dz_j = p(δ_jc − p_j).
                    let dldp = if gamma == 0.0 {
                        -1.0 / p
                    } else {
                        -gamma * one_minus_p.powf(gamma - 1.0) * nll - m / p
                    };
                    let g = &mut grad[r * k..(r + 1) * k];
                    let mut best = 0;
                    for j in 0..k {
                        let pj = lsm[j].exp();
                        let delta = if j == c { 1.0 } else { 0.0 };
                        let dz = if gamma == 0.0 {
                            // The exact cross-entropy gradient, without dividing by p.
                            pj - delta
                        } else {
                            dldp * p * (delta - pj)
                        };
                        g[j] = (sw * dz / wsum) as f32;
                        if z[j] > z[best] {
                            best = j;
                        }
                    }
                    correct += usize::from(best == c);
                }
                Value {
                    loss: total / wsum,
                    accuracy: Some(correct as f64 / rows as f64),
                }
            }
            (Loss::BinaryFocal { gamma, pos_weight }, Targets::MultiHot(y)) => {
                let gamma = f64::from(*gamma);
                let n = (rows * k) as f64;
                let mut total = 0.0;
                let mut jaccard = 0.0;
                for (r, z) in logits.chunks_exact(k).enumerate() {
                    let (mut inter, mut union) = (0.0, 0.0);
                    for j in 0..k {
                        let x = f64::from(z[j]);
                        let t = f64::from(y[r * k + j]);
                        let pw = pos_weight.as_ref().map_or(1.0, |w| f64::from(w[j]));
                        // BCE with logits and pos_weight: (1−t)x + (1 + (pw−1)t)·softplus(−x).
                        let lw = 1.0 + (pw - 1.0) * t;
                        let l = (1.0 - t) * x + lw * softplus(-x);
                        let dl = (1.0 - t) - lw * sigmoid(-x);
                        let (loss, dloss) = if gamma == 0.0 {
                            (l, dl)
                        } else {
                            // Modulation from the unweighted BCE: m = (1 − e^{−nll})^γ.
                            let nll = (1.0 - t) * x + softplus(-x);
                            let dnll = sigmoid(x) - t;
                            let q = (-nll).exp();
                            let omq = (1.0 - q).max(f64::from(f32::MIN_POSITIVE));
                            let m = omq.powf(gamma);
                            let dm = gamma * omq.powf(gamma - 1.0) * q * dnll;
                            (m * l, m * dl + l * dm)
                        };
                        total += loss;
                        grad[r * k + j] = (dloss / n) as f32;
                        let pred = if sigmoid(x) > 0.5 { 1.0 } else { 0.0 };
                        inter += t * pred;
                        union += if t + pred > 0.0 { 1.0 } else { 0.0 };
                    }
                    jaccard += if union > 0.0 { inter / union } else { 0.0 };
                }
                Value {
                    loss: total / n,
                    accuracy: Some(jaccard / rows as f64),
                }
            }
            (Loss::Cosine, Targets::Vectors(y)) => {
                let mut total = 0.0;
                for (r, z) in logits.chunks_exact(k).enumerate() {
                    let t = &y[r * k..(r + 1) * k];
                    let zn = z.iter().map(|v| f64::from(v * v)).sum::<f64>().sqrt();
                    let tn = t.iter().map(|v| f64::from(v * v)).sum::<f64>().sqrt();
                    let (zs, ts) = (zn.max(1e-12), tn.max(1e-12));
                    let cos: f64 = z
                        .iter()
                        .zip(t)
                        .map(|(a, b)| f64::from(*a) / zs * f64::from(*b) / ts)
                        .sum();
                    total += 1.0 - cos;
                    let g = &mut grad[r * k..(r + 1) * k];
                    for j in 0..k {
                        let xh = f64::from(z[j]) / zs;
                        let yh = f64::from(t[j]) / ts;
                        // d(1 − x̂·ŷ)/dz = −(ŷ − x̂(x̂·ŷ))/‖z‖ (above the clamp).
                        let d = if zn > 1e-12 {
                            -(yh - xh * cos) / zs
                        } else {
                            -yh / zs
                        };
                        g[j] = (d / rows as f64) as f32;
                    }
                }
                Value {
                    loss: total / rows as f64,
                    accuracy: None,
                }
            }
            (Loss::Mse, Targets::Vectors(y)) => {
                let n = logits.len() as f64;
                let mut total = 0.0;
                for (j, (z, t)) in logits.iter().zip(y).enumerate() {
                    let e = f64::from(*z) - f64::from(*t);
                    total += e * e;
                    grad[j] = (2.0 * e / n) as f32;
                }
                Value {
                    loss: total / n,
                    accuracy: None,
                }
            }
            (Loss::InfoNce { temperature }, Targets::Pairs(ids)) => {
                info_nce(logits, k, ids, f64::from(*temperature), grad)
            }
            (loss, _) => unreachable!("targets do not match the loss {loss:?}"),
        }
    }
}

/// Rows normalized as `F.normalize` does, with their norms (before the clamp).
fn normalized(rows: &[f32], k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut out = Vec::with_capacity(rows.len());
    let mut norms = Vec::with_capacity(rows.len() / k);
    for r in rows.chunks_exact(k) {
        let n = r
            .iter()
            .map(|v| f64::from(*v) * f64::from(*v))
            .sum::<f64>()
            .sqrt();
        norms.push(n);
        out.extend(r.iter().map(|v| f64::from(*v) / n.max(1e-12)));
    }
    (out, norms)
}

fn info_nce(logits: &[f32], k: usize, ids: &[u32], t: f64, grad: &mut [f32]) -> Value {
    let rows = logits.len() / k;
    let b = rows / 2;
    let (x, norms) = normalized(logits, k);
    let (xa, xb) = x.split_at(b * k);
    let (ia, ib) = ids.split_at(b);
    // ds[i][j] = dL/ds_ij with s_ij = â_i·b̂_j / t; masked pairs have no term.
    let mut ds = vec![0.0f64; b * b];
    let mut total = 0.0;
    for i in 0..b {
        let a = &xa[i * k..(i + 1) * k];
        let live = |j: usize| j == i || (ia[i] != ia[j] && ib[i] != ib[j]);
        let s: Vec<f64> = (0..b)
            .map(|j| {
                if live(j) {
                    a.iter()
                        .zip(&xb[j * k..(j + 1) * k])
                        .map(|(p, q)| p * q)
                        .sum::<f64>()
                        / t
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect();
        let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = s.iter().map(|v| (v - max).exp()).sum();
        total += sum.ln() + max - s[i];
        for j in 0..b {
            let p = (s[j] - max).exp() / sum;
            ds[i * b + j] = (p - if i == j { 1.0 } else { 0.0 }) / b as f64;
        }
    }
    // Through s = â b̂ᵀ / t, then the normalizations.
    let mut dx = vec![0.0f64; rows * k];
    for i in 0..b {
        for j in 0..b {
            let g = ds[i * b + j] / t;
            if g == 0.0 {
                continue;
            }
            for c in 0..k {
                dx[i * k + c] += g * xb[j * k + c];
                dx[(b + j) * k + c] += g * xa[i * k + c];
            }
        }
    }
    for r in 0..rows {
        let (u, du) = (&x[r * k..(r + 1) * k], &dx[r * k..(r + 1) * k]);
        let n = norms[r];
        let dot: f64 = u.iter().zip(du).map(|(p, q)| p * q).sum();
        for c in 0..k {
            grad[r * k + c] = if n > 1e-12 {
                ((du[c] - u[c] * dot) / n) as f32
            } else {
                (du[c] / 1e-12) as f32
            };
        }
    }
    Value {
        loss: total / b.max(1) as f64,
        accuracy: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(loss: &Loss, z: &[f32], k: usize, t: Targets<'_>) {
        let mut g = Vec::new();
        loss.eval(z, k, t, &mut g);
        let h = 1e-3f32;
        let mut scratch = Vec::new();
        for j in 0..z.len() {
            let mut up = z.to_vec();
            up[j] += h;
            let mut down = z.to_vec();
            down[j] -= h;
            let n = (loss.eval(&up, k, t, &mut scratch).loss
                - loss.eval(&down, k, t, &mut scratch).loss)
                / (2.0 * f64::from(h));
            assert!(
                (n as f32 - g[j]).abs() < 1e-3 * (1.0 + n.abs() as f32),
                "{loss:?} logit {j}: numeric {n} analytic {}",
                g[j]
            );
        }
    }

    #[test]
    fn loss_gradients_match_finite_differences() {
        let z = [0.3f32, -1.2, 2.0, 0.1, 0.5, -0.4, 1.5, 1.0, -2.0];
        let classes = [2u32, 0, 1];
        let hot = [1.0f32, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0];
        let vecs = [0.5f32, 0.1, -0.3, 1.0, 2.0, 0.0, -1.0, 0.2, 0.4];
        for gamma in [0.0, 2.0] {
            for weight in [None, Some(vec![0.5, 2.0, 1.0])] {
                let l = Loss::Focal {
                    gamma,
                    weight: weight.clone(),
                };
                numeric(&l, &z, 3, Targets::Classes(&classes));
                let l = Loss::BinaryFocal {
                    gamma,
                    pos_weight: weight,
                };
                numeric(&l, &z, 3, Targets::MultiHot(&hot));
            }
        }
        numeric(&Loss::Cosine, &z, 3, Targets::Vectors(&vecs));
        numeric(&Loss::Mse, &z, 3, Targets::Vectors(&vecs));
        // Four pairs of 3-d outputs; pairs 0 and 2 share their first text (id 0), so
        // neither is the other's negative.
        let pairs: Vec<f32> = (0..24).map(|i| ((i as f32) * 1.3).sin()).collect();
        let ids = [0u32, 1, 0, 2, 3, 4, 5, 6];
        numeric(
            &Loss::InfoNce { temperature: 0.5 },
            &pairs,
            3,
            Targets::Pairs(&ids),
        );
    }

    #[test]
    fn cross_entropy_and_bce_values_match_their_definitions() {
        // log(1 + e^1 + e^2) − 2 for class 2 of [0, 1, 2]: 0.40760596.
        let mut g = Vec::new();
        let v = Loss::Focal {
            gamma: 0.0,
            weight: None,
        }
        .eval(&[0.0, 1.0, 2.0], 3, Targets::Classes(&[2]), &mut g);
        assert!((v.loss - 0.407_605_96).abs() < 1e-7, "{}", v.loss);
        assert_eq!(v.accuracy, Some(1.0));
        // BCE(x = 0, t = 1) = ln 2.
        let v = Loss::BinaryFocal {
            gamma: 0.0,
            pos_weight: None,
        }
        .eval(&[0.0], 1, Targets::MultiHot(&[1.0]), &mut g);
        assert!((v.loss - std::f64::consts::LN_2).abs() < 1e-12);
        // model2vec 0.10's PairInfoNCELoss(0.05→0.5) on the same outputs (float64):
        // scripts-free check, value from `PairInfoNCELoss(0.5)((v[:4], v[4:],
        // tensor([0,1,0,2]), tensor([3,4,5,6])), arange(4))` with v[i] = sin(1.3 i).
        let pairs: Vec<f32> = (0..24).map(|i| ((i as f32) * 1.3).sin()).collect();
        let v = Loss::InfoNce { temperature: 0.5 }.eval(
            &pairs,
            3,
            Targets::Pairs(&[0, 1, 0, 2, 3, 4, 5, 6]),
            &mut g,
        );
        assert!(
            (v.loss - 3.895_111_864_425_282_5).abs() < 1e-5,
            "{}",
            v.loss
        );
    }
}
