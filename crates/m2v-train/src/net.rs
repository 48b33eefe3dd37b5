//! The trainable model: a static embedding table (with optional per-token weights and
//! token → row mapping) pooled by a weighted mean, optionally normalized, then an MLP
//! head. Forward and backward passes are written out by hand (see the crate docs for
//! why); `tests::gradients_match_finite_differences` checks every gradient.
//!
//! The forward pass is Python `model2vec.train.base.BaseFinetuneable.forward`:
//!
//! ```text
//! e_b = Σ_t c_t · E[map(id_t)] / max(n_b, 1)     c_t = w[id_t] (weights) or 1 (mean)
//! u_b = e_b / max(‖e_b‖, 1e-12)                   (when normalize)
//! z_1 = u W_1ᵀ + b_1,  a_1 = relu(z_1), …,  logits = a_{L-1} W_Lᵀ + b_L
//! ```

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use crate::rng::Rng;

/// `torch.nn.functional.normalize`'s epsilon.
const NORM_EPS: f32 = 1e-12;

/// One linear layer, `[out, inp]` row-major weights (PyTorch's layout).
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// `out × inp` weights.
    pub w: Vec<f32>,
    /// `out` biases.
    pub b: Vec<f32>,
    /// Input size.
    pub inp: usize,
    /// Output size.
    pub out: usize,
}

impl Dense {
    /// PyTorch's `kaiming_uniform_(nonlinearity="relu")` weights (bound `√(6/inp)`) or
    /// `xavier_uniform_` (bound `√(6/(inp+out))`), zero biases, as the reference
    /// initialises hidden and last layers.
    pub fn init(inp: usize, out: usize, last: bool, rng: &mut Rng) -> Dense {
        let bound = if last {
            (6.0 / (inp + out) as f32).sqrt()
        } else {
            (6.0 / inp as f32).sqrt()
        };
        Dense {
            w: (0..inp * out).map(|_| rng.uniform(bound)).collect(),
            b: vec![0.0; out],
            inp,
            out,
        }
    }
}

/// The layers of a head for `embed_dim` inputs and `out_dim` outputs, as the reference
/// builds them: `n_layers` hidden layers of `hidden_dim` with ReLU, then the output
/// layer; with no hidden layer, one linear layer, or none at all when
/// `allow_empty` and the sizes already agree (`BaseFinetuneable.construct_head`; the
/// classifier always has a layer).
pub fn build_head(
    embed_dim: usize,
    hidden_dim: usize,
    n_layers: usize,
    out_dim: usize,
    allow_empty: bool,
    rng: &mut Rng,
) -> Vec<Dense> {
    if n_layers == 0 {
        if allow_empty && embed_dim == out_dim {
            return Vec::new();
        }
        return vec![Dense::init(embed_dim, out_dim, true, rng)];
    }
    let mut layers = vec![Dense::init(embed_dim, hidden_dim, false, rng)];
    for _ in 1..n_layers {
        layers.push(Dense::init(hidden_dim, hidden_dim, false, rng));
    }
    layers.push(Dense::init(hidden_dim, out_dim, true, rng));
    layers
}

/// The trainable parameters and settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Net {
    /// Embedding dimension.
    pub dim: usize,
    /// `rows × dim` embedding table.
    pub emb: Vec<f32>,
    /// Per-token weights (indexed by token id), when the model has them.
    pub weights: Option<Vec<f32>>,
    /// Token id → row of `emb`, when the model is vocabulary-quantized.
    pub mapping: Option<Vec<u32>>,
    /// The head.
    pub layers: Vec<Dense>,
    /// Normalize the pooled vector before the head.
    pub normalize: bool,
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Default)]
pub struct Cache {
    /// Batch size.
    pub rows: usize,
    /// `‖e_b‖` before normalization.
    norms: Vec<f32>,
    /// The input of each layer (`u`, then the ReLU outputs), then the logits.
    acts: Vec<Vec<f32>>,
}

impl Cache {
    /// The logits (the last activation), `rows × out`.
    pub fn logits(&self) -> &[f32] {
        self.acts.last().map_or(&[], Vec::as_slice)
    }

    /// The pooled (and normalized) embeddings, the head's input.
    pub fn pooled(&self) -> &[f32] {
        &self.acts[0]
    }
}

