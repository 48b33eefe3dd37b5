//! The distillation driver: options, the three stages, the result.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use m2v_reduce::{KMeansOptions, PcaDims};
use m2v_static::save::{
    self, Distillation, DistilledConfig, ModelCard, ModelParts, OutputFolder, SaveOptions,
    TensorData,
};
use m2v_static::{Dtype, LoadOptions, StaticModel};
use m2v_teacher::{DeviceChoice as Device, Pooling, Teacher};
use m2v_tokenize::json::{self, Value};
use m2v_tokenize::{DistillVocabulary, SurgeryStats, VocabularyOptions};

use crate::error::Error;
use crate::inputs::{read_json, special_tokens, teacher_inputs};

/// The reference's default `token_remove_pattern`.
pub const DEFAULT_REMOVE_PATTERN: &str = r"\[unused\d+\]";

/// Sequences per teacher batch on the CPU (the reference's `_DEFAULT_BATCH_SIZE`).
pub const BATCH_SIZE: usize = 256;

/// Sequences per teacher batch on the GPU, where per-batch overhead dominates small
/// batches (see `docs/gpu/README.md`). Rows do not depend on the batch size beyond
/// float rounding (batches are sorted by length).
pub const GPU_BATCH_SIZE: usize = 1024;

/// Everything a distillation needs. [`DistillOptions::new`] gives the reference's
/// defaults (`pca_dims=256`, `sif_coefficient=1e-4`, `\[unused\d+\]` removed, mean
/// pooling, float16); change the public fields as needed.
#[derive(Debug, Clone)]
pub struct DistillOptions {
    /// The teacher's local folder (config.json, weights, tokenizer.json).
    pub model_dir: PathBuf,
    /// The teacher as the user named it: written as `tokenizer_name` in config.json.
    pub model_name: String,
    /// The model card's `base_model`: the hub id, or the local folder's name.
    pub base_model: String,
    /// Words to add (most frequent first), possibly empty.
    pub vocabulary: Vec<String>,
    /// `pca_dims`.
    pub pca_dims: PcaDims,
    /// `sif_coefficient` (`None`: no SIF weighting).
    pub sif_coefficient: Option<f64>,
    /// `token_remove_pattern` (`None`: remove nothing), Python `re.match` semantics.
    pub token_remove_pattern: Option<String>,
    /// Pooling of the teacher's output.
    pub pooling: Pooling,
    /// Stored dtype: F16, F32, F64 or I8.
    pub quantize_to: Dtype,
    /// Number of clusters for vocabulary quantization.
    pub vocabulary_quantization: Option<usize>,
    /// Where the teacher runs.
    pub device: Device,
    /// Sequences per teacher batch (`None`: [`BATCH_SIZE`] on the CPU,
    /// [`GPU_BATCH_SIZE`] on a GPU).
    pub batch_size: Option<usize>,
}

impl DistillOptions {
    /// The reference's defaults for the teacher in `model_dir`, named `model_name`
    /// (a hub id or a path; the card's `base_model` is the hub id, or the folder's name).
    pub fn new(model_dir: impl Into<PathBuf>, model_name: impl Into<String>) -> Self {
        let model_dir = model_dir.into();
        let model_name = model_name.into();
        let base_model = if Path::new(&model_name).is_dir() {
            model_dir
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            model_name
                .split('@')
                .next()
                .unwrap_or(&model_name)
                .to_string()
        };
        DistillOptions {
            model_dir,
            model_name,
            base_model,
            vocabulary: Vec::new(),
            pca_dims: PcaDims::Int(256),
            sif_coefficient: Some(1e-4),
            token_remove_pattern: Some(DEFAULT_REMOVE_PATTERN.to_string()),
            pooling: Pooling::Mean,
            quantize_to: Dtype::F16,
            vocabulary_quantization: None,
            device: Device::Cpu,
            batch_size: None,
        }
    }
}

/// Progress of the teacher forward pass, the long step.
pub trait Progress {
    /// `total` sequences will be encoded.
    fn start(&self, total: usize);
    /// `done` of them are encoded.
    fn update(&self, done: usize);
    /// The pass is over.
    fn finish(&self);
}

/// No progress output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _: usize) {}
    fn update(&self, _: usize) {}
    fn finish(&self) {}
}

