//! The teacher's `tokenizer.json` as the reference receives it: what
//! `transformers.AutoTokenizer` (5.x, as pinned by model2vec 0.10's `transformers<5.4`)
//! and skeletoken's `from_transformers_tokenizer` change on the way.
//!
//! - `XLMRobertaTokenizer` (XLM-R, multilingual-e5, bge-m3, paraphrase-multilingual):
//!   transformers 5 rebuilds the pipeline around the file's vocabulary. Normalizer: the
//!   file's `Precompiled` map alone (its `Replace(" {2,}")` is gone; none without a
//!   map); pre-tokenizer: `WhitespaceSplit` + `Metaspace(prepend_scheme="always",
//!   split=true)` (`"never"` with `add_prefix_space: false`); decoder: that `Metaspace`;
//!   Unigram `unk_id` 3. The tokens, the post-processor's bos/eos and so the rows do not
//!   change; the distilled `tokenizer.json` does (multiple spaces, trailing spaces).
//! - `Qwen2Tokenizer` (Qwen 2, 2.5, 3, Qwen3-Embedding): transformers 5 rebuilds it around
//!   the file's BPE vocabulary and merges with the class's own pipeline: normalizer `NFC`,
//!   pre-tokenizer the class's regex `Split` (isolated) + `ByteLevel(add_prefix_space=
//!   <config's, else false>, trim_offsets=true, use_regex=false)`, decoder `ByteLevel()`
//!   (all defaults: `true`). The file's post-processor stays. For the Qwen files this
//!   changes only `trim_offsets` and the decoder's flags, so tokens and rows do not
//!   change; the distilled `tokenizer.json` does.
//! - `clean_up_tokenization_spaces: true` in `tokenizer_config.json`: skeletoken appends
//!   its clean-up block (a `Fuse` and ten `Replace`s) to the decoder.
//!
//! Other classes that transformers 5 rebuilds (`T5Tokenizer`, `LlamaTokenizer`, ...) are
//! taken as their file says; `PreTrainedTokenizerFast` is always taken as is.

use m2v_tokenize::json::{Number, Value};

fn s(v: &str) -> Value {
    Value::string(v)
}

fn obj(members: Vec<(&str, Value)>) -> Value {
    Value::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// The first `Precompiled` normalizer, alone or inside a `Sequence`.
fn precompiled(normalizer: &Value) -> Option<&Value> {
    match normalizer.get("type").and_then(Value::as_str) {
        Some("Precompiled") => Some(normalizer),
        Some("Sequence") => normalizer
            .get("normalizers")
            .and_then(Value::as_array)?
            .iter()
            .find_map(precompiled),
        _ => None,
    }
}

/// skeletoken's `_clean_up_tokenization_spaces_block`.
fn clean_up_block() -> Value {
    const REPLACEMENTS: [(&str, &str); 10] = [
        (" .", "."),
        (" ?", "?"),
        (" !", "!"),
        (" ,", ","),
        (" ' ", "'"),
        (" n't", "n't"),
        (" 'm", "'m"),
        (" 's", "'s"),
        (" 've", "'ve"),
        (" 're", "'re"),
    ];
    let mut steps = vec![obj(vec![("type", s("Fuse"))])];
    steps.extend(REPLACEMENTS.iter().map(|(p, c)| {
        obj(vec![
            ("type", s("Replace")),
            ("pattern", obj(vec![("String", s(p))])),
            ("content", s(c)),
        ])
    }));
    obj(vec![
        ("type", s("Sequence")),
        ("decoders", Value::Array(steps)),
    ])
}

/// transformers' `Qwen2Tokenizer.PRETOKENIZE_REGEX`.
const QWEN2_PRETOKENIZE_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// A `ByteLevel` pre-tokenizer or decoder, members as HF tokenizers writes them.
fn byte_level(add_prefix_space: bool, trim_offsets: bool, use_regex: bool) -> Value {
    obj(vec![
        ("type", s("ByteLevel")),
        ("add_prefix_space", Value::Bool(add_prefix_space)),
        ("trim_offsets", Value::Bool(trim_offsets)),
        ("use_regex", Value::Bool(use_regex)),
    ])
}

/// Applies the changes above to `tokenizer` (the teacher's `tokenizer.json`), given its
/// `tokenizer_config.json` (`Value::Null` when there is none).
pub(crate) fn as_loaded(tokenizer: &mut Value, config: &Value) {
    let flag = |k: &str| config.get(k).and_then(Value::as_bool);
    if config.get("tokenizer_class").and_then(Value::as_str) == Some("XLMRobertaTokenizer") {
        let scheme = if flag("add_prefix_space").unwrap_or(true) {
            "always"
        } else {
            "never"
        };
        let metaspace = obj(vec![
            ("type", s("Metaspace")),
            ("replacement", s("\u{2581}")),
            ("prepend_scheme", s(scheme)),
            ("split", Value::Bool(true)),
        ]);
        let normalizer = tokenizer
            .get("normalizer")
            .and_then(precompiled)
            .cloned()
            .unwrap_or(Value::Null);
        tokenizer.set("normalizer", normalizer);
        tokenizer.set(
            "pre_tokenizer",
            obj(vec![
                ("type", s("Sequence")),
                (
                    "pretokenizers",
                    Value::Array(vec![
                        obj(vec![("type", s("WhitespaceSplit"))]),
                        metaspace.clone(),
                    ]),
                ),
            ]),
        );
        tokenizer.set("decoder", metaspace);
        if let Value::Object(members) = tokenizer
            && let Some((_, model)) = members.iter_mut().find(|(k, _)| k == "model")
            && model.get("type").and_then(Value::as_str) == Some("Unigram")
        {
            model.set("unk_id", Value::Number(Number { f: 3.0, i: Some(3) }));
            if model.get("byte_fallback").is_none() {
                model.set("byte_fallback", Value::Bool(false));
            }
        }
    }
    if config.get("tokenizer_class").and_then(Value::as_str) == Some("Qwen2Tokenizer") {
        let split = obj(vec![
            ("type", s("Split")),
            ("pattern", obj(vec![("Regex", s(QWEN2_PRETOKENIZE_REGEX))])),
            ("behavior", s("Isolated")),
            ("invert", Value::Bool(false)),
        ]);
        let bytes = byte_level(flag("add_prefix_space").unwrap_or(false), true, false);
        tokenizer.set("normalizer", obj(vec![("type", s("NFC"))]));
        tokenizer.set(
            "pre_tokenizer",
            obj(vec![
                ("type", s("Sequence")),
                ("pretokenizers", Value::Array(vec![split, bytes])),
            ]),
        );
        tokenizer.set("decoder", byte_level(true, true, true));
    }
    if flag("clean_up_tokenization_spaces") == Some(true) {
        let decoder = tokenizer.get("decoder").cloned().unwrap_or(Value::Null);
        let block = clean_up_block();
        let new = match decoder.get("type").and_then(Value::as_str) {
            None => block,
            Some("Sequence") => {
                let mut steps = decoder
                    .get("decoders")
                    .and_then(Value::as_array)
                    .map(<[Value]>::to_vec)
                    .unwrap_or_default();
                steps.push(block);
                obj(vec![
                    ("type", s("Sequence")),
                    ("decoders", Value::Array(steps)),
                ])
            }
            Some(_) => obj(vec![
                ("type", s("Sequence")),
                ("decoders", Value::Array(vec![decoder, block])),
            ]),
        };
        tokenizer.set("decoder", new);
    }
}
