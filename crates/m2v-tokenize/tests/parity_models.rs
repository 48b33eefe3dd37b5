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
