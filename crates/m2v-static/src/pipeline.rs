//! Trained pipelines: a static model followed by a small MLP head, as Python
//! `model2vec` 0.10's `StaticModelPipeline` saves and runs them (`model2vec.inference`).
//!
//! A pipeline folder is a model2vec model folder plus `head.safetensors` (tensors
//! `head.{i}.weight` `[out, in]` and `head.{i}.bias` `[out]`, `i` in `0..n_layers`) and
//! a `head_config` object in `config.json`: `{"n_layers", "activation", "classes"}`.
//! The head computes `x ↦ Wᵢ x + bᵢ` with ReLU between layers and, after the last one,
//! the activation: `softmax` (single-label classifier), `sigmoid` (multi-label) or
//! `identity` (regression or projection). A head with no layer passes the embedding
//! through.
//!
//! **Invariant** (checked at load, so inference never indexes out of bounds): the
//! first layer's input size is the model's dimension, each layer's input size is the
//! previous layer's output size, every bias has its layer's output size, and a
//! classifier has exactly one class per output.
//!
//! This module has no dependency beyond the crate's own: an application that depends
//! on `m2v-static` alone can classify (`m2v-train` trains the heads).

use std::path::{Path, PathBuf};

use m2v_tokenize::json::{self, Value};

use crate::Embeddings;
use crate::error::Error;
use crate::model::{EncodeOptions, LoadOptions, StaticModel};
use crate::safetensors::{self, Dtype, TensorSpec};
use crate::save::{ModelParts, OutputFolder, SaveOptions, write_model};

/// The head's file in a pipeline folder.
pub const HEAD_FILE: &str = "head.safetensors";

/// The largest head file read (a 16-layer 4096-wide head in f32 is about 1 GiB; real
/// heads are a few MiB).
pub const MAX_HEAD_BYTES: u64 = 1 << 30;

/// The output activation of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Single-label classification: probabilities sum to one; the prediction is the
    /// most likely class.
    Softmax,
    /// Multi-label classification: one independent probability per class; the
    /// prediction is every class above a threshold.
    Sigmoid,
    /// Regression or projection: the raw outputs.
    Identity,
}

impl Activation {
    /// The name in `head_config`.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Softmax => "softmax",
            Activation::Sigmoid => "sigmoid",
            Activation::Identity => "identity",
        }
    }

    /// Parses a `head_config` activation name.
    pub fn from_name(name: &str) -> Option<Activation> {
        match name {
            "softmax" => Some(Activation::Softmax),
            "sigmoid" => Some(Activation::Sigmoid),
            "identity" => Some(Activation::Identity),
            _ => None,
        }
    }
}

/// A class label: Python keeps the labels it was trained on, strings or integers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Label {
    /// An integer label (`[0, 1]` in `head_config.classes`).
    Int(i64),
    /// A string label (`["neg", "pos"]`).
    Str(String),
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Label::Int(i) => write!(f, "{i}"),
            Label::Str(s) => f.write_str(s),
        }
    }
}

impl Label {
    /// The label as JSON (a number or a string).
    pub fn to_value(&self) -> Value {
        match self {
            Label::Int(i) => Value::int(*i),
            Label::Str(s) => Value::string(s.clone()),
        }
    }
}

/// One linear layer: `weight` is `[out_dim, in_dim]` row-major (PyTorch's layout).
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// `out_dim × in_dim` weights, row-major.
    pub weight: Vec<f32>,
    /// `out_dim` biases.
    pub bias: Vec<f32>,
    /// Input size.
    pub in_dim: usize,
    /// Output size.
    pub out_dim: usize,
}

impl Layer {
    /// A layer from its parts; fails when the sizes disagree.
    pub fn new(weight: Vec<f32>, bias: Vec<f32>, in_dim: usize) -> Result<Layer, Error> {
        let out_dim = bias.len();
        if in_dim == 0 || out_dim == 0 || weight.len() != out_dim.saturating_mul(in_dim) {
            return Err(Error::Shape {
                path: None,
                tensor: "head layer".into(),
                shape: vec![weight.len()],
                expected: format!("{out_dim} x {in_dim} weights for {out_dim} biases"),
            });
        }
        Ok(Layer {
            weight,
            bias,
            in_dim,
            out_dim,
        })
    }

