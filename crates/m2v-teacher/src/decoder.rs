//! Decoder-style transformers used as embedding teachers: Gemma 3 (`model_type:
//! "gemma3_text"`, e.g. EmbeddingGemma) and Qwen 3 (`"qwen3"`, e.g. Qwen3-Embedding).
//!
//! Both are the same computation with a few switches ([`Family`]): pre-norm layers with
//! RMSNorm, grouped-query attention (`num_key_value_heads` key/value heads shared by
//! `num_attention_heads` query heads of width `head_dim`) with an RMSNorm on each
//! query and key head, rotary position embeddings, and a gated MLP
//! (`down(act(gate(x)) * up(x))`). Gemma 3 adds: the embedding scaled by
//! `sqrt(hidden_size)` (rounded to the `dtype` of `config.json`, as `transformers` 5
//! does when it loads a checkpoint in that dtype by default: 55.5 rather than 55.43
//! for a bfloat16 Gemma of width 3072; everything else runs in `f32`), RMSNorm weights
//! stored as offsets from 1 (`x * (1 + w)`), norms after attention and after the MLP
//! too, a query scale of `query_pre_attn_scalar^-0.5`, sliding-window layers with their
//! own RoPE base, and (EmbeddingGemma) bidirectional attention.
//!
//! Checkpoint keys (`Gemma3TextModel`/`Qwen3Model` save them bare; a `*ForCausalLM`
//! checkpoint prefixes `model.`, stripped by the loader), `L` = layer index:
//!
//! | key | field | shape |
//! |---|---|---|
//! | `embed_tokens.weight` | `DecoderModel::embed` | `[vocab, h]` |
//! | `layers.L.input_layernorm.weight` | `DecoderLayer::input_norm` | `[h]` |
//! | `layers.L.self_attn.{q,k,v}_proj.weight` (`.bias` if `attention_bias`) | `DecoderLayer::qkv` (fused) | `[heads*d, h]`, `[kv*d, h]` twice |
//! | `layers.L.self_attn.{q,k}_norm.weight` | `DecoderLayer::{q,k}_norm` | `[d]` |
//! | `layers.L.self_attn.o_proj.weight` (`.bias` if `attention_bias`) | `DecoderLayer::o_proj` | `[h, heads*d]` |
//! | `layers.L.post_attention_layernorm.weight` | Gemma: `post_attn_norm`; Qwen: `pre_mlp_norm` | `[h]` |
//! | `layers.L.pre_feedforward_layernorm.weight` (Gemma) | `DecoderLayer::pre_mlp_norm` | `[h]` |
//! | `layers.L.post_feedforward_layernorm.weight` (Gemma) | `DecoderLayer::post_mlp_norm` | `[h]` |
//! | `layers.L.mlp.{gate,up}_proj.weight` | `DecoderLayer::gate_up` (fused) | `[i, h]` |
//! | `layers.L.mlp.down_proj.weight` | `DecoderLayer::down` | `[h, i]` |
//! | `norm.weight` | `DecoderModel::norm` | `[h]` |
//!
//! The fields these families add to `config.json` are read here ([`DecoderFile`]), with
//! `transformers`' defaults, so `config.rs` keeps the fields every family shares.
//!
//! Masks, exactly as `transformers` 5.3 builds them (`masking_utils`, and
//! `Gemma3TextModel.forward` for the bidirectional case), with `q`, `k` positions and
//! `n` the real length of the row:
//!
//! - causal full attention: `k <= q`;
//! - causal sliding attention: `k <= q && q - k < sliding_window`;
//! - bidirectional full attention: every key;
//! - bidirectional sliding attention: `|q - k| < sliding_window / 2 + 1`
//!   (`Gemma3TextConfig` halves the window when `use_bidirectional_attention`; the
//!   hub's `config.json` holds the unhalved value, 512 for EmbeddingGemma);
//! - and in every case `k < n` (keys past the row's length are padding). Padding rows
//!   also see themselves, so no softmax row is empty (their values are discarded).
//!
//! Positions are `0..len` for every row (right padding), as `transformers` makes them
//! without explicit `position_ids`.

use std::path::Path;

use burn::tensor::module::{attention, embedding};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Tensor, TensorData};
use serde::Deserialize;
use serde_json::Value;

