//! The model2vec-rs side of the whole-process encode comparison
//! (`scripts/encode_process.py`, docs/bench.md "Whole-process encode"): the minimal
//! program a model2vec-rs user would write to embed a file of texts.
//!
//! `peer-encode MODEL_DIR INPUT OUTPUT`: loads the model, reads INPUT (one text per
//! line), encodes every line (`encode_flat_with_args`, max length 512, on the
//! `tokenizers` crate's rayon pool: all cores), and writes the rows to OUTPUT as raw
//! little-endian f32, the bytes `m2v-cli encode` writes after its npy header.
//! Built only with the `peers` feature.

#![forbid(unsafe_code)]

use std::io::Write;

use anyhow::{Context, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, input, output] = args.as_slice() else {
        anyhow::bail!("usage: peer-encode MODEL_DIR INPUT OUTPUT");
    };
    let model = model2vec_rs::model::StaticModel::from_pretrained(model, None, None, None)
        .with_context(|| format!("loading {model}"))?;
    let text = std::fs::read_to_string(input).with_context(|| format!("reading {input}"))?;
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let flat = model.encode_flat_with_args(&lines, Some(512));
    let mut bytes = Vec::with_capacity(flat.len() * 4);
    for x in &flat {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    let mut f = std::fs::File::create(output).with_context(|| format!("creating {output}"))?;
    f.write_all(&bytes)
        .and_then(|()| f.flush())
        .with_context(|| format!("writing {output}"))?;
    Ok(())
}
