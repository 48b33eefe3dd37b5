//! `m2v-cli tokenize`: the token ids `encode` averages, one JSON array per input line.
//!
//! Stable interface: `--model <hub id|dir> --input <file|-> [--output <file|->]
//! [--max-length N|none] [--lossy]`. The ids are exactly those pooled by `encode` with
//! the same options: the text cut to `max_length × median token length` characters,
//! tokenized without special tokens, truncated to `max_length` ids, unk ids removed.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};

use anyhow::{Context, Result};

use crate::input::{LineReader, MaxLength, load_model};

/// Arguments of `m2v-cli tokenize`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The static model: a local folder, or a hub id `ORG/NAME[@REVISION]` taken from
    /// the Hugging Face cache (downloaded into it first when missing, unless
    /// HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub model: String,
    /// Input text file, one text per line; `-` for stdin.
    #[arg(long, default_value = "-")]
    pub input: String,
    /// Output file; `-` for stdout.
    #[arg(long, default_value = "-")]
    pub output: String,
    /// Maximum tokens per text, or `none` (default: the model's).
    #[arg(long)]
    pub max_length: Option<MaxLength>,
    /// Replace invalid UTF-8 with U+FFFD instead of failing.
    #[arg(long)]
    pub lossy: bool,
}

pub fn run(a: Args) -> Result<()> {
    let model = load_model(&a.model)?;
    let max_length = a.max_length.map_or(model.max_length(), |m| m.0);
    let input: Box<dyn Read> = if a.input == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(&a.input).with_context(|| format!("opening {}", a.input))?)
    };
    let out: Box<dyn Write> = if a.output == "-" {
        Box::new(io::stdout().lock())
    } else {
        Box::new(File::create(&a.output).with_context(|| format!("creating {}", a.output))?)
    };
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let mut reader = LineReader::new(BufReader::with_capacity(1 << 20, input), a.lossy);
    let mut ids = Vec::new();
    let mut line = String::new();
    while let Some(text) = reader
        .next_line()
        .with_context(|| format!("reading {}", a.input))?
    {
        model.tokenize_into(&text, max_length, &mut ids);
        line.clear();
        line.push('[');
        for (k, id) in ids.iter().enumerate() {
            if k > 0 {
                line.push(',');
            }
            line.push_str(&id.to_string());
        }
        line.push_str("]\n");
        out.write_all(line.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}
