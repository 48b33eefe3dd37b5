//! Building blocks shared by the architectures: `Linear`, `LayerNorm`, embeddings and
//! multi-head attention, over Burn's functional ops (`burn::tensor::module`).
//!
//! Weights are plain tensors, not Burn `Module`s: the loader fills them straight from
//! the checkpoint (see the key tables in `bert.rs` and `mpnet.rs`), and inference needs
//! no parameter machinery.

use std::sync::Arc;

use burn::backend::Flex;
use burn::tensor::module::{attention, embedding, layer_norm, linear};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, DType, Device, Int, Tensor, TensorData, activation};

use crate::config::Activation;
use crate::error::Error;
use crate::host::{Heads, Span};
use crate::weights::{HostTensor, Weights};

/// Uploads a host tensor of rank `D`.
pub(crate) fn upload<const D: usize>(t: HostTensor, device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(t.data, t.shape), device)
}

/// `y = x W + b` with `W` stored `[in, out]` (PyTorch's `[out, in]` transposed once at
/// load time so every matmul reads it contiguously); `b` is absent for `bias=False`
/// layers.
///
/// On the CPU the weights stay host buffers and the product is `host::linear` (gemm
/// called directly, bias folded in); on a GPU they are Burn tensors and the product is
/// Burn's `linear`.
#[derive(Debug, Clone)]
// A handful of these per layer: the size of the Burn variant does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Linear {
    /// Burn tensors on a GPU device.
    Device {
        weight: Tensor<2>,
        bias: Option<Tensor<1>>,
    },
    /// Host buffers for the CPU (`flex`) device.
    Host {
        weight: Arc<[f32]>,
        bias: Option<Arc<[f32]>>,
        d_in: usize,
        d_out: usize,
    },
}

impl Linear {
    /// Loads `{name}.weight` `[d_out, d_in]` and `{name}.bias` `[d_out]`.
    pub(crate) fn load(
        w: &mut Weights,
        name: &str,
        d_in: usize,
        d_out: usize,
        device: &Device,
    ) -> Result<Self, Error> {
        Self::load_with_bias(w, name, d_in, d_out, true, device)
    }

    /// Loads `{name}.weight` `[d_out, d_in]`, and `{name}.bias` `[d_out]` when `bias`
    /// (a `bias=False` layer has none in the checkpoint).
    pub(crate) fn load_with_bias(
        w: &mut Weights,
        name: &str,
        d_in: usize,
        d_out: usize,
        bias: bool,
        device: &Device,
    ) -> Result<Self, Error> {
        let weight = w.take(&format!("{name}.weight"), &[d_out, d_in])?;
        let bias = if bias {
            Some(w.take(&format!("{name}.bias"), &[d_out])?)
        } else {
            None
        };
        Ok(Self::from_host(weight.transposed(), bias, device))
    }

    /// Loads several `[d_out_i, d_in]` projections of the same input as one `Linear`
    /// whose output is their concatenation (e.g. fused query/key/value).
    pub(crate) fn load_fused(
        w: &mut Weights,
        names: &[String],
        d_in: usize,
        d_out: usize,
        device: &Device,
    ) -> Result<Self, Error> {
        let total = d_out * names.len();
        let mut weight = vec![0.0f32; d_in * total];
        let mut bias = Vec::with_capacity(total);
        for (k, name) in names.iter().enumerate() {
            let t = w.take(&format!("{name}.weight"), &[d_out, d_in])?;
            for o in 0..d_out {
                for i in 0..d_in {
                    weight[i * total + k * d_out + o] = t.data[o * d_in + i];
                }
            }
            bias.extend(w.take(&format!("{name}.bias"), &[d_out])?.data);
        }
        let host = |data, shape| HostTensor { data, shape };
        Ok(Self::from_host(
            host(weight, vec![d_in, total]),
            Some(host(bias, vec![total])),
            device,
        ))
    }

