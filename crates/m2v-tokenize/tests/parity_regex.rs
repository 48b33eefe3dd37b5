//! Parity with HF `tokenizers` for the `{"Regex": ...}` patterns: `Split` with a regex
//! under every behavior, with and without `invert`, and `Replace` with a regex, swapped
//! into a trained BPE. The real tokenizers that use regexes (XLM-RoBERTa, T5, Qwen3,
//! Llama 3) are checked in `parity_files.rs`.

mod common;

use common::{Pair, adversarial, corpus, regex_texts, train};

fn texts() -> Vec<String> {
    adversarial().into_iter().chain(regex_texts()).collect()
}

/// Training texts: the corpus when present, else the adversarial set repeated.
fn training_texts() -> Vec<String> {
    match corpus() {
        Some(c) => c.into_iter().step_by(7).collect(),
        None => (0..20).flat_map(|_| adversarial()).collect(),
    }
}

/// `Split` with regex patterns under every behavior and `invert`, and `Replace` with
/// regex patterns, in a trained BPE.
#[test]
fn regex_components() {
    let json = train::prefixed_bpe(&training_texts(), 3000);
    let v = m2v_tokenize::json::parse(&json).unwrap_or_else(|e| panic!("{e}"));
    let sample: Vec<String> = texts()
        .into_iter()
        .chain(corpus().unwrap_or_default().into_iter().step_by(97))
        .collect();
    let gpt4 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    let patterns = [
        gpt4,
        r"\s+",
        r" ?\p{L}+",
        r"\p{N}",
        r"[aeiou]+",
        r"(?i:th|[xyz])",
        r"\w+(?=\s)",
        r"[^\s\p{L}]+?",
        r"\s*",
        r"\p{Lu}?\p{Ll}+|\d{1,3}|[\p{P}\p{S}]",
    ];
    let behaviors = [
        "Removed",
        "Isolated",
        "MergedWithPrevious",
        "MergedWithNext",
        "Contiguous",
    ];
    let mut cases: Vec<(String, String)> = Vec::new();
    for p in patterns {
        let quoted = m2v_tokenize::json::to_string(&m2v_tokenize::json::Value::String(p.into()));
        for b in behaviors {
            for invert in [false, true] {
                let pre = format!(
                    r#"{{"type":"Split","pattern":{{"Regex":{quoted}}},"behavior":"{b}","invert":{invert}}}"#
                );
                cases.push(("null".into(), pre));
            }
        }
        cases.push((
            format!(r#"{{"type":"Replace","pattern":{{"Regex":{quoted}}},"content":"_"}}"#),
            r#"{"type":"Whitespace"}"#.into(),
        ));
    }
    cases.push((
        r#"{"type":"Sequence","normalizers":[{"type":"Replace","pattern":{"Regex":" {2,}"},"content":"▁"},{"type":"Replace","pattern":{"Regex":"[\\r\\n]+"},"content":""}]}"#.into(),
        r#"{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"\\s+(?!\\S)|\\s+"},"behavior":"MergedWithNext","invert":false},{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true}]}"#.into(),
    ));
    for (n, p) in cases {
        let mut w = v.clone();
        if let m2v_tokenize::json::Value::Object(top) = &mut w {
            for (k, x) in top.iter_mut() {
                if k == "normalizer" {
                    *x = m2v_tokenize::json::parse(&n).unwrap_or_else(|e| panic!("{e}"));
                }
                if k == "pre_tokenizer" {
                    *x = m2v_tokenize::json::parse(&p).unwrap_or_else(|e| panic!("{e}"));
                }
            }
        }
        let pair = Pair::from_json(&format!("{n} + {p}"), &m2v_tokenize::json::to_string(&w));
        pair.check_all(&sample);
    }
}

/// A pattern the engine does not implement is an error naming it, not a panic.
#[test]
fn unsupported_regex_is_an_error() {
    let json = r#"{
      "added_tokens": [],
      "normalizer": null,
      "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(?<=a)b"},
                        "behavior": "Isolated", "invert": false},
      "model": {"type": "WordLevel", "unk_token": "[UNK]", "vocab": {"[UNK]": 0}}
    }"#;
    let e = m2v_tokenize::Tokenizer::from_json_str(json).unwrap_err();
    assert!(
        matches!(e, m2v_tokenize::Error::Regex { ref message, .. } if message.contains("`(?<=a)b`")),
        "{e:?}"
    );
    assert!(e.to_string().contains("pre_tokenizer.pattern.Regex"), "{e}");
}
