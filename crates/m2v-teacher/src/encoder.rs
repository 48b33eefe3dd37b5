//! What every architecture provides, and the padded batch it runs on.
//!
//! An architecture is a module with a loader (checkpoint key table at its top) and an
//! [`Encoder`] implementation; [`load_encoder`] picks it from `model_type`. A family
//! that is BERT under other names (RoBERTa, XLM-RoBERTa, DistilBERT) is a
//! `bert::Flavor`; a new computation (ModernBERT, Gemma 3) is a new module and one
//! match arm here, listed in [`ARCHITECTURES`].

use std::path::Path;

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::config::ModelConfig;
use crate::error::Error;
use crate::weights::Weights;
use crate::{bert, decoder, modernbert, mpnet};

/// A right-padded batch of id sequences on the host.
///
/// Invariants: `ids.len() == batch * len`; `1 <= lengths[b] <= len`; positions
/// `lengths[b]..len` of row `b` hold the pad id.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) ids: Vec<u32>,
    pub(crate) lengths: Vec<usize>,
    pub(crate) batch: usize,
    pub(crate) len: usize,
}

impl Batch {
    /// Pads `seqs` (all non-empty) to the longest with `pad`.
    pub(crate) fn new<S: AsRef<[u32]>>(seqs: &[S], pad: u32) -> Self {
        let len = seqs.iter().map(|s| s.as_ref().len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(seqs.len() * len);
        let mut lengths = Vec::with_capacity(seqs.len());
        for s in seqs {
            let s = s.as_ref();
            ids.extend_from_slice(s);
            ids.extend(std::iter::repeat_n(pad, len - s.len()));
            lengths.push(s.len());
        }
        Self {
            ids,
            lengths,
            batch: seqs.len(),
            len,
        }
    }

    /// The ids as an `Int` tensor `[batch, len]`.
    pub(crate) fn ids_tensor(&self, device: &Device) -> Tensor<2, Int> {
        let v: Vec<i64> = self.ids.iter().map(|&i| i64::from(i)).collect();
        Tensor::from_data(TensorData::new(v, [self.batch, self.len]), device)
    }

    /// `[batch, 1, len, len]`, `true` where the key position is padding, for Burn's
    /// attention on a GPU; `None` when no row is padded (the distillation workload),
    /// which lets attention skip masking, and on the CPU, whose attention kernel
    /// (`host::attention`) reads [`Batch::lengths`] instead.
    pub(crate) fn key_padding_mask(&self, device: &Device) -> Option<Tensor<4, Bool>> {
        if *device == Device::flex() || self.lengths.iter().all(|&l| l == self.len) {
            return None;
        }
        let l = self.len;
        let mut m = Vec::with_capacity(self.batch * l * l);
        for &n in &self.lengths {
            for _q in 0..l {
                m.extend((0..l).map(|k| k >= n));
            }
        }
        Some(Tensor::from_data(
            TensorData::new(m, [self.batch, 1, l, l]),
            device,
        ))
    }
}

/// RoBERTa/MPNet position ids: `pad + 1 + (index among non-pad tokens)` for real
/// tokens, `pad` for padding, computed from the ids exactly as `transformers`'
/// `create_position_ids_from_input_ids` does. `[batch, len]`.
pub(crate) fn padded_positions(batch: &Batch, pad: u32, device: &Device) -> Tensor<2, Int> {
    let mut pos = Vec::with_capacity(batch.ids.len());
    for row in batch.ids.chunks_exact(batch.len.max(1)) {
        let mut seen = 0i64;
        for &id in row {
            if id == pad {
                pos.push(i64::from(pad));
            } else {
                seen += 1;
                pos.push(i64::from(pad) + seen);
            }
        }
    }
    Tensor::from_data(TensorData::new(pos, [batch.batch, batch.len]), device)
}

/// A transformer encoder of one architecture.
pub(crate) trait Encoder: std::fmt::Debug + Send + Sync {
    /// `last_hidden_state` `[batch, len, hidden]` of a padded batch.
    fn forward(&self, batch: &Batch, device: &Device) -> Tensor<3>;
    /// The pooler (`tanh(dense(x))` of the first token's row): `[batch, hidden]` to
    /// `[batch, hidden]`; `None` when the checkpoint has no pooler.
    fn pooler(&self, first: Tensor<2>) -> Option<Tensor<2>>;
    /// The longest sequence the position embeddings allow.
    fn max_len(&self) -> usize;
    /// Rows of the word embedding table (ids must be below it).
    fn vocab_size(&self) -> usize;
    /// The padding id used to fill batches.
    fn pad_id(&self) -> u32;
}

/// Loads the encoder `config.model_type` names from `weights`.
pub(crate) fn load_encoder(
    cfg: &ModelConfig,
    config_path: &Path,
    weights: &mut Weights,
    device: &Device,
) -> Result<Box<dyn Encoder>, Error> {
    Ok(match cfg.model_type.as_str() {
        "bert" => Box::new(bert::BertModel::load(
            bert::Flavor::Bert,
            cfg,
            config_path,
            weights,
            device,
        )?),
        "roberta" | "xlm-roberta" => Box::new(bert::BertModel::load(
            bert::Flavor::Roberta,
            cfg,
            config_path,
            weights,
            device,
        )?),
        "distilbert" => Box::new(bert::BertModel::load(
            bert::Flavor::DistilBert,
            cfg,
            config_path,
            weights,
            device,
        )?),
        "mpnet" => Box::new(mpnet::MpNetModel::load(cfg, config_path, weights, device)?),
        "gemma3_text" => Box::new(decoder::DecoderModel::load(
            decoder::Family::Gemma3,
            cfg,
            config_path,
            weights,
            device,
        )?),
        "qwen3" => Box::new(decoder::DecoderModel::load(
            decoder::Family::Qwen3,
            cfg,
            config_path,
            weights,
            device,
        )?),
        "modernbert" => Box::new(modernbert::ModernBertModel::load(
            cfg,
            config_path,
            weights,
            device,
        )?),
        other => {
            return Err(Error::UnsupportedArchitecture {
                path: config_path.to_path_buf(),
                model_type: other.to_string(),
                supported: ARCHITECTURES,
            });
        }
    })
}

/// The `model_type`s that load (one module each); [`load_encoder`] has one arm per entry.
pub(crate) const ARCHITECTURES: &[&str] = &[
    "bert",
    "distilbert",
    "gemma3_text",
    "modernbert",
    "mpnet",
    "qwen3",
    "roberta",
    "xlm-roberta",
];

/// The checkpoint prefixes of every supported architecture (`model.`: ModernBERT's
/// masked-LM checkpoints).
pub(crate) const PREFIXES: &[&str] = &["bert.", "mpnet.", "roberta.", "distilbert.", "model."];
