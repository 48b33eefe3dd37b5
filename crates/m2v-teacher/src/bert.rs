//! BERT (`model_type: "bert"`): BERT, MiniLM, bge, LaBSE, e5 and other BERT-shaped
//! encoders with absolute position embeddings and token types.
//!
//! Checkpoint keys (after stripping `bert.`), `L` = layer index:
//!
//! | key | field | shape |
//! |---|---|---|
//! | `embeddings.word_embeddings.weight` | `BertEmbeddings::word` | `[vocab, h]` |
//! | `embeddings.position_embeddings.weight` | `BertEmbeddings::position` | `[max_pos, h]` |
//! | `embeddings.token_type_embeddings.weight` | `BertEmbeddings::token_type` (row 0) | `[types, h]` |
//! | `embeddings.LayerNorm.{weight,bias}` | `BertEmbeddings::layer_norm` | `[h]` |
//! | `encoder.layer.L.attention.self.{query,key,value}.{weight,bias}` | `PostNormLayer::qkv` (fused) | `[h, h]`, `[h]` |
//! | `encoder.layer.L.attention.output.dense.{weight,bias}` | `PostNormLayer::attention_output` | `[h, h]` |
//! | `encoder.layer.L.attention.output.LayerNorm.{weight,bias}` | `PostNormLayer::attention_norm` | `[h]` |
//! | `encoder.layer.L.intermediate.dense.{weight,bias}` | `PostNormLayer::intermediate` | `[i, h]` |
//! | `encoder.layer.L.output.dense.{weight,bias}` | `PostNormLayer::output` | `[h, i]` |
//! | `encoder.layer.L.output.LayerNorm.{weight,bias}` | `PostNormLayer::output_norm` | `[h]` |
//! | `pooler.dense.{weight,bias}` (optional) | `BertModel::pooler` | `[h, h]` |
//!
//! `embeddings.position_ids` is a buffer and is ignored. Token type ids are all zero
//! (single-segment inputs), so only row 0 of the token-type table is used.
//!
//! Two more families are BERT with other names, one [`Flavor`] each:
//!
//! - RoBERTa and XLM-RoBERTa (`roberta`, `xlm-roberta`; prefix `roberta.`): the same
//!   keys; position ids start at `pad + 1` and skip padding, as `transformers`'
//!   `create_position_ids_from_input_ids` makes them ([`padded_positions`]).
//! - DistilBERT (`distilbert`; prefix `distilbert.`): no token types, and
//!   `transformer.layer.L.attention.{q,k,v,out}_lin`, `.sa_layer_norm`,
//!   `.ffn.{lin1,lin2}`, `.output_layer_norm` for the layer keys above; no pooler.

use std::path::Path;

use burn::tensor::{Device, Tensor, activation};

use crate::config::{Activation, ModelConfig};
use crate::encoder::{Batch, Encoder, padded_positions};
use crate::error::Error;
use crate::nn::{Embedding, LayerKeys, LayerNorm, Linear, PostNormLayer};
use crate::weights::Weights;
use burn::tensor::module::embedding;

/// The BERT-shaped families: the same computation under other key names and
/// position ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// BERT and its many fine-tunes.
    Bert,
    /// RoBERTa and XLM-RoBERTa: positions offset past the padding id.
    Roberta,
    /// DistilBERT: its own key names, no token types.
    DistilBert,
}

const BERT_KEYS: LayerKeys = LayerKeys {
    prefix: "encoder.layer",
    qkv: [
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
    ],
    attention_output: "attention.output.dense",
    attention_norm: "attention.output.LayerNorm",
    intermediate: "intermediate.dense",
    output: "output.dense",
    output_norm: "output.LayerNorm",
};

const DISTILBERT_KEYS: LayerKeys = LayerKeys {
    prefix: "transformer.layer",
    qkv: ["attention.q_lin", "attention.k_lin", "attention.v_lin"],
    attention_output: "attention.out_lin",
    attention_norm: "sa_layer_norm",
    intermediate: "ffn.lin1",
    output: "ffn.lin2",
    output_norm: "output_layer_norm",
};

/// Word + position + token-type embeddings, then LayerNorm.
#[derive(Debug)]
struct BertEmbeddings {
    word: Embedding,
    position: Tensor<2>,
    /// `Some(pad)` for RoBERTa positions (`pad + 1 + index`), `None` for `0..len`.
    offset_past: Option<u32>,
    /// Row 0 of the token-type table, `[1, 1, h]`; `None` when the model has none.
    token_type: Option<Tensor<3>>,
    layer_norm: LayerNorm,
}

