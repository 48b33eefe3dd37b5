//! [`Teacher`]: a loaded sentence-transformers folder and the entry points other crates
//! call, all in plain data.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use burn::tensor::{Device, Tensor};

use crate::config::{ModelConfig, SentenceConfig};
use crate::dense::DenseLayer;
use crate::encoder::{Batch, Encoder, PREFIXES, load_encoder};
use crate::error::Error;
use crate::pooling::{Pooling, normalize, pool_rows};
use crate::text::TextEncoder;
use crate::weights::Weights;

/// Where the transformer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// Burn's pure-Rust `flex` backend on all cores (SIMD + rayon).
    #[default]
    Cpu,
    /// The default wgpu adapter (Vulkan, Metal, DX12); needs the `wgpu` feature.
    Gpu,
}

impl FromStr for DeviceChoice {
    type Err = String;

    /// `cpu` or `gpu`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(DeviceChoice::Cpu),
            "gpu" => Ok(DeviceChoice::Gpu),
            other => Err(format!("unknown device `{other}` (expected cpu or gpu)")),
        }
    }
}

impl DeviceChoice {
    /// The Burn device, or why it is unavailable.
    fn device(self) -> Result<Device, Error> {
        match self {
            DeviceChoice::Cpu => Ok(Device::flex()),
            DeviceChoice::Gpu => gpu_device(),
        }
    }
}

