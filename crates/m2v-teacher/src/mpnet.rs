//! MPNet (`model_type: "mpnet"`, e.g. all-mpnet-base-v2): BERT-shaped layers without
//! token types, position ids offset by the pad id (as RoBERTa), and a relative-position
//! bias shared by all layers and added to the attention scores.
//!
//! Checkpoint keys (after stripping `mpnet.`), `L` = layer index:
//!
//! | key | field | shape |
//! |---|---|---|
//! | `embeddings.word_embeddings.weight` | `MpNetModel::word` | `[vocab, h]` |
//! | `embeddings.position_embeddings.weight` | `MpNetModel::position` | `[max_pos, h]` |
//! | `embeddings.LayerNorm.{weight,bias}` | `MpNetModel::embeddings_norm` | `[h]` |
//! | `encoder.relative_attention_bias.weight` | `MpNetModel::relative_bias` | `[buckets, heads]` |
//! | `encoder.layer.L.attention.attn.{q,k,v}.{weight,bias}` | `PostNormLayer::qkv` (fused) | `[h, h]`, `[h]` |
//! | `encoder.layer.L.attention.attn.o.{weight,bias}` | `PostNormLayer::attention_output` | `[h, h]` |
//! | `encoder.layer.L.attention.LayerNorm.{weight,bias}` | `PostNormLayer::attention_norm` | `[h]` |
//! | `encoder.layer.L.intermediate.dense.{weight,bias}` | `PostNormLayer::intermediate` | `[i, h]` |
//! | `encoder.layer.L.output.dense.{weight,bias}` | `PostNormLayer::output` | `[h, i]` |
//! | `encoder.layer.L.output.LayerNorm.{weight,bias}` | `PostNormLayer::output_norm` | `[h]` |
//! | `pooler.dense.{weight,bias}` (optional) | `MpNetModel::pooler` | `[h, h]` |

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData, activation};

use crate::config::{Activation, ModelConfig};
use crate::encoder::{Batch, Encoder, padded_positions};
use crate::error::Error;
use crate::nn::{Embedding, LayerKeys, LayerNorm, Linear, PostNormLayer};
use crate::weights::Weights;

/// `transformers`' `MPNetEncoder.relative_position_bucket` (bidirectional, T5-style)
/// for `relative = key_pos - query_pos`, computed in `f32` like PyTorch.
pub(crate) fn relative_position_bucket(
    relative: i64,
    num_buckets: usize,
    max_distance: usize,
) -> usize {
    let half = (num_buckets / 2) as i64;
    let n = -relative;
    let mut ret = if n < 0 { half } else { 0 };
    let n = n.abs();
    let max_exact = half / 2;
    if n < max_exact {
        ret += n;
    } else {
        let scale = ((max_distance as f64) / (max_exact as f64)).ln() as f32;
        let v = ((n as f32) / (max_exact as f32)).ln() / scale * ((half - max_exact) as f32);
        let large = max_exact + v as i64;
        ret += large.min(half - 1);
    }
    ret as usize
}

/// Distance beyond which relative positions share a bucket (fixed in `transformers`).
const MAX_DISTANCE: usize = 128;

/// MPNet's checkpoint names of one layer's tensors.
const MPNET_KEYS: LayerKeys = LayerKeys {
    prefix: "encoder.layer",
    qkv: ["attention.attn.q", "attention.attn.k", "attention.attn.v"],
    attention_output: "attention.attn.o",
    attention_norm: "attention.LayerNorm",
    intermediate: "intermediate.dense",
    output: "output.dense",
    output_norm: "output.LayerNorm",
};

/// An MPNet encoder with its optional pooler.
#[derive(Debug)]
pub(crate) struct MpNetModel {
    word: Embedding,
    position: Embedding,
    embeddings_norm: LayerNorm,
    /// `[buckets, heads]` on the host: the bias for a length is built there.
    relative_bias: Vec<f32>,
    buckets: usize,
    layers: Vec<PostNormLayer>,
    pooler: Option<Linear>,
    heads: usize,
    act: Activation,
    pad: u32,
    vocab_size: usize,
}

