//! Parity with HF `tokenizers` beyond WordPiece: the tokenlearn model (Unigram with a
//! Precompiled sentencepiece normalizer and Metaspace), and BPE and WordLevel models
//! trained here with the `tokenizers` crate (byte-level GPT-2 style, and with a
//! continuing-subword prefix and end-of-word suffix).

mod common;

use common::{Pair, adversarial, corpus, model_file, train};

/// Training texts: the corpus when present, else the adversarial set repeated.
fn training_texts() -> Vec<String> {
    match corpus() {
        Some(c) => c.into_iter().step_by(7).collect(),
        None => (0..20).flat_map(|_| adversarial()).collect(),
    }
}

#[test]
fn tokenlearn_unigram_precompiled() {
    let Some(path) = model_file("pypi/tokenlearn-static-model", "tokenlearn-static-model") else {
        return;
    };
    let pair = Pair::from_file("tokenlearn", &path);
    pair.check_all(&adversarial());
    pair.check_api(&adversarial());
    if let Some(c) = corpus() {
        pair.check_all(&c);
    }
}

#[test]
fn byte_level_bpe() {
    let texts = training_texts();
    let json = train::byte_level_bpe(&texts, 4000);
    // GPT-2 itself does not add a prefix space; check both settings.
    let no_prefix = json.replace("\"add_prefix_space\":true", "\"add_prefix_space\":false");
    assert_ne!(json, no_prefix);
    let c = corpus().unwrap_or_default();
    for (name, j, n) in [
        ("byte-level BPE", &json, c.len()),
        (
            "byte-level BPE, no prefix space",
            &no_prefix,
            20_000.min(c.len()),
        ),
    ] {
        let pair = Pair::from_json(name, j);
        assert_eq!(pair.ours.model_type(), m2v_tokenize::ModelType::Bpe);
        pair.check_all(&adversarial());
        pair.check_api(&adversarial());
        pair.check_all(&c[..n]);
    }
}

#[test]
fn prefixed_bpe() {
    let texts = training_texts();
    let pair = Pair::from_json("prefixed BPE", &train::prefixed_bpe(&texts, 3000));
    pair.check_all(&adversarial());
    pair.check_api(&adversarial());
    if let Some(c) = corpus() {
        pair.check_all(&c[..20_000.min(c.len())]);
    }
}

#[test]
fn word_level() {
    let texts = training_texts();
    let pair = Pair::from_json("WordLevel", &train::word_level(&texts, 5000));
    assert_eq!(pair.ours.model_type(), m2v_tokenize::ModelType::WordLevel);
    pair.check_all(&adversarial());
    pair.check_api(&adversarial());
    if let Some(c) = corpus() {
        pair.check_all(&c[..20_000.min(c.len())]);
    }
}