#[cfg(feature = "wgpu")]
fn gpu_device() -> Result<Device, Error> {
    use std::sync::OnceLock;
    // The wgpu runtime can be initialised once per process; later teachers share it.
    static GPU: OnceLock<Result<Device, String>> = OnceLock::new();
    GPU.get_or_init(|| {
        std::panic::catch_unwind(|| Device::wgpu_options().init())
            .map_err(|_| "the wgpu runtime panicked while starting".to_string())?
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(Error::GpuUnavailable)
}

#[cfg(not(feature = "wgpu"))]
fn gpu_device() -> Result<Device, Error> {
    Err(Error::GpuUnavailable(
        "m2v-teacher was built without the `wgpu` feature".to_string(),
    ))
}

/// `last_hidden_state` of a right-padded batch, on the host.
///
/// Invariants: `data.len() == batch * max_len * hidden`; row `t` of sequence `b` is
/// `data[(b * max_len + t) * hidden..][..hidden]`; rows `lengths[b]..max_len` of
/// sequence `b` are padding positions (computed, but meaningless).
#[derive(Debug, Clone, PartialEq)]
pub struct Hidden {
    /// The values, `[batch, max_len, hidden]` row-major.
    pub data: Vec<f32>,
    /// Number of sequences.
    pub batch: usize,
    /// Padded length (the longest sequence).
    pub max_len: usize,
    /// Width of a row.
    pub hidden: usize,
    /// Real length of each sequence.
    pub lengths: Vec<usize>,
}

impl Hidden {
    /// The real rows of sequence `b`: `lengths[b] * hidden` values.
    pub fn sequence(&self, b: usize) -> &[f32] {
        let start = b * self.max_len * self.hidden;
        &self.data[start..start + self.lengths[b] * self.hidden]
    }

    /// Row `t` of sequence `b`.
    pub fn row(&self, b: usize, t: usize) -> &[f32] {
        let start = (b * self.max_len + t) * self.hidden;
        &self.data[start..start + self.hidden]
    }
}

/// A sentence-transformers teacher: the transformer plus its pooling pipeline.
///
/// Invariant: every tensor of the checkpoint was used (known buffers and task heads
/// aside); loading fails otherwise.
#[derive(Debug)]
pub struct Teacher {
    encoder: Box<dyn Encoder>,
    device: Device,
    device_choice: DeviceChoice,
    config: ModelConfig,
    sentence: SentenceConfig,
    /// `tokenizer.json`, loaded on first use: distillation feeds ids and never needs it.
    text: std::sync::OnceLock<Result<TextEncoder, (PathBuf, String)>>,
    tokenizer_path: PathBuf,
    /// The `Dense` modules, loaded on the first sentence encoding (distillation never
    /// uses them, as Python's `distill` does not).
    dense: std::sync::OnceLock<Result<Vec<DenseLayer>, String>>,
}

impl Teacher {
    /// Loads a sentence-transformers folder (as on the hub or in the HF cache):
    /// `config.json`, the weights (`model.safetensors`, sharded safetensors with their
    /// index, or `pytorch_model.bin`, read without executing its pickle), and when
    /// present `modules.json`,
    /// `1_Pooling/config.json` and `sentence_bert_config.json`. `tokenizer.json` is read
    /// on the first [`Teacher::tokenize`] (or [`Teacher::encode_sentences`]) only.
    pub fn load(dir: impl AsRef<Path>, device: DeviceChoice) -> Result<Self, Error> {
        crate::alloc::tune_once();
        let dir = dir.as_ref();
        let config_path = dir.join("config.json");
        let config = ModelConfig::from_file(&config_path)?;
        let sentence = SentenceConfig::from_dir(dir)?;
        let dev = device.device()?;
        let mut weights = Weights::open_dir(dir, PREFIXES)?;
        let encoder = load_encoder(&config, &config_path, &mut weights, &dev)?;
        weights.finish()?;
        Ok(Self {
            encoder,
            device: dev,
            device_choice: device,
            config,
            sentence,
            text: std::sync::OnceLock::new(),
            tokenizer_path: dir.join("tokenizer.json"),
            dense: std::sync::OnceLock::new(),
        })
    }

    /// Width of the hidden states (and of pooled rows).
    pub fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    /// The parsed `config.json`.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The sentence-transformers pipeline (pooling, normalization, max length).
    pub fn sentence_config(&self) -> &SentenceConfig {
        &self.sentence
    }

    /// The id batches are padded with.
    pub fn pad_id(&self) -> u32 {
        self.encoder.pad_id()
    }

    /// The longest sequence the model accepts (position embeddings).
    pub fn max_len(&self) -> usize {
        self.encoder.max_len()
    }

    /// Where the model runs.
    pub fn device(&self) -> DeviceChoice {
        self.device_choice
    }

    fn check_inputs<S: AsRef<[u32]>>(&self, seqs: &[S]) -> Result<(), Error> {
        let vocab = self.encoder.vocab_size();
        let max = self.encoder.max_len();
        for (index, s) in seqs.iter().enumerate() {
            let s = s.as_ref();
            let bad = |message: String| Err(Error::BadInput { index, message });
            if s.is_empty() {
                return bad("empty sequence".to_string());
            }
            if s.len() > max {
                return bad(format!(
                    "{} ids exceed the model's maximum of {max}",
                    s.len()
                ));
            }
            if let Some(id) = s.iter().find(|&&id| id as usize >= vocab) {
                return bad(format!("id {id} is outside the vocabulary of {vocab}"));
            }
        }
        Ok(())
    }

    fn run(&self, batch: &Batch) -> Tensor<3> {
        self.encoder.forward(batch, &self.device)
    }

    /// `last_hidden_state` of `seqs` as one right-padded batch (pad id, attention mask
    /// from the lengths, token type ids zero). Each sequence must be non-empty, within
    /// [`Teacher::max_len`] and inside the vocabulary.
    pub fn hidden_states<S: AsRef<[u32]>>(&self, seqs: &[S]) -> Result<Hidden, Error> {
        self.check_inputs(seqs)?;
        let batch = Batch::new(seqs, self.pad_id());
        if batch.batch == 0 {
            return Ok(Hidden {
                data: Vec::new(),
                batch: 0,
                max_len: 0,
                hidden: self.hidden_size(),
                lengths: Vec::new(),
            });
        }
        let data = read(self.run(&batch))?;
        Ok(Hidden {
            data,
            batch: batch.batch,
            max_len: batch.len,
            hidden: self.hidden_size(),
            lengths: batch.lengths,
        })
    }

    /// Pools one padded batch into `out` (`batch * hidden` values, in batch order).
    fn pool_batch(&self, batch: &Batch, pooling: Pooling, out: &mut [f32]) -> Result<(), Error> {
        let h = self.hidden_size();
        let x = self.run(batch);
        if pooling == Pooling::Pooler {
            let first = x.narrow(1, 0, 1).reshape([batch.batch, h]);
            let pooled = self
                .encoder
                .pooler(first)
                .ok_or_else(|| Error::Unsupported {
                    path: PathBuf::from("model.safetensors"),
                    field: "pooler".to_string(),
                    value: "absent (no pooler.dense tensors)".to_string(),
                })?;
            out.copy_from_slice(&read(pooled)?);
            return Ok(());
        }
        let data = read(x)?;
        let stride = batch.len * h;
        for (b, o) in out.chunks_exact_mut(h).enumerate() {
            let rows = &data[b * stride..b * stride + batch.lengths[b] * h];
            pool_rows(rows, h, pooling, o);
        }
        Ok(())
    }

    /// One pooled row per sequence (`seqs.len() * hidden` values, in input order).
    ///
    /// Sequences are sorted by length (longest first), cut into batches of
    /// `batch_size`, padded, run, pooled and put back in input order, so the result
    /// does not depend on `batch_size` or on the number of threads. On the CPU, one
    /// batch per rayon thread runs at a time. `progress(done, total)` is called once per
    /// batch, in order, with the number of sequences done (on the CPU, as each group of
    /// parallel batches completes). No normalization is applied.
    pub fn encode_ids<S: AsRef<[u32]> + Sync>(
        &self,
        seqs: &[S],
        pooling: Pooling,
        batch_size: usize,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Vec<f32>, Error> {
        self.check_inputs(seqs)?;
        let h = self.hidden_size();
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(seqs[i].as_ref().len()));
        let chunks: Vec<&[usize]> = order.chunks(batch_size.max(1)).collect();
        // On the CPU, batches run side by side on the rayon pool (each op of a single
        // batch is too small to keep many cores busy: one batch at a time used 1.25 of
        // 2 cores and the same throughput on 16). The GPU takes them one at a time.
        let parallel = match self.device_choice {
            DeviceChoice::Cpu => rayon::current_num_threads().max(1),
            DeviceChoice::Gpu => 1,
        };
        let run = |chunk: &[usize]| -> Result<Vec<f32>, Error> {
            let group: Vec<&[u32]> = chunk.iter().map(|&i| seqs[i].as_ref()).collect();
            let batch = Batch::new(&group, self.pad_id());
            let mut pooled = vec![0.0f32; chunk.len() * h];
            self.pool_batch(&batch, pooling, &mut pooled)?;
            Ok(pooled)
        };
        let mut out = vec![0.0f32; seqs.len() * h];
        let mut done = 0;
        for wave in chunks.chunks(parallel) {
            let results: Vec<Result<Vec<f32>, Error>> = if wave.len() == 1 {
                vec![run(wave[0])]
            } else {
                use rayon::prelude::*;
                wave.par_iter().map(|c| run(c)).collect()
            };
            for (chunk, pooled) in wave.iter().zip(results) {
                for (&i, row) in chunk.iter().zip(pooled?.chunks_exact(h)) {
                    out[i * h..(i + 1) * h].copy_from_slice(row);
                }
                done += chunk.len();
                progress(done, seqs.len());
            }
        }
        Ok(out)
    }

    /// Token ids of `text` as sentence-transformers feeds them: lowercased when
    /// `do_lower_case`, specials added, truncated to `max_seq_length` (specials kept).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, Error> {
        let enc = self
            .text
            .get_or_init(|| {
                TextEncoder::load(&self.tokenizer_path)
                    .map_err(|e| (self.tokenizer_path.clone(), e.to_string()))
            })
            .as_ref()
            .map_err(|(path, message)| Error::NoTokenizer {
                path: path.clone(),
                message: message.clone(),
            })?;
        let max = self
            .sentence
            .max_seq_length
            .unwrap_or(usize::MAX)
            .min(self.encoder.max_len());
        let text = if self.sentence.lowercase {
            std::borrow::Cow::Owned(text.to_lowercase())
        } else {
            std::borrow::Cow::Borrowed(text)
        };
        Ok(enc.encode(&text, max))
    }

    /// Width of sentence embeddings: the last `Dense` module's output, else the hidden
    /// size. Loads the `Dense` modules (once) to know it.
    pub fn sentence_dim(&self) -> Result<usize, Error> {
        let dense = self.dense_layers()?;
        crate::dense::output_width(dense, self.hidden_size(), &self.modules_path())
    }

    fn modules_path(&self) -> PathBuf {
        self.tokenizer_path.with_file_name("modules.json")
    }

    /// The `Dense` modules, loaded on first use.
    fn dense_layers(&self) -> Result<&[DenseLayer], Error> {
        self.dense
            .get_or_init(|| {
                self.sentence
                    .dense
                    .iter()
                    .map(|m| DenseLayer::load(m, &self.device))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.to_string())
            })
            .as_deref()
            .map_err(|message| Error::Module {
                path: self.modules_path(),
                message: message.clone(),
            })
    }

    /// Sentence embeddings through the folder's sentence-transformers pipeline
    /// (the default prompt when `config_sentence_transformers.json` names one, tokenize
    /// with specials, truncate to `max_seq_length`, the `1_Pooling` mode, the `Dense`
    /// modules, `Normalize` when `modules.json` has it):
    /// `texts.len() * sentence_dim()` values.
    pub fn encode_sentences<T: AsRef<str>>(
        &self,
        texts: &[T],
        batch_size: usize,
    ) -> Result<Vec<f32>, Error> {
        self.encode_sentences_with_prompt(texts, None, batch_size)
    }

    /// [`Teacher::encode_sentences`] with the prompt named `prompt_name` (one of the
    /// `prompts` of `config_sentence_transformers.json`, e.g. EmbeddingGemma's `query`)
    /// prepended to every text, as sentence-transformers' `encode(prompt_name=...)`
    /// does; `None` uses the default prompt, if any.
    pub fn encode_sentences_with_prompt<T: AsRef<str>>(
        &self,
        texts: &[T],
        prompt_name: Option<&str>,
        batch_size: usize,
    ) -> Result<Vec<f32>, Error> {
        let name = prompt_name.or(self.sentence.default_prompt_name.as_deref());
        let prompt = match name {
            None => "",
            Some(n) => self
                .sentence
                .prompts
                .get(n)
                .ok_or_else(|| Error::InvalidField {
                    path: self
                        .tokenizer_path
                        .with_file_name("config_sentence_transformers.json"),
                    field: "prompts".to_string(),
                    message: format!(
                        "no prompt named `{n}` (it has: {})",
                        self.sentence
                            .prompts
                            .keys()
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?,
        };
        let ids = texts
            .iter()
            .map(|t| {
                if prompt.is_empty() {
                    self.tokenize(t.as_ref())
                } else {
                    self.tokenize(&format!("{prompt}{}", t.as_ref()))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.encode_tokenized(&ids, batch_size)
    }

    /// The sentence-transformers pipeline after tokenization: the `1_Pooling` mode
    /// over each sequence, the `Dense` modules, then `Normalize` when `modules.json`
    /// has it.
    pub fn encode_tokenized<S: AsRef<[u32]> + Sync>(
        &self,
        ids: &[S],
        batch_size: usize,
    ) -> Result<Vec<f32>, Error> {
        let dense = self.dense_layers()?;
        crate::dense::output_width(dense, self.hidden_size(), &self.modules_path())?;
        let pooled = self.encode_ids(ids, self.sentence.pooling, batch_size, &mut |_, _| {})?;
        let (mut out, width) =
            crate::dense::apply(dense, pooled, self.hidden_size(), &self.device)?;
        if self.sentence.normalize {
            for row in out.chunks_exact_mut(width) {
                normalize(row);
            }
        }
        Ok(out)
    }
}

/// Reads a float tensor back to the host.
fn read<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, Error> {
    t.try_into_vec_as::<f32>()
        .map_err(|e| Error::Backend(e.to_string()))
}
