//! Teacher throughput (m2v-teacher, Burn `flex` CPU backend, fp32) on all-MiniLM-L6-v2.
//!
//! - `distill_batch256`: one batch of 256 `[CLS] tok [SEP]` sequences (vocabulary ids
//!   1000..1256), forward + mean pooling, as distillation runs every vocabulary token.
//!   Throughput is in vocabulary tokens (sequences).
//! - `sentences_1024`: `encode_sentences` of the first 1024 STS-B test sentences (both
//!   columns), batch size 64; needs the tokenizer (`m2v_tokenize::Tokenizer`).
//!
//! The PyTorch side of the same workloads is `scripts/bench_teacher.py`. Run with
//! `cargo bench -p m2v-benches --bench teacher -- --warm-up-time 1 --measurement-time 3`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use m2v_teacher::{DeviceChoice, Pooling, Teacher};

/// `[CLS]` and `[SEP]` of the bert-base-uncased vocabulary all-MiniLM-L6-v2 uses.
const CLS: u32 = 101;
const SEP: u32 = 102;

fn sts_test_sentences(n: usize) -> Option<Vec<String>> {
    let data = m2v_eval::shared_data()?;
    let text = m2v_eval::read_text(&data.join("stsbenchmark/sts-test.csv")).ok()?;
    let mut out = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() >= 7 {
            out.push(cols[5].to_string());
            out.push(cols[6].to_string());
        }
    }
    out.truncate(n);
    Some(out)
}

fn teacher(c: &mut Criterion) {
    let Some(dir) = m2v_hub::testing::model_or_skip(
        "sentence-transformers/all-MiniLM-L6-v2",
        "all-MiniLM-L6-v2",
    ) else {
        return;
    };
    let teacher = match Teacher::load(&dir, DeviceChoice::Cpu) {
        Ok(t) => t,
        Err(e) => panic!("cannot load the teacher: {e}"),
    };
    let mut g = c.benchmark_group("teacher_minilm");
    g.sample_size(10);

    let seqs: Vec<Vec<u32>> = (1000..1256).map(|i| vec![CLS, i, SEP]).collect();
    g.throughput(Throughput::Elements(seqs.len() as u64));
    g.bench_function("distill_batch256", |b| {
        b.iter(|| {
            teacher
                .encode_ids(&seqs, Pooling::Mean, 256, &mut |_, _| {})
                .map(|v| v.len())
        })
    });

    match (sts_test_sentences(1024), teacher.tokenize("probe")) {
        (Some(texts), Ok(_)) => {
            g.throughput(Throughput::Elements(texts.len() as u64));
            g.bench_function("sentences_1024", |b| {
                b.iter(|| teacher.encode_sentences(&texts, 64).map(|v| v.len()))
            });
        }
        (None, _) => eprintln!("SKIPPED: sentences_1024: no evaluation data"),
        (_, Err(e)) => eprintln!("SKIPPED: sentences_1024: {e}"),
    }
    g.finish();
}

criterion_group!(benches, teacher);
criterion_main!(benches);
