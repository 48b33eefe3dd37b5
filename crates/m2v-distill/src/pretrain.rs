//! Corpus pre-training, the Tokenlearn recipe: distill, then train the static model on
//! a corpus to reproduce the teacher's outputs.
//!
//! The stages, and what each follows:
//! 1. **Featurize** (Tokenlearn 0.2.1 `featurize.py`): each corpus text goes through the
//!    teacher as sentence-transformers tokenizes it (specials added, cut to
//!    `max_seq_length`); its target is the mean of the token outputs without the first
//!    and last position ([`Pooling::MeanInner`], `token_embeddings[1:-1].mean(0)`).
//!    Targets are written to a feature cache in chunks of [`CorpusOptions::chunk_texts`]
//!    texts, each file written under a temporary name and renamed, so a killed run
//!    resumes at the first missing chunk. A chunk's file records a fingerprint of the
//!    teacher, of the batching, and of the chunk's texts; a chunk whose fingerprint does
//!    not match is computed again. A chunk is always computed as one call, so a resumed
//!    featurization writes the bytes an uninterrupted one writes.
//! 2. **Project the targets** with the distillation's own PCA (its mean and
//!    components), into the basis of the rows.
//! 3. **Train** with `m2v-train`'s similarity trainer (one trainer for `m2v-cli train`
//!    and for this): the rows start normalized with their norms as trainable token
//!    weights (Tokenlearn's `StaticModelFineTuner`), the pooled mean is compared with
//!    the target by the cosine loss, Adam at 1e-3, batches of 256, early stopping on the
//!    validation loss, the best check restored. Each row becomes `weight × row`.
//! 4. **Re-weight** (optional, Tokenlearn 0.1.2 `weight_model`): PCA of the trained
//!    rows (same dimension), then each row times the SIF weight `α / (α + p)` of its
//!    token's probability in the corpus (Laplace smoothed:
//!    `(count + 1) / (tokens + vocabulary)`).
//! 5. Quantize to the requested dtype and save as any distilled model.
//!
//! **Where this departs from Tokenlearn, and why.** Tokenlearn reduces the targets
//! with a PCA of their own and trains a linear layer between the pooled rows and the
//! targets, then drops the layer. That is sound when the corpus covers the whole
//! vocabulary (Tokenlearn's runs use millions of texts): every row is trained. With
//! the tens of thousands of texts a 2-core machine can featurize, most rows are never
//! trained and stay where distillation put them. A first version here reduced the
//! targets with their own PCA and trained without a layer, so the trained rows moved
//! into the targets' basis and the others did not: on all-MiniLM-L6-v2 with 10,000
//! texts it scored 69.2-69.8 on the 15-task average against 71.50 for plain
//! distillation. Projecting the targets into the rows' own basis keeps trained and
//! untrained rows comparable (72.9 on the same texts; `docs/pretrain.md`). The
//! cosine loss (the similarity trainer's) ignores the scale that SIF weighting gives
//! the rows. Also: Adam instead of AdamW (weight decay 0.01); `m2v-train`'s validation
//! rule (a seeded 10% split, at most 10,000 texts; checks once or four times an
//! epoch) instead of the last 10% and every 1,000 steps; the student sees each text
//! cut to the teacher's token limit by its own tokenizer (Tokenlearn decodes the
//! teacher's truncated ids back to text); the vocabulary is the one the distillation
//! options give (Tokenlearn 0.2.1 builds one from the corpus).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use m2v_reduce::PcaDims;
use m2v_static::save::{self, ModelParts, TensorData};
use m2v_static::{Dtype, LoadOptions, StaticModel};
use m2v_teacher::{Pooling, Teacher};
use m2v_tokenize::json::Value;
use m2v_train::{Data, Targets, Task};

use crate::distill::{DistillOptions, Distilled, Progress, prepare};
use crate::error::Error;

/// The largest corpus file read (bytes): texts are held in memory.
pub const MAX_CORPUS_BYTES: u64 = 8 << 30;