    /// A layer of weight `[d_in, d_out]` (already transposed) and bias `[d_out]`.
    pub(crate) fn from_host(weight: HostTensor, bias: Option<HostTensor>, device: &Device) -> Self {
        if *device == Device::flex() {
            let (d_in, d_out) = (weight.shape[0], weight.shape[1]);
            Self::Host {
                weight: weight.data.into(),
                bias: bias.map(|b| b.data.into()),
                d_in,
                d_out,
            }
        } else {
            Self::Device {
                weight: upload(weight, device),
                bias: bias.map(|b| upload(b, device)),
            }
        }
    }

    /// `[.., d_in]` to `[.., d_out]`.
    pub(crate) fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::Device { weight, bias } => linear(x, weight.clone(), bias.clone()),
            Self::Host {
                weight,
                bias,
                d_in,
                d_out,
            } => {
                let device = x.device();
                let mut dims = x.dims();
                let out = with_host_values(x, |values| {
                    crate::host::linear(values, *d_in, weight, *d_out, bias.as_deref())
                });
                dims[D - 1] = *d_out;
                Tensor::from_data(TensorData::new(out, dims), &device)
            }
        }
    }
}

/// Calls `f` with the values of a CPU (`flex`) tensor, row-major, reading its buffer in
/// place when it is contiguous f32 (even when shared, as a residual input is) and a
/// contiguous f32 copy otherwise.
pub(crate) fn with_host_values<const D: usize, R>(x: Tensor<D>, f: impl FnOnce(&[f32]) -> R) -> R {
    let n = x.shape().num_elements();
    match x.try_into_primitive::<Flex>() {
        Ok(t) => {
            let t = if t.is_contiguous() && t.dtype() == DType::F32 {
                t
            } else {
                Tensor::<D>::from_primitive::<Flex>(t)
                    .cast(DType::F32)
                    .try_into_primitive::<Flex>()
                    .map(|t| t.to_contiguous())
                    .expect("a flex tensor stays on flex")
            };
            let start = t.layout().start_offset();
            f(&t.storage::<f32>()[start..start + n])
        }
        Err(e) => panic!("a host kernel was given a tensor off the CPU: {e:?}"),
    }
}

/// LayerNorm over the last dimension with the checkpoint's epsilon; `beta` is absent
/// for `bias=False` norms (ModernBERT).
#[derive(Debug, Clone)]
pub(crate) struct LayerNorm {
    gamma: Tensor<1>,
    beta: Option<Tensor<1>>,
    eps: f64,
}

impl LayerNorm {
    /// Loads `{name}.weight` and `{name}.bias` (`[d]`; old checkpoints say `gamma`/`beta`).
    pub(crate) fn load(
        w: &mut Weights,
        name: &str,
        d: usize,
        eps: f64,
        device: &Device,
    ) -> Result<Self, Error> {
        let (g, b) = if w.contains(&format!("{name}.gamma")) {
            ("gamma", "beta")
        } else {
            ("weight", "bias")
        };
        Ok(Self {
            gamma: upload(w.take(&format!("{name}.{g}"), &[d])?, device),
            beta: Some(upload(w.take(&format!("{name}.{b}"), &[d])?, device)),
            eps,
        })
    }

    /// Loads `{name}.weight`, and `{name}.bias` when `bias` (`[d]`).
    pub(crate) fn load_with_bias(
        w: &mut Weights,
        name: &str,
        d: usize,
        eps: f64,
        bias: bool,
        device: &Device,
    ) -> Result<Self, Error> {
        if bias {
            return Self::load(w, name, d, eps, device);
        }
        Ok(Self {
            gamma: upload(w.take(&format!("{name}.weight"), &[d])?, device),
            beta: None,
            eps,
        })
    }

    /// `[.., d]` to `[.., d]`.
    pub(crate) fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        layer_norm(x, self.gamma.clone(), self.beta.clone(), self.eps)
    }
}

