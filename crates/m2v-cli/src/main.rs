//! `m2v-cli`: the m2v command line, a thin layer over the library crates.
//!
//! Each subcommand is a short function in its own module under `cmd/`: parse flags with
//! clap into a plain struct, convert once into what the libraries need, call them.
//! Errors go to stderr with a non-zero exit code; results go to stdout or `--output`.

#![forbid(unsafe_code)]

mod cmd;
mod input;

use clap::{Parser, Subcommand};

/// m2v: turn sentence transformers into tiny, fast static embedding models, and use them.
#[derive(Debug, Parser)]
#[command(name = "m2v-cli", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Distill a sentence transformer into a static model (model2vec format).
    Distill(Box<cmd::distill::Args>),
    /// Re-save a static model with a new dtype, fewer dimensions, or (un)quantized
    /// vocabulary (Python model2vec's `quantize_model`, made permanent).
    Convert(cmd::convert::Args),
    /// Print the local folder of a model: a folder as given, or a hub id resolved through the
    /// Hugging Face cache (downloaded first unless HF_HUB_OFFLINE=1).
    Resolve(cmd::resolve::Args),
    /// Embed texts with a static model: one row per input line (npy, jsonl or safetensors).
    Encode(cmd::encode::Args),
    /// Print the token ids `encode` averages, one JSON array per input line.
    Tokenize(cmd::tokenize::Args),
    /// Describe a static model: layout, dtype, sizes, tokenizer, settings, config.
    Inspect(cmd::inspect::Args),
    /// Upload a model folder to the Hugging Face hub (creating the repository if needed).
    Push(cmd::push::Args),
    /// Fine-tune a static model with a classifier or regression head (model2vec.train),
    /// saved as a pipeline Python's StaticModelPipeline loads.
    Train(Box<cmd::train::Args>),
    /// Run a pipeline on texts (one per line): JSON lines with the label(s) or values.
    Predict(cmd::train::PredictArgs),
    /// Score a classification pipeline on labelled data (precision, recall, F1, accuracy).
    Evaluate(cmd::train::EvaluateArgs),
    /// Serve models and pipelines over HTTP: OpenAI /v1/embeddings, TEI /embed and
    /// /predict, /metrics, /openapi.json and a demo page at /.
    Serve(cmd::serve::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Distill(a) => cmd::distill::run(*a),
        Command::Convert(a) => cmd::convert::run(a),
        Command::Resolve(a) => cmd::resolve::run(a),
        Command::Encode(a) => cmd::encode::run(a),
        Command::Tokenize(a) => cmd::tokenize::run(a),
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Push(a) => cmd::push::run(a),
        Command::Train(a) => cmd::train::run(*a),
        Command::Predict(a) => cmd::train::predict(a),
        Command::Evaluate(a) => cmd::train::evaluate(a),
        Command::Serve(a) => cmd::serve::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