/// Every normalizer and pre-tokenizer this crate implements, swapped into a trained BPE
/// (whose subword pieces make any character difference visible) and compared.
#[test]
fn components() {
    let texts = training_texts();
    let json = train::prefixed_bpe(&texts, 3000);
    let v = m2v_tokenize::json::parse(&json).unwrap_or_else(|e| panic!("{e}"));
    let normalizers = [
        r#"null"#,
        r#"{"type":"NFD"}"#,
        r#"{"type":"NFKD"}"#,
        r#"{"type":"NFC"}"#,
        r#"{"type":"NFKC"}"#,
        r#"{"type":"Sequence","normalizers":[{"type":"NFD"},{"type":"StripAccents"},{"type":"Lowercase"}]}"#,
        r#"{"type":"BertNormalizer","clean_text":false,"handle_chinese_chars":true,"strip_accents":true,"lowercase":false}"#,
        r#"{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":false,"strip_accents":null,"lowercase":false}"#,
        r#"{"type":"Sequence","normalizers":[{"type":"Strip","strip_left":true,"strip_right":true},{"type":"Replace","pattern":{"String":"  "},"content":" "},{"type":"Prepend","prepend":"_"}]}"#,
        r#"{"type":"Strip","strip_left":false,"strip_right":true}"#,
    ];
    let pre_tokenizers = [
        r#"{"type":"Whitespace"}"#,
        r#"{"type":"WhitespaceSplit"}"#,
        r#"{"type":"BertPreTokenizer"}"#,
        r#"{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},{"type":"Punctuation","behavior":"Isolated"},{"type":"Digits","individual_digits":true}]}"#,
        r#"{"type":"Sequence","pretokenizers":[{"type":"Punctuation","behavior":"MergedWithPrevious"},{"type":"Digits","individual_digits":false}]}"#,
        r#"{"type":"Sequence","pretokenizers":[{"type":"Punctuation","behavior":"MergedWithNext"},{"type":"Whitespace"}]}"#,
        r#"{"type":"Sequence","pretokenizers":[{"type":"Punctuation","behavior":"Contiguous"},{"type":"CharDelimiterSplit","delimiter":"e"}]}"#,
        r#"{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"String":"th"},"behavior":"Removed","invert":false},{"type":"WhitespaceSplit"}]}"#,
        r#"{"type":"Split","pattern":{"String":" "},"behavior":"MergedWithPrevious","invert":true}"#,
        r#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true}"#,
        r#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"never","split":false}"#,
        r#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":false}"#,
        r#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"never","split":true}"#,
        r#"{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}"#,
        r#"{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}"#,
    ];
    let sample: Vec<String> = adversarial()
        .into_iter()
        .chain(corpus().unwrap_or_default().into_iter().step_by(97))
        .collect();
    for n in normalizers {
        for p in pre_tokenizers {
            let mut w = v.clone();
            if let m2v_tokenize::json::Value::Object(top) = &mut w {
                for (k, x) in top.iter_mut() {
                    if k == "normalizer" {
                        *x = m2v_tokenize::json::parse(n).unwrap_or_else(|e| panic!("{e}"));
                    }
                    if k == "pre_tokenizer" {
                        *x = m2v_tokenize::json::parse(p).unwrap_or_else(|e| panic!("{e}"));
                    }
                }
            }
            let pair = Pair::from_json(&format!("{n} + {p}"), &m2v_tokenize::json::to_string(&w));
            pair.check_all(&sample);
        }
    }
}

/// Old files without `model.type`: each model kind is recognised by its fields as HF's
/// `ModelUntagged` does (the first of BPE, WordPiece, WordLevel, Unigram whose
/// required fields are all there), parsed lazily from the text or from a value, and
/// tokenizes as the oracle does; fields that fit no model are an error on both sides.
#[test]
fn models_without_type() {
    use m2v_tokenize::ModelType;
    let wrap = |model: &str| {
        format!(
            r#"{{"added_tokens": [], "normalizer": null,
               "pre_tokenizer": {{"type": "WhitespaceSplit"}}, "model": {model}}}"#
        )
    };
    let cases = [
        (
            ModelType::Bpe,
            r#"{"unk_token": "<unk>", "vocab": {"<unk>": 0, "a": 1, "b": 2, "ab": 3, "c": 4},
                "merges": ["a b"]}"#,
        ),
        (
            ModelType::WordPiece,
            r###"{"unk_token": "[UNK]", "continuing_subword_prefix": "##",
                "max_input_chars_per_word": 100,
                "vocab": {"[UNK]": 0, "a": 1, "##b": 2, "ab": 3, "c": 4}}"###,
        ),
        // WordPiece fields but one missing: HF falls through to WordLevel.
        (
            ModelType::WordLevel,
            r###"{"unk_token": "[UNK]", "continuing_subword_prefix": "##",
                "vocab": {"[UNK]": 0, "a": 1, "##b": 2, "ab": 3, "c": 4}}"###,
        ),
        (
            ModelType::Unigram,
            r#"{"unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.0], ["b", -2.0], ["ab", -1.5]]}"#,
        ),
    ];
    let texts: Vec<String> = ["ab abc a b c", "ba cab", "", "abab x"]
        .iter()
        .map(|s| s.to_string())
        .chain(adversarial())
        .collect();
    for (kind, model) in cases {
        let json = wrap(model);
        let pair = Pair::from_json(&format!("{kind:?} without type"), &json);
        assert_eq!(pair.ours.model_type(), kind);
        pair.check_all(&texts);
        let v = m2v_tokenize::json::parse(&json).unwrap_or_else(|e| panic!("{e}"));
        let from_value = m2v_tokenize::Tokenizer::from_value(v).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(from_value.model_type(), kind);
    }
    let fits_nothing = wrap(r#"{"vocab": {"a": 0}}"#);
    assert!(fits_nothing.parse::<tokenizers::Tokenizer>().is_err());
    let e = m2v_tokenize::Tokenizer::from_json_str(&fits_nothing).unwrap_err();
    assert!(e.to_string().contains("field `model.type`"), "{e}");
}
