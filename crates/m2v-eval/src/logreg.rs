//! Multinomial logistic regression (softmax regression) with L2 regularisation,
//! fitted by L-BFGS in f64: the classifier of the classification tasks.
//!
//! The objective is scikit-learn's `LogisticRegression(C, penalty="l2")` with the
//! `lbfgs` solver, scaled by `1/n` as scikit-learn >= 1.1 does:
//!
//! `L(W, b) = (1/n) Σ_i −log softmax(W x_i + b)[y_i] + ‖W‖² / (2 C n)`
//!
//! with one weight row per class (the intercept `b` is not penalised). Features are
//! standardised with the training mean and population standard deviation first
//! (columns with zero variance are only centred). For two classes scikit-learn fits
//! a single binomial vector instead; the two-row softmax form is the same model with
//! the penalty halved (equivalent to `2C`), which changes accuracies by a hair.

/// Settings of [`LogReg::fit`].
#[derive(Debug, Clone, Copy)]
pub struct LogRegConfig {
    /// Inverse regularisation strength (scikit-learn's `C`).
    pub c: f64,
    /// Maximum L-BFGS iterations (scikit-learn's default is 100).
    pub max_iter: usize,
    /// Stop when the largest absolute gradient entry falls below this.
    pub gtol: f64,
    /// Worker threads for the loss and gradient (results do not depend on it).
    pub threads: usize,
}

impl Default for LogRegConfig {
    fn default() -> Self {
        LogRegConfig {
            c: 1.0,
            max_iter: 100,
            gtol: 1e-4,
            threads: 1,
        }
    }
}

/// A fitted classifier: standardisation plus one weight row and bias per class.
#[derive(Debug, Clone)]
pub struct LogReg {
    mean: Vec<f64>,
    inv_std: Vec<f64>,
    /// `k × d` row-major weights in the standardised space.
    weights: Vec<f64>,
    bias: Vec<f64>,
    dim: usize,
    /// L-BFGS iterations used.
    pub iterations: usize,
}

/// Rows per work unit: the gradient is summed chunk by chunk in a fixed order, so
/// the result is the same for every thread count.
const CHUNK: usize = 2048;
/// L-BFGS history length.
const HISTORY: usize = 10;

impl LogReg {
    /// Fits on `x` (`n × dim`, row-major) with labels `y` in `0..n_classes`.
    ///
    /// Invariant: `x.len() == y.len() * dim` and every label `< n_classes`; the caller
    /// (the task runner) guarantees both.
    pub fn fit(x: &[f32], dim: usize, y: &[usize], n_classes: usize, cfg: &LogRegConfig) -> Self {
        let n = y.len();
        let k = n_classes.max(1);
        let (mean, inv_std) = standardiser(x, dim, n);
        let xs: Vec<f32> = x
            .chunks_exact(dim.max(1))
            .flat_map(|row| {
                row.iter()
                    .zip(mean.iter().zip(&inv_std))
                    .map(|(&v, (m, s))| ((f64::from(v) - m) * s) as f32)
            })
            .collect();
        let obj = Objective {
            x: &xs,
            y,
            dim,
            k,
            lambda: 1.0 / (2.0 * cfg.c * n.max(1) as f64),
            threads: cfg.threads.max(1),
        };
        let (theta, iterations) = lbfgs(&obj, vec![0.0; k * (dim + 1)], cfg.max_iter, cfg.gtol);
        let (w, b) = theta.split_at(k * dim);
        LogReg {
            mean,
            inv_std,
            weights: w.to_vec(),
            bias: b.to_vec(),
            dim,
            iterations,
        }
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.bias.len()
    }

    /// Weights (`k × dim`, row-major) and biases in the standardised feature space.
    pub fn coefficients(&self) -> (&[f64], &[f64]) {
        (&self.weights, &self.bias)
    }

    /// Class probabilities of each row of `x` (`rows × dim`), row-major `rows × k`.
    pub fn predict_proba(&self, x: &[f32]) -> Vec<f64> {
        let k = self.n_classes();
        let mut z = vec![0.0; self.dim];
        let mut out = Vec::with_capacity(x.len() / self.dim.max(1) * k);
        for row in x.chunks_exact(self.dim.max(1)) {
            for (j, zj) in z.iter_mut().enumerate() {
                *zj = (f64::from(row[j]) - self.mean[j]) * self.inv_std[j];
            }
            let logits: Vec<f64> = (0..k)
                .map(|c| {
                    let w = &self.weights[c * self.dim..(c + 1) * self.dim];
                    self.bias[c] + w.iter().zip(&z).map(|(a, b)| a * b).sum::<f64>()
                })
                .collect();
            let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = logits.iter().map(|l| (l - m).exp()).sum();
            out.extend(logits.iter().map(|l| (l - m).exp() / sum));
        }
        out
    }

