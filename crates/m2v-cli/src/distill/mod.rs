//! The distillation driver behind `m2v-cli distill`.
//!
//! teacher folder → vocabulary surgery ([`m2v_tokenize::distill_vocabulary`]) → teacher
//! inputs → teacher forward pass ([`m2v_teacher`]) → PCA → SIF → quantize
//! ([`m2v_reduce`]) → an atomically written model folder ([`save`]). Each step follows
//! Python `model2vec` 0.10.0's `distill_from_model` (see `docs/REFERENCE.md`,
//! "Distillation"); the CLI only turns flags into [`Options`] and prints the [`Summary`].

mod card;
mod pyjson;
mod save;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use m2v_reduce::{DType, KMeansOptions, PcaDims};
use m2v_tokenize::json::{self, Value};
use m2v_tokenize::{DistillVocabulary, TokenSource, VocabularyOptions};

pub use self::pyjson::PyJson;
pub use m2v_teacher::{DeviceChoice as Device, Pooling};

/// The reference's default `token_remove_pattern`.
pub const DEFAULT_REMOVE_PATTERN: &str = r"\[unused\d+\]";

/// Sequences per teacher batch on the CPU (the reference's `_DEFAULT_BATCH_SIZE`).
pub const BATCH_SIZE: usize = 256;
/// Sequences per teacher batch on the GPU: per-batch overhead dominates small batches
/// there (measured on an H200: 20k tokens/s at 256, 43k at 1024). Rows do not depend
/// on the batch size beyond float rounding (batches are sorted by length).
pub const GPU_BATCH_SIZE: usize = 1024;

/// Everything a distillation needs; the CLI builds it from flags.
#[derive(Debug, Clone)]
pub struct Options {
    /// The teacher's local folder (config.json, weights, tokenizer.json).
    pub model_dir: PathBuf,
    /// The teacher as the user named it: written as `tokenizer_name` in config.json.
    pub model_name: String,
    /// The model card's `base_model`: the hub id, or the local folder's name.
    pub base_model: String,
    /// Where the model goes.
    pub output: PathBuf,
    /// Replace a non-empty output folder.
    pub force: bool,
    /// Words to add (frequency order), possibly empty.
    pub vocabulary: Vec<String>,
    /// `pca_dims`.
    pub pca_dims: PcaDims,
    /// `sif_coefficient` (`None`: no SIF weighting).
    pub sif_coefficient: Option<f64>,
    /// `token_remove_pattern` (`None`: remove nothing).
    pub token_remove_pattern: Option<String>,
    /// Teacher pooling.
    pub pooling: Pooling,
    /// Stored dtype.
    pub quantize_to: DType,
    /// Number of clusters for vocabulary quantization.
    pub vocabulary_quantization: Option<usize>,
    /// Where the teacher runs.
    pub device: Device,
    /// A file that caches the teacher's pooled output, keyed by the teacher inputs,
    /// the teacher folder and the pooling (a development and testing aid: variants that
    /// differ only after the forward pass reuse it).
    pub teacher_cache: Option<PathBuf>,
}

/// What happened, for the final report.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The saved folder.
    pub output: PathBuf,
    /// Tokens in the vocabulary.
    pub vocab_size: usize,
    /// Rows of the embedding matrix (clusters with vocabulary quantization).
    pub rows: usize,
    /// Embedding dimensions.
    pub dim: usize,
    /// Teacher hidden size.
    pub teacher_dim: usize,
    /// Sum of the kept components' explained-variance ratios (`None`: no PCA).
    pub explained_variance: Option<f64>,
    /// The PCA's notes (clamps and skips), if any.
    pub pca_note: Option<String>,
    /// The vocabulary surgery's counts.
    pub stats: m2v_tokenize::SurgeryStats,
    /// Wall time per phase: (name, seconds).
    pub phases: Vec<(&'static str, Duration)>,
    /// Total wall time.
    pub total: Duration,
    /// Bytes on disk of the saved folder.
    pub size_bytes: u64,
    /// Stored dtype.
    pub dtype: DType,
}

/// Progress of the teacher forward pass.
pub trait Progress {
    /// `total` sequences will be encoded.
    fn start(&self, total: usize);
    /// `done` of them are encoded.
    fn update(&self, done: usize);
    /// The pass is over.
    fn finish(&self);
}

/// No progress output.
#[derive(Debug)]
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _: usize) {}
    fn update(&self, _: usize) {}
    fn finish(&self) {}
}

fn read_json(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    json::parse_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: invalid JSON: {e}", path.display()))
}