    /// `out = W x + b` for one input row.
    fn apply(&self, x: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(
            self.weight
                .chunks_exact(self.in_dim)
                .zip(&self.bias)
                .map(|(w, b)| dot(w, x) + b),
        );
    }
}

/// A dot product in eight independent f32 lanes (vectorisable; the order differs from
/// BLAS's by rounding only, far below the 1e-5 the parity tests allow).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, ra) = (a.chunks_exact(8), a.chunks_exact(8).remainder());
    let (cb, rb) = (b.chunks_exact(8), b.chunks_exact(8).remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// An MLP head: linear layers with ReLU between them, then [`Activation`].
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    layers: Vec<Layer>,
    activation: Activation,
    classes: Option<Vec<Label>>,
}

impl Head {
    /// A head from its layers; fails when consecutive sizes disagree or a classifier's
    /// classes do not match its outputs.
    pub fn new(
        layers: Vec<Layer>,
        activation: Activation,
        classes: Option<Vec<Label>>,
    ) -> Result<Head, Error> {
        let bad = |message: String| Error::Config {
            path: None,
            message,
        };
        for (i, pair) in layers.windows(2).enumerate() {
            if pair[0].out_dim != pair[1].in_dim {
                return Err(bad(format!(
                    "head layer {} outputs {} values but layer {} takes {}",
                    i,
                    pair[0].out_dim,
                    i + 1,
                    pair[1].in_dim
                )));
            }
        }
        match (&classes, activation) {
            (None, Activation::Softmax | Activation::Sigmoid) => {
                return Err(bad(format!(
                    "a {} head needs `classes` in head_config",
                    activation.name()
                )));
            }
            (Some(c), Activation::Softmax | Activation::Sigmoid) => {
                if let Some(last) = layers.last()
                    && last.out_dim != c.len()
                {
                    return Err(bad(format!(
                        "head_config has {} classes but the head outputs {} values",
                        c.len(),
                        last.out_dim
                    )));
                }
            }
            _ => {}
        }
        Ok(Head {
            layers,
            activation,
            classes,
        })
    }

    /// The layers, first to last.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The output activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The classes of a classifier, in output order.
    pub fn classes(&self) -> Option<&[Label]> {
        self.classes.as_deref()
    }

    /// The input size (`None` for a head with no layer: any size passes through).
    pub fn in_dim(&self) -> Option<usize> {
        self.layers.first().map(|l| l.in_dim)
    }

    /// The output size for inputs of size `in_dim`.
    pub fn out_dim(&self, in_dim: usize) -> usize {
        self.layers.last().map_or(in_dim, |l| l.out_dim)
    }

    /// The raw outputs (logits) of the layers for the rows of `x`.
    pub fn logits(&self, x: &Embeddings) -> Embeddings {
        let out_dim = self.out_dim(x.dim());
        let mut out = Vec::with_capacity(x.rows() * out_dim);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for row in x.iter() {
            a.clear();
            a.extend_from_slice(row);
            for (i, layer) in self.layers.iter().enumerate() {
                layer.apply(&a, &mut b);
                if i + 1 < self.layers.len() {
                    b.iter_mut().for_each(|v| *v = v.max(0.0));
                }
                std::mem::swap(&mut a, &mut b);
            }
            out.extend_from_slice(&a);
        }
        Embeddings::from_vec(out, x.rows(), out_dim).expect("rows x out_dim values")
    }

    /// The outputs after the activation: class probabilities for a classifier, the raw
    /// outputs for an identity head.
    pub fn proba(&self, x: &Embeddings) -> Embeddings {
        let mut out = self.logits(x);
        let dim = out.dim();
        if dim == 0 {
            return out;
        }
        match self.activation {
            Activation::Identity => {}
            Activation::Sigmoid => out.as_mut_slice().iter_mut().for_each(|v| *v = sigmoid(*v)),
            Activation::Softmax => out.as_mut_slice().chunks_exact_mut(dim).for_each(softmax),
        }
        out
    }