use crate::config::{Activation, ModelConfig, read_json};
use crate::encoder::{Batch, Encoder};
use crate::error::Error;
use crate::host;
use crate::nn::{Linear, Rotary, gated, upload, with_host_values};
use crate::weights::{HostTensor, Weights};

/// The decoder families, which differ only in the switches of [`Settings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// `gemma3_text` (`Gemma3TextModel`).
    Gemma3,
    /// `qwen3` (`Qwen3Model`).
    Qwen3,
}

/// The `config.json` fields of the decoder families beyond [`ModelConfig`]; absent
/// fields take the defaults of `Gemma3TextConfig` / `Qwen3Config`.
#[derive(Debug, Deserialize)]
struct DecoderFile {
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    rms_norm_eps: Option<f64>,
    /// Gemma's name for the activation.
    hidden_activation: Option<String>,
    /// Qwen's name for the activation.
    hidden_act: Option<String>,
    layer_types: Option<Vec<String>>,
    sliding_window: Option<usize>,
    /// Gemma 3's older spelling of the layer pattern (every `n`-th layer is full).
    #[serde(alias = "_sliding_window_pattern")]
    sliding_window_pattern: Option<usize>,
    /// Qwen 3: sliding layers only when set.
    #[serde(default)]
    use_sliding_window: bool,
    /// Qwen 3: layers from this index on are sliding (with `use_sliding_window`).
    max_window_layers: Option<usize>,
    #[serde(default)]
    use_bidirectional_attention: bool,
    query_pre_attn_scalar: Option<f64>,
    rope_theta: Option<f64>,
    /// Gemma 3's older spelling of the sliding layers' RoPE base.
    rope_local_base_freq: Option<f64>,
    /// `transformers` 5: one dict, or one per layer type.
    rope_parameters: Option<Value>,
    rope_scaling: Option<Value>,
    #[serde(default)]
    attention_bias: bool,
    attn_logit_softcapping: Option<f64>,
    dtype: Option<String>,
    torch_dtype: Option<String>,
}

/// Full or sliding-window attention (`layer_types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LayerKind {
    Full,
    Sliding,
}

impl LayerKind {
    fn key(self) -> &'static str {
        match self {
            LayerKind::Full => "full_attention",
            LayerKind::Sliding => "sliding_attention",
        }
    }
}

/// Everything the forward pass needs from the config, resolved and checked.
#[derive(Debug, Clone)]
struct Settings {
    family: Family,
    hidden: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    intermediate: usize,
    eps: f64,
    act: Activation,
    /// Multiplies the query-key products.
    scale: f64,
    kinds: Vec<LayerKind>,
    /// Sliding layers: keys with `|q - k| < window` (bidirectional) or
    /// `0 <= q - k < window` (causal).
    window: usize,
    bidirectional: bool,
    /// RoPE inverse frequencies per layer kind (`[head_dim / 2]`).
    inv_freq_full: Vec<f32>,
    inv_freq_sliding: Vec<f32>,
    /// Gemma: `sqrt(hidden)` rounded to the checkpoint's dtype.
    embed_scale: Option<f32>,
    bias: bool,
}

