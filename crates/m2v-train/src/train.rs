//! `fit`: the reference's training loop (`model2vec/train/trainer.py`,
//! `run_training_loop`) for classification, similarity and regression.
//!
//! Steps, as the reference takes them: the head is built and initialised; the data is
//! split (stratified for single-label classification) unless validation data is given;
//! the batch size is `32 · clamp((n / 30) / 32, 1, 16)` unless set; each epoch
//! shuffles the training rows; validation runs every epoch, or every
//! `max(250, batches / 4)` steps when an epoch has more than 250 batches (or every
//! `validation_steps`); the best validation check's parameters are kept (accuracy for
//! classifiers, loss otherwise) and restored at the end; early stopping after
//! `patience` checks without a 0.001 gain; the learning rate is halved on a plateau of
//! the validation loss (once per epoch).
//!
//! Texts are tokenized once, up front (the reference tokenizes each batch each epoch:
//! the same ids): `max_length × 10` characters, no special tokens, unknown tokens
//! dropped, then at most `max_length` ids.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use m2v_static::save::{ModelCard, ModelParts, SaveOptions, TensorData};
use m2v_static::{Activation, Head, Label, Layer, StaticModel};
use m2v_tokenize::json::Value;
use rayon::prelude::*;

use crate::data::{Data, Targets};
use crate::error::Error;
use crate::loss::{self, Loss};
use crate::net::{Cache, Grads, Net, build_head};
use crate::optim::{Adam, EarlyStopper, Plateau};
use crate::rng::Rng;
use crate::split;

/// What to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Single- or multi-label classification (`StaticModelForClassification`).
    Classify,
    /// Regression to target vectors with a cosine loss (`StaticModelForSimilarity`).
    Similarity,
    /// Regression with mean squared error (`StaticModelForRegression`).
    Regression,
    /// Pairs of texts pulled together with InfoNCE and in-batch negatives
    /// (`StaticModelForPairSimilarity`); the head projects embeddings.
    Pairs,
}

/// Class weights for classification.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ClassWeight {
    /// Every class weighs 1.
    #[default]
    None,
    /// `n / (classes · count)`: rare classes weigh more.
    Balanced,
    /// A weight per class.
    Given(Vec<(Label, f32)>),
}

/// Training options, with the reference's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Hidden layers in the head (1).
    pub n_layers: usize,
    /// Width of the hidden layers (512).
    pub hidden_dim: usize,
    /// Adam's learning rate (1e-3).
    pub learning_rate: f32,
    /// Rows per batch (`None`: the reference's rule).
    pub batch_size: Option<usize>,
    /// Epochs before early stopping may stop training.
    pub min_epochs: Option<usize>,
    /// At most this many epochs (`None`: until early stopping).
    pub max_epochs: Option<usize>,
    /// Validation checks without a gain before stopping (`None`: never stop early).
    pub patience: Option<usize>,
    /// Validation share (below 1) or rows, when no validation data is given (0.1).
    pub test_size: f64,
    /// Class weights.
    pub class_weight: ClassWeight,
    /// Validate every this many steps instead of the reference's rule.
    pub validation_steps: Option<usize>,
    /// The seed of every random choice (42).
    pub seed: u64,
    /// Share of training tokens dropped at random (0).
    pub token_dropout: f32,
    /// Focal loss γ (0: cross-entropy).
    pub focal_gamma: f32,
    /// Keep the embedding table fixed.
    pub freeze: bool,
    /// `Some(true)`: keep token weights fixed; `Some(false)`: learn weights (starting
    /// at 1 for a model without); `None`: train the model's own weights, if any.
    pub freeze_weights: Option<bool>,
    /// Normalize the pooled embedding (true).
    pub normalize: bool,
    /// Token limit (`None`: the model's `max_length`; `Some(None)`: no limit).
    pub max_length: Option<Option<usize>>,
    /// Pairs: the InfoNCE temperature (0.05).
    pub temperature: f32,
    /// Pairs: the output dimension (`None`: the model's).
    pub out_dim: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            n_layers: 1,
            hidden_dim: 512,
            learning_rate: 1e-3,
            batch_size: None,
            min_epochs: None,
            max_epochs: None,
            patience: Some(5),
            test_size: 0.1,
            class_weight: ClassWeight::None,
            validation_steps: None,
            seed: 42,
            token_dropout: 0.0,
            focal_gamma: 0.0,
            freeze: false,
            freeze_weights: None,
            normalize: true,
            max_length: None,
            temperature: 0.05,
            out_dim: None,
        }
    }
}

