//! `m2v-cli inspect`: what a model is (layout, dtype, sizes, tokenizer, settings, config).
//!
//! Stable interface: `m2v-cli inspect --model <hub id|dir> [--json]` (the model may
//! also be given as the first positional argument). The text form is one
//! `key: value` per line; `--json` prints one JSON object with the same keys plus
//! `config` (the config file verbatim).

use anyhow::Result;
use m2v_tokenize::json::{self, Number, Value};

use crate::input::load_model;

/// Arguments of `m2v-cli inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: super::ModelArg,
    /// Print one JSON object instead of `key: value` lines.
    #[arg(long)]
    pub json: bool,
}

fn num(x: usize) -> Value {
    Value::Number(Number {
        f: x as f64,
        i: i64::try_from(x).ok(),
    })
}

fn opt_num(x: Option<impl Into<u64>>) -> Value {
    match x {
        Some(x) => num(x.into() as usize),
        None => Value::Null,
    }
}

pub fn run(a: Args) -> Result<()> {
    let m = load_model(a.model.get())?;
    let (stored_dtype, stored_dim) = m.stored();
    let fields: Vec<(&str, Value)> = vec![
        (
            "path",
            Value::String(m.dir().map(|d| d.display().to_string()).unwrap_or_default()),
        ),
        (
            "layout",
            Value::String(m.layout().map(|l| l.name().to_string()).unwrap_or_default()),
        ),
        ("dtype", Value::String(stored_dtype.name().to_string())),
        ("vocab_size", num(m.vocab_size())),
        ("rows", num(m.rows())),
        ("dim", num(stored_dim)),
        ("tokenizer", Value::String(m.tokenizer_type().to_string())),
        ("unk_id", opt_num(m.unk_id())),
        ("median_token_length", num(m.median_token_length())),
        ("normalize", Value::Bool(m.normalize())),
        ("max_length", opt_num(m.max_length().map(|x| x as u64))),
        ("weights", Value::Bool(m.has_weights())),
        ("mapping", Value::Bool(m.has_mapping())),
    ];
    if a.json {
        let mut obj: Vec<(String, Value)> = fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        obj.push(("config".to_string(), m.config().clone()));
        println!("{}", json::to_string(&Value::Object(obj)));
    } else {
        for (k, v) in fields {
            let text = match v {
                Value::String(s) => s,
                other => json::to_string(&other),
            };
            println!("{k}: {text}");
        }
        println!("config: {}", json::to_string(m.config()));
    }
    Ok(())
}