impl Settings {
    fn new(family: Family, cfg: &ModelConfig, path: &Path) -> Result<Self, Error> {
        let f: DecoderFile = read_json(path)?;
        let bad = |field: &str, message: String| Error::InvalidField {
            path: path.to_path_buf(),
            field: field.to_string(),
            message,
        };
        let unsupported = |field: &str, value: String| Error::Unsupported {
            path: path.to_path_buf(),
            field: field.to_string(),
            value,
        };
        let gemma = family == Family::Gemma3;
        let heads = cfg.num_attention_heads;
        let kv_heads = f.num_key_value_heads.unwrap_or(if gemma { 4 } else { 32 });
        if kv_heads == 0 || !heads.is_multiple_of(kv_heads) {
            return Err(bad(
                "num_key_value_heads",
                format!("{kv_heads} does not divide num_attention_heads {heads}"),
            ));
        }
        let head_dim = f.head_dim.unwrap_or(if gemma { 256 } else { 128 });
        if head_dim == 0 || !head_dim.is_multiple_of(2) {
            return Err(bad(
                "head_dim",
                format!("{head_dim} is not a positive even number (RoPE rotates pairs)"),
            ));
        }
        let act_name = if gemma {
            f.hidden_activation.as_ref().or(f.hidden_act.as_ref())
        } else {
            f.hidden_act.as_ref().or(f.hidden_activation.as_ref())
        };
        let act_name = act_name
            .cloned()
            .unwrap_or_else(|| if gemma { "gelu_pytorch_tanh" } else { "silu" }.to_string());
        let act = ModelConfig {
            hidden_act: act_name,
            ..cfg.clone()
        }
        .activation(path)?;
        if let Some(c) = f.attn_logit_softcapping {
            return Err(unsupported("attn_logit_softcapping", c.to_string()));
        }
        let layers = cfg.num_hidden_layers;
        let kinds = match &f.layer_types {
            Some(types) => {
                if types.len() != layers {
                    return Err(bad(
                        "layer_types",
                        format!("{} entries for {layers} layers", types.len()),
                    ));
                }
                types
                    .iter()
                    .map(|t| match t.as_str() {
                        "full_attention" => Ok(LayerKind::Full),
                        "sliding_attention" => Ok(LayerKind::Sliding),
                        other => Err(unsupported("layer_types", other.to_string())),
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            None if gemma => {
                let pattern = f.sliding_window_pattern.unwrap_or(6).max(1);
                (0..layers)
                    .map(|i| {
                        if (i + 1) % pattern == 0 {
                            LayerKind::Full
                        } else {
                            LayerKind::Sliding
                        }
                    })
                    .collect()
            }
            None => {
                let from = f.max_window_layers.unwrap_or(28);
                (0..layers)
                    .map(|i| {
                        if f.use_sliding_window && f.sliding_window.is_some() && i >= from {
                            LayerKind::Sliding
                        } else {
                            LayerKind::Full
                        }
                    })
                    .collect()
            }
        };
        let bidirectional = gemma && f.use_bidirectional_attention;
        let window = if gemma {
            let w = f.sliding_window.unwrap_or(4096);
            if bidirectional { w / 2 + 1 } else { w }
        } else if f.use_sliding_window {
            f.sliding_window.unwrap_or(0)
        } else {
            0
        };
        if window == 0 && kinds.contains(&LayerKind::Sliding) {
            return Err(bad(
                "sliding_window",
                "sliding_attention layers need a positive sliding_window (and use_sliding_window for qwen3)"
                    .to_string(),
            ));
        }
        let scale = if gemma {
            let s = f.query_pre_attn_scalar.unwrap_or(256.0);
            if s.is_nan() || s <= 0.0 {
                return Err(bad("query_pre_attn_scalar", format!("{s} is not positive")));
            }
            // `query_pre_attn_scalar**-0.5` in Python floats.
            s.powf(-0.5)
        } else {
            (head_dim as f64).powf(-0.5)
        };
        let rope = |kind: LayerKind| -> Result<Vec<f32>, Error> {
            let legacy = match kind {
                LayerKind::Full => f.rope_theta,
                LayerKind::Sliding if gemma => f.rope_local_base_freq,
                LayerKind::Sliding => f.rope_theta,
            };
            let default = match (family, kind) {
                (Family::Gemma3, LayerKind::Full) => 1_000_000.0,
                (Family::Gemma3, LayerKind::Sliding) => 10_000.0,
                (Family::Qwen3, _) => 10_000.0,
            };
            let (theta, factor) = rope_spec(&f, kind, legacy, default, path)?;
            Ok(inv_freq(theta, factor, head_dim))
        };
        let embed_scale = gemma.then(|| {
            // `torch.tensor(hidden ** 0.5)` (f32), then `.to(weight.dtype)`.
            let s = (cfg.hidden_size as f64).sqrt() as f32;
            let dtype = f.dtype.as_deref().or(f.torch_dtype.as_deref());
            match dtype {
                Some("bfloat16") => round_bf16(s),
                Some("float16") => m2v_static::f16_to_f32(m2v_static::f32_to_f16(s)),
                _ => s,
            }
        });
        Ok(Self {
            family,
            hidden: cfg.hidden_size,
            heads,
            kv_heads,
            head_dim,
            intermediate: cfg.intermediate_size,
            eps: f.rms_norm_eps.unwrap_or(1e-6),
            act,
            scale,
            kinds,
            window,
            bidirectional,
            inv_freq_full: rope(LayerKind::Full)?,
            inv_freq_sliding: rope(LayerKind::Sliding)?,
            embed_scale,
            bias: f.attention_bias,
        })
    }
}

/// `(theta, linear factor)` of one layer kind: `rope_parameters` (flat, or per layer
/// type) first, then the legacy `rope_theta`/`rope_local_base_freq` and `rope_scaling`
/// (which applies to full attention, as `Gemma3TextConfig` reads it). Only the
/// `default` and `linear` RoPE types are supported.
fn rope_spec(
    f: &DecoderFile,
    kind: LayerKind,
    legacy: Option<f64>,
    default: f64,
    path: &Path,
) -> Result<(f64, f64), Error> {
    let mut params = serde_json::Map::new();
    let mut field = "rope_parameters".to_string();
    if let Some(Value::Object(m)) = &f.rope_parameters {
        let per_type = m.contains_key("full_attention") || m.contains_key("sliding_attention");
        if per_type {
            if let Some(Value::Object(p)) = m.get(kind.key()) {
                params = p.clone();
                field = format!("rope_parameters.{}", kind.key());
            }
        } else {
            params = m.clone();
        }
    }
    if let Some(Value::Object(s)) = &f.rope_scaling
        && (kind == LayerKind::Full || f.rope_parameters.is_none())
    {
        for (k, v) in s {
            params.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let rope_type = params
        .get("rope_type")
        .or_else(|| params.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    let number = |key: &str| -> Result<Option<f64>, Error> {
        match params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                v.as_f64()
                    .filter(|x| *x > 0.0)
                    .map(Some)
                    .ok_or_else(|| Error::InvalidField {
                        path: path.to_path_buf(),
                        field: format!("{field}.{key}"),
                        message: format!("{v} is not a positive number"),
                    })
            }
        }
    };
    let factor = match rope_type {
        "default" => 1.0,
        "linear" => number("factor")?.unwrap_or(1.0),
        other => {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                field: format!("{field}.rope_type"),
                value: other.to_string(),
            });
        }
    };
    let theta = number("rope_theta")?.or(legacy).unwrap_or(default);
    Ok((theta, factor))
}

/// `transformers`' default RoPE inverse frequencies in `f32`:
/// `1 / base^(arange(0, d, 2) / d)`, divided by `factor` for `linear` scaling.
fn inv_freq(theta: f64, factor: f64, head_dim: usize) -> Vec<f32> {
    let base = theta as f32;
    (0..head_dim / 2)
        .map(|i| {
            let e = (2 * i) as f32 / head_dim as f32;
            let p = f64::from(base).powf(f64::from(e)) as f32;
            let f = 1.0f32 / p;
            if factor == 1.0 { f } else { f / factor as f32 }
        })
        .collect()
}

/// Rounds to the nearest bfloat16 (ties to even), returned as `f32`.
fn round_bf16(x: f32) -> f32 {
    let b = x.to_bits();
    let rounded = b.wrapping_add(0x7fff + ((b >> 16) & 1)) & 0xffff_0000;
    f32::from_bits(rounded)
}

/// A bias-free (or optionally biased) projection `y = x W (+ b)`, `W` stored `[in, out]`,
/// possibly several checkpoint matrices concatenated along `out`.
#[derive(Debug, Clone)]
struct Proj(Linear);

impl Proj {
    /// Loads `{name}.weight` (`[d_out, d_in]`, and `{name}.bias` when `bias`) for each
    /// `(name, d_out)`, concatenated.
    fn load(
        w: &mut Weights,
        parts: &[(String, usize)],
        d_in: usize,
        bias: bool,
        device: &Device,
    ) -> Result<Self, Error> {
        let total: usize = parts.iter().map(|p| p.1).sum();
        let mut weight = vec![0.0f32; d_in * total];
        let mut b = Vec::with_capacity(total);
        let mut at = 0;
        for (name, d_out) in parts {
            let t = w.take(&format!("{name}.weight"), &[*d_out, d_in])?;
            for (o, row) in t.data.chunks_exact(d_in).enumerate() {
                for (i, &v) in row.iter().enumerate() {
                    weight[i * total + at + o] = v;
                }
            }
            if bias {
                b.extend(w.take(&format!("{name}.bias"), &[*d_out])?.data);
            }
            at += d_out;
        }
        let host = |data: Vec<f32>, shape: Vec<usize>| HostTensor { data, shape };
        Ok(Self(Linear::from_host(
            host(weight, vec![d_in, total]),
            bias.then(|| host(b, vec![total])),
            device,
        )))
    }

    fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.0.forward(x)
    }
}

/// RMSNorm over the last dimension: `x / sqrt(mean(x^2) + eps) * w`, with `w` the
/// checkpoint weight (Qwen) or `1 + weight` (Gemma), folded in at load time.
#[derive(Debug, Clone)]
struct RmsNorm {
    weight: Tensor<1>,
    /// The same weights on the host, for the CPU kernel.
    host: Vec<f32>,
    eps: f64,
}

impl RmsNorm {
    fn load(
        w: &mut Weights,
        name: &str,
        d: usize,
        s: &Settings,
        device: &Device,
    ) -> Result<Self, Error> {
        let mut t = w.take(&format!("{name}.weight"), &[d])?;
        if s.family == Family::Gemma3 {
            for v in &mut t.data {
                *v += 1.0;
            }
        }
        Ok(Self {
            host: t.data.clone(),
            weight: upload(t, device),
            eps: s.eps,
        })
    }

    fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let device = x.device();
        if device == Device::flex() {
            // One pass over the buffer (`host::rms_norm`) instead of seven tensor ops.
            let mut data = x.into_data();
            if let Ok(values) = data.as_mut_slice::<f32>() {
                crate::host::rms_norm(values, &self.host, self.eps as f32);
                return Tensor::from_data(data, &device);
            }
            return self.burn_forward(Tensor::from_data(data, &device));
        }
        self.burn_forward(x)
    }

    fn burn_forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let inv = x
            .clone()
            .square()
            .mean_dim(D - 1)
            .add_scalar(self.eps)
            .sqrt()
            .recip();
        let d = self.weight.dims()[0];
        let mut shape = [1usize; D];
        shape[D - 1] = d;
        (x * inv) * self.weight.clone().reshape(shape)
    }
}

/// One decoder layer.
#[derive(Debug)]
struct DecoderLayer {
    kind: LayerKind,
    input_norm: RmsNorm,
    qkv: Proj,
    q_norm: RmsNorm,
    k_norm: RmsNorm,
    o_proj: Proj,
    /// Gemma only: on the attention output, before the residual.
    post_attn_norm: Option<RmsNorm>,
    pre_mlp_norm: RmsNorm,
    /// Gemma only: on the MLP output, before the residual.
    post_mlp_norm: Option<RmsNorm>,
    gate_up: Proj,
    down: Proj,
}