/// Gradients of one batch. The table's gradient is kept for the touched rows only
/// (`slot[row]` indexes `emb`); untouched rows have a zero gradient.
#[derive(Debug, Default)]
pub struct Grads {
    /// Rows with a gradient, in first-touch order.
    pub rows: Vec<u32>,
    /// `row → index into rows`, `u32::MAX` when untouched.
    pub slot: Vec<u32>,
    /// `rows.len() × dim` gradients.
    pub emb: Vec<f32>,
    /// Dense gradient of the token weights.
    pub weights: Vec<f32>,
    /// Per layer: (`dW`, `db`).
    pub layers: Vec<(Vec<f32>, Vec<f32>)>,
}

impl Grads {
    /// Clears the gradients for the next batch, keeping the memory.
    pub fn reset(&mut self, net: &Net) {
        for &r in &self.rows {
            self.slot[r as usize] = u32::MAX;
        }
        self.rows.clear();
        self.emb.clear();
        let table_rows = net.emb.len() / net.dim;
        if self.slot.len() != table_rows {
            self.slot = vec![u32::MAX; table_rows];
        }
        match &net.weights {
            Some(w) => {
                self.weights.clear();
                self.weights.resize(w.len(), 0.0);
            }
            None => self.weights.clear(),
        }
        self.layers.resize_with(net.layers.len(), Default::default);
        for ((dw, db), l) in self.layers.iter_mut().zip(&net.layers) {
            dw.clear();
            dw.resize(l.w.len(), 0.0);
            db.clear();
            db.resize(l.b.len(), 0.0);
        }
    }

    fn row_mut(&mut self, row: u32, dim: usize) -> &mut [f32] {
        let s = self.slot[row as usize];
        let s = if s == u32::MAX {
            let s = self.rows.len() as u32;
            self.slot[row as usize] = s;
            self.rows.push(row);
            self.emb.resize(self.emb.len() + dim, 0.0);
            s
        } else {
            s
        };
        &mut self.emb[s as usize * dim..(s as usize + 1) * dim]
    }
}

/// `dst (m×n) = a (m×k) · bᵀ` with `b` given `n×k` row-major, or `+=` when `acc`.
fn mm_abt(dst: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize, acc: bool) {
    if m == 0 || n == 0 {
        return;
    }
    let dst = MatMut::from_row_major_slice_mut(dst, m, n);
    let a = MatRef::from_row_major_slice(a, m, k);
    let b = MatRef::from_row_major_slice(b, n, k);
    let accum = if acc { Accum::Add } else { Accum::Replace };
    matmul(dst, accum, a, b.transpose(), 1.0f32, Par::rayon(0));
}

/// `dst (m×n) = aᵀ · b` with `a` given `k×m` and `b` `k×n`, row-major.
fn mm_atb(dst: &mut [f32], a: &[f32], b: &[f32], k: usize, m: usize, n: usize) {
    if m == 0 || n == 0 {
        return;
    }
    let dst = MatMut::from_row_major_slice_mut(dst, m, n);
    let a = MatRef::from_row_major_slice(a, k, m);
    let b = MatRef::from_row_major_slice(b, k, n);
    matmul(dst, Accum::Replace, a.transpose(), b, 1.0f32, Par::rayon(0));
}

/// `dst (m×n) = a (m×k) · b (k×n)`, row-major.
fn mm_ab(dst: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    if m == 0 || n == 0 {
        return;
    }
    let dst = MatMut::from_row_major_slice_mut(dst, m, n);
    let a = MatRef::from_row_major_slice(a, m, k);
    let b = MatRef::from_row_major_slice(b, k, n);
    matmul(dst, Accum::Replace, a, b, 1.0f32, Par::rayon(0));
}

impl Net {
    /// The row of token `id`.
    #[inline]
    fn row_of(&self, id: u32) -> u32 {
        match &self.mapping {
            Some(m) => m[id as usize],
            None => id,
        }
    }

    /// The output size.
    pub fn out_dim(&self) -> usize {
        self.layers.last().map_or(self.dim, |l| l.out)
    }

