//! ModernBERT (`model_type: "modernbert"`), as `transformers`' `ModernBertModel`:
//! token embeddings and a LayerNorm, then pre-norm layers with rotary position
//! embeddings, alternating global and sliding-window (local) attention, and a GeGLU
//! feed-forward, then a final LayerNorm.
//!
//! Checkpoint keys (after stripping `model.`, which a `ModernBertForMaskedLM` checkpoint
//! such as `answerdotai/ModernBERT-base` carries; `AutoModel` and sentence-transformers
//! folders have bare keys), `L` = layer index:
//!
//! | key | field | shape |
//! |---|---|---|
//! | `embeddings.tok_embeddings.weight` | `ModernBertModel::tok` | `[vocab, h]` |
//! | `embeddings.norm.{weight,bias}` | `ModernBertModel::emb_norm` | `[h]` |
//! | `layers.L.attn_norm.{weight,bias}` (not in layer 0, where it is the identity) | `Layer::attn_norm` | `[h]` |
//! | `layers.L.attn.Wqkv.{weight,bias}` | `Layer::wqkv` (query, key, value rows in that order) | `[3h, h]`, `[3h]` |
//! | `layers.L.attn.Wo.{weight,bias}` | `Layer::wo` | `[h, h]` |
//! | `layers.L.mlp_norm.{weight,bias}` | `Layer::mlp_norm` | `[h]` |
//! | `layers.L.mlp.Wi.{weight,bias}` | `Layer::wi` (input rows, then gate rows) | `[2i, h]`, `[2i]` |
//! | `layers.L.mlp.Wo.{weight,bias}` | `Layer::mlp_wo` | `[h, i]` |
//! | `final_norm.{weight,bias}` | `ModernBertModel::final_norm` | `[h]` |
//!
//! The biases exist only where `config.json` says so: `norm_bias` (the LayerNorms),
//! `attention_bias` (`Wqkv`, `attn.Wo`), `mlp_bias` (`Wi`, `mlp.Wo`); all three are false
//! in the released checkpoints. The masked-LM head (`head.dense`, `head.norm`,
//! `decoder`) of a pretraining checkpoint is read and dropped.
//!
//! Computation, per layer `x = x + Wo(attn(attn_norm(x)))`, `x = x + mlp(mlp_norm(x))`:
//!
//! - Layer `L` is global (`full_attention`) or local (`sliding_attention`) as
//!   `layer_types` says; older configs give `global_attn_every_n_layers` instead (layer
//!   `L` global when `L % n == 0`).
//! - Rotary embeddings over positions `0..len` (not skipping padding, as
//!   `ModernBertModel` does with right padding), `rotate_half` style, with base
//!   `rope_parameters.full_attention.rope_theta` / `.sliding_attention.rope_theta`
//!   (older configs: `global_rope_theta`, `local_rope_theta`; defaults 160000 and
//!   10000). Only the `default` rope type is supported.
//! - A local layer lets query `q` see key `k` when `|q - k| <= local_attention / 2`
//!   (`create_bidirectional_sliding_window_mask`); padding keys are masked everywhere.
//!   Rows of padding queries are not part of the output, so they are masked by padding
//!   only (never left without a key); real rows equal those of the unpadded path.
//! - MLP: `Wi(x)` split in halves `input, gate`, `Wo(act(input) * gate)` with
//!   `hidden_activation`.

use std::path::Path;

use burn::tensor::{Bool, Device, Tensor, TensorData};
use serde::Deserialize;

use crate::config::{Activation, ModelConfig, read_json};
use crate::encoder::{Batch, Encoder};
use crate::error::Error;
use crate::host;
use crate::nn::{Embedding, LayerNorm, Linear, Rotary, gated, rotary_attention};
use crate::weights::Weights;

/// The ModernBERT fields of `config.json` beyond [`ModelConfig`]'s, with
/// `ModernBertConfig`'s defaults.
#[derive(Debug, Deserialize)]
struct ModernBertFields {
    #[serde(default)]
    layer_types: Option<Vec<String>>,
    #[serde(default = "default_every_n")]
    global_attn_every_n_layers: usize,
    #[serde(default = "default_local_attention")]
    local_attention: usize,
    #[serde(default)]
    rope_parameters: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    rope_scaling: Option<serde_json::Value>,
    #[serde(default = "default_global_theta")]
    global_rope_theta: f64,
    #[serde(default = "default_local_theta")]
    local_rope_theta: f64,
    #[serde(default)]
    attention_bias: bool,
    #[serde(default)]
    mlp_bias: bool,
    #[serde(default)]
    norm_bias: bool,
    #[serde(default = "default_norm_eps")]
    norm_eps: f64,
    /// ModernBERT's name for `hidden_act`.
    #[serde(default = "default_activation")]
    hidden_activation: String,
}

fn default_every_n() -> usize {
    3
}
fn default_local_attention() -> usize {
    128
}
fn default_global_theta() -> f64 {
    160_000.0
}
fn default_local_theta() -> f64 {
    10_000.0
}
fn default_norm_eps() -> f64 {
    1e-5
}
fn default_activation() -> String {
    "gelu".to_string()
}