/// An embedding table `[rows, d]`.
#[derive(Debug, Clone)]
pub(crate) struct Embedding {
    pub(crate) weight: Tensor<2>,
    pub(crate) rows: usize,
}

impl Embedding {
    /// Loads `{name}.weight` `[rows, d]`.
    pub(crate) fn load(
        w: &mut Weights,
        name: &str,
        rows: usize,
        d: usize,
        device: &Device,
    ) -> Result<Self, Error> {
        Ok(Self {
            weight: upload(w.take(&format!("{name}.weight"), &[rows, d])?, device),
            rows,
        })
    }

    /// Looks up `[batch, len]` ids: `[batch, len, d]`. Ids were range-checked by the
    /// caller.
    pub(crate) fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        embedding(self.weight.clone(), ids)
    }
}

/// Applies the feed-forward activation: on the CPU one vectorised pass over the
/// tensor's own buffer (`host::activate`), elsewhere Burn's ops.
pub(crate) fn activate<const D: usize>(x: Tensor<D>, act: Activation) -> Tensor<D> {
    let device = x.device();
    if device == Device::flex() {
        // Zero-copy on `flex` when the tensor is contiguous and not shared.
        let mut data = x.into_data();
        if let Ok(values) = data.as_mut_slice::<f32>() {
            crate::host::activate(values, act);
            return Tensor::from_data(data, &device);
        }
        // Not f32 (the teacher runs fp32, so this is not expected): Burn's ops.
        return burn_activate(Tensor::from_data(data, &device), act);
    }
    burn_activate(x, act)
}

/// The gated feed-forward input `act(x[.., :i]) * x[.., i:]` of `x` `[.., 2i]`
/// (Gemma 3, Qwen 3, ModernBERT): `[.., i]`.
pub(crate) fn gated<const D: usize>(x: Tensor<D>, act: Activation) -> Tensor<D> {
    let mut dims = x.dims();
    let i = dims[D - 1] / 2;
    let device = x.device();
    if device == Device::flex() {
        let out = with_host_values(x, |values| crate::host::gated(values, i, act));
        dims[D - 1] = i;
        return Tensor::from_data(TensorData::new(out, dims), &device);
    }
    burn_activate(x.clone().narrow(D - 1, 0, i), act) * x.narrow(D - 1, i, i)
}

fn burn_activate<const D: usize>(x: Tensor<D>, act: Activation) -> Tensor<D> {
    match act {
        Activation::Gelu => activation::gelu(x),
        Activation::GeluTanh => activation::gelu_approximate(x),
        Activation::Relu => activation::relu(x),
        Activation::Silu => activation::silu(x),
    }
}

/// Multi-head scaled dot-product attention from a fused `[batch, len, 3 * hidden]`
/// query/key/value projection.
///
/// `mask` is `[batch, 1, len, len]`, `true` where a key is padding; `bias` is
/// `[1 or batch, heads, len, len]` added to the scaled scores (MPNet's relative
/// positions). Returns the context `[batch, len, hidden]`.
///
/// On the CPU it runs as one host kernel (`host::attention`) straight from the fused
/// projection, with `lengths` (the real length of each row) as the key mask: no
/// head-major copies, a vectorised softmax.
pub(crate) fn multi_head_attention(
    qkv: Tensor<3>,
    heads: usize,
    lengths: &[usize],
    mask: Option<Tensor<4, Bool>>,
    bias: Option<Tensor<4>>,
) -> Tensor<3> {
    rotary_attention(qkv, heads, None, lengths, Span::All, mask, bias)
}