/// A special token as `transformers` reads it: a string or `{"content": ...}`.
fn special(v: Option<&Value>) -> Option<String> {
    let v = v?;
    v.as_str()
        .or_else(|| v.get("content").and_then(Value::as_str))
        .map(str::to_string)
}

/// The special tokens and `model_max_length` `transformers` would report for a folder.
#[derive(Debug, Default)]
struct HfTokenizerInfo {
    unk: Option<String>,
    pad: Option<String>,
}

fn hf_tokenizer_info(dir: &Path) -> Result<HfTokenizerInfo> {
    let mut info = HfTokenizerInfo::default();
    for name in ["special_tokens_map.json", "tokenizer_config.json"] {
        let p = dir.join(name);
        if !p.is_file() {
            continue;
        }
        let v = read_json(&p)?;
        info.unk = special(v.get("unk_token")).or(info.unk);
        info.pad = special(v.get("pad_token")).or(info.pad);
    }
    Ok(info)
}

/// Compiles `token_remove_pattern` with Python `re.match` semantics (anchored at the
/// start, not at the end).
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex> {
    regex::Regex::new(&format!("^(?:{pattern})"))
        .with_context(|| format!("invalid --token-remove-pattern `{pattern}`"))
}

/// `tokenizer.encode(word)` of the reference's (pruned) teacher tokenizer, including
/// the padding that tokenizer still carries (e.g. all-MiniLM-L6-v2's `Fixed: 128`: the
/// reference feeds those pad positions to the teacher unmasked, so we do too).
fn encode_new_word(tok: &m2v_tokenize::Tokenizer, padding: &Value, word: &str) -> Result<Vec<u32>> {
    let mut ids = tok.encode_with_special_tokens(word);
    if padding.is_null() {
        return Ok(ids);
    }
    let pad_id = padding.get("pad_id").and_then(Value::as_u64).unwrap_or(0) as u32;
    let mut target = padding
        .get("strategy")
        .and_then(|s| s.get("Fixed"))
        .and_then(Value::as_u64)
        .map_or(ids.len(), |n| (n as usize).max(ids.len()));
    if let Some(m) = padding.get("pad_to_multiple_of").and_then(Value::as_u64) {
        let m = m as usize;
        if m > 0 && !target.is_multiple_of(m) {
            target += m - target % m;
        }
    }
    let n = target - ids.len();
    if padding.get("direction").and_then(Value::as_str) == Some("Left") {
        let mut v = vec![pad_id; n];
        v.extend_from_slice(&ids);
        ids = v;
    } else {
        ids.extend(std::iter::repeat_n(pad_id, n));
    }
    Ok(ids)
}

/// The teacher input of every token, in id order.
fn teacher_inputs(d: &DistillVocabulary, teacher_json: &Value) -> Result<Vec<Vec<u32>>> {
    let needs_text = d.sources.contains(&TokenSource::Text);
    let tok = if needs_text {
        Some(
            m2v_tokenize::Tokenizer::from_value(d.teacher_tokenizer.clone())
                .context("cannot load the teacher's tokenizer for the new words")?,
        )
    } else {
        None
    };
    let padding = teacher_json.get("padding").cloned().unwrap_or(Value::Null);
    let mut out = Vec::with_capacity(d.tokens.len());
    for (token, source) in d.tokens.iter().zip(&d.sources) {
        match (source, &tok) {
            (TokenSource::Teacher(id), _) => {
                let mut v = Vec::with_capacity(d.bos.len() + 1 + d.eos.len());
                v.extend_from_slice(&d.bos);
                v.push(*id);
                v.extend_from_slice(&d.eos);
                out.push(v);
            }
            (TokenSource::Text, Some(t)) => out.push(encode_new_word(t, &padding, token)?),
            (TokenSource::Text, None) => bail!("internal: no tokenizer for new words"),
        }
    }
    Ok(out)
}

const CACHE_MAGIC: &[u8; 8] = b"M2VTC001";

/// FNV-1a over everything the teacher's output depends on.
fn cache_key(inputs: &[Vec<u32>], dir: &Path, pooling: Pooling) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(dir.to_string_lossy().as_bytes());
    eat(pooling.name().as_bytes());
    for seq in inputs {
        eat(&(seq.len() as u32).to_le_bytes());
        for id in seq {
            eat(&id.to_le_bytes());
        }
    }
    h
}

