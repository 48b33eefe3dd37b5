//! Replays the committed inputs of the fuzz targets (`fuzz/seeds/TARGET` and
//! `fuzz/regressions/TARGET`) through the targets' own checks (`fuzz/checks.rs`,
//! included here), without libFuzzer, so that every `cargo test` runs them. The
//! `tokenize` inputs need the shipped tokenizers (`../shared/data/tokenizers`) and are
//! skipped without them; only the tokenizers the inputs pick are loaded, and by
//! default only the files under 4 MB (six of ten: a debug build loads the large ones
//! slowly); `M2V_FUZZ_REPLAY_ALL=1` replays every input with every file.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

use m2v_tokenize::Tokenizer;

/// The committed inputs of `target`, sorted by path.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_file() {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

/// Runs `check` on each input, naming the input that panics.
fn replay(target: &str, check: impl Fn(&[u8])) {
    let all = inputs(target);
    assert!(!all.is_empty(), "no committed input for {target}");
    for (p, data) in &all {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(data))).is_err() {
            panic!("{target}: {} fails its check", p.display());
        }
    }
}

#[test]
fn json_inputs() {
    replay("json", checks::json);
}

#[test]
fn tokenizer_load_inputs() {
    replay("tokenizer_load", checks::tokenizer_load);
}

#[test]
fn tokenize_inputs() {
    let Some(data) = m2v_hub::testing::shared_data() else {
        return;
    };
    let dir = data.join("tokenizers");
    let every = std::env::var_os("M2V_FUZZ_REPLAY_ALL").is_some_and(|v| v == "1");
    let n = checks::SHIPPED.len();
    let small: Vec<bool> = checks::SHIPPED
        .iter()
        .map(|name| {
            let p = dir.join(name).join("tokenizer.json");
            every || std::fs::metadata(&p).is_ok_and(|m| m.len() < 4 << 20)
        })
        .collect();
    let all: Vec<(PathBuf, Vec<u8>)> = inputs("tokenize")
        .into_iter()
        .filter(|(_, d)| d.first().is_some_and(|&b| small[b as usize % n]))
        .collect();
    assert!(!all.is_empty());
    // Load only the tokenizers the inputs pick; the others stay placeholders that no
    // input reaches.
    let mut picked = vec![false; n];
    for (_, d) in &all {
        if let Some(&b) = d.first() {
            picked[b as usize % n] = true;
        }
    }
    let placeholder = || {
        Tokenizer::from_json_str(
            r#"{"model":{"type":"WordLevel","vocab":{"x":0},"unk_token":"x"}}"#,
        )
        .unwrap()
    };
    let tokenizers: Vec<Tokenizer> = checks::SHIPPED
        .iter()
        .zip(&picked)
        .map(|(name, &p)| {
            if !p {
                return placeholder();
            }
            let path = dir.join(name).join("tokenizer.json");
            Tokenizer::from_file(&path).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    replay("tokenize", |d| checks::tokenize(&tokenizers, d));
}