impl DecoderLayer {
    fn load(w: &mut Weights, s: &Settings, l: usize, device: &Device) -> Result<Self, Error> {
        let (h, d, i) = (s.hidden, s.head_dim, s.intermediate);
        let p = format!("layers.{l}");
        let key = |k: &str| format!("{p}.{k}");
        let gemma = s.family == Family::Gemma3;
        let qkv = Proj::load(
            w,
            &[
                (key("self_attn.q_proj"), s.heads * d),
                (key("self_attn.k_proj"), s.kv_heads * d),
                (key("self_attn.v_proj"), s.kv_heads * d),
            ],
            h,
            s.bias,
            device,
        )?;
        let o_proj = Proj::load(
            w,
            &[(key("self_attn.o_proj"), h)],
            s.heads * d,
            s.bias,
            device,
        )?;
        let (post_attn_norm, pre_mlp_norm, post_mlp_norm) = if gemma {
            (
                Some(RmsNorm::load(
                    w,
                    &key("post_attention_layernorm"),
                    h,
                    s,
                    device,
                )?),
                RmsNorm::load(w, &key("pre_feedforward_layernorm"), h, s, device)?,
                Some(RmsNorm::load(
                    w,
                    &key("post_feedforward_layernorm"),
                    h,
                    s,
                    device,
                )?),
            )
        } else {
            (
                None,
                RmsNorm::load(w, &key("post_attention_layernorm"), h, s, device)?,
                None,
            )
        };
        Ok(Self {
            kind: s.kinds[l],
            input_norm: RmsNorm::load(w, &key("input_layernorm"), h, s, device)?,
            qkv,
            q_norm: RmsNorm::load(w, &key("self_attn.q_norm"), d, s, device)?,
            k_norm: RmsNorm::load(w, &key("self_attn.k_norm"), d, s, device)?,
            o_proj,
            post_attn_norm,
            pre_mlp_norm,
            post_mlp_norm,
            gate_up: Proj::load(
                w,
                &[(key("mlp.gate_proj"), i), (key("mlp.up_proj"), i)],
                h,
                false,
                device,
            )?,
            down: Proj::load(w, &[(key("mlp.down_proj"), h)], i, false, device)?,
        })
    }