/// What happened, for a report.
#[derive(Debug, Clone)]
pub struct Summary {
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
    pub stats: SurgeryStats,
    /// Wall time per phase: (name, duration).
    pub phases: Vec<(&'static str, Duration)>,
    /// Total wall time.
    pub total: Duration,
    /// Stored dtype.
    pub dtype: Dtype,
}

/// The teacher's pooled output: one row of `dim` values per token, in id order.
#[derive(Debug, Clone, PartialEq)]
pub struct TeacherOutput {
    /// Row-major values, `rows * dim` of them.
    pub data: Vec<f32>,
    /// One row per token.
    pub rows: usize,
    /// The teacher's hidden size.
    pub dim: usize,
}

/// A distillation after its cheap first stage: the teacher is loaded and the
/// vocabulary built. [`Prepared::run_teacher`] is the long stage; [`Prepared::finish`]
/// reduces any teacher output for these inputs (a caller that distills several
/// variants of one vocabulary, such as a test, may run the teacher once).
#[derive(Debug)]
pub struct Prepared {
    opts: DistillOptions,
    pub(crate) teacher: Teacher,
    vocab: DistillVocabulary,
    inputs: Vec<Vec<u32>>,
    phases: Vec<(&'static str, Duration)>,
    t0: Instant,
}

/// Loads the teacher and builds the new vocabulary and the teacher's inputs. Fails
/// fast on bad options, a bad teacher folder or a bad tokenizer.
pub fn prepare(opts: &DistillOptions) -> Result<Prepared, Error> {
    let t0 = Instant::now();
    let mut phases = Vec::new();
    if let Some(s) = opts.sif_coefficient
        && !(s > 0.0 && s < 1.0)
    {
        return Err(Error::InvalidOption {
            option: "sif_coefficient",
            message: format!("must be > 0 and < 1, got {s}"),
        });
    }
    if !Dtype::STORABLE.contains(&opts.quantize_to) {
        return Err(Error::InvalidOption {
            option: "quantize_to",
            message: format!(
                "{} is not one of float16, float32, float64, int8",
                opts.quantize_to.numpy_name()
            ),
        });
    }
    let pattern = opts
        .token_remove_pattern
        .as_deref()
        .map(compile_pattern)
        .transpose()?;
    // The weights first: the cheapest way to fail on a bad folder.
    let teacher = Teacher::load(&opts.model_dir, opts.device).map_err(|source| Error::Teacher {
        path: opts.model_dir.clone(),
        source,
    })?;
    let tok_path = opts.model_dir.join("tokenizer.json");
    if !tok_path.is_file() {
        return Err(Error::MissingFile {
            path: tok_path,
            message: "no tokenizer.json (only fast tokenizers are supported)",
        });
    }
    // The one parse of the teacher's tokenizer.json, changed as transformers loads it.
    let mut teacher_json = read_json(&tok_path)?;
    let config_path = opts.model_dir.join("tokenizer_config.json");
    let tokenizer_config = if config_path.is_file() {
        read_json(&config_path)?
    } else {
        Value::Null
    };
    crate::transformers::as_loaded(&mut teacher_json, &tokenizer_config);
    let specials = special_tokens(&opts.model_dir)?;
    phases.push(("load teacher", t0.elapsed()));

    let lap = Instant::now();
    let remove = pattern.as_ref().map(|re| move |t: &str| re.is_match(t));
    let vopts = VocabularyOptions {
        vocabulary: &opts.vocabulary,
        remove: remove.as_ref().map(|f| f as &dyn Fn(&str) -> bool),
        unk_token: specials.unk.as_deref(),
        pad_token: specials.pad.as_deref(),
    };
    let vocab = m2v_tokenize::distill_vocabulary(&teacher_json, &vopts).map_err(|source| {
        Error::Tokenizer {
            path: tok_path.clone(),
            source,
        }
    })?;
    let padding = teacher_json.get("padding").cloned().unwrap_or(Value::Null);
    drop(teacher_json);
    let inputs = teacher_inputs(&vocab, &padding, &tok_path)?;
    phases.push(("vocabulary", lap.elapsed()));
    Ok(Prepared {
        opts: opts.clone(),
        teacher,
        vocab,
        inputs,
        phases,
        t0,
    })
}

/// Compiles `token_remove_pattern` with Python `re.match` semantics (anchored at the
/// start, not at the end).
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, Error> {
    regex::Regex::new(&format!("^(?:{pattern})")).map_err(|source| Error::Pattern {
        pattern: pattern.to_string(),
        source,
    })
}

impl Prepared {
    /// The teacher's input sequences, one per token, in id order.
    pub fn teacher_inputs(&self) -> &[Vec<u32>] {
        &self.inputs
    }

