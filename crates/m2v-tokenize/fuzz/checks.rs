//! The checks the fuzz targets make, shared with m2v-tokenize's replay test of the
#![allow(dead_code)] // each target uses the checks of its own name
//! committed inputs (`tests/fuzz_replay.rs`, which includes this file), so that the
//! seeds and regression inputs run in every `cargo test` without libFuzzer.

use m2v_tokenize::Tokenizer;
use m2v_tokenize::json::{self, JsonError};

/// `json`: any bytes. Never panics; a parsed value serialises to JSON that parses
/// again into a value with the same serialisation; the lazy parser and the
/// member/element readers never panic on what it skipped.
pub fn json(data: &[u8]) {
    if let Ok(v) = json::parse_bytes(data) {
        let s = json::to_string(&v);
        let w = json::parse(&s).unwrap_or_else(|e| panic!("{s:?} does not parse again: {e}"));
        assert_eq!(json::to_string(&w), s);
        let _ = json::to_python_string(&v);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let skip: &[&[&str]] = &[&["model", "vocab"], &["model", "merges"], &["a"]];
    if let Ok((_, ranges)) = json::parse_lazy(text, skip) {
        for r in ranges.into_iter().flatten() {
            assert!(r.start <= r.end && r.end <= text.len(), "{r:?}");
            let _ = json::for_each_member::<JsonError>(text, r.clone(), |_, _| Ok(()));
            let _ = json::for_each_element::<JsonError>(text, r, |_| Ok(()));
        }
    }
}

/// Fixed texts tokenized by every tokenizer that loads: empty, ASCII words, runs,
/// non-ASCII scripts, special-token look-alikes, controls.
pub const TEXTS: &[&str] = &[
    "",
    "Hello, world! It's 2024.",
    "a",
    "  x  y \t z\n",
    "ünïcödé 野口 𓀀 ꙮ \u{10ffff}",
    "<s>[CLS]<unk> ▁▁ </s><|endoftext|>",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "\u{0}\u{7}\r\n\u{200b}\u{fffd}",
];

/// Ids `encode_into` with a budget of `n` gives are the first `n` of `encode`'s.
fn check_budget(t: &Tokenizer, text: &str, all: &[u32]) {
    for n in [0, 1, 3] {
        let mut out = vec![7];
        t.encode_into(text, Some(n), &mut out);
        assert_eq!(
            &out[1..],
            &all[..n.min(all.len())],
            "budget {n} on {text:?}"
        );
    }
}

/// `tokenizer_load`: any bytes as a `tokenizer.json`. Never panics; a tokenizer that
/// loads tokenizes the fixed texts, and a token budget keeps a prefix of the ids.
pub fn tokenizer_load(data: &[u8]) {
    let Ok(t) = Tokenizer::from_bytes(data) else {
        return;
    };
    for text in TEXTS {
        let ids = t.encode(text);
        check_budget(&t, text, &ids);
        let with = t.encode_with_special_tokens(text);
        assert!(with.len() >= ids.len());
    }
    let _ = t.tokens();
}

/// The text of a `tokenize` input: the bytes after the first, as `str` when they
/// are UTF-8, else lossily decoded.
pub fn text_of(data: &[u8]) -> Option<(u8, String)> {
    let (&pick, rest) = data.split_first()?;
    Some((pick, String::from_utf8_lossy(rest).into_owned()))
}

/// `tokenize`: the first byte picks one of `tokenizers`, the rest is the text. Never
/// panics; every id is below the vocabulary size and has a token; a token budget
/// keeps a prefix of the ids.
pub fn tokenize(tokenizers: &[Tokenizer], data: &[u8]) {
    if tokenizers.is_empty() {
        return;
    }
    let Some((pick, text)) = text_of(data) else {
        return;
    };
    let t = &tokenizers[pick as usize % tokenizers.len()];
    let ids = t.encode(&text);
    for &id in &ids {
        assert!(
            (id as usize) < t.vocab_size() && t.id_to_token(id).is_some(),
            "id {id} of {text:?} (vocabulary of {})",
            t.vocab_size()
        );
    }
    check_budget(t, &text, &ids);
}

/// The ten shipped tokenizers' folder names, in the order the first byte picks them.
pub const SHIPPED: &[&str] = &[
    "bert-multilingual-cased",
    "gemma3",
    "gpt2",
    "llama2",
    "llama3",
    "mistral",
    "modernbert",
    "qwen3",
    "t5",
    "xlm-roberta",
];
