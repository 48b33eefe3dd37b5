//! Tokenizer throughput: m2v-tokenize against the HF `tokenizers` crate on the same
//! `tokenizer.json`, single-threaded, over the whole benchmark corpus (one text per
//! call, `add_special_tokens = false`, no padding or truncation).
//!
//! Models: potion-base-8M (WordPiece, BERT pipeline), the tokenlearn model (Unigram with
//! a Precompiled normalizer and Metaspace) and a byte-level BPE (GPT-2 style) trained
//! here on a seventh of the corpus with `tokenizers`. Throughput is reported in bytes of
//! input text per second. Run with
//! `cargo bench -p m2v-benches --bench tokenize -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use m2v_tokenize::Tokenizer;

fn tokenizer_json(hub_id: &str, fetch: &str) -> Option<String> {
    let dir = m2v_hub::testing::model_or_skip(hub_id, fetch)?;
    let p: PathBuf = dir.join("tokenizer.json");
    std::fs::read_to_string(&p).ok()
}

/// A GPT-2 style byte-level BPE (NFC, ByteLevel, 4000 tokens) trained on `texts`.
fn byte_level_bpe(texts: &[String]) -> String {
    use tokenizers::decoders::DecoderWrapper;
    use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
    use tokenizers::models::{ModelWrapper, TrainerWrapper};
    use tokenizers::normalizers::{NormalizerWrapper, unicode::NFC};
    use tokenizers::pre_tokenizers::PreTokenizerWrapper;
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    use tokenizers::processors::PostProcessorWrapper;
    use tokenizers::{AddedToken, TokenizerBuilder, TokenizerImpl};
    type Impl = TokenizerImpl<
        ModelWrapper,
        NormalizerWrapper,
        PreTokenizerWrapper,
        PostProcessorWrapper,
        DecoderWrapper,
    >;
    let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
        .vocab_size(4000)
        .min_frequency(2)
        .show_progress(false)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .special_tokens(vec![AddedToken::from("<|endoftext|>", true)])
        .build()
        .into();
    let mut tok: Impl = TokenizerBuilder::new()
        .with_model(BPE::default().into())
        .with_normalizer(Some(NFC.into()))
        .with_pre_tokenizer(Some(ByteLevel::default().into()))
        .build()
        .expect("bpe builder");
    tok.train(&mut trainer, texts.iter()).expect("bpe training");
    tok.to_string(false).expect("bpe json")
}

fn bench_pair(c: &mut Criterion, name: &str, json: &str, texts: &[String]) {
    let ours = Tokenizer::from_json_str(json).expect("m2v-tokenize loads the file");
    let mut hf: tokenizers::Tokenizer = json.parse().expect("tokenizers loads the file");
    hf.with_padding(None);
    let _ = hf.with_truncation(None);
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut g = c.benchmark_group(format!("tokenize/{name}"));
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("m2v-tokenize", |b| {
        let mut out = Vec::with_capacity(1024);
        b.iter(|| {
            let mut n = 0;
            for t in texts {
                out.clear();
                ours.encode_into(t, None, &mut out);
                n += out.len();
            }
            black_box(n)
        })
    });
    g.bench_function("tokenizers", |b| {
        b.iter(|| {
            let mut n = 0;
            for t in texts {
                n += hf
                    .encode(t.as_str(), false)
                    .map(|e| e.get_ids().len())
                    .unwrap_or(0);
            }
            black_box(n)
        })
    });
    g.finish();
}

fn tokenize(c: &mut Criterion) {
    let Some(data) = m2v_eval::shared_data() else {
        return;
    };
    let texts = m2v_eval::corpus(&data).expect("benchmark corpus");
    if let Some(j) = tokenizer_json("minishlab/potion-base-8M", "potion-base-8M") {
        bench_pair(c, "wordpiece-potion-base-8M", &j, &texts);
    }
    if let Some(j) = tokenizer_json("pypi/tokenlearn-static-model", "tokenlearn-static-model") {
        bench_pair(c, "unigram-tokenlearn", &j, &texts);
    }
    let sample: Vec<String> = texts.iter().step_by(7).cloned().collect();
    bench_pair(c, "bpe-byte-level", &byte_level_bpe(&sample), &texts);
}

criterion_group!(benches, tokenize);
criterion_main!(benches);