    /// The new vocabulary's tokens, in id order.
    pub fn tokens(&self) -> &[String] {
        &self.vocab.tokens
    }

    /// The teacher's hidden size.
    pub fn teacher_dim(&self) -> usize {
        self.teacher.hidden_size()
    }

    /// The teacher forward pass: sorted by length, batched, padded (masked), pooled,
    /// rows returned in input order.
    pub fn run_teacher(&self, progress: &dyn Progress) -> Result<TeacherOutput, Error> {
        let batch_size = self.opts.batch_size.unwrap_or(match self.opts.device {
            Device::Cpu => BATCH_SIZE,
            Device::Gpu => GPU_BATCH_SIZE,
        });
        progress.start(self.inputs.len());
        let data = self
            .teacher
            .encode_ids(
                &self.inputs,
                self.opts.pooling,
                batch_size,
                &mut |done, _| progress.update(done),
            )
            .map_err(Error::Forward)?;
        progress.finish();
        Ok(TeacherOutput {
            data,
            rows: self.inputs.len(),
            dim: self.teacher.hidden_size(),
        })
    }

    /// PCA, SIF weights, quantization: the model, in memory.
    pub fn finish(mut self, output: TeacherOutput) -> Result<Distilled, Error> {
        let lap = Instant::now();
        let n = self.inputs.len();
        let dim = self.teacher.hidden_size();
        if output.rows != n || output.dim != dim || output.data.len() != n * dim {
            return Err(Error::TeacherOutput {
                rows: n,
                dim,
                len: output.data.len(),
            });
        }
        let mut emb = output.data;
        drop(std::mem::take(&mut self.inputs));
        m2v_reduce::nan_to_num(&mut emb);
        let opts = &self.opts;
        let (tensor, weights, mapping, pca) = match opts.vocabulary_quantization {
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
                (
                    q,
                    Some(TensorData::from_f64(&vq.weights)),
                    Some(TensorData::from_i32(&vq.mapping)),
                    p,
                )
            }
            None => {
                let weights = match opts.sif_coefficient {
                    Some(s) => m2v_reduce::sif_weights(n, s)?,
                    None => vec![1.0; n],
                };
                let p = m2v_reduce::pca(&emb, n, dim, opts.pca_dims)?;
                let q = m2v_reduce::quantize_weighted(
                    &p.data,
                    p.rows,
                    p.cols,
                    &weights,
                    opts.quantize_to,
                )?;
                (q, None, None, p)
            }
        };
        let mut pca = pca;
        pca.data = Vec::new();
        drop(emb);
        self.phases.push(("pca + sif + quantize", lap.elapsed()));