    /// The forward pass over a batch of token id sequences.
    pub fn forward(&self, batch: &[&[u32]], cache: &mut Cache) {
        let (b, d) = (batch.len(), self.dim);
        cache.rows = b;
        cache.acts.resize_with(self.layers.len() + 1, Vec::new);
        cache.norms.clear();
        let u = &mut cache.acts[0];
        u.clear();
        u.resize(b * d, 0.0);
        for (seq, out) in batch.iter().zip(u.chunks_exact_mut(d)) {
            for &id in seq.iter() {
                let r = self.row_of(id) as usize;
                let row = &self.emb[r * d..(r + 1) * d];
                match &self.weights {
                    Some(w) => {
                        let c = w[id as usize];
                        out.iter_mut().zip(row).for_each(|(o, x)| *o += c * x);
                    }
                    None => out.iter_mut().zip(row).for_each(|(o, x)| *o += x),
                }
            }
            let n = seq.len().max(1) as f32;
            out.iter_mut().for_each(|o| *o /= n);
            let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
            cache.norms.push(norm);
            if self.normalize {
                let s = norm.max(NORM_EPS);
                out.iter_mut().for_each(|o| *o /= s);
            }
        }
        for (i, l) in self.layers.iter().enumerate() {
            let (before, after) = cache.acts.split_at_mut(i + 1);
            let (x, z) = (&before[i], &mut after[0]);
            z.clear();
            z.resize(b * l.out, 0.0);
            mm_abt(z, x, &l.w, b, l.inp, l.out, false);
            for row in z.chunks_exact_mut(l.out) {
                row.iter_mut().zip(&l.b).for_each(|(v, bias)| *v += bias);
                if i + 1 < self.layers.len() {
                    row.iter_mut().for_each(|v| *v = v.max(0.0));
                }
            }
        }
    }