    /// Reads a head from the bytes of `head.safetensors` and the `head_config` object
    /// (`None`: Python's defaults, no layer and identity). Errors carry no path.
    pub fn from_parts(
        safetensors_bytes: &[u8],
        head_config: Option<&Value>,
    ) -> Result<Head, Error> {
        let cfg_err = |message: String| Error::Config {
            path: None,
            message,
        };
        let (n_layers, activation, classes) = match head_config {
            None | Some(Value::Null) => (0usize, Activation::Identity, None),
            Some(v @ Value::Object(_)) => {
                let n_layers = match v.get("n_layers") {
                    None => 0,
                    Some(n) => n
                        .as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .filter(|&n| n <= 1024)
                        .ok_or_else(|| {
                            cfg_err("`head_config.n_layers` is not an integer in 0..=1024".into())
                        })?,
                };
                let activation = match v.get("activation") {
                    None => Activation::Identity,
                    Some(a) => a.as_str().and_then(Activation::from_name).ok_or_else(|| {
                        cfg_err(format!(
                            "`head_config.activation` is {}, expected \"softmax\", \"sigmoid\" or \"identity\"",
                            json::to_string(a)
                        ))
                    })?,
                };
                let classes = match v.get("classes") {
                    None | Some(Value::Null) => None,
                    Some(Value::Array(items)) => Some(
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, c)| match c {
                                Value::String(s) => Ok(Label::Str(s.clone())),
                                _ => c.as_i64().map(Label::Int).ok_or_else(|| {
                                    cfg_err(format!(
                                        "`head_config.classes[{i}]` is a {}, expected a string or an integer",
                                        c.type_name()
                                    ))
                                }),
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                    Some(c) => {
                        return Err(cfg_err(format!(
                            "`head_config.classes` is a {}, expected an array or null",
                            c.type_name()
                        )));
                    }
                };
                (n_layers, activation, classes)
            }
            Some(v) => {
                return Err(cfg_err(format!(
                    "`head_config` is a {}, expected an object",
                    v.type_name()
                )));
            }
        };
        let header = safetensors::read_header(safetensors_bytes)?;
        let mut layers = Vec::with_capacity(n_layers);
        for i in 0..n_layers {
            let weight = tensor(&header, safetensors_bytes, &format!("head.{i}.weight"), 2)?;
            let bias = tensor(&header, safetensors_bytes, &format!("head.{i}.bias"), 1)?;
            let (out_dim, in_dim) = (weight.0[0], weight.0[1]);
            if bias.0[0] != out_dim {
                return Err(Error::Shape {
                    path: None,
                    tensor: format!("head.{i}.bias"),
                    shape: bias.0,
                    expected: format!("[{out_dim}], the rows of head.{i}.weight"),
                });
            }
            layers.push(Layer::new(weight.1, bias.1, in_dim)?);
        }
        Head::new(layers, activation, classes)
    }

    /// The bytes of `head.safetensors` (f32 tensors, laid out as Python's `save_file`).
    pub fn to_safetensors(&self) -> Result<Vec<u8>, Error> {
        let mut names = Vec::new();
        let mut data: Vec<(Vec<usize>, Vec<u8>)> = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            names.push(format!("head.{i}.weight"));
            data.push((vec![l.out_dim, l.in_dim], le_bytes(&l.weight)));
            names.push(format!("head.{i}.bias"));
            data.push((vec![l.out_dim], le_bytes(&l.bias)));
        }
        let tensors: Vec<(TensorSpec<'_>, &[u8])> = names
            .iter()
            .zip(&data)
            .map(|(name, (shape, bytes))| {
                (
                    TensorSpec {
                        name,
                        dtype: Dtype::F32,
                        shape,
                    },
                    bytes.as_slice(),
                )
            })
            .collect();
        safetensors::serialize(&tensors, &[])
    }

    /// The `head_config` object Python writes: `n_layers`, `activation`, `classes`.
    pub fn config_value(&self) -> Value {
        Value::Object(vec![
            ("n_layers".into(), Value::int(self.layers.len() as i64)),
            ("activation".into(), Value::string(self.activation.name())),
            (
                "classes".into(),
                match &self.classes {
                    Some(c) => Value::Array(c.iter().map(Label::to_value).collect()),
                    None => Value::Null,
                },
            ),
        ])
    }
}

fn le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A tensor of rank `rank` read as f32 (F32, F16, BF16 and F64 are accepted: heads
/// converted from scikit-learn are F64).
fn tensor(
    header: &safetensors::Header,
    file: &[u8],
    name: &str,
    rank: usize,
) -> Result<(Vec<usize>, Vec<f32>), Error> {
    let t = header.get(name).ok_or_else(|| Error::MissingTensor {
        path: None,
        name: name.to_string(),
    })?;
    if t.shape.len() != rank || t.shape.contains(&0) {
        return Err(Error::Shape {
            path: None,
            tensor: name.to_string(),
            shape: t.shape.clone(),
            expected: format!("a non-empty tensor of rank {rank}"),
        });
    }
    let bytes = t.data(file).ok_or_else(|| Error::Safetensors {
        path: None,
        message: format!("tensor `{name}` lies outside the file"),
    })?;
    let values: Vec<f32> = match t.dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F64 => bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|b| crate::f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|b| crate::bf16_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        other => {
            return Err(Error::Dtype {
                path: None,
                tensor: name.to_string(),
                dtype: other.name().to_string(),
                expected: "F32, F64, F16 or BF16",
            });
        }
    };
    Ok((t.shape.clone(), values))
}

fn sigmoid(x: f32) -> f32 {
    // numpy's stable form: no overflow of exp for large |x|.
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    row.iter_mut().for_each(|v| *v /= sum);
}

/// One prediction of [`Pipeline::predict`].
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// Single-label: the most likely class.
    Class(Label),
    /// Multi-label: every class whose probability is above the threshold, in class
    /// order (possibly none).
    Classes(Vec<Label>),
    /// Regression or projection: the outputs.
    Values(Vec<f32>),
}

