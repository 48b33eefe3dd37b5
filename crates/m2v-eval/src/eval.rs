//! Running the tasks: embed every distinct text once, then score each task from
//! the embeddings; and measuring encoding speed.

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;

use crate::embedder::Embedder;
use crate::error::Error;
use crate::kmeans::{KMeansConfig, mini_batch_kmeans};
use crate::logreg::{LogReg, LogRegConfig};
use crate::metrics::{accuracy, cosine, spearman, stratified_folds};
use crate::rank::{
    average_precision, bitext_f1, ndcg_at_k, normalize_rows, recall_at_k, top_k, v_measure,
};
use crate::tasks::{Group, Pairs, Protocol, Retrieval, SEED, Task, TaskData};

/// The score of one model on one task.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TaskScore {
    /// Task (column) name.
    pub task: String,
    /// Task family.
    pub group: Group,
    /// Spearman ×100 (STS, word similarity), accuracy ×100 (classification),
    /// nDCG@10 ×100 (retrieval), V-measure ×100 (clustering), average precision ×100
    /// (pair classification) or F1 ×100 (bitext mining).
    pub score: f64,
    /// Per-subset (STS), per-fold (CV) or per-seed (clustering) scores, or
    /// `Recall@100` (retrieval), ×100.
    pub parts: Vec<(String, f64)>,
    /// Word pairs where a word embedded to the zero vector (cosine taken as 0), or
    /// STS pairs with an empty embedding; 0 for classification.
    pub zero_vectors: usize,
}

/// Every distinct text the tasks need, in first-seen order.
pub fn unique_texts(tasks: &[Task]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for t in tasks {
        for s in t.texts() {
            if seen.insert(s) {
                out.push(s.to_string());
            }
        }
    }
    out
}

/// Encodes `texts` in batches of `batch`, printing progress to stderr when
/// `progress` is set.
pub fn encode_all(
    model: &dyn Embedder,
    texts: &[String],
    threads: usize,
    batch: usize,
    progress: bool,
) -> Result<Vec<f32>, Error> {
    let dim = model.dim();
    let mut out = Vec::with_capacity(texts.len() * dim);
    let start = Instant::now();
    for (i, chunk) in texts.chunks(batch.max(1)).enumerate() {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let e = model.encode(&refs, threads)?;
        if e.len() != refs.len() * dim {
            return Err(Error::Length {
                what: format!("{} output values", model.name()),
                expected: refs.len() * dim,
                actual: e.len(),
            });
        }
        out.extend(e);
        if progress {
            let done = (i * batch.max(1) + chunk.len()).min(texts.len());
            eprint!(
                "\r  {}: embedded {done}/{} texts ({:.0} s)   ",
                model.name(),
                texts.len(),
                start.elapsed().as_secs_f64()
            );
        }
    }
    if progress {
        eprintln!();
    }
    Ok(out)
}

/// Looks up text embeddings by content.
struct Lookup<'a> {
    index: HashMap<&'a str, usize>,
    emb: &'a [f32],
    dim: usize,
}

impl<'a> Lookup<'a> {
    fn row(&self, text: &str) -> Result<&'a [f32], Error> {
        let i = *self.index.get(text).ok_or_else(|| Error::Task {
            task: "lookup".into(),
            what: format!("text `{text}` was not embedded"),
        })?;
        Ok(&self.emb[i * self.dim..(i + 1) * self.dim])
    }

    fn matrix(&self, texts: &[&String]) -> Result<Vec<f32>, Error> {
        let mut m = Vec::with_capacity(texts.len() * self.dim);
        for t in texts {
            m.extend_from_slice(self.row(t)?);
        }
        Ok(m)
    }
}

fn pair_spearman(p: &Pairs, lk: &Lookup<'_>) -> Result<(f64, usize), Error> {
    let mut sims = Vec::with_capacity(p.pairs.len());
    let mut zeros = 0;
    for (a, b) in &p.pairs {
        let (ra, rb) = (lk.row(a)?, lk.row(b)?);
        if ra.iter().all(|&v| v == 0.0) || rb.iter().all(|&v| v == 0.0) {
            zeros += 1;
        }
        sims.push(cosine(ra, rb));
    }
    // A constant similarity (e.g. a model that embeds nothing) has no rank
    // correlation; it scores 0.
    Ok((spearman(&sims, &p.gold).unwrap_or(0.0) * 100.0, zeros))
}

/// Mean nDCG@10 and Recall@100 (×100) over the queries of `r`, by exhaustive cosine
/// search.
fn retrieval_scores(r: &Retrieval, lk: &Lookup<'_>) -> Result<(f64, f64), Error> {
    let dim = lk.dim;
    let mut q = lk.matrix(&r.queries.iter().collect::<Vec<_>>())?;
    let mut d = lk.matrix(&r.corpus.iter().collect::<Vec<_>>())?;
    normalize_rows(&mut q, dim);
    normalize_rows(&mut d, dim);
    let ranked = top_k(&q, &d, dim, 100);
    let n = ranked.len().max(1) as f64;
    let ndcg: f64 = ranked
        .iter()
        .zip(&r.qrels)
        .map(|(rk, rel)| ndcg_at_k(rk, rel, 10))
        .sum();
    let recall: f64 = ranked
        .iter()
        .zip(&r.qrels)
        .map(|(rk, rel)| recall_at_k(rk, rel, 100))
        .sum();
    Ok((ndcg / n * 100.0, recall / n * 100.0))
}

