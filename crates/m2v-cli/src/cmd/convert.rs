//! `m2v-cli convert`: re-save a model with Python's `quantize_model` options made
//! permanent (a stored dtype, fewer dimensions, vocabulary quantization or its undoing).

use std::path::PathBuf;

use anyhow::Result;
use m2v_distill::ConvertOptions;
use m2v_static::save::OutputFolder;

/// Arguments of `m2v-cli convert`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: super::ModelArg,
    /// Folder to write the converted model to (refused if it exists and is not empty,
    /// unless --force).
    #[arg(long)]
    pub output: PathBuf,
    /// Store the embeddings as float16, float32, float64 or int8 (or f16, f32, f64, i8).
    #[arg(long, value_name = "DTYPE", value_parser = super::parse_storable_dtype)]
    pub quantize_to: Option<m2v_static::Dtype>,
    /// Keep only the first N dimensions.
    #[arg(long, value_name = "N")]
    pub dimensionality: Option<usize>,
    /// Cluster the embedding rows into K (k-means), storing a token → row mapping.
    #[arg(long, value_name = "K", conflicts_with = "unquantize_vocabulary")]
    pub vocabulary_quantization: Option<usize>,
    /// Expand a vocabulary-quantized model to one row per token (same outputs).
    #[arg(long)]
    pub unquantize_vocabulary: bool,
    /// Replace the output folder if it is not empty.
    #[arg(long)]
    pub force: bool,
    /// No summary.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(a: Args) -> Result<()> {
    let dir = super::model_dir(a.model.get())?;
    let folder = OutputFolder::new(&a.output, a.force)?;
    let opts = ConvertOptions {
        vocabulary_quantization: a.vocabulary_quantization,
        unquantize_vocabulary: a.unquantize_vocabulary,
        quantize_to: a.quantize_to,
        dimensionality: a.dimensionality,
    };
    let out = m2v_distill::convert(&dir, &opts, folder)?;
    if !a.quiet {
        println!(
            "saved {} ({} bytes)",
            out.display(),
            m2v_static::save::folder_size(&out)
        );
    }
    Ok(())
}