/// [`multi_head_attention`] with queries and keys rotated by `rotary` first and keys
/// limited to `span` (ModernBERT); `mask` says the same as `lengths` and `span` for
/// the GPU path.
pub(crate) fn rotary_attention(
    qkv: Tensor<3>,
    heads: usize,
    rotary: Option<&Rotary>,
    lengths: &[usize],
    span: Span,
    mask: Option<Tensor<4, Bool>>,
    bias: Option<Tensor<4>>,
) -> Tensor<3> {
    let [batch, len, three_h] = qkv.dims();
    let hidden = three_h / 3;
    let head_dim = hidden / heads;
    let device = qkv.device();
    if device == Device::flex() {
        let rope = rotary.and_then(Rotary::host_tables);
        let attend = |bias: Option<&[f32]>| {
            let spec = Heads {
                heads,
                kv_heads: heads,
                scale: 1.0 / (head_dim as f32).sqrt(),
                span,
                bias,
                qk_norm: None,
                rope,
            };
            with_host_values(qkv, |v| crate::host::attention(v, lengths, len, &spec))
        };
        // The bias is read in place, like the projection.
        let out = match bias {
            Some(b) => with_host_values(b, |b| attend(Some(b))),
            None => attend(None),
        };
        return Tensor::from_data(TensorData::new(out, [batch, len, hidden]), &device);
    }
    // [b, l, 3, h, d] -> [3, b, h, l, d]
    let qkv = qkv
        .reshape([batch, len, 3, heads, head_dim])
        .permute([2, 0, 3, 1, 4]);
    let part = |i: usize| {
        qkv.clone()
            .narrow(0, i, 1)
            .reshape([batch, heads, len, head_dim])
    };
    let (q, k, v) = match rotary {
        Some(r) => (r.apply(part(0)), r.apply(part(1)), part(2)),
        None => (part(0), part(1), part(2)),
    };
    let options = AttentionModuleOptions {
        scale: None,
        softcap: None,
        is_causal: false,
    };
    let ctx = attention(q, k, v, mask, bias, options);
    ctx.swap_dims(1, 2).reshape([batch, len, hidden])
}

/// Rotary position embedding tables (cosine and sine) for positions `0..len`, shared
/// by ModernBERT, Gemma 3 and Qwen 3: host buffers `[len, head_dim]` for the CPU
/// kernel, device tensors `[1, 1, len, head_dim]` for Burn's ops elsewhere.
#[derive(Debug, Clone)]
// Two per forward pass: the size of the Burn variant does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Rotary {
    Host { cos: Vec<f32>, sin: Vec<f32> },
    Device { cos: Tensor<4>, sin: Tensor<4> },
}

impl Rotary {
    /// The tables of base `theta`: `inv_freq[j] = 1 / theta^(2j / d)`, computed in
    /// `f32` as `transformers`' default rope initialisation does.
    pub(crate) fn new(theta: f64, len: usize, head_dim: usize, device: &Device) -> Self {
        let inv: Vec<f32> = (0..head_dim / 2)
            .map(|j| {
                let e = (2 * j) as f32 / head_dim as f32;
                1.0f32 / (theta.powf(f64::from(e)) as f32)
            })
            .collect();
        Self::from_inv_freq(&inv, len, device)
    }

    /// The tables of given inverse frequencies (one per pair of dimensions): angle
    /// `= inv_freq[j] * pos` in `f32` like PyTorch, the frequencies repeated for both
    /// halves of the head as `transformers` concatenates them.
    pub(crate) fn from_inv_freq(inv_freq: &[f32], len: usize, device: &Device) -> Self {
        let d = 2 * inv_freq.len();
        let mut cos = Vec::with_capacity(len * d);
        let mut sin = Vec::with_capacity(len * d);
        for p in 0..len {
            for _ in 0..2 {
                for &f in inv_freq {
                    let angle = f64::from(f * p as f32);
                    cos.push(angle.cos() as f32);
                    sin.push(angle.sin() as f32);
                }
            }
        }
        if *device == Device::flex() {
            return Self::Host { cos, sin };
        }
        let t = |v: Vec<f32>| Tensor::from_data(TensorData::new(v, [1, 1, len, d]), device);
        Self::Device {
            cos: t(cos),
            sin: t(sin),
        }
    }