impl MpNetModel {
    /// Loads every tensor of the key table above.
    pub(crate) fn load(
        cfg: &ModelConfig,
        config_path: &Path,
        w: &mut Weights,
        device: &Device,
    ) -> Result<Self, Error> {
        let h = cfg.hidden_size;
        let pad = cfg.pad_token_id.unwrap_or(1);
        if (pad as usize) + 2 > cfg.max_position_embeddings {
            return Err(Error::InvalidField {
                path: config_path.to_path_buf(),
                field: "max_position_embeddings".to_string(),
                message: format!(
                    "{} leaves no position after pad id {pad}",
                    cfg.max_position_embeddings
                ),
            });
        }
        let buckets = cfg.relative_attention_num_buckets;
        if buckets < 4 {
            return Err(Error::InvalidField {
                path: config_path.to_path_buf(),
                field: "relative_attention_num_buckets".to_string(),
                message: format!("{buckets} is fewer than 4"),
            });
        }
        let word = Embedding::load(w, "embeddings.word_embeddings", cfg.vocab_size, h, device)?;
        let position = Embedding::load(
            w,
            "embeddings.position_embeddings",
            cfg.max_position_embeddings,
            h,
            device,
        )?;
        let embeddings_norm =
            LayerNorm::load(w, "embeddings.LayerNorm", h, cfg.layer_norm_eps, device)?;
        let relative_bias = w
            .take(
                "encoder.relative_attention_bias.weight",
                &[buckets, cfg.num_attention_heads],
            )?
            .data;
        let layers = (0..cfg.num_hidden_layers)
            .map(|l| PostNormLayer::load(cfg, &MPNET_KEYS, w, l, device))
            .collect::<Result<Vec<_>, _>>()?;
        let pooler = if w.contains("pooler.dense.weight") {
            Some(Linear::load(w, "pooler.dense", h, h, device)?)
        } else {
            None
        };
        Ok(Self {
            word,
            position,
            embeddings_norm,
            relative_bias,
            buckets,
            layers,
            pooler,
            heads: cfg.num_attention_heads,
            act: cfg.activation(config_path)?,
            pad,
            vocab_size: cfg.vocab_size,
        })
    }

    /// The relative-position bias `[1, heads, len, len]` (the same for every row).
    fn position_bias(&self, len: usize, device: &Device) -> Tensor<4> {
        let heads = self.heads;
        let mut data = vec![0.0f32; heads * len * len];
        for q in 0..len {
            for k in 0..len {
                let b = relative_position_bucket(k as i64 - q as i64, self.buckets, MAX_DISTANCE);
                for h in 0..heads {
                    data[(h * len + q) * len + k] = self.relative_bias[b * heads + h];
                }
            }
        }
        Tensor::from_data(TensorData::new(data, [1, heads, len, len]), device)
    }
}

impl Encoder for MpNetModel {
    fn forward(&self, batch: &Batch, device: &Device) -> Tensor<3> {
        let mask = batch.key_padding_mask(device);
        let x = self.word.forward(batch.ids_tensor(device))
            + self
                .position
                .forward(padded_positions(batch, self.pad, device));
        let mut x = self.embeddings_norm.forward(x);
        let bias = self.position_bias(batch.len, device);
        for layer in &self.layers {
            x = layer.forward(
                x,
                self.heads,
                self.act,
                &batch.lengths,
                mask.clone(),
                Some(bias.clone()),
            );
        }
        x
    }

    fn pooler(&self, first: Tensor<2>) -> Option<Tensor<2>> {
        self.pooler
            .as_ref()
            .map(|p| activation::tanh(p.forward(first)))
    }

    fn max_len(&self) -> usize {
        self.position.rows - self.pad as usize - 1
    }

    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn pad_id(&self) -> u32 {
        self.pad
    }
}

#[cfg(test)]
mod tests {
    use super::relative_position_bucket;

    #[test]
    fn buckets_match_transformers() {
        // Where `MPNetEncoder.relative_position_bucket(torch.arange(-600, 601), 32, 128)`
        // changes value (transformers 5.3): (relative position, bucket from there on).
        let changes: &[(i64, usize)] = &[
            (-90, 14),
            (-63, 13),
            (-45, 12),
            (-31, 11),
            (-22, 10),
            (-15, 9),
            (-11, 8),
            (-7, 7),
            (-6, 6),
            (-5, 5),
            (-4, 4),
            (-3, 3),
            (-2, 2),
            (-1, 1),
            (0, 0),
            (1, 17),
            (2, 18),
            (3, 19),
            (4, 20),
            (5, 21),
            (6, 22),
            (7, 23),
            (8, 24),
            (12, 25),
            (16, 26),
            (23, 27),
            (32, 28),
            (46, 29),
            (64, 30),
            (91, 31),
        ];
        let mut expected = 15;
        let mut next = changes.iter().peekable();
        for rel in -600..=600 {
            if let Some(&&(r, b)) = next.peek()
                && r == rel
            {
                expected = b;
                next.next();
            }
            assert_eq!(
                relative_position_bucket(rel, 32, 128),
                expected,
                "relative {rel}"
            );
        }
    }
}