/// `ModernBertConfig`'s default padding id (`[PAD]` of its tokenizer).
const DEFAULT_PAD: u32 = 50283;

/// The attention span of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    /// Every key.
    Global,
    /// Keys within `local_attention / 2` positions.
    Local,
}

/// What one layer kind's attention needs for a batch: its rotary tables, its span (the
/// CPU kernel) and the same as a mask (the GPU path; `None` on the CPU or when nothing
/// is hidden).
struct LayerSpan {
    rotary: Rotary,
    span: host::Span,
    mask: Option<Tensor<4, Bool>>,
}

/// One encoder layer (pre-LayerNorm).
#[derive(Debug)]
struct Layer {
    /// `None` in layer 0 (an identity in `transformers`).
    attn_norm: Option<LayerNorm>,
    wqkv: Linear,
    wo: Linear,
    mlp_norm: LayerNorm,
    wi: Linear,
    mlp_wo: Linear,
    span: Span,
}

impl Layer {
    /// `[batch, len, h]` to `[batch, len, h]`.
    fn forward(
        &self,
        x: Tensor<3>,
        heads: usize,
        act: Activation,
        lengths: &[usize],
        span: &LayerSpan,
    ) -> Tensor<3> {
        let normed = match &self.attn_norm {
            Some(n) => n.forward(x.clone()),
            None => x.clone(),
        };
        let qkv = self.wqkv.forward(normed);
        let ctx = rotary_attention(
            qkv,
            heads,
            Some(&span.rotary),
            lengths,
            span.span,
            span.mask.clone(),
            None,
        );
        let x = x + self.wo.forward(ctx);
        let m = self.wi.forward(self.mlp_norm.forward(x.clone()));
        x + self.mlp_wo.forward(gated(m, act))
    }
}

/// A ModernBERT encoder.
#[derive(Debug)]
pub(crate) struct ModernBertModel {
    tok: Embedding,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    final_norm: LayerNorm,
    heads: usize,
    head_dim: usize,
    act: Activation,
    /// Rotary bases of global and local layers.
    global_theta: f64,
    local_theta: f64,
    /// A local layer's query sees keys at most this far (`local_attention / 2`).
    radius: usize,
    max_len: usize,
    vocab_size: usize,
    pad: u32,
}

