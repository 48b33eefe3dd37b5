//! Parity with HF `tokenizers` on the ten real `tokenizer.json` files of the shared data
//! (`data/tokenizers/<name>/tokenizer.json`): every file loads, and gives the oracle's
//! ids on the adversarial texts, the regex-aimed texts and the benchmark corpus, and
//! the oracle's answers through the rest of the API (budgets, special tokens,
//! vocabulary lookups). One test per file; each is skipped without the shared data.
//!
//! The corpus (135,893 texts) is sampled, every third text, to keep the debug-build
//! test time down (about 6 s a file instead of 10 to 25 s); `M2V_PARITY_FULL=1` runs
//! the whole of it. The `tokenizer_speed` example also compares the ids of the whole
//! corpus, in a release build, and prints how many texts differ.
//!
//! What the files exercise: WordPiece with a cased BertNormalizer (multilingual BERT);
//! byte-level BPE with the GPT-2 pattern (GPT-2, ModernBERT with NFC and added tokens
//! of spaces); the GPT-4 style `Split` regex with `ignore_merges` (Llama 3) or without
//! (Qwen3); sentencepiece BPE with byte fallback through `Prepend` + `Replace`
//! normalizers (Llama 2), a `Metaspace` with `prepend_scheme: "first"` and `split: false`
//! (Mistral), or a `Split` on spaces (Gemma 3, 6415 added tokens); Unigram with a
//! `Precompiled` charsmap and `Metaspace` in its old (`add_prefix_space`, XLM-RoBERTa)
//! and new (`prepend_scheme: "always"`, T5) forms.

mod common;

use common::{Pair, adversarial, corpus, regex_texts, shared_tokenizer};

/// Texts aimed at byte fallback, sentencepiece spaces and added tokens.
fn file_texts() -> Vec<String> {
    [
        // Chars no 32k vocabulary holds: byte fallback (or unk) in every position.
        "\u{10ffff}",
        "a\u{e000}b",
        "𓀀𓀁 hieroglyphs 𓀂",
        "ꙮ ꙮꙮ xꙮ",
        "\u{7}\u{8}\u{1b}[0m",
        // Spaces next to the metaspace char itself.
        "▁",
        "▁▁ ▁x",
        " ▁x",
        "x▁ ",
        // Spaces and newlines in runs (Gemma's added tokens include whitespace runs).
        "a\n\n\nb\t\t\tc    d",
        "                        x",
        "\n\n\n\n\n\n\n\n",
        // Chat-template and sentencepiece special tokens inside words.
        "<start_of_turn>user\nhi<end_of_turn>",
        "x<|endoftext|>y <|endoftext|> <|im_start|>",
        "<s>a</s> <unk>b<pad>",
        "|||IP_ADDRESS||| |||EMAIL_ADDRESS|||x",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn check_file(name: &str) {
    let Some(path) = shared_tokenizer(name) else {
        eprintln!("{name}: skipped (no shared data)");
        return;
    };
    let texts: Vec<String> = adversarial()
        .into_iter()
        .chain(regex_texts())
        .chain(file_texts())
        .collect();
    let pair = Pair::from_file(name, &path);
    pair.check_all(&texts);
    pair.check_api(&texts);
    if let Some(c) = corpus() {
        let stride = if std::env::var_os("M2V_PARITY_FULL").is_some() {
            1
        } else {
            3
        };
        let sample: Vec<String> = c.into_iter().step_by(stride).collect();
        pair.check_all(&sample);
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

#[test]
fn gpt2() {
    check_file("gpt2");
}

#[test]
fn bert_multilingual_cased() {
    check_file("bert-multilingual-cased");
}

#[test]
fn modernbert() {
    check_file("modernbert");
}

#[test]
fn mistral() {
    check_file("mistral");
}

#[test]
fn llama2() {
    check_file("llama2");
}

#[test]
fn gemma3() {
    check_file("gemma3");
}