/// How to pre-train on a corpus. [`CorpusOptions::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct CorpusOptions {
    /// The corpus: UTF-8 text, one text per line (blank lines skipped).
    pub path: PathBuf,
    /// Use at most this many texts (the first ones).
    pub limit: Option<usize>,
    /// The feature cache folder (created if missing; reused by a later run).
    pub features_dir: PathBuf,
    /// Texts per cache file.
    pub chunk_texts: usize,
    /// Texts per teacher batch.
    pub batch_size: usize,
    /// The trainer's options (no head, batches of 256, Adam at 1e-3, patience 5).
    pub train: m2v_train::Options,
    /// The SIF α of the final re-weighting; `None` (the default) keeps the trained rows
    /// as they are (Tokenlearn 0.2.1).
    pub sif_alpha: Option<f64>,
}

impl CorpusOptions {
    /// The defaults for `path`, caching features in `features_dir`.
    pub fn new(path: impl Into<PathBuf>, features_dir: impl Into<PathBuf>) -> Self {
        CorpusOptions {
            path: path.into(),
            limit: None,
            features_dir: features_dir.into(),
            chunk_texts: 4096,
            batch_size: 64,
            train: m2v_train::Options {
                n_layers: 0,
                batch_size: Some(256),
                normalize: false,
                ..m2v_train::Options::default()
            },
            sif_alpha: None,
        }
    }
}

/// Progress of pre-training, for progress bars.
#[derive(Debug)]
pub enum Stage<'a> {
    /// Featurizing: `done` of `total` texts (cached chunks count at once).
    Featurize {
        /// Texts done.
        done: usize,
        /// Texts in all.
        total: usize,
        /// Texts found in the cache so far.
        cached: usize,
    },
    /// A training report.
    Train(&'a m2v_train::Progress),
}

/// What pre-training did, for a report.
#[derive(Debug, Clone)]
pub struct PretrainSummary {
    /// Corpus texts used.
    pub texts: usize,
    /// Of those, texts whose features came from the cache.
    pub cached: usize,
    /// Training epochs.
    pub epochs: usize,
    /// Training steps.
    pub steps: usize,
    /// The best validation loss (the cosine loss, `1 − cos`).
    pub best_loss: f64,
    /// Wall time per phase.
    pub phases: Vec<(&'static str, Duration)>,
}

/// Reads the corpus: one text per line, `\r` stripped, blank lines skipped, at most
/// `limit` texts. Errors name the file and, for invalid UTF-8, the line.
pub fn read_corpus(path: &Path, limit: Option<usize>) -> Result<Vec<String>, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(Error::Corpus {
            path: path.to_path_buf(),
            message: "not a regular file".into(),
        });
    }
    if meta.len() > MAX_CORPUS_BYTES {
        return Err(Error::Corpus {
            path: path.to_path_buf(),
            message: format!(
                "{} bytes, more than the {} bytes read into memory (pass a smaller file)",
                meta.len(),
                MAX_CORPUS_BYTES
            ),
        });
    }
    let bytes = fs::read(path).map_err(io)?;
    let limit = limit.unwrap_or(usize::MAX);
    let mut texts = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if texts.len() >= limit {
            break;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = std::str::from_utf8(line).map_err(|e| Error::Corpus {
            path: path.to_path_buf(),
            message: format!("line {}: invalid UTF-8 ({e})", i + 1),
        })?;
        if !text.trim().is_empty() {
            texts.push(text.to_string());
        }
    }
    if texts.is_empty() {
        return Err(Error::Corpus {
            path: path.to_path_buf(),
            message: "no text (one text per line expected)".into(),
        });
    }
    Ok(texts)
}

/// 64-bit FNV-1a, for cache fingerprints (not a security boundary: a cache folder is
/// the user's own).
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(mut self, b: &[u8]) -> Self {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        self.0 ^= b.len() as u64;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        self
    }
}

/// The teacher's fingerprint: its folder's config and the names and sizes of its
/// weight files, the name it was given, its token limit, and the batching.
fn teacher_fingerprint(dir: &Path, name: &str, teacher: &Teacher, batch: usize) -> u64 {
    let mut h = Fnv::new()
        .bytes(name.as_bytes())
        .bytes(&fs::read(dir.join("config.json")).unwrap_or_default())
        .bytes(
            format!(
                "{} {} {batch} mean_inner v1",
                teacher.max_len(),
                teacher.hidden_size()
            )
            .as_bytes(),
        );
    let mut weights: Vec<(String, u64)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            (n.ends_with(".safetensors") || n.ends_with(".bin"))
                .then(|| (n, e.metadata().map(|m| m.len()).unwrap_or(0)))
        })
        .collect();
    weights.sort();
    for (n, len) in weights {
        h = h.bytes(n.as_bytes()).bytes(&len.to_le_bytes());
    }
    h.0
}

