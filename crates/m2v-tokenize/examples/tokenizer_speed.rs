//! Tokenizer speed on the ten real `tokenizer.json` files of the shared data: m2v's
//! [`Tokenizer`] against the HF `tokenizers` crate, one thread, over the benchmark
//! corpus (every text of the sentence-level evaluation sets, one `encode` per text).
//!
//! Both sides encode as `m2v-static` does, without special tokens: ours with
//! `Tokenizer::encode_into(text, None, ..)`, HF with `encode_fast(text, false)` (what
//! Python model2vec's `encode_batch_fast(.., add_special_tokens=False)` runs per text;
//! no offsets), padding and truncation off. One pass warms both up (word caches) and
//! checks that the ids agree; then `--passes` timed passes (default 3) alternate
//! between the two and the fastest pass of each is reported, in MB (10^6 bytes of
//! UTF-8 input) per second and texts per second.
//!
//! ```text
//! cargo run --release -p m2v-tokenize --example tokenizer_speed [-- --passes N] [NAME...]
//! ```
//!
//! `NAME`s pick files (`gpt2`, `llama3`, ...); the default is all ten. The data is found
//! as the tests find it (`M2V_SHARED_DATA`, else `../shared/data`).

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use m2v_tokenize::Tokenizer;

const FILES: [&str; 10] = [
    "bert-multilingual-cased",
    "gpt2",
    "modernbert",
    "qwen3",
    "llama3",
    "llama2",
    "mistral",
    "gemma3",
    "xlm-roberta",
    "t5",
];

fn ours_pass(t: &Tokenizer, texts: &[String], out: &mut Vec<u32>) -> (Duration, usize) {
    let start = Instant::now();
    let mut n = 0;
    for s in texts {
        out.clear();
        t.encode_into(s, None, out);
        n += out.len();
    }
    (start.elapsed(), black_box(n))
}

fn hf_pass(t: &tokenizers::Tokenizer, texts: &[String]) -> (Duration, usize) {
    let start = Instant::now();
    let mut n = 0;
    for s in texts {
        n += t
            .encode_fast(s.as_str(), false)
            .map(|e| e.get_ids().len())
            .unwrap_or(0);
    }
    (start.elapsed(), black_box(n))
}

fn main() {
    let mut passes = 3usize;
    let mut names: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--passes" {
            passes = args
                .next()
                .and_then(|p| p.parse().ok())
                .filter(|&p| p > 0)
                .expect("--passes takes a positive number");
        } else {
            names.push(a);
        }
    }
    if names.is_empty() {
        names = FILES.iter().map(|s| s.to_string()).collect();
    }
    let Some(texts) = common::corpus() else {
        eprintln!("no shared data: set M2V_SHARED_DATA");
        std::process::exit(1);
    };
    let bytes: usize = texts.iter().map(String::len).sum();
    let mb = bytes as f64 / 1e6;
    println!(
        "corpus: {} texts, {mb:.2} MB; {passes} timed passes, best reported",
        texts.len()
    );
    println!(
        "| tokenizer.json | m2v MB/s | HF MB/s | m2v texts/s | HF texts/s | m2v / HF | ids differ |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for name in &names {
        let Some(path) = common::shared_tokenizer(name) else {
            eprintln!("{name}: no such file, skipped");
            continue;
        };
        let ours = Tokenizer::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut hf =
            tokenizers::Tokenizer::from_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        hf.with_padding(None);
        let _ = hf.with_truncation(None);
        // Warm-up pass: the ids must agree.
        let mut out = Vec::new();
        let mut differ = 0usize;
        for s in &texts {
            out.clear();
            ours.encode_into(s, None, &mut out);
            let want = hf
                .encode_fast(s.as_str(), false)
                .map(|e| e.get_ids().to_vec())
                .unwrap_or_default();
            differ += usize::from(out != want);
        }
        let (mut best_ours, mut best_hf) = (Duration::MAX, Duration::MAX);
        for _ in 0..passes {
            best_ours = best_ours.min(ours_pass(&ours, &texts, &mut out).0);
            best_hf = best_hf.min(hf_pass(&hf, &texts).0);
        }
        let (o, h) = (best_ours.as_secs_f64(), best_hf.as_secs_f64());
        let n = texts.len() as f64;
        println!(
            "| {name} | {:.1} | {:.1} | {:.0} | {:.0} | {:.2} | {differ} |",
            mb / o,
            mb / h,
            n / o,
            n / h,
            h / o
        );
    }
}