    /// The most probable class of each row of `x` (`rows × dim`).
    pub fn predict(&self, x: &[f32]) -> Vec<usize> {
        let mut z = vec![0.0; self.dim];
        x.chunks_exact(self.dim.max(1))
            .map(|row| {
                for (j, zj) in z.iter_mut().enumerate() {
                    *zj = (f64::from(row[j]) - self.mean[j]) * self.inv_std[j];
                }
                let mut best = (0, f64::NEG_INFINITY);
                for c in 0..self.n_classes() {
                    let w = &self.weights[c * self.dim..(c + 1) * self.dim];
                    let s = self.bias[c] + w.iter().zip(&z).map(|(a, b)| a * b).sum::<f64>();
                    if s > best.1 {
                        best = (c, s);
                    }
                }
                best.0
            })
            .collect()
    }
}

fn standardiser(x: &[f32], dim: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut mean = vec![0.0; dim];
    let mut sq = vec![0.0; dim];
    for row in x.chunks_exact(dim.max(1)) {
        for (j, &v) in row.iter().enumerate() {
            mean[j] += f64::from(v);
        }
    }
    let nf = n.max(1) as f64;
    mean.iter_mut().for_each(|m| *m /= nf);
    for row in x.chunks_exact(dim.max(1)) {
        for (j, &v) in row.iter().enumerate() {
            let d = f64::from(v) - mean[j];
            sq[j] += d * d;
        }
    }
    let inv_std = sq
        .iter()
        .map(|s| {
            let sd = (s / nf).sqrt();
            if sd > 1e-12 { 1.0 / sd } else { 1.0 }
        })
        .collect();
    (mean, inv_std)
}

struct Objective<'a> {
    x: &'a [f32],
    y: &'a [usize],
    dim: usize,
    k: usize,
    lambda: f64,
    threads: usize,
}