/// Progress reports, for a progress bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// An epoch starts with this many batches.
    Epoch {
        /// 1-based.
        epoch: usize,
        /// Batches in the epoch.
        steps: usize,
    },
    /// A training step ended; running means over the last 50 steps.
    Step {
        /// Loss.
        loss: f64,
        /// Accuracy (classification).
        accuracy: Option<f64>,
    },
    /// A validation check.
    Validation {
        /// Validation loss.
        loss: f64,
        /// Validation accuracy (classification).
        accuracy: Option<f64>,
        /// Whether it is the best so far.
        best: bool,
    },
}

/// A trained model: the parameters and what they mean.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The parameters (the best validation check's).
    pub net: Net,
    /// The classes, in output order (classification).
    pub classes: Option<Vec<Label>>,
    /// Multi-label classification.
    pub multilabel: bool,
    /// The task.
    pub task: Task,
    /// The token limit used.
    pub max_length: Option<usize>,
    /// Epochs run.
    pub epochs: usize,
    /// Steps run.
    pub steps: usize,
    /// The best validation metric (accuracy for classifiers, loss otherwise).
    pub best: f64,
    /// The tokenizer file of the base model.
    tokenizer_json: Vec<u8>,
    /// The base model's card facts (base model name, language).
    card: ModelCard,
}

fn nan_to_num(x: f32) -> f32 {
    if x.is_nan() {
        0.0
    } else if x == f32::INFINITY {
        f32::MAX
    } else if x == f32::NEG_INFINITY {
        f32::MIN
    } else {
        x
    }
}

/// Tokenizes as the reference's `_tokenize_ids`.
fn tokenize(model: &StaticModel, texts: &[String], max_length: Option<usize>) -> Vec<Vec<u32>> {
    texts
        .par_iter()
        .map(|t| {
            let cut = match max_length {
                Some(m) => match t.char_indices().nth(m.saturating_mul(10)) {
                    Some((i, _)) => &t[..i],
                    None => t.as_str(),
                },
                None => t.as_str(),
            };
            let mut ids = model.tokenize(cut, None);
            if let Some(m) = max_length {
                ids.truncate(m);
            }
            ids
        })
        .collect()
}

/// The classes of single or multi labels, sorted as Python's `sorted` sorts them
/// (integers numerically, strings by code point; a mix is refused), with their counts.
fn classes_of(
    path: &Path,
    labels: &[&Label],
) -> Result<(Vec<Label>, HashMap<Label, usize>), Error> {
    let mut counts: HashMap<Label, usize> = HashMap::new();
    for l in labels {
        *counts.entry((*l).clone()).or_default() += 1;
    }
    let mut classes: Vec<Label> = counts.keys().cloned().collect();
    let ints = classes
        .iter()
        .filter(|c| matches!(c, Label::Int(_)))
        .count();
    if ints != 0 && ints != classes.len() {
        return Err(Error::Data {
            path: path.to_path_buf(),
            message: "labels mix integers and strings".into(),
        });
    }
    classes.sort();
    Ok((classes, counts))
}

/// Per-row targets in the loss's form.
enum RowTargets {
    Classes(Vec<u32>),
    MultiHot {
        k: usize,
        data: Vec<f32>,
    },
    Vectors {
        k: usize,
        data: Vec<f32>,
    },
    /// Pairs: the ids of identical texts are computed per batch.
    Pairs,
}

impl RowTargets {
    fn gather(&self, rows: &[usize], classes: &mut Vec<u32>, dense: &mut Vec<f32>) {
        classes.clear();
        dense.clear();
        match self {
            RowTargets::Classes(c) => classes.extend(rows.iter().map(|&r| c[r])),
            RowTargets::Pairs => {}
            RowTargets::MultiHot { k, data } | RowTargets::Vectors { k, data } => {
                for &r in rows {
                    dense.extend_from_slice(&data[r * k..(r + 1) * k]);
                }
            }
        }
    }