    /// `[b, len, h]` to `[b, len, h]`; `lengths` are the rows' real lengths.
    fn forward(&self, x: Tensor<3>, s: &Settings, lengths: &[usize], span: &KindSpan) -> Tensor<3> {
        let qkv = self.qkv.forward(self.input_norm.forward(x.clone()));
        let ctx = match &span.mask {
            Mask::Host(kernel) => self.host_attention(qkv, s, lengths, &span.rope, *kernel),
            Mask::Device(mask) => self.burn_attention(qkv, s, &span.rope, mask.clone()),
        };
        let mut a = self.o_proj.forward(ctx);
        if let Some(n) = &self.post_attn_norm {
            a = n.forward(a);
        }
        let x = x + a;
        let gu = self.gate_up.forward(self.pre_mlp_norm.forward(x.clone()));
        let mut m = self.down.forward(gated(gu, s.act));
        if let Some(n) = &self.post_mlp_norm {
            m = n.forward(m);
        }
        x + m
    }

    /// The CPU path: one host kernel from the fused projection, with the q/k norms and
    /// RoPE inside it (`host::attention`).
    fn host_attention(
        &self,
        qkv: Tensor<3>,
        s: &Settings,
        lengths: &[usize],
        rope: &Rotary,
        span: host::Span,
    ) -> Tensor<3> {
        let [b, len, _] = qkv.dims();
        let device = qkv.device();
        let spec = host::Heads {
            heads: s.heads,
            kv_heads: s.kv_heads,
            scale: s.scale as f32,
            span,
            bias: None,
            qk_norm: Some((&self.q_norm.host, &self.k_norm.host, s.eps as f32)),
            rope: rope.host_tables(),
        };
        let out = with_host_values(qkv, |v| host::attention(v, lengths, len, &spec));
        Tensor::from_data(
            TensorData::new(out, [b, len, s.heads * s.head_dim]),
            &device,
        )
    }

    /// Burn's ops (the GPU path): split, norm, rotate, repeat the key/value groups.
    fn burn_attention(
        &self,
        qkv: Tensor<3>,
        s: &Settings,
        rope: &Rotary,
        mask: Option<Tensor<4, Bool>>,
    ) -> Tensor<3> {
        let [b, len, _] = qkv.dims();
        let (heads, kv, d) = (s.heads, s.kv_heads, s.head_dim);
        let split = |start: usize, n: usize| {
            qkv.clone()
                .narrow(2, start * d, n * d)
                .reshape([b, len, n, d])
        };
        // [b, len, n, d] -> [b, n, len, d]
        let q = self.q_norm.forward(split(0, heads)).swap_dims(1, 2);
        let k = self.k_norm.forward(split(heads, kv)).swap_dims(1, 2);
        let v = split(heads + kv, kv).swap_dims(1, 2);
        let q = rope.apply(q);
        let k = rope.apply(k);
        let group = heads / kv;
        let repeat = |t: Tensor<4>| {
            if group == 1 {
                t
            } else {
                t.reshape([b, kv, 1, len, d])
                    .expand([b, kv, group, len, d])
                    .reshape([b, heads, len, d])
            }
        };
        let options = AttentionModuleOptions {
            scale: Some(s.scale),
            softcap: None,
            is_causal: false,
        };
        let ctx = attention(q, repeat(k), repeat(v), mask, None, options);
        ctx.swap_dims(1, 2).reshape([b, len, heads * d])
    }
}

/// Which keys one layer kind's queries see: the span of the CPU kernel, or the mask of
/// Burn's attention (`None` when every key is visible).
// Two per forward pass: the size of the Burn variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Mask {
    Host(host::Span),
    Device(Option<Tensor<4, Bool>>),
}

/// One layer kind's rotary tables and mask, for a batch.
struct KindSpan {
    rope: Rotary,
    mask: Mask,
}

/// A Gemma 3 or Qwen 3 decoder (`last_hidden_state` after the final norm).
#[derive(Debug)]
pub(crate) struct DecoderModel {
    settings: Settings,
    embed: Tensor<2>,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    vocab_size: usize,
    max_len: usize,
    pad: u32,
}