const MAGIC: &[u8; 8] = b"M2VFEAT1";
const HEADER: usize = 8 + 4 * 8;

/// A chunk file's name.
fn chunk_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("features-{index:06}.bin"))
}

/// The chunk's values if its file exists and matches `(teacher, texts, rows, dim)`.
fn read_chunk(path: &Path, teacher: u64, texts: u64, rows: usize, dim: usize) -> Option<Vec<f32>> {
    let bytes = fs::read(path).ok()?;
    if bytes.len() != HEADER + rows * dim * 4 || &bytes[..8] != MAGIC {
        return None;
    }
    let word =
        |i: usize| u64::from_le_bytes(bytes[8 + 8 * i..16 + 8 * i].try_into().unwrap_or_default());
    if word(0) != teacher || word(1) != texts || word(2) != rows as u64 || word(3) != dim as u64 {
        return None;
    }
    Some(
        bytes[HEADER..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}

/// Writes a chunk file under a temporary name, then renames it into place.
fn write_chunk(
    path: &Path,
    teacher: u64,
    texts: u64,
    rows: usize,
    dim: usize,
    values: &[f32],
) -> Result<(), Error> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::with_capacity(HEADER + values.len() * 4);
    bytes.extend_from_slice(MAGIC);
    for w in [teacher, texts, rows as u64, dim as u64] {
        bytes.extend_from_slice(&w.to_le_bytes());
    }
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    let mut f = fs::File::create(&tmp).map_err(io)?;
    f.write_all(&bytes).and_then(|_| f.sync_all()).map_err(io)?;
    fs::rename(&tmp, path).map_err(io)
}

/// The teacher's targets for `texts` (`texts.len() × hidden` values, Tokenlearn's
/// featurization), through the feature cache. Returns the values and how many texts
/// came from the cache.
pub fn featurize(
    teacher: &Teacher,
    teacher_dir: &Path,
    teacher_name: &str,
    texts: &[String],
    opts: &CorpusOptions,
    progress: &mut dyn FnMut(Stage<'_>),
) -> Result<(Vec<f32>, usize), Error> {
    if opts.chunk_texts == 0 || opts.batch_size == 0 {
        return Err(Error::InvalidOption {
            option: "corpus chunk_texts / batch_size",
            message: "must be positive".into(),
        });
    }
    let dir = &opts.features_dir;
    fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let dim = teacher.hidden_size();
    let fp = teacher_fingerprint(teacher_dir, teacher_name, teacher, opts.batch_size);
    let total = texts.len();
    let mut out = Vec::with_capacity(total * dim);
    let (mut done, mut cached) = (0, 0);
    progress(Stage::Featurize {
        done,
        total,
        cached,
    });
    for (index, chunk) in texts.chunks(opts.chunk_texts).enumerate() {
        let texts_fp = chunk
            .iter()
            .fold(Fnv::new(), |h, t| h.bytes(t.as_bytes()))
            .0;
        let path = chunk_path(dir, index);
        if let Some(values) = read_chunk(&path, fp, texts_fp, chunk.len(), dim) {
            out.extend_from_slice(&values);
            cached += chunk.len();
        } else {
            let ids = chunk
                .iter()
                .map(|t| teacher.tokenize(t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(Error::Forward)?;
            let base = done;
            let values = teacher
                .encode_ids(&ids, Pooling::MeanInner, opts.batch_size, &mut |d, _| {
                    progress(Stage::Featurize {
                        done: base + d,
                        total,
                        cached,
                    })
                })
                .map_err(Error::Forward)?;
            write_chunk(&path, fp, texts_fp, chunk.len(), dim, &values)?;
            out.extend_from_slice(&values);
        }
        done += chunk.len();
        progress(Stage::Featurize {
            done,
            total,
            cached,
        });
    }
    Ok((out, cached))
}

/// Distills as [`crate::distill`] does, then pre-trains on the corpus (module docs).
/// The distillation's PCA, SIF and quantization options apply to the final model;
/// vocabulary quantization cannot be combined with pre-training.
pub fn distill_pretrained(
    opts: &DistillOptions,
    corpus: &CorpusOptions,
    teacher_progress: &dyn Progress,
    progress: &mut dyn FnMut(Stage<'_>),
) -> Result<(Distilled, PretrainSummary), Error> {
    if opts.vocabulary_quantization.is_some() {
        return Err(Error::InvalidOption {
            option: "vocabulary_quantization",
            message: "cannot be combined with corpus pre-training".into(),
        });
    }
    if let Some(a) = corpus.sif_alpha
        && !(a > 0.0 && a.is_finite())
    {
        return Err(Error::InvalidOption {
            option: "sif_alpha",
            message: format!("must be positive, got {a}"),
        });
    }
    // The corpus first: a bad file fails before the long work.
    let start = Instant::now();
    let lap = start;
    let texts = read_corpus(&corpus.path, corpus.limit)?;
    let mut phases = vec![("read corpus", lap.elapsed())];
    let mut base = opts.clone();
    base.quantize_to = Dtype::F32;
    let prepared = prepare(&base)?;
    let lap = Instant::now();
    let output = prepared.run_teacher(teacher_progress)?;
    let forward = lap.elapsed();
    let lap = Instant::now();
    let (features, cached) = featurize(
        &prepared.teacher,
        &opts.model_dir,
        &opts.model_name,
        &texts,
        corpus,
        progress,
    )?;
    phases.push(("featurize", lap.elapsed()));
    // The student sees as many tokens as the teacher did (`Teacher::tokenize`'s cut:
    // `max_seq_length`, within the position embeddings).
    let max_len = prepared
        .teacher
        .sentence_config()
        .max_seq_length
        .unwrap_or(usize::MAX)
        .min(prepared.teacher.max_len());
    let hidden = prepared.teacher.hidden_size();
    let mut distilled = prepared.finish(output)?;
    let at = distilled.summary.phases.len().min(2);
    distilled
        .summary
        .phases
        .insert(at, ("teacher forward", forward));
    let (model, summary) = pretrain(
        &distilled, texts, features, hidden, max_len, corpus, progress, phases, cached,
    )?;
    let mut d = finalize(distilled, model, opts.quantize_to)?;
    d.summary.phases.extend(summary.phases.iter().cloned());
    d.summary.total = start.elapsed();
    // A record in config.json (Python ignores keys it does not know): the bench and
    // readers of the folder can tell what the model was trained on.
    let corpus_name = corpus.path.file_name().map_or_else(
        || corpus.path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    d.config.set(
        "pretraining",
        Value::Object(vec![
            ("recipe".into(), Value::string("tokenlearn (m2v)")),
            ("corpus".into(), Value::string(&corpus_name)),
            ("texts".into(), Value::int(summary.texts as i64)),
            ("cached_texts".into(), Value::int(summary.cached as i64)),
            ("epochs".into(), Value::int(summary.epochs as i64)),
            (
                "seconds".into(),
                Value::float((d.summary.total.as_secs_f64() * 10.0).round() / 10.0),
            ),
        ]),
    );
    Ok((d, summary))
}

/// Stages 2 to 4 on a float32 distilled model: the trained, re-weighted rows.
#[allow(clippy::too_many_arguments)]
fn pretrain(
    distilled: &Distilled,
    texts: Vec<String>,
    features: Vec<f32>,
    hidden: usize,
    teacher_max_len: usize,
    corpus: &CorpusOptions,
    progress: &mut dyn FnMut(Stage<'_>),
    mut phases: Vec<(&'static str, Duration)>,
    cached: usize,
) -> Result<(Vec<f32>, PretrainSummary), Error> {
    let lap = Instant::now();
    let n = texts.len();
    let (rows, dim) = distilled.shape();
    // The targets in the rows' own basis (the distillation's PCA), so that rows the
    // corpus never trains stay comparable with the trained ones; no head is needed.
    let targets = match &distilled.pca {
        Some(p) if p.applied => p.project(&features)?,
        _ if hidden == dim => features,
        _ => {
            return Err(Error::InvalidOption {
                option: "corpus",
                message: "the distilled rows have no PCA to project the targets with".into(),
            });
        }
    };
    phases.push(("project targets", lap.elapsed()));

    // The student: unit rows, their norms as token weights.
    let lap = Instant::now();
    let emb = distilled.embeddings_f32()?;
    let mut unit = emb.clone();
    let mut norms = Vec::with_capacity(rows);
    for row in unit.chunks_exact_mut(dim) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|x| *x /= norm);
        }
        norms.push(f64::from(norm));
    }
    let model = distilled.model_with(&unit, Some(&norms))?;
    let data = Data {
        path: corpus.path.clone(),
        texts,
        targets: Targets::Vectors { dim, data: targets },
    };
    let mut topts = corpus.train.clone();
    if topts.max_length.is_none() {
        topts.max_length = Some(Some(teacher_max_len));
    }
    let trained = m2v_train::fit(&model, &data, None, Task::Similarity, &topts, &mut |p| {
        progress(Stage::Train(p))
    })?;
    phases.push(("train", lap.elapsed()));

    let lap = Instant::now();
    let mut rows_out =
        trained
            .model_parts()
            .embeddings
            .to_f32()
            .ok_or_else(|| Error::InvalidOption {
                option: "corpus",
                message: "the trained rows are not float32".into(),
            })?;
    if let Some(alpha) = corpus.sif_alpha {
        let p = m2v_reduce::pca(&rows_out, rows, dim, PcaDims::Int(dim))?;
        rows_out = p.data;
        let probs = token_probabilities(&model, &data.texts, topts.max_length.flatten());
        for (row, p) in rows_out.chunks_exact_mut(dim).zip(probs) {
            let f = (alpha / (alpha + p)) as f32;
            row.iter_mut().for_each(|x| *x *= f);
        }
    }
    phases.push(("re-weight", lap.elapsed()));
    Ok((
        rows_out,
        PretrainSummary {
            texts: n,
            cached,
            epochs: trained.epochs,
            steps: trained.steps,
            best_loss: trained.best,
            phases,
        },
    ))
}

/// Each token's probability in `texts` as the model tokenizes them, Laplace smoothed
/// (Tokenlearn's `calculate_token_probabilities`).
fn token_probabilities(
    model: &StaticModel,
    texts: &[String],
    max_length: Option<usize>,
) -> Vec<f64> {
    let v = model.vocab_size();
    let mut counts = vec![1u64; v];
    let mut total = v as u64;
    let mut ids = Vec::new();
    for t in texts {
        model.tokenize_into(t, max_length, &mut ids);
        for &id in &ids {
            if let Some(c) = counts.get_mut(id as usize) {
                *c += 1;
                total += 1;
            }
        }
    }
    counts.iter().map(|&c| c as f64 / total as f64).collect()
}

/// The final model: `rows` quantized to `dtype`, in `distilled`'s files.
fn finalize(mut distilled: Distilled, rows: Vec<f32>, dtype: Dtype) -> Result<Distilled, Error> {
    let (n, dim) = distilled.shape();
    let q = m2v_reduce::quantize(&rows, n, dim, dtype)?;
    distilled.embeddings = TensorData {
        dtype: q.dtype,
        shape: vec![n, dim],
        bytes: q.bytes,
    };
    distilled.weights = None;
    distilled.summary.dtype = q.dtype;
    distilled.card.dtype = q.dtype.numpy_name().to_string();
    Ok(distilled)
}

impl Distilled {
    /// `(rows, dim)` of the embedding matrix.
    fn shape(&self) -> (usize, usize) {
        (self.embeddings.shape[0], self.embeddings.shape[1])
    }

    /// The embeddings as float32 values.
    fn embeddings_f32(&self) -> Result<Vec<f32>, Error> {
        self.embeddings
            .to_f32()
            .ok_or_else(|| Error::InvalidOption {
                option: "quantize_to",
                message: "pre-training needs float32 rows".into(),
            })
    }

    /// A model with these files but `rows` (and token `weights`) as its table.
    fn model_with(&self, rows: &[f32], weights: Option<&[f64]>) -> Result<StaticModel, Error> {
        let (n, dim) = self.shape();
        let mut embeddings = TensorData::from_f32(rows);
        embeddings.shape = vec![n, dim];
        let parts = ModelParts {
            embeddings,
            weights: weights.map(TensorData::from_f64),
            mapping: None,
            tokenizer_json: std::borrow::Cow::Borrowed(&self.tokenizer_json),
            config: self.config.clone(),
            card: self.card.clone(),
        };
        let st = save::safetensors_bytes(&parts)?;
        let config = save::config_for_save(parts.config.clone(), Dtype::F32, None);
        Ok(StaticModel::from_bytes(
            &self.tokenizer_json,
            st,
            m2v_tokenize::json::to_python_string(&config).as_bytes(),
            &LoadOptions::new(),
        )?)
    }
}
