//! The reference's optimisation schedule (`model2vec/train/trainer.py`): Adam with
//! PyTorch's defaults, `ReduceLROnPlateau` on the validation loss once per epoch, and
//! early stopping on the validation metric.

use crate::net::{Grads, Net};

/// `torch.optim.Adam` (β₁ 0.9, β₂ 0.999, ε 1e-8, no weight decay), one moment pair
/// per parameter. Every parameter that is trained gets a gradient each step (zero for
/// table rows the batch did not touch), as PyTorch's dense embedding gradients do, so
/// untouched rows keep moving with their momentum exactly as in the reference.
#[derive(Debug, Clone)]
pub struct Adam {
    /// The learning rate.
    pub lr: f32,
    step: i32,
    emb: Option<(Vec<f32>, Vec<f32>)>,
    weights: Option<(Vec<f32>, Vec<f32>)>,
    layers: Vec<[(Vec<f32>, Vec<f32>); 2]>,
}

const B1: f32 = 0.9;
const B2: f32 = 0.999;
const EPS: f32 = 1e-8;

/// One Adam update of `p` with gradient `g` (PyTorch's single-tensor algorithm:
/// `m ← m + (1−β₁)(g − m)`, `v ← β₂v + (1−β₂)g²`,
/// `p ← p − (lr/bc₁)·m / (√v/√bc₂ + ε)`).
#[inline]
fn update(
    p: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    g: Option<&[f32]>,
    step_size: f32,
    bc2_sqrt: f32,
) {
    match g {
        Some(g) => {
            for i in 0..p.len() {
                m[i] += (g[i] - m[i]) * (1.0 - B1);
                v[i] = v[i] * B2 + (1.0 - B2) * g[i] * g[i];
                p[i] -= step_size * m[i] / (v[i].sqrt() / bc2_sqrt + EPS);
            }
        }
        None => {
            for i in 0..p.len() {
                m[i] -= m[i] * (1.0 - B1);
                v[i] *= B2;
                p[i] -= step_size * m[i] / (v[i].sqrt() / bc2_sqrt + EPS);
            }
        }
    }
}

fn zeros(n: usize) -> (Vec<f32>, Vec<f32>) {
    (vec![0.0; n], vec![0.0; n])
}

impl Adam {
    /// Moments for the parameters of `net` that are trained.
    pub fn new(net: &Net, lr: f32, train_emb: bool, train_weights: bool) -> Adam {
        Adam {
            lr,
            step: 0,
            emb: train_emb.then(|| zeros(net.emb.len())),
            weights: if train_weights {
                net.weights.as_ref().map(|w| zeros(w.len()))
            } else {
                None
            },
            layers: net
                .layers
                .iter()
                .map(|l| [zeros(l.w.len()), zeros(l.b.len())])
                .collect(),
        }
    }

    /// One step over every trained parameter.
    pub fn step(&mut self, net: &mut Net, grads: &Grads) {
        self.step += 1;
        let bc1 = 1.0 - B1.powi(self.step);
        let bc2_sqrt = (1.0 - B2.powi(self.step)).sqrt();
        let step_size = self.lr / bc1;
        for (l, (moments, (dw, db))) in net
            .layers
            .iter_mut()
            .zip(self.layers.iter_mut().zip(&grads.layers))
        {
            let [(mw, vw), (mb, vb)] = moments;
            update(&mut l.w, mw, vw, Some(dw), step_size, bc2_sqrt);
            update(&mut l.b, mb, vb, Some(db), step_size, bc2_sqrt);
        }
        if let (Some((m, v)), Some(w)) = (&mut self.weights, &mut net.weights) {
            update(w, m, v, Some(&grads.weights), step_size, bc2_sqrt);
        }
        if let Some((m, v)) = &mut self.emb {
            // The table is most of the parameters: rows in parallel, each with its own
            // gradient row or none.
            let d = net.dim;
            use rayon::prelude::*;
            net.emb
                .par_chunks_mut(d)
                .zip(m.par_chunks_mut(d))
                .zip(v.par_chunks_mut(d))
                .enumerate()
                .with_min_len(256)
                .for_each(|(r, ((p, m), v))| {
                    let s = grads.slot.get(r).copied().unwrap_or(u32::MAX);
                    let g =
                        (s != u32::MAX).then(|| &grads.emb[s as usize * d..(s as usize + 1) * d]);
                    update(p, m, v, g, step_size, bc2_sqrt);
                });
        }
    }
}