impl DecoderModel {
    /// Loads every tensor of the key table above for `family`.
    pub(crate) fn load(
        family: Family,
        cfg: &ModelConfig,
        config_path: &Path,
        w: &mut Weights,
        device: &Device,
    ) -> Result<Self, Error> {
        let s = Settings::new(family, cfg, config_path)?;
        let embed = upload(
            w.take("embed_tokens.weight", &[cfg.vocab_size, s.hidden])?,
            device,
        );
        let layers = (0..cfg.num_hidden_layers)
            .map(|l| DecoderLayer::load(w, &s, l, device))
            .collect::<Result<Vec<_>, _>>()?;
        let norm = RmsNorm::load(w, "norm", s.hidden, &s, device)?;
        Ok(Self {
            settings: s,
            embed,
            layers,
            norm,
            vocab_size: cfg.vocab_size,
            max_len: cfg.max_position_embeddings,
            pad: cfg.pad_token_id.unwrap_or(0),
        })
    }

    /// The keys one layer kind's real queries see, as the CPU kernel takes them (the
    /// rules of the module docs; key padding comes from the rows' lengths).
    fn span(&self, kind: LayerKind) -> host::Span {
        let s = &self.settings;
        match (kind, s.bidirectional) {
            (LayerKind::Full, true) => host::Span::All,
            (LayerKind::Full, false) => host::Span::Causal,
            (LayerKind::Sliding, true) => host::Span::Window(s.window),
            (LayerKind::Sliding, false) => host::Span::CausalWindow(s.window),
        }
    }

    /// The boolean mask (`true` = hidden) of one layer kind, `[b, 1, len, len]`, or
    /// `None` when every key is visible to every query.
    fn mask(&self, batch: &Batch, kind: LayerKind, device: &Device) -> Option<Tensor<4, Bool>> {
        let s = &self.settings;
        let l = batch.len;
        let padded = batch.lengths.iter().any(|&n| n < l);
        let windowed = kind == LayerKind::Sliding && l > s.window;
        if s.bidirectional && !padded && !(windowed && l > 1) {
            return None;
        }
        let visible = |q: usize, k: usize| -> bool {
            let in_window = kind == LayerKind::Full || q.abs_diff(k) < s.window;
            if s.bidirectional {
                in_window
            } else {
                k <= q && in_window
            }
        };
        let mut m = Vec::with_capacity(batch.batch * l * l);
        for &n in &batch.lengths {
            for q in 0..l {
                m.extend((0..l).map(|k| !((k < n && visible(q, k)) || (q >= n && k == q))));
            }
        }
        Some(Tensor::from_data(
            TensorData::new(m, [batch.batch, 1, l, l]),
            device,
        ))
    }
}

impl Encoder for DecoderModel {
    fn forward(&self, batch: &Batch, device: &Device) -> Tensor<3> {
        let s = &self.settings;
        let mut x = embedding(self.embed.clone(), batch.ids_tensor(device));
        if let Some(scale) = s.embed_scale {
            x = x.mul_scalar(scale);
        }
        let kind = |k: LayerKind, inv_freq: &[f32]| KindSpan {
            rope: Rotary::from_inv_freq(inv_freq, batch.len, device),
            mask: if *device == Device::flex() {
                Mask::Host(self.span(k))
            } else {
                Mask::Device(self.mask(batch, k, device))
            },
        };
        let full = kind(LayerKind::Full, &s.inv_freq_full);
        let sliding = kind(LayerKind::Sliding, &s.inv_freq_sliding);
        for layer in &self.layers {
            let span = match layer.kind {
                LayerKind::Full => &full,
                LayerKind::Sliding => &sliding,
            };
            x = layer.forward(x, s, &batch.lengths, span);
        }
        self.norm.forward(x)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounding_matches_transformers_comment() {
        // "sqrt(3072)=55.4256 to become 55.5" (modeling_gemma3.py).
        assert_eq!(round_bf16((3072f64).sqrt() as f32), 55.5);
        assert_eq!(round_bf16(1.0), 1.0);
    }

    #[test]
    fn inv_freq_is_transformers_default() {
        let f = inv_freq(10_000.0, 1.0, 4);
        assert_eq!(f[0], 1.0);
        assert!((f[1] - 0.01).abs() < 1e-9, "{f:?}");
        let g = inv_freq(10_000.0, 8.0, 4);
        assert_eq!(g[0], 0.125);
    }
}