    fn view<'a>(&self, classes: &'a [u32], dense: &'a [f32]) -> loss::Targets<'a> {
        match self {
            RowTargets::Classes(_) => loss::Targets::Classes(classes),
            RowTargets::MultiHot { .. } => loss::Targets::MultiHot(dense),
            RowTargets::Vectors { .. } => loss::Targets::Vectors(dense),
            RowTargets::Pairs => loss::Targets::Pairs(classes),
        }
    }
}

fn targets_of(data: &Data, task: Task, classes: Option<&[Label]>) -> Result<RowTargets, Error> {
    let index: HashMap<&Label, u32> = classes
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, c)| (c, i as u32))
        .collect();
    let unknown = |row: usize, l: &Label| Error::Row {
        path: data.path.clone(),
        row: row + 1,
        message: format!("label `{l}` does not occur in the training data"),
    };
    match (&data.targets, task) {
        (Targets::Single(labels), Task::Classify) => Ok(RowTargets::Classes(
            labels
                .iter()
                .enumerate()
                .map(|(r, l)| index.get(l).copied().ok_or_else(|| unknown(r, l)))
                .collect::<Result<_, _>>()?,
        )),
        (Targets::Multi(labels), Task::Classify) => {
            let k = index.len();
            let mut data_ = vec![0.0f32; labels.len() * k];
            for (r, ls) in labels.iter().enumerate() {
                for l in ls {
                    let c = index.get(l).copied().ok_or_else(|| unknown(r, l))?;
                    data_[r * k + c as usize] = 1.0;
                }
            }
            Ok(RowTargets::MultiHot { k, data: data_ })
        }
        (Targets::Texts(_), Task::Pairs) => Ok(RowTargets::Pairs),
        (Targets::Vectors { dim, data: v }, Task::Similarity | Task::Regression) => {
            Ok(RowTargets::Vectors {
                k: *dim,
                data: v.clone(),
            })
        }
        _ => Err(Error::Data {
            path: data.path.clone(),
            message: format!("the targets do not suit the task {task:?}"),
        }),
    }
}

/// The reference's automatic batch size.
pub fn auto_batch_size(train_rows: usize) -> usize {
    let base = ((train_rows as f64 / 30.0) / 32.0).floor() as usize;
    base.clamp(1, 16) * 32
}