/// `ReduceLROnPlateau(mode="min", factor=0.5, patience=3, threshold=0.03,
/// threshold_mode="rel", min_lr=1e-6)`.
#[derive(Debug, Clone)]
pub struct Plateau {
    best: f64,
    bad: usize,
}

impl Default for Plateau {
    fn default() -> Self {
        Plateau {
            best: f64::INFINITY,
            bad: 0,
        }
    }
}

impl Plateau {
    /// Records the epoch's validation loss; halves `lr` after more than 3 epochs
    /// without a 3% improvement (not below 1e-6).
    pub fn step(&mut self, loss: f64, lr: &mut f32) {
        if loss < self.best * (1.0 - 0.03) {
            self.best = loss;
            self.bad = 0;
        } else {
            self.bad += 1;
        }
        if self.bad > 3 {
            let new = (*lr * 0.5).max(1e-6);
            if *lr - new > 1e-8 {
                *lr = new;
            }
            self.bad = 0;
        }
    }
}

/// The reference's `EarlyStopper`: stop after `patience` checks without an improvement
/// of more than `min_delta` (0.001).
#[derive(Debug, Clone)]
pub struct EarlyStopper {
    maximize: bool,
    patience: usize,
    best: f64,
    wait: usize,
}

impl EarlyStopper {
    /// A stopper on a metric to maximize (accuracy) or minimize (loss).
    pub fn new(maximize: bool, patience: usize) -> EarlyStopper {
        EarlyStopper {
            maximize,
            patience,
            best: if maximize {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            },
            wait: 0,
        }
    }

    /// Records a value; `true` when training should stop.
    pub fn step(&mut self, value: f64) -> bool {
        let improved = if self.maximize {
            value > self.best + 0.001
        } else {
            value < self.best - 0.001
        };
        if improved {
            self.best = value;
            self.wait = 0;
        } else {
            self.wait += 1;
        }
        self.wait >= self.patience
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_first_steps_match_pytorch() {
        // torch.optim.Adam([p], lr=0.1) on p = [1.0, -2.0] with gradients [0.5, -1.0]
        // then [0.25, 0.0]: the first step moves each parameter by lr against the sign of
        // its gradient (m̂/√v̂ = ±1): [0.9, -1.9]; the second step by
        // lr·m̂₂/(√v̂₂ + ε) with m̂₂ = (0.9·0.1·g₁ + 0.1·g₂)/0.19 and
        // v̂₂ = (0.999·0.001·g₁² + 0.001·g₂²)/(1 − 0.999²).
        let mut p = vec![1.0f32, -2.0];
        let (mut m, mut v) = (vec![0.0; 2], vec![0.0; 2]);
        let lr = 0.1f32;
        for (t, g) in [[0.5f32, -1.0], [0.25, 0.0]].iter().enumerate() {
            let t = t as i32 + 1;
            update(
                &mut p,
                &mut m,
                &mut v,
                Some(g),
                lr / (1.0 - B1.powi(t)),
                (1.0 - B2.powi(t)).sqrt(),
            );
            if t == 1 {
                assert!(
                    (p[0] - 0.9).abs() < 1e-6 && (p[1] + 1.9).abs() < 1e-6,
                    "{p:?}"
                );
            }
        }
        let expect = |g1: f64, g2: f64, p1: f64| {
            let m = (0.9 * 0.1 * g1 + 0.1 * g2) / 0.19;
            let v = (0.999 * 0.001 * g1 * g1 + 0.001 * g2 * g2) / (1.0 - 0.999f64.powi(2));
            p1 - 0.1 * m / (v.sqrt() + 1e-8)
        };
        assert!(
            (f64::from(p[0]) - expect(0.5, 0.25, 0.9)).abs() < 1e-6,
            "{p:?}"
        );
        assert!(
            (f64::from(p[1]) - expect(-1.0, 0.0, -1.9)).abs() < 1e-6,
            "{p:?}"
        );
    }

    #[test]
    fn plateau_halves_after_four_flat_epochs() {
        let mut p = Plateau::default();
        let mut lr = 1e-3f32;
        p.step(1.0, &mut lr);
        for _ in 0..3 {
            p.step(0.99, &mut lr);
            assert_eq!(lr, 1e-3);
        }
        p.step(0.99, &mut lr);
        assert_eq!(lr, 5e-4);
    }

    #[test]
    fn early_stopper_needs_patience_checks_without_gain() {
        let mut s = EarlyStopper::new(true, 2);
        assert!(!s.step(0.5));
        assert!(!s.step(0.5005));
        assert!(s.step(0.5));
    }
}
