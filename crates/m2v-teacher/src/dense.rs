//! sentence-transformers' `Dense` modules (after the pooling), applied when encoding
//! sentences: `activation(x W + b)`, plus the input when `use_residual`.

use burn::tensor::{Device, Tensor, TensorData, activation};

use crate::config::{DenseActivation, DenseModule};
use crate::error::Error;
use crate::nn::Linear;
use crate::weights::Weights;

/// One loaded `Dense` module.
#[derive(Debug)]
pub(crate) struct DenseLayer {
    linear: Linear,
    /// `use_residual` with different widths: the input's projection.
    residual: Option<Linear>,
    /// `use_residual` with equal widths: the input itself is added.
    identity_residual: bool,
    activation: DenseActivation,
    input: usize,
    out: usize,
}

impl DenseLayer {
    /// Loads the module's weights (`linear.weight`, `linear.bias`, `residual.weight`)
    /// from its folder, in any checkpoint format the crate reads.
    pub(crate) fn load(dir: &std::path::Path, device: &Device) -> Result<Self, Error> {
        let m = DenseModule::from_dir(dir.to_path_buf())?;
        let mut w = Weights::open_dir(&m.dir, &[])?;
        let linear = Linear::load_with_bias(
            &mut w,
            "linear",
            m.in_features,
            m.out_features,
            m.bias,
            device,
        )?;
        let residual = if m.residual && m.in_features != m.out_features {
            Some(Linear::load_with_bias(
                &mut w,
                "residual",
                m.in_features,
                m.out_features,
                false,
                device,
            )?)
        } else {
            None
        };
        w.finish()?;
        Ok(Self {
            linear,
            input: m.in_features,
            residual,
            identity_residual: m.residual && m.in_features == m.out_features,
            activation: m.activation,
            out: m.out_features,
        })
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let y = self.linear.forward(x.clone());
        let y = match self.activation {
            DenseActivation::Identity => y,
            DenseActivation::Tanh => activation::tanh(y),
            DenseActivation::Relu => activation::relu(y),
            DenseActivation::Gelu => activation::gelu(y),
            DenseActivation::Sigmoid => activation::sigmoid(y),
        };
        match (&self.residual, self.identity_residual) {
            (Some(r), _) => y + r.forward(x),
            (None, true) => y + x,
            (None, false) => y,
        }
    }
}

/// The sentence width after `layers` (`width` when there are none); an error when a
/// layer's input does not fit the width before it.
pub(crate) fn output_width(
    layers: &[DenseLayer],
    width: usize,
    modules: &std::path::Path,
) -> Result<usize, Error> {
    let mut w = width;
    for (i, l) in layers.iter().enumerate() {
        if l.input != w {
            return Err(Error::Module {
                path: modules.to_path_buf(),
                message: format!(
                    "Dense module {} takes {} features but receives {w}",
                    i + 1,
                    l.input
                ),
            });
        }
        w = l.out;
    }
    Ok(w)
}

/// Runs `rows` (`n * width` values) through `layers` in chunks; returns the output
/// rows and their width.
pub(crate) fn apply(
    layers: &[DenseLayer],
    rows: Vec<f32>,
    width: usize,
    device: &Device,
) -> Result<(Vec<f32>, usize), Error> {
    let Some(last) = layers.last() else {
        return Ok((rows, width));
    };
    const CHUNK: usize = 512;
    let n = rows.len() / width.max(1);
    let mut out = Vec::with_capacity(n * last.out);
    for chunk in rows.chunks(CHUNK * width) {
        let m = chunk.len() / width;
        let mut x: Tensor<2> =
            Tensor::from_data(TensorData::new(chunk.to_vec(), [m, width]), device);
        for layer in layers {
            x = layer.forward(x);
        }
        out.extend(
            x.try_into_vec_as::<f32>()
                .map_err(|e| Error::Backend(e.to_string()))?,
        );
    }
    Ok((out, last.out))
}