/// Trains `task` on `train` from `model` (validated on `val`, or on a split of `train`).
pub fn fit(
    model: &StaticModel,
    train: &Data,
    val: Option<&Data>,
    task: Task,
    opts: &Options,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Trained, Error> {
    let bad = |option: &'static str, message: &str| Error::InvalidOption {
        option,
        message: message.into(),
    };
    if !(0.0..1.0).contains(&opts.token_dropout) {
        return Err(bad("token_dropout", "must be in [0, 1)"));
    }
    if opts.focal_gamma < 0.0 || !opts.focal_gamma.is_finite() {
        return Err(bad("focal_gamma", "must be non-negative"));
    }
    if !(opts.learning_rate > 0.0 && opts.learning_rate.is_finite()) {
        return Err(bad("learning_rate", "must be positive"));
    }
    if opts.test_size.is_nan() || opts.test_size <= 0.0 {
        return Err(bad("test_size", "must be positive"));
    }
    if opts.batch_size == Some(0) || opts.hidden_dim == 0 {
        return Err(bad("batch_size", "must be positive"));
    }
    let mut rng = Rng::new(opts.seed);
    let max_length = opts.max_length.unwrap_or_else(|| model.max_length());

    // Classes and targets.
    let (classes, multilabel, counts) = match (&train.targets, task) {
        (Targets::Single(l), Task::Classify) => {
            let refs: Vec<&Label> = l.iter().collect();
            let (c, n) = classes_of(&train.path, &refs)?;
            (Some(c), false, n)
        }
        (Targets::Multi(l), Task::Classify) => {
            let refs: Vec<&Label> = l.iter().flatten().collect();
            let (c, n) = classes_of(&train.path, &refs)?;
            (Some(c), true, n)
        }
        _ => (None, false, HashMap::new()),
    };
    if let Some(c) = &classes
        && c.len() < 2
        && !multilabel
    {
        return Err(Error::Data {
            path: train.path.clone(),
            message: format!(
                "only one class ({}): a classifier needs at least two",
                c.first().map(ToString::to_string).unwrap_or_default()
            ),
        });
    }
    if let (Some(v), Targets::Vectors { dim, .. }) = (val, &train.targets)
        && let Targets::Vectors { dim: vd, .. } = &v.targets
        && vd != dim
    {
        return Err(Error::Data {
            path: v.path.clone(),
            message: format!("the validation vectors have {vd} values, the training vectors {dim}"),
        });
    }
    if let (Some(v), Some(_)) = (val, &classes) {
        let vm = matches!(v.targets, Targets::Multi(_));
        if vm != multilabel {
            return Err(Error::Data {
                path: v.path.clone(),
                message:
                    "the validation labels must be multi-label exactly when the training labels are"
                        .into(),
            });
        }
    }
    let all_targets = targets_of(train, task, classes.as_deref())?;
    let val_targets = val
        .map(|v| targets_of(v, task, classes.as_deref()))
        .transpose()?;

    // Parameters.
    let parts = model.to_parts()?;
    let dim = parts.embeddings.shape[1];
    let emb: Vec<f32> = parts
        .embeddings
        .to_f32()
        .ok_or_else(|| bad("model", "the embedding dtype cannot be trained"))?
        .into_iter()
        .map(nan_to_num)
        .collect();
    let mapping: Option<Vec<u32>> = parts.mapping.as_ref().map(|m| {
        m.bytes
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u32)
            .collect()
    });
    let vocab = mapping.as_ref().map_or(emb.len() / dim, Vec::len);
    let mut weights: Option<Vec<f32>> = parts.weights.as_ref().and_then(TensorData::to_f32);
    if weights.is_none() && opts.freeze_weights == Some(false) {
        weights = Some(vec![1.0; vocab]);
    }
    let train_weights = weights.is_some() && opts.freeze_weights != Some(true);
    let train_emb = !opts.freeze;
    let out_dim = match (&classes, &all_targets) {
        (Some(c), _) => c.len(),
        (None, RowTargets::Vectors { k, .. }) => *k,
        (None, _) => opts.out_dim.unwrap_or(dim),
    };
    let layers = build_head(
        dim,
        opts.hidden_dim,
        opts.n_layers,
        out_dim,
        task != Task::Classify,
        &mut rng,
    );
    let mut net = Net {
        dim,
        emb,
        weights,
        mapping,
        layers,
        normalize: opts.normalize,
    };
    let loss_fn = match (task, multilabel) {
        (Task::Classify, _) => {
            let cls = classes.as_deref().unwrap_or(&[]);
            let weight = match &opts.class_weight {
                ClassWeight::None => None,
                ClassWeight::Balanced => {
                    let total: usize = counts.values().sum();
                    Some(
                        cls.iter()
                            .map(|c| total as f32 / (cls.len() * counts[c]) as f32)
                            .collect(),
                    )
                }
                ClassWeight::Given(w) => Some(
                    cls.iter()
                        .map(|c| {
                            w.iter()
                                .find(|(l, _)| l == c)
                                .map(|(_, x)| *x)
                                .ok_or_else(|| {
                                    bad("class_weight", &format!("no weight for class `{c}`"))
                                })
                        })
                        .collect::<Result<Vec<f32>, _>>()?,
                ),
            };
            if multilabel {
                Loss::BinaryFocal {
                    gamma: opts.focal_gamma,
                    pos_weight: weight,
                }
            } else {
                Loss::Focal {
                    gamma: opts.focal_gamma,
                    weight,
                }
            }
        }
        (Task::Similarity, _) => Loss::Cosine,
        (Task::Regression, _) => Loss::Mse,
        (Task::Pairs, _) => {
            if !(opts.temperature > 0.0 && opts.temperature.is_finite()) {
                return Err(bad("temperature", "must be positive"));
            }
            Loss::InfoNce {
                temperature: opts.temperature,
            }
        }
    };

    // Tokens and the split.
    let seqs = |d: &Data| Seqs {
        a: tokenize(model, &d.texts, max_length),
        b: match &d.targets {
            Targets::Texts(b) if task == Task::Pairs => Some(tokenize(model, b, max_length)),
            _ => None,
        },
    };
    let tokens = seqs(train);
    let (train_rows, val_rows, val_tokens) = match val {
        Some(v) => (
            (0..train.texts.len()).collect::<Vec<_>>(),
            (0..v.texts.len()).collect::<Vec<_>>(),
            Some(seqs(v)),
        ),
        None => {
            let strata = match (&train.targets, multilabel) {
                (Targets::Single(l), false) if task == Task::Classify => Some(split::strata_of(l)),
                _ => None,
            };
            let (t, v) = split::split(train.texts.len(), opts.test_size, strata, &mut rng);
            if v.is_empty() || t.is_empty() {
                return Err(Error::Data {
                    path: train.path.clone(),
                    message: format!(
                        "{} rows cannot be split into training and validation data",
                        train.texts.len()
                    ),
                });
            }
            (t, v, None)
        }
    };
    let (val_tokens, val_targets) = match (&val_tokens, &val_targets) {
        (Some(t), Some(g)) => (t, g),
        _ => (&tokens, &all_targets),
    };
    let pairs = task == Task::Pairs;
    if pairs && (train_rows.len() < 2 || val_rows.len() < 2) {
        return Err(Error::Data {
            path: train.path.clone(),
            message: format!(
                "pair training needs at least two pairs for training and two for validation, got {} and {}",
                train_rows.len(),
                val_rows.len()
            ),
        });
    }
    let batch_size = opts
        .batch_size
        .unwrap_or_else(|| auto_batch_size(train_rows.len()));
    if pairs && batch_size < 2 {
        return Err(bad(
            "batch_size",
            "pair training needs batches of at least 2 pairs",
        ));
    }
    // The reference drops a final batch of a single pair (unless it is the only one).
    let batches = |rows: &[usize]| -> usize {
        let n = rows.len().div_ceil(batch_size);
        if pairs && rows.len() > 1 && rows.len() % batch_size == 1 {
            n - 1
        } else {
            n
        }
    };
    let n_batches = batches(&train_rows);
    let (val_every_steps, val_every_epoch) = match opts.validation_steps {
        Some(s) => (Some(s.max(1)), false),
        None => {
            let full = train_rows.len() / batch_size;
            if full > 250 {
                (Some(250.max(full / 4)), false)
            } else {
                (None, true)
            }
        }
    };
    let maximize = task == Task::Classify;
    let max_epochs = opts.max_epochs.unwrap_or(9999);

    let mut adam = Adam::new(&net, opts.learning_rate, train_emb, train_weights);
    let mut plateau = Plateau::default();
    let mut stopper = opts.patience.map(|p| EarlyStopper::new(maximize, p));
    let mut best = net.clone();
    let mut best_metric = if maximize {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    };
    let mut latest_val_loss: Option<f64> = None;
    let mut grads = Grads::default();
    let mut cache = Cache::default();
    let (mut cls_buf, mut dense_buf, mut dlogits) = (Vec::new(), Vec::new(), Vec::new());
    let mut window: std::collections::VecDeque<(f64, Option<f64>)> = Default::default();
    let mut order = train_rows.clone();
    let mut dropped: Vec<Vec<u32>> = Vec::new();
    let (mut epoch, mut step) = (0usize, 0usize);

    let validate = |net: &Net, cache: &mut Cache, scratch: &mut Scratch| {
        let (mut loss_sum, mut acc_sum) = (0.0, 0.0);
        let mut has_acc = false;
        for rows in val_rows.chunks(batch_size).take(batches(&val_rows)) {
            let batch = val_tokens.batch(rows);
            net.forward(&batch, cache);
            val_targets.gather(rows, &mut scratch.0, &mut scratch.1);
            if pairs {
                pair_ids(&batch, &mut scratch.0);
            }
            let v = loss_fn.eval(
                cache.logits(),
                net.out_dim(),
                val_targets.view(&scratch.0, &scratch.1),
                &mut scratch.2,
            );
            loss_sum += v.loss * rows.len() as f64;
            if let Some(a) = v.accuracy {
                acc_sum += a * rows.len() as f64;
                has_acc = true;
            }
        }
        let n: usize = val_rows
            .chunks(batch_size)
            .take(batches(&val_rows))
            .map(<[usize]>::len)
            .sum();
        let n = n as f64;
        (loss_sum / n, has_acc.then_some(acc_sum / n))
    };
    let mut scratch = (Vec::new(), Vec::new(), Vec::new());

    'train: loop {
        progress(&Progress::Epoch {
            epoch: epoch + 1,
            steps: n_batches,
        });
        rng.shuffle(&mut order);
        for rows in order.chunks(batch_size).take(n_batches) {
            let full = tokens.batch(rows);
            let batch: Vec<&[u32]> = if opts.token_dropout > 0.0 {
                dropped.clear();
                for seq in &full {
                    let mut kept: Vec<u32> = seq
                        .iter()
                        .copied()
                        .filter(|_| rng.f32() >= opts.token_dropout)
                        .collect();
                    if kept.is_empty() && !seq.is_empty() {
                        kept.push(seq[0]);
                    }
                    dropped.push(kept);
                }
                dropped.iter().map(Vec::as_slice).collect()
            } else {
                full.clone()
            };
            net.forward(&batch, &mut cache);
            all_targets.gather(rows, &mut cls_buf, &mut dense_buf);
            if pairs {
                // Identical texts share an id (from the tokens before dropout, as the
                // reference's collate_fn computes them).
                pair_ids(&full, &mut cls_buf);
            }
            let v = loss_fn.eval(
                cache.logits(),
                net.out_dim(),
                all_targets.view(&cls_buf, &dense_buf),
                &mut dlogits,
            );
            grads.reset(&net);
            net.backward(
                &batch,
                &cache,
                &dlogits,
                &mut grads,
                train_emb,
                train_weights,
            );
            adam.step(&mut net, &grads);
            step += 1;
            if window.len() == 50 {
                window.pop_front();
            }
            window.push_back((v.loss, v.accuracy));
            let n = window.len() as f64;
            progress(&Progress::Step {
                loss: window.iter().map(|w| w.0).sum::<f64>() / n,
                accuracy: v
                    .accuracy
                    .map(|_| window.iter().filter_map(|w| w.1).sum::<f64>() / n),
            });
            if let Some(every) = val_every_steps
                && step.is_multiple_of(every)
            {
                let stop = check(
                    &net,
                    &mut cache,
                    &mut scratch,
                    &validate,
                    maximize,
                    &mut best,
                    &mut best_metric,
                    &mut latest_val_loss,
                    &mut stopper,
                    progress,
                );
                if stop && opts.min_epochs.is_none_or(|m| epoch >= m) {
                    break 'train;
                }
            }
        }
        epoch += 1;
        if val_every_epoch {
            let stop = check(
                &net,
                &mut cache,
                &mut scratch,
                &validate,
                maximize,
                &mut best,
                &mut best_metric,
                &mut latest_val_loss,
                &mut stopper,
                progress,
            );
            if stop && opts.min_epochs.is_none_or(|m| epoch >= m) {
                break;
            }
        }
        if let Some(l) = latest_val_loss {
            plateau.step(l, &mut adam.lr);
        }
        if epoch >= max_epochs {
            break;
        }
    }
    Ok(Trained {
        net: best,
        classes,
        multilabel,
        task,
        max_length,
        epochs: epoch,
        steps: step,
        best: best_metric,
        tokenizer_json: parts.tokenizer_json.to_vec(),
        card: parts.card.clone(),
    })
}

