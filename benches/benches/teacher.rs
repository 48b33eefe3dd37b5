//! Teacher throughput (m2v-teacher, Burn `flex` CPU backend, fp32), one group per
//! fetched family: all-MiniLM-L6-v2 (BERT), all-mpnet-base-v2 (MPNet) and
//! EmbeddingGemma-300M (Gemma 3). A family that is not fetched is skipped.
//!
//! - `distill_batch256`: one batch of 256 `bos tok eos` sequences (vocabulary ids
//!   1000..1256 framed by the tokenizer's specials, as `tokenize("")` gives them),
//!   forward + mean pooling, as distillation runs every vocabulary token. Throughput is
//!   in vocabulary tokens (sequences).
//! - `sentences_N`: `encode_sentences` (the whole sentence-transformers pipeline) of the
//!   first N STS-B test sentences (both columns), batch size 64; N is 1024 for MiniLM,
//!   256 for MPNet, 128 for EmbeddingGemma so a sample stays near a second.
//!
//! `M2V_BENCH_TEACHERS=name=DIR,...` adds a group `extra_<name>` (distillation only)
//! per folder, framed by its `bench_frame.json` (`{"bos": [ids], "eos": [ids]}`):
//! `scripts/bench_teacher_families.py` makes such folders (random weights at the real
//! size of the families that cannot be fetched here) and runs this with them.
//!
//! The PyTorch side of the same workloads is `scripts/bench_teacher.py` (same ids,
//! same sentences, same batch sizes; `--criterion` prints the ratios, see
//! docs/teacher-speed.md). Run alone with
//! `cargo bench -p m2v-benches --bench teacher -- --warm-up-time 1 --measurement-time 3`.

use criterion::measurement::WallTime;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use m2v_teacher::{DeviceChoice, Pooling, Teacher};

/// The benchmarked teachers: hub id, `cargo xtask fetch` name, group name, sentences.
const FAMILIES: &[(&str, &str, &str, usize)] = &[
    (
        "sentence-transformers/all-MiniLM-L6-v2",
        "all-MiniLM-L6-v2",
        "teacher_minilm",
        1024,
    ),
    (
        "sentence-transformers/all-mpnet-base-v2",
        "all-mpnet-base-v2",
        "teacher_mpnet",
        256,
    ),
    (
        "google/embeddinggemma-300m",
        "embeddinggemma-300m",
        "teacher_embeddinggemma",
        128,
    ),
];

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

/// `[bos.., id, eos..]` for the 256 ids 1000..1256.
fn framed(bos: &[u32], eos: &[u32]) -> Vec<Vec<u32>> {
    (1000..1256)
        .map(|i| {
            bos.iter()
                .copied()
                .chain([i])
                .chain(eos.iter().copied())
                .collect()
        })
        .collect()
}

fn distill_bench(g: &mut criterion::BenchmarkGroup<'_, WallTime>, t: &Teacher, seqs: &[Vec<u32>]) {
    g.throughput(Throughput::Elements(seqs.len() as u64));
    g.bench_function("distill_batch256", |b| {
        b.iter(|| {
            t.encode_ids(seqs, Pooling::Mean, 256, &mut |_, _| {})
                .map(|v| v.len())
        })
    });
}

/// The `M2V_BENCH_TEACHERS` folders: distillation only.
fn extra_teachers(c: &mut Criterion) {
    let Ok(list) = std::env::var("M2V_BENCH_TEACHERS") else {
        return;
    };
    for item in list.split(',').filter(|s| !s.is_empty()) {
        let Some((name, dir)) = item.split_once('=') else {
            panic!("M2V_BENCH_TEACHERS: `{item}` is not NAME=DIR");
        };
        let teacher = Teacher::load(dir, DeviceChoice::Cpu)
            .unwrap_or_else(|e| panic!("cannot load the teacher {dir}: {e}"));
        let frame_path = std::path::Path::new(dir).join("bench_frame.json");
        let frame: serde_json::Value = std::fs::read(&frame_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| panic!("{}: missing or not JSON", frame_path.display()));
        let ids = |k: &str| -> Vec<u32> {
            frame[k]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_u64())
                        .map(|v| v as u32)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut g = c.benchmark_group(format!("extra_{name}"));
        g.sample_size(10);
        distill_bench(&mut g, &teacher, &framed(&ids("bos"), &ids("eos")));
        g.finish();
    }
}

fn teacher(c: &mut Criterion) {
    for &(hub_id, fetch_name, group, n_sentences) in FAMILIES {
        let Some(dir) = m2v_hub::testing::model_or_skip(hub_id, fetch_name) else {
            continue;
        };
        let teacher = match Teacher::load(&dir, DeviceChoice::Cpu) {
            Ok(t) => t,
            Err(e) => panic!("cannot load the teacher {hub_id}: {e}"),
        };
        // The specials the tokenizer frames every text with (`[CLS] [SEP]`, `<s> </s>`,
        // `<bos> <eos>`): the first is put before the token, the rest after it.
        let frame = match teacher.tokenize("") {
            Ok(f) => f,
            Err(e) => panic!("cannot tokenize with {hub_id}: {e}"),
        };
        let (bos, eos) = frame.split_at(frame.len().min(1));
        let mut g = c.benchmark_group(group);
        g.sample_size(10);
        distill_bench(&mut g, &teacher, &framed(bos, eos));
        match sts_test_sentences(n_sentences) {
            Some(texts) => {
                g.throughput(Throughput::Elements(texts.len() as u64));
                g.bench_function(format!("sentences_{n_sentences}"), |b| {
                    b.iter(|| teacher.encode_sentences(&texts, 64).map(|v| v.len()))
                });
            }
            None => eprintln!("SKIPPED: {group} sentences: no evaluation data"),
        }
        g.finish();
    }
}

criterion_group!(benches, teacher, extra_teachers);
criterion_main!(benches);