/// Scores every task from the embeddings `emb` (`texts.len() × dim`) of `texts`
/// (which must contain every text of every task, as [`unique_texts`] does).
/// `threads` is used by the logistic regression.
pub fn score_tasks(
    tasks: &[Task],
    texts: &[String],
    emb: &[f32],
    dim: usize,
    lr: &LogRegConfig,
) -> Result<Vec<TaskScore>, Error> {
    if emb.len() != texts.len() * dim {
        return Err(Error::Length {
            what: "embedding values".into(),
            expected: texts.len() * dim,
            actual: emb.len(),
        });
    }
    let lk = Lookup {
        index: texts
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i))
            .collect(),
        emb,
        dim,
    };
    let mut out = Vec::new();
    for task in tasks {
        let (score, parts, zero_vectors) = match &task.data {
            TaskData::Sts(sets) => {
                let mut parts = Vec::new();
                let mut zeros = 0;
                for s in sets {
                    let (r, z) = pair_spearman(s, &lk)?;
                    parts.push((s.name.clone(), r));
                    zeros += z;
                }
                let mean = parts.iter().map(|p| p.1).sum::<f64>() / parts.len().max(1) as f64;
                (mean, if sets.len() > 1 { parts } else { Vec::new() }, zeros)
            }
            TaskData::WordSim(p) => {
                let (r, z) = pair_spearman(p, &lk)?;
                (r, Vec::new(), z)
            }
            TaskData::Classification(c) => {
                let refs: Vec<&String> = c.texts.iter().collect();
                let x = lk.matrix(&refs)?;
                match c.protocol {
                    Protocol::TrainTest { train } => {
                        let m = LogReg::fit(
                            &x[..train * dim],
                            dim,
                            &c.labels[..train],
                            c.n_classes,
                            lr,
                        );
                        let pred = m.predict(&x[train * dim..]);
                        (accuracy(&pred, &c.labels[train..]) * 100.0, Vec::new(), 0)
                    }
                    Protocol::CrossVal { folds } => {
                        let f = stratified_folds(&c.labels, folds, SEED);
                        let mut parts = Vec::new();
                        for k in 0..folds {
                            let (mut xtr, mut ytr, mut xte, mut yte) =
                                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                            for (i, &fi) in f.iter().enumerate() {
                                let row = &x[i * dim..(i + 1) * dim];
                                if fi == k {
                                    xte.extend_from_slice(row);
                                    yte.push(c.labels[i]);
                                } else {
                                    xtr.extend_from_slice(row);
                                    ytr.push(c.labels[i]);
                                }
                            }
                            let m = LogReg::fit(&xtr, dim, &ytr, c.n_classes, lr);
                            parts.push((
                                format!("fold {k}"),
                                accuracy(&m.predict(&xte), &yte) * 100.0,
                            ));
                        }
                        let mean =
                            parts.iter().map(|p| p.1).sum::<f64>() / parts.len().max(1) as f64;
                        (mean, parts, 0)
                    }
                }
            }
            TaskData::Retrieval(r) => {
                let (ndcg, recall) = retrieval_scores(r, &lk)?;
                (ndcg, vec![("Recall@100".to_string(), recall)], 0)
            }
            TaskData::Clustering(c) => {
                let refs: Vec<&String> = c.texts.iter().collect();
                let x = lk.matrix(&refs)?;
                let cfg = KMeansConfig::new(c.n_classes);
                let parts: Vec<(String, f64)> = (0..c.seeds as u64)
                    .into_par_iter()
                    .map(|seed| {
                        let pred = mini_batch_kmeans(&x, dim, &cfg, SEED + seed);
                        let v = v_measure(&c.labels, &pred).unwrap_or(0.0);
                        (format!("seed {seed}"), v * 100.0)
                    })
                    .collect();
                let mean = parts.iter().map(|p| p.1).sum::<f64>() / parts.len().max(1) as f64;
                (mean, parts, 0)
            }
            TaskData::PairClassification(p) => {
                let mut sims = Vec::with_capacity(p.pairs.len());
                for (a, b) in &p.pairs {
                    sims.push(cosine(lk.row(a)?, lk.row(b)?));
                }
                let ap = average_precision(&p.labels, &sims).ok_or_else(|| Error::Task {
                    task: task.name.clone(),
                    what: "no positive pair".into(),
                })?;
                (ap * 100.0, Vec::new(), 0)
            }
            TaskData::Bitext(b) => {
                let mut src = lk.matrix(&b.source.iter().collect::<Vec<_>>())?;
                let mut tgt = lk.matrix(&b.target.iter().collect::<Vec<_>>())?;
                normalize_rows(&mut src, dim);
                normalize_rows(&mut tgt, dim);
                let pred: Vec<usize> = top_k(&src, &tgt, dim, 1)
                    .into_iter()
                    .map(|r| r.first().copied().unwrap_or(usize::MAX))
                    .collect();
                (bitext_f1(&pred) * 100.0, Vec::new(), 0)
            }
        };
        out.push(TaskScore {
            task: task.name.clone(),
            group: task.group,
            score,
            parts,
            zero_vectors,
        });
    }
    Ok(out)
}