/// The token ids of a data file's texts (and of the second texts of pairs).
struct Seqs {
    a: Vec<Vec<u32>>,
    b: Option<Vec<Vec<u32>>>,
}

impl Seqs {
    /// The sequences of `rows`: the texts, then (pairs) their second texts.
    fn batch(&self, rows: &[usize]) -> Vec<&[u32]> {
        let mut out: Vec<&[u32]> = rows.iter().map(|&r| self.a[r].as_slice()).collect();
        if let Some(b) = &self.b {
            out.extend(rows.iter().map(|&r| b[r].as_slice()));
        }
        out
    }
}

/// One id per sequence of a pair batch, shared by identical sequences.
fn pair_ids(batch: &[&[u32]], ids: &mut Vec<u32>) {
    let mut seen: HashMap<&[u32], u32> = HashMap::new();
    ids.clear();
    for s in batch {
        let next = seen.len() as u32;
        ids.push(*seen.entry(s).or_insert(next));
    }
}

/// Working buffers of a validation pass: class targets, dense targets, the gradient.
type Scratch = (Vec<u32>, Vec<f32>, Vec<f32>);

/// A validation pass: (loss, accuracy) of the validation rows.
type Validate<'a> = dyn Fn(&Net, &mut Cache, &mut Scratch) -> (f64, Option<f64>) + 'a;

