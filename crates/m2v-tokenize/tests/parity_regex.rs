//! Parity with HF `tokenizers` for the `{"Regex": ...}` patterns: the real tokenizers
//! that need them (XLM-RoBERTa and T5 normalize with `Replace` on ` {2,}`, Qwen3 and
//! Llama 3 pre-tokenize with `Split` on the GPT-4 style pattern), and `Split` with a
//! regex under every behavior, with and without `invert`, and `Replace` with a regex,
//! swapped into a trained BPE.

mod common;

use std::path::PathBuf;

use common::{Pair, adversarial, corpus, train};

/// A tokenizer shipped in the shared data, or `None` (skipped).
fn shared_tokenizer(name: &str) -> Option<PathBuf> {
    let p = m2v_hub::testing::shared_data()?
        .join("tokenizers")
        .join(name)
        .join("tokenizer.json");
    p.is_file().then_some(p)
}

/// Texts aimed at the regex patterns: contractions in every case (and with the long s
/// that `(?i)` folds to `s`), runs of spaces, tabs and newlines before words, numbers
/// and punctuation, digit runs of every length.
fn regex_texts() -> Vec<String> {
    let mut v: Vec<String> = [
        "I'm, you're, he's, we've, they'll, she'd, it't",
        "I'M YOU'RE HE'S WE'VE THEY'LL SHE'D 'Ll 'lL 'rE",
        "'\u{17f} 'ſ 'K \u{212a}",
        "'x ' 's's ''s",
        "a  b   c    d     e",
        "  leading and trailing  ",
        "\t\ttabs\t \t",
        "line\nbreaks\r\nand\r\rreturns\n\n\n",
        " \n \n x",
        "   \n",
        "x \r\n\t y",
        "1 12 123 1234 12345 123456 1234567",
        "٣٤٥٦ ²³¹ ½ ⅔ Ⅻ",
        "a1b22c333d4444",
        "!!! ?? ... ,,, -- —— ...\n\n",
        " !x ?y \"z\" (w) [v] {u}",
        "foo.bar(baz); // qux\n\tif (x) { return y; }",
        "e\u{301}tude \u{301}\u{302}x",
        "😀x x😀 😀 😀😀 ok",
        "中文 字符",
        "\u{a0}x\u{3000}y\u{2009}z",
        "   ",
        "\n",
        " ",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(" ".repeat(3000));
    v.push(format!("{}x", " ".repeat(3000)));
    v.push("9".repeat(1000));
    v.push("\n ".repeat(500));
    v
}

fn texts() -> Vec<String> {
    adversarial().into_iter().chain(regex_texts()).collect()
}

fn check_file(name: &str) {
    let Some(path) = shared_tokenizer(name) else {
        return;
    };
    let pair = Pair::from_file(name, &path);
    pair.check_all(&texts());
    pair.check_api(&texts());
    if let Some(c) = corpus() {
        pair.check_all(&c);
    }
}

#[test]
fn xlm_roberta() {
    check_file("xlm-roberta");
}

#[test]
fn t5() {
    check_file("t5");
}

#[test]
fn qwen3() {
    check_file("qwen3");
}

#[test]
fn llama3() {
    check_file("llama3");
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