    /// `x * cos + rotate_half(x) * sin` for `x` `[batch, heads, len, head_dim]`, where
    /// `rotate_half([x1, x2]) = [-x2, x1]`, with Burn's ops. On the CPU the attention
    /// kernel (`host::attention`) rotates queries and keys itself, from the host tables.
    pub(crate) fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        let (cos, sin) = match self {
            Self::Host { cos, sin } => {
                let [_, _, len, d] = x.dims();
                let t = |v: &[f32]| {
                    Tensor::<4>::from_data(TensorData::new(v.to_vec(), [1, 1, len, d]), &x.device())
                };
                (t(cos), t(sin))
            }
            Self::Device { cos, sin } => (cos.clone(), sin.clone()),
        };
        let d = x.dims()[3];
        let x1 = x.clone().narrow(3, 0, d / 2);
        let x2 = x.clone().narrow(3, d / 2, d - d / 2);
        let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
        x * cos + rotated * sin
    }

    /// The host tables (cosine, sine), `[len, head_dim]`, on the CPU.
    pub(crate) fn host_tables(&self) -> Option<(&[f32], &[f32])> {
        match self {
            Self::Host { cos, sin } => Some((cos, sin)),
            Self::Device { .. } => None,
        }
    }
}

/// The checkpoint names of one post-norm encoder layer's tensors (BERT, DistilBERT,
/// MPNet), relative to `{prefix}.{l}`.
pub(crate) struct LayerKeys {
    pub(crate) prefix: &'static str,
    pub(crate) qkv: [&'static str; 3],
    pub(crate) attention_output: &'static str,
    pub(crate) attention_norm: &'static str,
    pub(crate) intermediate: &'static str,
    pub(crate) output: &'static str,
    pub(crate) output_norm: &'static str,
}

/// A post-norm encoder layer (BERT's, shared by DistilBERT and MPNet): attention,
/// residual + LayerNorm, feed-forward, residual + LayerNorm.
#[derive(Debug)]
pub(crate) struct PostNormLayer {
    qkv: Linear,
    attention_output: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

impl PostNormLayer {
    /// Loads layer `l` named by `keys`.
    pub(crate) fn load(
        cfg: &crate::config::ModelConfig,
        keys: &LayerKeys,
        w: &mut Weights,
        l: usize,
        device: &Device,
    ) -> Result<Self, Error> {
        let (h, i, eps) = (cfg.hidden_size, cfg.intermediate_size, cfg.layer_norm_eps);
        let p = format!("{}.{l}", keys.prefix);
        let key = |k: &str| format!("{p}.{k}");
        let names: Vec<String> = keys.qkv.iter().map(|n| key(n)).collect();
        Ok(Self {
            qkv: Linear::load_fused(w, &names, h, h, device)?,
            attention_output: Linear::load(w, &key(keys.attention_output), h, h, device)?,
            attention_norm: LayerNorm::load(w, &key(keys.attention_norm), h, eps, device)?,
            intermediate: Linear::load(w, &key(keys.intermediate), h, i, device)?,
            output: Linear::load(w, &key(keys.output), i, h, device)?,
            output_norm: LayerNorm::load(w, &key(keys.output_norm), h, eps, device)?,
        })
    }

    /// `[batch, len, h]` to `[batch, len, h]`; `lengths` are the rows' real lengths
    /// (`mask` says the same for the GPU path); `bias` (MPNet's relative position bias)
    /// is `[1, heads, len, len]`.
    pub(crate) fn forward(
        &self,
        x: Tensor<3>,
        heads: usize,
        act: Activation,
        lengths: &[usize],
        mask: Option<Tensor<4, Bool>>,
        bias: Option<Tensor<4>>,
    ) -> Tensor<3> {
        let qkv = self.qkv.forward(x.clone());
        let ctx = multi_head_attention(qkv, heads, lengths, mask, bias);
        let a = self
            .attention_norm
            .forward(self.attention_output.forward(ctx) + x);
        let i = activate(self.intermediate.forward(a.clone()), act);
        self.output_norm.forward(self.output.forward(i) + a)
    }
}