impl Objective<'_> {
    /// Loss and gradient at `theta` (`[W (k×d) | b (k)]`).
    fn eval(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (k, d) = (self.k, self.dim);
        let n = self.y.len();
        let chunks: Vec<(usize, usize)> = (0..n)
            .step_by(CHUNK)
            .map(|s| (s, (s + CHUNK).min(n)))
            .collect();
        let mut parts: Vec<(f64, Vec<f64>)> = vec![(0.0, Vec::new()); chunks.len()];
        let per = chunks.len().div_ceil(self.threads).max(1);
        std::thread::scope(|s| {
            for (ch, out) in chunks.chunks(per).zip(parts.chunks_mut(per)) {
                s.spawn(move || {
                    for (&(a, b), o) in ch.iter().zip(out.iter_mut()) {
                        *o = self.chunk(theta, a, b);
                    }
                });
            }
        });
        let mut loss = 0.0;
        let mut grad = vec![0.0; k * (d + 1)];
        for (l, g) in parts {
            loss += l;
            grad.iter_mut().zip(&g).for_each(|(a, b)| *a += b);
        }
        let nf = n.max(1) as f64;
        loss /= nf;
        grad.iter_mut().for_each(|g| *g /= nf);
        let w = &theta[..k * d];
        loss += self.lambda * w.iter().map(|v| v * v).sum::<f64>();
        for (g, v) in grad[..k * d].iter_mut().zip(w) {
            *g += 2.0 * self.lambda * v;
        }
        (loss, grad)
    }

    /// Unnormalised (summed) loss and gradient over rows `a..b`.
    fn chunk(&self, theta: &[f64], a: usize, b: usize) -> (f64, Vec<f64>) {
        let (k, d) = (self.k, self.dim);
        let (w, bias) = theta.split_at(k * d);
        let mut grad = vec![0.0; k * (d + 1)];
        let mut loss = 0.0;
        let mut z = vec![0.0; k];
        for i in a..b {
            let row = &self.x[i * d..(i + 1) * d];
            for c in 0..k {
                let wc = &w[c * d..(c + 1) * d];
                z[c] = bias[c]
                    + wc.iter()
                        .zip(row)
                        .map(|(a, &b)| a * f64::from(b))
                        .sum::<f64>();
            }
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            loss += lse - z[self.y[i]];
            for c in 0..k {
                let r = (z[c] - lse).exp() - if c == self.y[i] { 1.0 } else { 0.0 };
                let gc = &mut grad[c * d..(c + 1) * d];
                for (g, &v) in gc.iter_mut().zip(row) {
                    *g += r * f64::from(v);
                }
                grad[k * d + c] += r;
            }
        }
        (loss, grad)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Minimises the objective from `x0` with L-BFGS and a backtracking Armijo line
/// search. Returns the minimiser and the iterations used.
fn lbfgs(obj: &Objective<'_>, mut x: Vec<f64>, max_iter: usize, gtol: f64) -> (Vec<f64>, usize) {
    let (mut f, mut g) = obj.eval(&x);
    let mut hist: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> = Default::default();
    let mut it = 0;
    while it < max_iter {
        if g.iter().fold(0.0f64, |m, v| m.max(v.abs())) <= gtol {
            break;
        }
        it += 1;
        // Two-loop recursion: d = -H g.
        let mut q: Vec<f64> = g.clone();
        let mut alphas = Vec::with_capacity(hist.len());
        for (s, y, rho) in hist.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        let gamma = match hist.back() {
            Some((s, y, _)) => dot(s, y) / dot(y, y),
            None => 1.0 / dot(&g, &g).sqrt().max(1e-12),
        };
        q.iter_mut().for_each(|v| *v *= gamma);
        for ((s, y, rho), a) in hist.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
        }
        let mut dir: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut gtd = dot(&g, &dir);
        if gtd >= 0.0 {
            hist.clear();
            let scale = 1.0 / dot(&g, &g).sqrt().max(1e-12);
            dir = g.iter().map(|v| -v * scale).collect();
            gtd = dot(&g, &dir);
        }
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let xn: Vec<f64> = x.iter().zip(&dir).map(|(a, b)| a + step * b).collect();
            let (fnew, gnew) = obj.eval(&xn);
            if fnew <= f + 1e-4 * step * gtd {
                accepted = Some((xn, fnew, gnew));
                break;
            }
            step *= 0.5;
        }
        let Some((xn, fnew, gnew)) = accepted else {
            break;
        };
        let s: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = gnew.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 {
            if hist.len() == HISTORY {
                hist.pop_front();
            }
            hist.push_back((s, y, 1.0 / sy));
        }
        let rel = (f - fnew) / f.abs().max(fnew.abs()).max(1.0);
        x = xn;
        f = fnew;
        g = gnew;
        if rel <= 64.0 * f64::EPSILON {
            break;
        }
    }
    (x, it)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::accuracy;

    #[test]
    fn separable_case_is_learned_perfectly() {
        // Three well separated blobs in 2-d: class c is centred at (3c, (-1)^c * 3).
        let mut x = Vec::new();
        let mut y = Vec::new();
        for c in 0..3usize {
            for j in 0..10 {
                let jitter = (j as f32 - 4.5) * 0.1;
                x.push(3.0 * c as f32 + jitter);
                x.push(if c % 2 == 0 { 3.0 } else { -3.0 } - jitter);
                y.push(c);
            }
        }
        let m = LogReg::fit(&x, 2, &y, 3, &LogRegConfig::default());
        assert_eq!(accuracy(&m.predict(&x), &y), 1.0);
        assert_eq!(m.predict(&[6.0, 3.0, 0.0, 3.0, 3.0, -3.0]), [2, 0, 1]);
    }

    #[test]
    fn threads_do_not_change_the_fit() {
        let n = 5000;
        let x: Vec<f32> = (0..n * 3)
            .map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let y: Vec<usize> = (0..n)
            .map(|i| usize::from(x[i * 3] + 0.5 * x[i * 3 + 1] > 0.0))
            .collect();
        let one = LogReg::fit(&x, 3, &y, 2, &LogRegConfig::default());
        let two = LogReg::fit(
            &x,
            3,
            &y,
            2,
            &LogRegConfig {
                threads: 2,
                ..Default::default()
            },
        );
        assert_eq!(one.coefficients(), two.coefficients());
        assert!(accuracy(&one.predict(&x), &y) > 0.97);
    }
}