/// A static model and its head, as saved by `m2v-cli train` or Python's
/// `StaticModelPipeline.save_pretrained`.
#[derive(Debug)]
pub struct Pipeline {
    model: StaticModel,
    head: Head,
}

impl Pipeline {
    /// A pipeline from a model and a head; fails when the head's input size is not the
    /// model's dimension.
    pub fn new(model: StaticModel, head: Head) -> Result<Pipeline, Error> {
        if let Some(d) = head.in_dim()
            && d != model.dim()
        {
            return Err(Error::Shape {
                path: None,
                tensor: "head.0.weight".into(),
                shape: vec![head.layers[0].out_dim, d],
                expected: format!("[_, {}], the model's dimension", model.dim()),
            });
        }
        Ok(Pipeline { model, head })
    }

    /// Loads a pipeline folder with the config's settings.
    pub fn from_pretrained(dir: impl AsRef<Path>) -> Result<Pipeline, Error> {
        Self::load(dir, &LoadOptions::default())
    }

    /// Loads a pipeline folder: the model with `opts`, then `head.safetensors` and
    /// `head_config`. `dimensionality` is refused (the head was trained on the full
    /// dimension).
    pub fn load(dir: impl AsRef<Path>, opts: &LoadOptions) -> Result<Pipeline, Error> {
        let dir = &crate::hub::resolve(dir)?;
        if opts.dimensionality.is_some() {
            return Err(Error::InvalidOption {
                option: "dimensionality",
                message: "a pipeline's head was trained on the model's full dimension".into(),
            });
        }
        let head_path = dir.join(HEAD_FILE);
        if !head_path.exists() {
            let legacy = dir.join("pipeline.skops");
            return Err(Error::File {
                path: head_path,
                message: if legacy.exists() {
                    "not found; this folder holds a legacy `pipeline.skops` head: convert it with \
                     Python model2vec's `convert_legacy_pipeline` and save it again"
                        .into()
                } else {
                    "not found: this folder is a model, not a pipeline".into()
                },
            });
        }
        let model = StaticModel::load(dir, opts)?;
        let bytes = crate::files::read_regular(&head_path, Some(MAX_HEAD_BYTES))?;
        let config_path = model
            .layout()
            .map(|l| l.files(dir).config)
            .unwrap_or_else(|| dir.join("config.json"));
        let head =
            Head::from_parts(&bytes, model.config().get("head_config")).map_err(|e| match e {
                Error::Config { .. } => e.with_path(&config_path),
                e => e.with_path(&head_path),
            })?;
        Pipeline::new(model, head).map_err(|e| e.with_path(&head_path))
    }