impl ModernBertModel {
    /// Loads every tensor of the key table above; the ModernBERT fields of
    /// `config.json` are read from `config_path`.
    pub(crate) fn load(
        cfg: &ModelConfig,
        config_path: &Path,
        w: &mut Weights,
        device: &Device,
    ) -> Result<Self, Error> {
        let f: ModernBertFields = read_json(config_path)?;
        let bad = |field: &str, message: String| Error::InvalidField {
            path: config_path.to_path_buf(),
            field: field.to_string(),
            message,
        };
        let unsupported = |field: &str, value: String| Error::Unsupported {
            path: config_path.to_path_buf(),
            field: field.to_string(),
            value,
        };
        let n = cfg.num_hidden_layers;
        let spans: Vec<Span> = match &f.layer_types {
            Some(types) => {
                if types.len() != n {
                    return Err(bad(
                        "layer_types",
                        format!("{} entries for {n} layers", types.len()),
                    ));
                }
                types
                    .iter()
                    .enumerate()
                    .map(|(l, t)| match t.as_str() {
                        "full_attention" => Ok(Span::Global),
                        "sliding_attention" => Ok(Span::Local),
                        other => Err(unsupported(&format!("layer_types[{l}]"), other.to_string())),
                    })
                    .collect::<Result<_, _>>()?
            }
            None => {
                if f.global_attn_every_n_layers == 0 {
                    return Err(bad(
                        "global_attn_every_n_layers",
                        "must be positive".to_string(),
                    ));
                }
                (0..n)
                    .map(|l| {
                        if l % f.global_attn_every_n_layers == 0 {
                            Span::Global
                        } else {
                            Span::Local
                        }
                    })
                    .collect()
            }
        };
        if let Some(s) = f.rope_scaling.as_ref().filter(|s| !s.is_null()) {
            return Err(unsupported("rope_scaling", s.to_string()));
        }
        let theta = |key: &str, fallback: f64| -> Result<f64, Error> {
            let Some(p) = f.rope_parameters.as_ref().and_then(|r| r.get(key)) else {
                return Ok(fallback);
            };
            let field = format!("rope_parameters.{key}");
            if let Some(t) = p.get("rope_type").and_then(|t| t.as_str())
                && t != "default"
            {
                return Err(unsupported(&format!("{field}.rope_type"), t.to_string()));
            }
            match p.get("rope_theta") {
                None => Ok(fallback),
                Some(v) => v.as_f64().filter(|t| *t > 0.0).ok_or_else(|| {
                    bad(
                        &format!("{field}.rope_theta"),
                        format!("{v} is not a positive number"),
                    )
                }),
            }
        };
        let global_theta = theta("full_attention", f.global_rope_theta)?;
        let local_theta = theta("sliding_attention", f.local_rope_theta)?;
        let (h, i, eps) = (cfg.hidden_size, cfg.intermediate_size, f.norm_eps);
        let head_dim = h / cfg.num_attention_heads;
        if !head_dim.is_multiple_of(2) {
            return Err(bad(
                "num_attention_heads",
                format!("head size {head_dim} is odd; rotary embeddings need an even one"),
            ));
        }
        let norm = |w: &mut Weights, name: &str| {
            LayerNorm::load_with_bias(w, name, h, eps, f.norm_bias, device)
        };
        let tok = Embedding::load(w, "embeddings.tok_embeddings", cfg.vocab_size, h, device)?;
        let emb_norm = norm(w, "embeddings.norm")?;
        let mut layers = Vec::with_capacity(n);
        for (l, &span) in spans.iter().enumerate() {
            let p = format!("layers.{l}");
            let attn_norm = if l == 0 {
                None
            } else {
                Some(norm(w, &format!("{p}.attn_norm"))?)
            };
            let ab = f.attention_bias;
            let mb = f.mlp_bias;
            layers.push(Layer {
                attn_norm,
                wqkv: Linear::load_with_bias(w, &format!("{p}.attn.Wqkv"), h, 3 * h, ab, device)?,
                wo: Linear::load_with_bias(w, &format!("{p}.attn.Wo"), h, h, ab, device)?,
                mlp_norm: norm(w, &format!("{p}.mlp_norm"))?,
                wi: Linear::load_with_bias(w, &format!("{p}.mlp.Wi"), h, 2 * i, mb, device)?,
                mlp_wo: Linear::load_with_bias(w, &format!("{p}.mlp.Wo"), i, h, mb, device)?,
                span,
            });
        }
        let final_norm = norm(w, "final_norm")?;
        // The masked-LM head of a pretraining checkpoint: not part of the encoder.
        for (key, shape) in [
            ("head.dense.weight", vec![h, h]),
            ("head.dense.bias", vec![h]),
            ("head.norm.weight", vec![h]),
            ("head.norm.bias", vec![h]),
            ("decoder.weight", vec![cfg.vocab_size, h]),
            ("decoder.bias", vec![cfg.vocab_size]),
        ] {
            if w.contains(key) {
                w.take(key, &shape)?;
            }
        }
        Ok(Self {
            tok,
            emb_norm,
            layers,
            final_norm,
            heads: cfg.num_attention_heads,
            head_dim,
            act: ModelConfig {
                hidden_act: f.hidden_activation.clone(),
                ..cfg.clone()
            }
            .activation(config_path)
            .map_err(|_| unsupported("hidden_activation", f.hidden_activation.clone()))?,
            global_theta,
            local_theta,
            radius: f.local_attention / 2,
            max_len: cfg.max_position_embeddings,
            vocab_size: cfg.vocab_size,
            pad: cfg.pad_token_id.unwrap_or(DEFAULT_PAD),
        })
    }

    /// The mask of local layers, `[batch or 1, 1, len, len]`, `true` where a key is
    /// hidden: farther than [`ModernBertModel::radius`] from a real query, or padding.
    /// `None` when nothing is hidden.
    fn local_mask(&self, batch: &Batch, device: &Device) -> Option<Tensor<4, Bool>> {
        let l = batch.len;
        let padded = batch.lengths.iter().any(|&n| n < l);
        if !padded && l <= self.radius + 1 {
            return None;
        }
        let rows: Vec<usize> = if padded {
            batch.lengths.clone()
        } else {
            vec![l]
        };
        let mut m = Vec::with_capacity(rows.len() * l * l);
        for &n in &rows {
            for q in 0..l {
                m.extend((0..l).map(|k| k >= n || (q < n && q.abs_diff(k) > self.radius)));
            }
        }
        Some(Tensor::from_data(
            TensorData::new(m, [rows.len(), 1, l, l]),
            device,
        ))
    }
}

impl Encoder for ModernBertModel {
    fn forward(&self, batch: &Batch, device: &Device) -> Tensor<3> {
        // The CPU kernel reads spans and lengths, not masks.
        let gpu = *device != Device::flex();
        let global = LayerSpan {
            rotary: Rotary::new(self.global_theta, batch.len, self.head_dim, device),
            span: host::Span::All,
            mask: batch.key_padding_mask(device),
        };
        let local = LayerSpan {
            rotary: Rotary::new(self.local_theta, batch.len, self.head_dim, device),
            // `|q - k| <= radius`.
            span: host::Span::Window(self.radius + 1),
            mask: gpu.then(|| self.local_mask(batch, device)).flatten(),
        };
        let mut x = self
            .emb_norm
            .forward(self.tok.forward(batch.ids_tensor(device)));
        for layer in &self.layers {
            let span = match layer.span {
                Span::Global => &global,
                Span::Local => &local,
            };
            x = layer.forward(x, self.heads, self.act, &batch.lengths, span);
        }
        self.final_norm.forward(x)
    }

    fn pooler(&self, _first: Tensor<2>) -> Option<Tensor<2>> {
        None
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