impl BertEmbeddings {
    /// `[batch, len]` ids to `[batch, len, h]`.
    fn forward(&self, batch: &Batch, device: &Device) -> Tensor<3> {
        let [_, h] = self.position.dims();
        let x = self.word.forward(batch.ids_tensor(device));
        let mut x = match self.offset_past {
            None => {
                let pos = self
                    .position
                    .clone()
                    .narrow(0, 0, batch.len)
                    .reshape([1, batch.len, h]);
                x + pos
            }
            Some(pad) => x + embedding(self.position.clone(), padded_positions(batch, pad, device)),
        };
        if let Some(tt) = &self.token_type {
            x = x + tt.clone();
        }
        self.layer_norm.forward(x)
    }
}

/// A BERT encoder with its optional pooler.
#[derive(Debug)]
pub(crate) struct BertModel {
    embeddings: BertEmbeddings,
    layers: Vec<PostNormLayer>,
    pooler: Option<Linear>,
    heads: usize,
    act: Activation,
    max_len: usize,
    vocab_size: usize,
    pad: u32,
}

impl BertModel {
    /// Loads every tensor of the key table above, under `flavor`'s names.
    pub(crate) fn load(
        flavor: Flavor,
        cfg: &ModelConfig,
        config_path: &Path,
        w: &mut Weights,
        device: &Device,
    ) -> Result<Self, Error> {
        if cfg.position_embedding_type != "absolute" {
            return Err(Error::Unsupported {
                path: config_path.to_path_buf(),
                field: "position_embedding_type".to_string(),
                value: cfg.position_embedding_type.clone(),
            });
        }
        let h = cfg.hidden_size;
        let word = Embedding::load(w, "embeddings.word_embeddings", cfg.vocab_size, h, device)?;
        let position = Embedding::load(
            w,
            "embeddings.position_embeddings",
            cfg.max_position_embeddings,
            h,
            device,
        )?
        .weight;
        let token_type = if cfg.type_vocab_size > 0 && flavor != Flavor::DistilBert {
            let t = Embedding::load(
                w,
                "embeddings.token_type_embeddings",
                cfg.type_vocab_size,
                h,
                device,
            )?;
            Some(t.weight.narrow(0, 0, 1).reshape([1, 1, h]))
        } else {
            None
        };
        let layer_norm = LayerNorm::load(w, "embeddings.LayerNorm", h, cfg.layer_norm_eps, device)?;
        let keys = match flavor {
            Flavor::DistilBert => &DISTILBERT_KEYS,
            Flavor::Bert | Flavor::Roberta => &BERT_KEYS,
        };
        let layers = (0..cfg.num_hidden_layers)
            .map(|l| PostNormLayer::load(cfg, keys, w, l, device))
            .collect::<Result<Vec<_>, _>>()?;
        let pooler = if w.contains("pooler.dense.weight") {
            Some(Linear::load(w, "pooler.dense", h, h, device)?)
        } else {
            None
        };
        let pad = cfg.pad_token_id.unwrap_or(match flavor {
            Flavor::Roberta => 1,
            Flavor::Bert | Flavor::DistilBert => 0,
        });
        // RoBERTa's largest position is `pad + len`, so it accepts `max_pos - pad - 1`
        // tokens (512 for XLM-R's 514 rows).
        let max_len = match flavor {
            Flavor::Roberta => cfg.max_position_embeddings.saturating_sub(pad as usize + 1),
            Flavor::Bert | Flavor::DistilBert => cfg.max_position_embeddings,
        };
        Ok(Self {
            embeddings: BertEmbeddings {
                word,
                position,
                offset_past: (flavor == Flavor::Roberta).then_some(pad),
                token_type,
                layer_norm,
            },
            layers,
            pooler,
            heads: cfg.num_attention_heads,
            act: cfg.activation(config_path)?,
            max_len,
            vocab_size: cfg.vocab_size,
            pad,
        })
    }
}

impl Encoder for BertModel {
    fn forward(&self, batch: &Batch, device: &Device) -> Tensor<3> {
        let mask = batch.key_padding_mask(device);
        let mut x = self.embeddings.forward(batch, device);
        for layer in &self.layers {
            x = layer.forward(x, self.heads, self.act, &batch.lengths, mask.clone(), None);
        }
        x
    }

    fn pooler(&self, first: Tensor<2>) -> Option<Tensor<2>> {
        self.pooler
            .as_ref()
            .map(|p| activation::tanh(p.forward(first)))
    }

    fn max_len(&self) -> usize {
        self.max_len
    }

    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn pad_id(&self) -> u32 {
        self.pad
    }
}