    /// The static model.
    pub fn model(&self) -> &StaticModel {
        &self.model
    }

    /// The head.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The static model without its head (Python's `to_static_model`, on a loaded
    /// pipeline).
    pub fn into_static_model(self) -> StaticModel {
        self.model
    }

    /// The head's raw outputs for `texts` (logits for a classifier).
    pub fn logits<S: AsRef<str> + Sync>(&self, texts: &[S], opts: &EncodeOptions) -> Embeddings {
        self.head.logits(&self.model.encode_with(texts, opts))
    }

    /// Class probabilities (softmax or sigmoid), as Python's `predict_proba`; an
    /// identity head is refused as Python refuses it.
    pub fn predict_proba<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        opts: &EncodeOptions,
    ) -> Result<Embeddings, Error> {
        if self.head.activation == Activation::Identity {
            return Err(Error::InvalidOption {
                option: "predict_proba",
                message: "this pipeline is a regression/projection head (identity activation), \
                          it has no probabilities"
                    .into(),
            });
        }
        Ok(self.head.proba(&self.model.encode_with(texts, opts)))
    }

    /// Predictions as Python's `predict`: the most likely class (softmax), every class
    /// with probability `> threshold` (sigmoid), or the outputs (identity).
    pub fn predict<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        opts: &EncodeOptions,
        threshold: f32,
    ) -> Vec<Prediction> {
        let out = self.head.proba(&self.model.encode_with(texts, opts));
        let classes = self.head.classes.as_deref().unwrap_or(&[]);
        out.iter()
            .map(|row| match self.head.activation {
                Activation::Identity => Prediction::Values(row.to_vec()),
                Activation::Softmax => {
                    // argmax, first maximum on ties (numpy's argmax).
                    let mut best = 0;
                    for (i, &v) in row.iter().enumerate() {
                        if v > row[best] {
                            best = i;
                        }
                    }
                    Prediction::Class(classes[best].clone())
                }
                Activation::Sigmoid => Prediction::Classes(
                    row.iter()
                        .zip(classes)
                        .filter(|(p, _)| **p > threshold)
                        .map(|(_, c)| c.clone())
                        .collect(),
                ),
            })
            .collect()
    }

    /// Saves the pipeline as Python's `StaticModelPipeline.save_pretrained` does (the
    /// model folder, `head.safetensors`, `head_config` in `config.json`), atomically.
    pub fn save_pretrained_with(
        &self,
        output: impl AsRef<Path>,
        opts: &SaveOptions,
    ) -> Result<PathBuf, Error> {
        save_pipeline(output.as_ref(), &self.model.to_parts()?, &self.head, opts)
    }
}