/// One validation check: records the best parameters, reports, and asks the stopper.
#[allow(clippy::too_many_arguments)]
fn check(
    net: &Net,
    cache: &mut Cache,
    scratch: &mut Scratch,
    validate: &Validate<'_>,
    maximize: bool,
    best: &mut Net,
    best_metric: &mut f64,
    latest_val_loss: &mut Option<f64>,
    stopper: &mut Option<EarlyStopper>,
    progress: &mut dyn FnMut(&Progress),
) -> bool {
    let (loss, acc) = validate(net, cache, scratch);
    *latest_val_loss = Some(loss);
    let metric = if maximize { acc.unwrap_or(0.0) } else { loss };
    let improved = if maximize {
        metric > *best_metric
    } else {
        metric < *best_metric
    };
    if improved {
        *best_metric = metric;
        best.clone_from(net);
    }
    progress(&Progress::Validation {
        loss,
        accuracy: acc,
        best: improved,
    });
    stopper.as_mut().is_some_and(|s| s.step(metric))
}

impl Trained {
    /// The head as `m2v-static` runs it.
    pub fn head(&self) -> Result<Head, Error> {
        let layers = self
            .net
            .layers
            .iter()
            .map(|l| Layer::new(l.w.clone(), l.b.clone(), l.inp))
            .collect::<Result<Vec<_>, _>>()?;
        let activation = match (self.task, self.multilabel) {
            (Task::Classify, false) => Activation::Softmax,
            (Task::Classify, true) => Activation::Sigmoid,
            _ => Activation::Identity,
        };
        Ok(Head::new(layers, activation, self.classes.clone())?)
    }