    /// The backward pass: accumulates into `grads` (reset by the caller) the gradient
    /// of the loss whose gradient with respect to the logits is `dlogits`. The table's
    /// and the weights' gradients are only computed when they are trained.
    pub fn backward(
        &self,
        batch: &[&[u32]],
        cache: &Cache,
        dlogits: &[f32],
        grads: &mut Grads,
        train_emb: bool,
        train_weights: bool,
    ) {
        let (b, d) = (batch.len(), self.dim);
        let mut g = dlogits.to_vec();
        let mut gin = Vec::new();
        for i in (0..self.layers.len()).rev() {
            let l = &self.layers[i];
            let x = &cache.acts[i];
            let (dw, db) = &mut grads.layers[i];
            mm_atb(dw, &g, x, b, l.out, l.inp);
            for row in g.chunks_exact(l.out) {
                db.iter_mut().zip(row).for_each(|(s, v)| *s += v);
            }
            gin.clear();
            gin.resize(b * l.inp, 0.0);
            mm_ab(&mut gin, &g, &l.w, b, l.out, l.inp);
            if i > 0 {
                // Through the ReLU that produced x.
                gin.iter_mut().zip(x).for_each(|(gv, xv)| {
                    if *xv <= 0.0 {
                        *gv = 0.0;
                    }
                });
            }
            std::mem::swap(&mut g, &mut gin);
        }
        if !train_emb && !train_weights {
            return;
        }
        // g is now d loss / d u, `b × d`.
        let u = &cache.acts[0];
        let mut de = vec![0.0f32; d];
        for (k, seq) in batch.iter().enumerate() {
            let du = &g[k * d..(k + 1) * d];
            let uk = &u[k * d..(k + 1) * d];
            let norm = cache.norms[k];
            if self.normalize {
                if norm > NORM_EPS {
                    // u = e/‖e‖: de = (du − u (u·du)) / ‖e‖.
                    let dot: f32 = uk.iter().zip(du).map(|(a, b)| a * b).sum();
                    for j in 0..d {
                        de[j] = (du[j] - uk[j] * dot) / norm;
                    }
                } else {
                    // u = e / eps below the clamp.
                    for j in 0..d {
                        de[j] = du[j] / NORM_EPS;
                    }
                }
            } else {
                de.copy_from_slice(du);
            }
            let n = seq.len().max(1) as f32;
            for &id in seq.iter() {
                let r = self.row_of(id);
                let c = self.weights.as_ref().map_or(1.0, |w| w[id as usize]);
                if train_weights {
                    let row = &self.emb[r as usize * d..(r as usize + 1) * d];
                    let dot: f32 = row.iter().zip(&de).map(|(a, b)| a * b).sum();
                    grads.weights[id as usize] += dot / n;
                }
                if train_emb {
                    let s = c / n;
                    grads
                        .row_mut(r, d)
                        .iter_mut()
                        .zip(&de)
                        .for_each(|(gv, dv)| *gv += s * dv);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(weights: bool, mapping: bool, normalize: bool, n_layers: usize) -> Net {
        let mut rng = Rng::new(3);
        let (rows, dim) = (8, 5);
        let mut layers = build_head(dim, 7, n_layers, 3, false, &mut rng);
        // Non-zero biases: the empty text's pre-activations are the biases, and a ReLU
        // input of exactly 0 is a kink where finite differences are one-sided.
        for l in &mut layers {
            l.b.iter_mut().for_each(|b| *b = rng.uniform(0.5));
        }
        Net {
            dim,
            emb: (0..rows * dim).map(|_| rng.uniform(1.0)).collect(),
            weights: weights.then(|| (0..8).map(|_| 0.5 + rng.f32()).collect()),
            mapping: mapping.then(|| vec![0, 1, 2, 3, 4, 5, 1, 3]),
            layers,
            normalize,
        }
    }

    /// A scalar loss of the logits with a known gradient: Σ c_ij z_ij.
    fn loss(net: &Net, batch: &[&[u32]], coef: &[f32]) -> f64 {
        let mut c = Cache::default();
        net.forward(batch, &mut c);
        c.logits()
            .iter()
            .zip(coef)
            .map(|(z, k)| f64::from(z * k))
            .sum()
    }

    #[test]
    fn gradients_match_finite_differences() {
        let seqs: Vec<Vec<u32>> = vec![vec![0, 1, 2], vec![3, 6], vec![7, 7, 5, 4], vec![]];
        let batch: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
        for (weights, mapping, normalize, n_layers) in [
            (false, false, true, 1),
            (true, false, true, 2),
            (true, true, false, 0),
            (false, true, true, 1),
        ] {
            let net = net(weights, mapping, normalize, n_layers);
            let coef: Vec<f32> = (0..batch.len() * net.out_dim())
                .map(|i| ((i as f32) * 0.7).sin())
                .collect();
            let mut c = Cache::default();
            net.forward(&batch, &mut c);
            let mut g = Grads::default();
            g.reset(&net);
            net.backward(&batch, &c, &coef, &mut g, true, weights);
            // Small enough that no ReLU input crosses zero, large enough for f32 noise.
            let h = 1e-3f32;
            let check = |analytic: f32, perturb: &dyn Fn(&mut Net, f32), what: &str| {
                let mut p = net.clone();
                perturb(&mut p, h);
                let up = loss(&p, &batch, &coef);
                let mut m = net.clone();
                perturb(&mut m, -h);
                let down = loss(&m, &batch, &coef);
                let numeric = ((up - down) / (2.0 * f64::from(h))) as f32;
                assert!(
                    (numeric - analytic).abs() <= 2e-2 * (1.0 + numeric.abs()),
                    "{what}: numeric {numeric} analytic {analytic} (weights {weights}, \
                     mapping {mapping}, normalize {normalize}, layers {n_layers})"
                );
            };
            for (li, (dw, db)) in g.layers.iter().enumerate() {
                for j in [0, dw.len() / 2, dw.len() - 1] {
                    check(dw[j], &|n: &mut Net, e| n.layers[li].w[j] += e, "dW");
                }
                check(
                    db[0],
                    &|n: &mut Net, e| n.layers[li].b[0] += e,
                    &format!("db of layer {li}"),
                );
            }
            for row in 0..8u32 {
                let s = g.slot[row as usize];
                for j in 0..net.dim {
                    let analytic = if s == u32::MAX {
                        0.0
                    } else {
                        g.emb[s as usize * net.dim + j]
                    };
                    check(
                        analytic,
                        &|n: &mut Net, e| n.emb[row as usize * n.dim + j] += e,
                        "dE",
                    );
                }
            }
            if weights {
                for id in 0..8 {
                    check(
                        g.weights[id],
                        &|n: &mut Net, e| n.weights.as_mut().unwrap()[id] += e,
                        "dw",
                    );
                }
            }
        }
    }
}