/// Writes a pipeline folder: the model `parts` (with `head_config` added to their
/// config) and `head.safetensors`, into a temporary folder renamed onto `output` at the
/// end (see [`crate::save`]).
pub fn save_pipeline(
    output: &Path,
    parts: &ModelParts<'_>,
    head: &Head,
    opts: &SaveOptions,
) -> Result<PathBuf, Error> {
    let dim = parts.embeddings.shape.get(1).copied().unwrap_or(0);
    if let Some(d) = head.in_dim()
        && d != dim
    {
        return Err(Error::Shape {
            path: None,
            tensor: "head.0.weight".into(),
            shape: vec![head.layers[0].out_dim, d],
            expected: format!("[_, {dim}], the model's dimension"),
        });
    }
    let mut parts = parts.clone();
    if !matches!(parts.config, Value::Object(_)) {
        parts.config = Value::Object(Vec::new());
    }
    parts.config.set("head_config", head.config_value());
    let folder = OutputFolder::new(output, opts.force)?;
    write_model(&folder, &parts)?;
    folder.write(HEAD_FILE, &head.to_safetensors()?)?;
    folder.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(out: usize, inp: usize, seed: f32) -> Layer {
        let w = (0..out * inp)
            .map(|i| ((i as f32 + seed) * 0.37).sin())
            .collect();
        let b = (0..out)
            .map(|i| (i as f32 * 0.11 - seed).cos() * 0.1)
            .collect();
        Layer::new(w, b, inp).unwrap()
    }

    #[test]
    fn softmax_rows_sum_to_one_and_sigmoid_is_stable() {
        let head = Head::new(
            vec![layer(5, 4, 1.0), layer(3, 5, 2.0)],
            Activation::Softmax,
            Some(vec![Label::Int(0), Label::Int(1), Label::Int(2)]),
        )
        .unwrap();
        let x = Embeddings::from_vec(vec![0.5, -1.0, 2.0, 0.1, 0.0, 0.0, 0.0, 0.0], 2, 4).unwrap();
        let p = head.proba(&x);
        for row in p.iter() {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-7);
    }

    #[test]
    fn logits_match_a_hand_computed_mlp() {
        // 2 -> 2 (ReLU) -> 1, weights chosen so one hidden unit is clipped.
        let l0 = Layer::new(vec![1.0, 2.0, -3.0, 1.0], vec![0.5, 0.0], 2).unwrap();
        let l1 = Layer::new(vec![2.0, 10.0], vec![-1.0], 2).unwrap();
        let head = Head::new(vec![l0, l1], Activation::Identity, None).unwrap();
        let x = Embeddings::from_vec(vec![1.0, 1.0], 1, 2).unwrap();
        // hidden = relu([1+2+0.5, -3+1]) = [3.5, 0]; out = 2*3.5 + 0 - 1 = 6.
        assert_eq!(head.logits(&x).row(0), &[6.0]);
    }

    #[test]
    fn head_round_trips_through_safetensors_and_config() {
        let head = Head::new(
            vec![layer(6, 4, 0.3), layer(2, 6, 0.7)],
            Activation::Sigmoid,
            Some(vec![Label::Str("a".into()), Label::Str("b".into())]),
        )
        .unwrap();
        let bytes = head.to_safetensors().unwrap();
        let cfg = json::parse(&json::to_string(&head.config_value())).unwrap();
        assert_eq!(Head::from_parts(&bytes, Some(&cfg)).unwrap(), head);
    }

    #[test]
    fn inconsistent_heads_are_refused_with_the_reason() {
        let e = Head::new(
            vec![layer(6, 4, 0.0), layer(2, 5, 0.0)],
            Activation::Identity,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("outputs 6 values but layer 1 takes 5"), "{e}");
        let e = Head::new(
            vec![layer(3, 4, 0.0)],
            Activation::Softmax,
            Some(vec![Label::Int(0), Label::Int(1)]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("2 classes but the head outputs 3"), "{e}");
        let e = Head::new(vec![layer(3, 4, 0.0)], Activation::Softmax, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs `classes`"), "{e}");
        let bytes = Head::new(vec![layer(2, 4, 0.0)], Activation::Identity, None)
            .unwrap()
            .to_safetensors()
            .unwrap();
        let cfg = json::parse(r#"{"n_layers": 2, "activation": "identity"}"#).unwrap();
        let e = Head::from_parts(&bytes, Some(&cfg))
            .unwrap_err()
            .to_string();
        assert!(e.contains("head.1.weight"), "{e}");
        let cfg = json::parse(r#"{"n_layers": 1, "activation": "tanh"}"#).unwrap();
        let e = Head::from_parts(&bytes, Some(&cfg))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"tanh\""), "{e}");
    }
}
