//! Re-saving an existing model with Python's `quantize_model` (and load-time options)
//! made permanent: vocabulary quantization, a stored dtype, fewer dimensions, or the
//! opposite of vocabulary quantization.

use std::path::{Path, PathBuf};

use m2v_reduce::KMeansOptions;
use m2v_static::save::{self, ModelParts, OutputFolder, TensorData};
use m2v_static::{Dtype, LoadOptions, StaticModel};
use m2v_tokenize::json;

use crate::error::Error;

/// What to change. All `None`/`false` re-saves the model as it is (in the model2vec
/// layout, whatever layout it was loaded from).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConvertOptions {
    /// Cluster the rows into this many (k-means), storing a token → row `mapping`
    /// (Python's `vocabulary_quantization`; refused on an already quantized model).
    pub vocabulary_quantization: Option<usize>,
    /// Expand a vocabulary-quantized model back to one row per token (the rows each
    /// token maps to; same outputs, no mapping).
    pub unquantize_vocabulary: bool,
    /// Store the matrix in this dtype (F16, F32, F64 or I8; Python's `quantize_to`).
    pub quantize_to: Option<Dtype>,
    /// Keep the first `dimensionality` columns (Python's `dimensionality`).
    pub dimensionality: Option<usize>,
}

/// Loads the model in `model_dir`, applies `opts` in Python's order (vocabulary
/// quantization, then `quantize_to`, then `dimensionality`) and writes the result into
/// `output` (made by the caller before the work, so a bad path fails first).
///
/// Quantizing to a dtype and truncating equal Python's `quantize_model` bit for bit.
/// Vocabulary quantization follows Python's `quantize_vocabulary` (weights: the
/// model's, else the row norms, rows divided by them; k-means on f32, `random_state`
/// 42, centres cast back to the stored dtype; weights computed from norms are stored
/// in f32), with our own seeded k-means: clusterings as good as Python's, not the same.
pub fn convert(
    model_dir: &Path,
    opts: &ConvertOptions,
    output: OutputFolder,
) -> Result<PathBuf, Error> {
    if opts.vocabulary_quantization.is_some() && opts.unquantize_vocabulary {
        return Err(Error::InvalidOption {
            option: "unquantize_vocabulary",
            message: "cannot be combined with vocabulary_quantization".into(),
        });
    }
    if let Some(d) = opts.quantize_to
        && !Dtype::STORABLE.contains(&d)
    {
        return Err(Error::InvalidOption {
            option: "quantize_to",
            message: format!(
                "{} is not one of float16, float32, float64, int8",
                d.numpy_name()
            ),
        });
    }
    let model = StaticModel::load(model_dir, &LoadOptions::new())?;
    let mut parts = model.to_parts()?;
    let vocab = model.vocab_size();
    if let Some(k) = opts.vocabulary_quantization {
        quantize_vocabulary(&mut parts, vocab, k)?;
    }
    if opts.unquantize_vocabulary {
        unquantize_vocabulary(&mut parts, vocab)?;
    }
    // The dtype and dimensionality steps are the loader's (`LoadOptions::dtype` and
    // `dimensionality`, which follow `quantize_and_reduce_dim`): reload the parts from
    // memory with them, and take the result's parts.
    let mut load = LoadOptions::new().normalize(model.normalize());
    load = load.max_length(model.max_length());
    if let Some(d) = opts.quantize_to {
        load = load.dtype(d);
    }
    if let Some(k) = opts.dimensionality {
        load = load.dimensionality(k);
    }
    let rows = parts.embeddings.shape[0];
    let config = save::config_for_save(
        parts.config.clone(),
        parts.embeddings.dtype,
        parts.mapping.as_ref().map(|_| rows),
    );
    let converted = StaticModel::from_bytes(
        &parts.tokenizer_json,
        save::safetensors_bytes(&parts)?,
        json::to_python_string(&config).as_bytes(),
        &load,
    )?;
    let mut out = converted.to_parts()?;
    let mut card = parts.card.clone();
    card.dim = out.embeddings.shape[1];
    card.dtype = out.embeddings.dtype.numpy_name().to_string();
    out.card = card;
    save::write_model(&output, &out)?;
    Ok(output.commit()?)
}

fn quantize_vocabulary(parts: &mut ModelParts<'_>, vocab: usize, k: usize) -> Result<(), Error> {
    let e = &parts.embeddings;
    let (rows, cols) = (e.shape[0], e.shape[1]);
    if parts.mapping.is_some() || rows != vocab {
        return Err(Error::InvalidOption {
            option: "vocabulary_quantization",
            message: "the model is already vocabulary-quantized (unquantize it first)".into(),
        });
    }
    let dtype = e.dtype;
    if !matches!(dtype, Dtype::F16 | Dtype::F32 | Dtype::F64) {
        return Err(Error::InvalidOption {
            option: "vocabulary_quantization",
            message: format!(
                "needs a float model; this one stores {} (convert from the float model, \
                 or quantize to int8 in the same step)",
                dtype.numpy_name()
            ),
        });
    }
    let mut data = e.to_f32().unwrap_or_default();
    // Python: without weights, the row norms are the weights and the rows are
    // normalized before clustering, "so we don't bias the clustering".
    if parts.weights.is_none() {
        let mut norms = Vec::with_capacity(rows);
        for row in data.chunks_exact_mut(cols) {
            let n = row.iter().map(|x| x * x).sum::<f32>().sqrt() + 1e-32;
            row.iter_mut().for_each(|x| *x /= n);
            norms.push(n);
        }
        parts.weights = Some(TensorData::from_f32(&norms));
    }
    let c = m2v_reduce::kmeans(&data, rows, cols, k, &KMeansOptions::default())?;
    let bytes: Vec<u8> = match dtype {
        Dtype::F16 => c
            .centres
            .iter()
            .flat_map(|&x| m2v_static::f32_to_f16(x).to_le_bytes())
            .collect(),
        Dtype::F64 => c
            .centres
            .iter()
            .flat_map(|&x| f64::from(x).to_le_bytes())
            .collect(),
        _ => c.centres.iter().flat_map(|x| x.to_le_bytes()).collect(),
    };
    parts.embeddings = TensorData {
        dtype,
        shape: vec![k, cols],
        bytes,
    };
    parts.mapping = Some(TensorData::from_i32(&c.labels));
    Ok(())
}

fn unquantize_vocabulary(parts: &mut ModelParts<'_>, vocab: usize) -> Result<(), Error> {
    let Some(mapping) = parts.mapping.take() else {
        return Err(Error::InvalidOption {
            option: "unquantize_vocabulary",
            message: "the model is not vocabulary-quantized (it has no mapping)".into(),
        });
    };
    let e = &parts.embeddings;
    let width = e.shape[1] * e.dtype.size();
    let rows = e.shape[0];
    let mut bytes = Vec::with_capacity(vocab * width);
    for c in mapping.bytes.as_chunks::<4>().0 {
        let r = i32::from_le_bytes(*c);
        // The loader checked every mapping entry against the rows.
        let r = usize::try_from(r).unwrap_or(0).min(rows.saturating_sub(1));
        bytes.extend_from_slice(&e.bytes[r * width..(r + 1) * width]);
    }
    parts.embeddings = TensorData {
        dtype: e.dtype,
        shape: vec![vocab, e.shape[1]],
        bytes,
    };
    Ok(())
}