/// Encoding throughput of one configuration.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Speed {
    /// Threads used.
    pub threads: usize,
    /// Texts encoded.
    pub texts: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// `texts / seconds`.
    pub texts_per_s: f64,
}

/// Encodes `corpus` in batches of `batch` texts with `threads` threads, in passes
/// over the corpus, until at least one pass and `min_s` seconds are done, or until
/// `budget_s` seconds have passed (slow teachers see a prefix; pass a shuffled corpus
/// so the prefix is representative). Several passes give the steady throughput of a
/// long job rather than the first touches of a short one (one pass of the benchmark
/// corpus takes 0.15 s with m2v). One batch of up to 256 texts is encoded first as an
/// untimed warm-up.
pub fn measure_speed(
    model: &dyn Embedder,
    corpus: &[&str],
    threads: usize,
    batch: usize,
    budget_s: f64,
    min_s: f64,
) -> Result<Speed, Error> {
    let batch = batch.max(1);
    if let Some(w) = corpus.chunks(batch.min(256)).next() {
        model.encode(w, threads)?;
    }
    let start = Instant::now();
    let mut done = 0;
    if !corpus.is_empty() {
        for chunk in corpus.chunks(batch).cycle() {
            model.encode(chunk, threads)?;
            done += chunk.len();
            let el = start.elapsed().as_secs_f64();
            if el >= budget_s || (done >= corpus.len() && el >= min_s) {
                break;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(Speed {
        threads,
        texts: done,
        seconds,
        texts_per_s: done as f64 / seconds.max(1e-9),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedder::HashingEmbedder;
    use crate::tasks::Classification;

    fn tiny_tasks() -> Vec<Task> {
        let sts = Pairs {
            name: "toy".into(),
            pairs: vec![
                ("red apple".into(), "red apple".into()),
                ("red apple".into(), "red car".into()),
                ("red apple".into(), "blue sky today".into()),
            ],
            gold: vec![5.0, 2.5, 0.0],
        };
        let mut texts = Vec::new();
        let mut labels = Vec::new();
        for i in 0..20 {
            texts.push(format!("good great fine {i}"));
            labels.push(1);
            texts.push(format!("bad awful poor {i}"));
            labels.push(0);
        }
        vec![
            Task {
                name: "toy-sts".into(),
                group: Group::Sts,
                lang: None,
                data: TaskData::Sts(vec![sts.clone()]),
            },
            Task {
                name: "toy-cls".into(),
                group: Group::Classification,
                lang: None,
                data: TaskData::Classification(Classification {
                    texts: texts.clone(),
                    labels: labels.clone(),
                    n_classes: 2,
                    protocol: Protocol::CrossVal { folds: 4 },
                }),
            },
            Task {
                name: "toy-tt".into(),
                group: Group::Classification,
                lang: None,
                data: TaskData::Classification(Classification {
                    texts,
                    labels,
                    n_classes: 2,
                    protocol: Protocol::TrainTest { train: 30 },
                }),
            },
        ]
    }

    #[test]
    fn pipeline_on_a_hashing_model() {
        let tasks = tiny_tasks();
        let texts = unique_texts(&tasks);
        assert_eq!(texts.len(), 3 + 40);
        let m = HashingEmbedder::new(64);
        let emb = encode_all(&m, &texts, 2, 7, false).unwrap();
        let s = score_tasks(&tasks, &texts, &emb, 64, &LogRegConfig::default()).unwrap();
        // Identical texts score highest, disjoint ones lowest: Spearman exactly 1.
        assert!((s[0].score - 100.0).abs() < 1e-9, "{:?}", s[0]);
        // Sentiment words are disjoint between classes: perfectly separable.
        assert_eq!(s[1].score, 100.0);
        assert_eq!(s[1].parts.len(), 4);
        assert_eq!(s[2].score, 100.0);
        let corpus: Vec<&str> = texts.iter().map(String::as_str).collect();
        let sp = measure_speed(&m, &corpus, 1, 10, 60.0, 0.0).unwrap();
        assert_eq!(sp.texts, texts.len(), "min 0 s: exactly one pass");
        // A minimum time makes it go round the corpus again (43 texts take
        // microseconds), and stop at a batch boundary.
        let sp = measure_speed(&m, &corpus, 1, 10, 60.0, 0.05).unwrap();
        assert!(sp.texts > 2 * texts.len(), "{sp:?}");
        assert!(sp.seconds >= 0.05, "{sp:?}");
    }
}