/// The cached teacher output, if the file exists and matches.
fn read_cache(path: &Path, key: u64, rows: usize, cols: usize) -> Option<Vec<f32>> {
    let b = std::fs::read(path).ok()?;
    let word =
        |i: usize| -> Option<u64> { Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?)) };
    if b.get(..8)? != CACHE_MAGIC
        || word(8)? != key
        || word(16)? != rows as u64
        || word(24)? != cols as u64
    {
        return None;
    }
    let data = b.get(32..)?;
    if data.len() != rows * cols * 4 {
        return None;
    }
    Some(
        data.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

fn write_cache(path: &Path, key: u64, rows: usize, cols: usize, data: &[f32]) -> Result<()> {
    let mut b = Vec::with_capacity(32 + data.len() * 4);
    b.extend_from_slice(CACHE_MAGIC);
    for w in [key, rows as u64, cols as u64] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    for x in data {
        b.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(path, b)
        .with_context(|| format!("cannot write the teacher cache {}", path.display()))
}

/// The value written as `apply_pca`.
fn apply_pca_json(p: PcaDims) -> PyJson {
    match p {
        PcaDims::Int(k) => PyJson::Int(k as i64),
        PcaDims::Float(x) => PyJson::Float(x),
        PcaDims::Auto => PyJson::str("auto"),
        PcaDims::None => PyJson::Null,
    }
}

/// Runs a distillation and saves the model. Nothing is left at `opts.output` on error.
pub fn distill(opts: &Options, progress: &dyn Progress) -> Result<Summary> {
    let t0 = Instant::now();
    let mut phases = Vec::new();
    let mut lap = {
        let mut last = Instant::now();
        move |name: &'static str, phases: &mut Vec<(&'static str, Duration)>| {
            let now = Instant::now();
            phases.push((name, now - last));
            last = now;
        }
    };
    if let Some(s) = opts.sif_coefficient
        && !(s > 0.0 && s < 1.0)
    {
        bail!("the SIF coefficient must be > 0 and < 1, got {s}");
    }
    let pattern = opts
        .token_remove_pattern
        .as_deref()
        .map(compile_pattern)
        .transpose()?;
    // Fail on a bad output path before the long work.
    let staging = save::Staging::new(&opts.output, opts.force)?;

    // The teacher (weights are checked first: the cheapest way to fail on a bad folder).
    let teacher = m2v_teacher::Teacher::load(&opts.model_dir, opts.device)
        .with_context(|| format!("cannot load the teacher from {}", opts.model_dir.display()))?;
    let tok_path = opts.model_dir.join("tokenizer.json");
    if !tok_path.is_file() {
        bail!(
            "{} has no tokenizer.json (only fast tokenizers are supported)",
            opts.model_dir.display()
        );
    }
    let teacher_json = read_json(&tok_path)?;
    let info = hf_tokenizer_info(&opts.model_dir)?;
    lap("load teacher", &mut phases);

    // Vocabulary surgery.
    let remove = pattern.as_ref().map(|re| move |t: &str| re.is_match(t));
    let remove_ref: Option<&dyn Fn(&str) -> bool> =
        remove.as_ref().map(|f| f as &dyn Fn(&str) -> bool);
    let vopts = VocabularyOptions {
        vocabulary: &opts.vocabulary,
        remove: remove_ref,
        unk_token: info.unk.as_deref(),
        pad_token: info.pad.as_deref(),
    };
    let vocab = m2v_tokenize::distill_vocabulary(&teacher_json, &vopts)
        .with_context(|| format!("vocabulary surgery on {}", tok_path.display()))?;
    let inputs = teacher_inputs(&vocab, &teacher_json)?;
    lap("vocabulary", &mut phases);

    // Teacher forward pass: the teacher sorts by length, batches, pads (masked) and
    // returns the pooled rows in input order.
    let n = inputs.len();
    let dim = teacher.hidden_size();
    let batch_size = match opts.device {
        Device::Cpu => BATCH_SIZE,
        Device::Gpu => GPU_BATCH_SIZE,
    };
    let key = cache_key(&inputs, &opts.model_dir, opts.pooling);
    let cached = opts
        .teacher_cache
        .as_deref()
        .and_then(|p| read_cache(p, key, n, dim));
    let mut emb = match cached {
        Some(e) => e,
        None => {
            progress.start(n);
            let e = teacher
                .encode_ids(&inputs, opts.pooling, batch_size, &mut |done, _| {
                    progress.update(done)
                })
                .context("teacher forward pass")?;
            progress.finish();
            if let Some(p) = &opts.teacher_cache {
                write_cache(p, key, n, dim, &e)?;
            }
            e
        }
    };
    drop(inputs);
    if emb.len() != n * dim {
        bail!("the teacher returned {} values for {n} x {dim}", emb.len());
    }
    m2v_reduce::nan_to_num(&mut emb);
    lap("teacher forward", &mut phases);

    // PCA, SIF, quantization.
    let (tensor, weights, mapping, pca_res) = match opts.vocabulary_quantization {
        Some(k) => {
            let vq = m2v_reduce::vocabulary_quantize(
                &emb,
                n,
                dim,
                k,
                opts.sif_coefficient,
                &KMeansOptions::default(),
            )?;
            let p = m2v_reduce::pca(&vq.centres, vq.n_clusters, vq.cols, opts.pca_dims)?;
            let q = m2v_reduce::quantize(&p.data, p.rows, p.cols, opts.quantize_to)?;
            (q, Some(vq.weights), Some(vq.mapping), p)
        }
        None => {
            let weights = match opts.sif_coefficient {
                Some(s) => m2v_reduce::sif_weights(n, s)?,
                None => vec![1.0; n],
            };
            let p = m2v_reduce::pca(&emb, n, dim, opts.pca_dims)?;
            let q =
                m2v_reduce::quantize_weighted(&p.data, p.rows, p.cols, &weights, opts.quantize_to)?;
            (q, None, None, p)
        }
    };
    drop(emb);
    lap("pca + sif + quantize", &mut phases);

    // Save.
    let weight_bytes: Option<Vec<u8>> =
        weights.map(|w| w.iter().flat_map(|x| x.to_le_bytes()).collect());
    let mapping_bytes: Option<Vec<u8>> =
        mapping.map(|m| m.iter().flat_map(|x| x.to_le_bytes()).collect());
    let mut tensors = vec![save::Tensor {
        name: "embeddings",
        dtype: tensor.dtype.safetensors_name(),
        shape: &tensor.shape,
        bytes: &tensor.bytes,
    }];
    let vshape = [n];
    if let Some(b) = &weight_bytes {
        tensors.push(save::Tensor {
            name: "weights",
            dtype: "F64",
            shape: &vshape,
            bytes: b,
        });
    }
    if let Some(b) = &mapping_bytes {
        tensors.push(save::Tensor {
            name: "mapping",
            dtype: "I32",
            shape: &vshape,
            bytes: b,
        });
    }
    staging.write("model.safetensors", &save::safetensors_bytes(&tensors)?)?;
    staging.write(
        "tokenizer.json",
        json::to_string(&vocab.tokenizer).as_bytes(),
    )?;
    let config = save::ModelConfig {
        tokenizer_name: opts.model_name.clone(),
        apply_pca: apply_pca_json(opts.pca_dims),
        sif_coefficient: opts.sif_coefficient,
        hidden_dim: tensor.shape[1],
        pooling: opts.pooling.name().to_string(),
        max_length: Some(m2v_tokenize::DEFAULT_MAX_LENGTH),
        embedding_dtype: tensor.dtype.numpy_name().to_string(),
        vocabulary_quantization: opts.vocabulary_quantization.map(|_| tensor.shape[0]),
    };
    staging.write("config.json", config.to_json().as_bytes())?;
    staging.write("modules.json", save::modules_json().as_bytes())?;
    let model_name = opts
        .output
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pca_text = match opts.pca_dims {
        PcaDims::None => "none".to_string(),
        p => format!("{p} ({} of {dim} dimensions kept)", tensor.shape[1]),
    };
    let readme = card::render(&card::Card {
        base_model: &opts.base_model,
        language: &[],
        model_name: &model_name,
        vocab_size: n,
        dim: tensor.shape[1],
        dtype: tensor.dtype.numpy_name(),
        pca: &pca_text,
        sif: opts.sif_coefficient,
        pooling: opts.pooling.name(),
    });
    staging.write("README.md", readme.as_bytes())?;
    let size_bytes = save::folder_size(staging.path());
    let output = staging.commit()?;
    lap("save", &mut phases);

    Ok(Summary {
        output,
        vocab_size: n,
        rows: tensor.shape[0],
        dim: tensor.shape[1],
        teacher_dim: dim,
        explained_variance: pca_res
            .applied
            .then(|| pca_res.explained_variance_ratio.iter().sum()),
        pca_note: pca_res.note,
        stats: vocab.stats,
        phases,
        total: t0.elapsed(),
        size_bytes,
        dtype: tensor.dtype,
    })
}