    /// The static model's files, as the reference's `to_static_model` makes them:
    /// without a vocabulary mapping, the token weights are folded into the rows.
    pub fn model_parts(&self) -> ModelParts<'_> {
        let net = &self.net;
        let dim = net.dim;
        let rows = net.emb.len() / dim;
        let (emb, weights, mapping) = match (&net.mapping, &net.weights) {
            (None, Some(w)) => {
                let mut e = net.emb.clone();
                for (row, c) in e.chunks_exact_mut(dim).zip(w) {
                    row.iter_mut().for_each(|x| *x *= c);
                }
                (e, None, None)
            }
            (m, w) => (net.emb.clone(), w.clone(), m.clone()),
        };
        let mut embeddings = TensorData::from_f32(&emb);
        embeddings.shape = vec![rows, dim];
        let mut config = Value::Object(Vec::new());
        config.set(
            "max_length",
            self.max_length
                .map_or(Value::Null, |n| Value::int(n as i64)),
        );
        config.set("normalize", Value::Bool(net.normalize));
        ModelParts {
            embeddings,
            weights: weights.map(|w| TensorData::from_f32(&w)),
            mapping: mapping.map(|m| {
                let v: Vec<i32> = m.iter().map(|&r| r as i32).collect();
                TensorData::from_i32(&v)
            }),
            tokenizer_json: std::borrow::Cow::Borrowed(&self.tokenizer_json),
            config,
            card: self.card.clone(),
        }
    }

    /// Saves the pipeline (model + head) atomically; Python's
    /// `StaticModelPipeline.from_pretrained` loads it.
    pub fn save_pipeline(&self, output: &Path, force: bool) -> Result<PathBuf, Error> {
        Ok(m2v_static::pipeline::save_pipeline(
            output,
            &self.model_parts(),
            &self.head()?,
            &SaveOptions::new().force(force),
        )?)
    }
}