        let [rows, out_dim] = tensor.shape;
        let config = DistilledConfig {
            tokenizer_name: opts.model_name.clone(),
            apply_pca: apply_pca_json(opts.pca_dims),
            sif_coefficient: opts.sif_coefficient,
            hidden_dim: out_dim,
            pooling: opts.pooling.name().to_string(),
            max_length: Some(m2v_tokenize::DEFAULT_MAX_LENGTH),
        };
        let pca_text = match opts.pca_dims {
            PcaDims::None => "none".to_string(),
            p => format!("{p} ({out_dim} of {dim} dimensions kept)"),
        };
        let card = ModelCard::new(
            opts.base_model.clone(),
            String::new(),
            n,
            out_dim,
            tensor.dtype.numpy_name(),
        )
        .with_distillation(Distillation {
            pca: pca_text,
            sif: opts.sif_coefficient,
            pooling: opts.pooling.name().to_string(),
        });
        let summary = Summary {
            vocab_size: n,
            rows,
            dim: out_dim,
            teacher_dim: dim,
            explained_variance: pca
                .applied
                .then(|| pca.explained_variance_ratio.iter().sum()),
            pca_note: pca.note.clone(),
            stats: self.vocab.stats.clone(),
            phases: self.phases,
            total: self.t0.elapsed(),
            dtype: tensor.dtype,
        };
        Ok(Distilled {
            embeddings: TensorData {
                dtype: tensor.dtype,
                shape: vec![rows, out_dim],
                bytes: tensor.bytes,
            },
            weights,
            mapping,
            tokenizer_json: json::to_string(&self.vocab.tokenizer).into_bytes(),
            config: config.to_value(),
            card,
            summary,
            pca: (opts.vocabulary_quantization.is_none()).then_some(pca),
        })
    }
}

/// The value written as `apply_pca`.
fn apply_pca_json(p: PcaDims) -> Value {
    match p {
        PcaDims::Int(k) => Value::int(k as i64),
        PcaDims::Float(x) => Value::float(x),
        PcaDims::Auto => Value::string("auto"),
        PcaDims::None => Value::Null,
    }
}

/// Runs a whole distillation: [`prepare`], [`Prepared::run_teacher`] (reporting to
/// `progress`), [`Prepared::finish`]. Save the result with
/// [`Distilled::save_pretrained`].
pub fn distill(opts: &DistillOptions, progress: &dyn Progress) -> Result<Distilled, Error> {
    let prepared = prepare(opts)?;
    let lap = Instant::now();
    let output = prepared.run_teacher(progress)?;
    let forward = lap.elapsed();
    let mut d = prepared.finish(output)?;
    // `finish` does not know whether (or how long) the teacher ran: the phase goes in
    // after `prepare`'s two.
    let at = d.summary.phases.len().min(2);
    d.summary.phases.insert(at, ("teacher forward", forward));
    Ok(d)
}

/// A distilled model, in memory.
#[derive(Debug, Clone)]
pub struct Distilled {
    pub(crate) embeddings: TensorData,
    pub(crate) weights: Option<TensorData>,
    mapping: Option<TensorData>,
    pub(crate) tokenizer_json: Vec<u8>,
    pub(crate) config: Value,
    pub(crate) card: ModelCard,
    pub(crate) summary: Summary,
    /// The PCA that made the rows (mean and components kept, scores dropped), for
    /// projecting pre-training targets into the rows' basis.
    pub(crate) pca: Option<m2v_reduce::PcaResult>,
}

impl Distilled {
    /// What happened.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The files' contents, the card named after `output`'s folder name.
    fn parts(&self, output: &Path) -> ModelParts<'_> {
        let mut card = self.card.clone();
        card.model_name = output
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        ModelParts {
            embeddings: self.embeddings.clone(),
            weights: self.weights.clone(),
            mapping: self.mapping.clone(),
            tokenizer_json: std::borrow::Cow::Borrowed(&self.tokenizer_json),
            config: self.config.clone(),
            card,
        }
    }

    /// Writes the model into `folder` (made before the long work, so a bad output path
    /// fails at once) and moves it into place; returns the output path.
    pub fn save(&self, folder: OutputFolder) -> Result<PathBuf, Error> {
        save::write_model(&folder, &self.parts(folder.output()))?;
        Ok(folder.commit()?)
    }

    /// Saves the model as a model2vec folder (atomically; a non-empty folder is refused).
    pub fn save_pretrained(&self, output: impl AsRef<Path>) -> Result<PathBuf, Error> {
        self.save_pretrained_with(output, &SaveOptions::default())
    }

    /// [`Distilled::save_pretrained`] with options.
    pub fn save_pretrained_with(
        &self,
        output: impl AsRef<Path>,
        opts: &SaveOptions,
    ) -> Result<PathBuf, Error> {
        self.save(OutputFolder::new(output.as_ref(), opts.force)?)
    }

    /// The model, ready to encode, without going through files.
    pub fn to_static_model(&self, opts: &LoadOptions) -> Result<StaticModel, Error> {
        let parts = self.parts(Path::new("model"));
        let st = save::safetensors_bytes(&parts)?;
        let config = save::config_for_save(
            parts.config.clone(),
            parts.embeddings.dtype,
            parts.mapping.as_ref().map(|_| parts.embeddings.shape[0]),
        );
        Ok(StaticModel::from_bytes(
            &self.tokenizer_json,
            st,
            json::to_python_string(&config).as_bytes(),
            opts,
        )?)
    }
}
