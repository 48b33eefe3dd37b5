//! Static-model inference: m2v-static against model2vec-rs 0.4, side by side in one run.
//!
//! `cargo bench -p m2v-benches --bench encode -- --warm-up-time 1 --measurement-time 3`
//!
//! Encodes the benchmark corpus (every sentence of the evaluation sets, one text per
//! line, see `m2v_eval::corpus`) with `minishlab/potion-base-8M`, single-threaded and
//! on all cores, and times loading the model. Before the criterion groups it prints a
//! summary (best of 3 wall-clock runs each, texts/s and the m2v / model2vec-rs ratios)
//! and where the two engines' outputs differ. model2vec-rs runs its fastest path
//! (`encode_flat_with_args`, its own fast WordPiece) inside a rayon pool of 1 or all
//! threads. Numbers on a shared machine are noisy: compare ratios from the same run.
//!
//! Known differences of model2vec-rs from Python model2vec 0.10.0 (which m2v follows):
//! normalize defaults to true when the config has no `normalize`; the median token length
//! is in bytes and leaves out added tokens; Unigram's `unk_id` is not removed.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use m2v_static::{EncodeOptions, StaticModel};

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn pool(n: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .expect("building a rayon pool")
}

/// Max abs difference per text between the two engines, and how many texts differ by
/// more than `tol`.
fn compare(ours: &[f32], theirs: &[f32], dim: usize, tol: f32) -> (f32, usize) {
    let mut worst = 0.0f32;
    let mut differing = 0;
    for (a, b) in ours.chunks(dim).zip(theirs.chunks(dim)) {
        let d = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        worst = worst.max(d);
        differing += usize::from(d > tol);
    }
    (worst, differing)
}

fn summary(dir: &Path, texts: &[&str], owned: &[String]) {
    let n = texts.len() as f64;
    let cores = cores();
    let (one, all) = (pool(1), pool(cores));
    let ours = StaticModel::from_pretrained(dir).expect("m2v loads potion");
    let theirs = model2vec_rs::model::StaticModel::from_pretrained(dir, None, None, None)
        .expect("model2vec-rs loads potion");

    let t_m1 = best_of(3, || {
        ours.encode_with(texts, &EncodeOptions::new().threads(1))
    });
    let t_mn = best_of(3, || {
        ours.encode_with(texts, &EncodeOptions::new().threads(cores))
    });
    let t_r1 = best_of(3, || {
        one.install(|| theirs.encode_flat_with_args(owned, Some(512)))
    });
    let t_rn = best_of(3, || {
        all.install(|| theirs.encode_flat_with_args(owned, Some(512)))
    });
    let l_m = best_of(5, || StaticModel::from_pretrained(dir).expect("load"));
    let l_r = best_of(5, || {
        model2vec_rs::model::StaticModel::from_pretrained(dir, None, None, None).expect("load")
    });
    let rate = |t: Duration| n / t.as_secs_f64();
    eprintln!(
        "== encode {} texts with potion-base-8M ({cores} cores) ==",
        texts.len()
    );
    eprintln!(
        "m2v          1 thread : {:>10.0} texts/s   {cores} threads: {:>10.0} texts/s",
        rate(t_m1),
        rate(t_mn)
    );
    eprintln!(
        "model2vec-rs 1 thread : {:>10.0} texts/s   {cores} threads: {:>10.0} texts/s",
        rate(t_r1),
        rate(t_rn)
    );
    eprintln!(
        "ratio m2v/model2vec-rs: {:.2}x single-threaded, {:.2}x on {cores} threads; m2v scaling {:.2}x",
        t_r1.as_secs_f64() / t_m1.as_secs_f64(),
        t_rn.as_secs_f64() / t_mn.as_secs_f64(),
        t_m1.as_secs_f64() / t_mn.as_secs_f64()
    );
    eprintln!(
        "load: m2v {:.1} ms, model2vec-rs {:.1} ms: {:.2}x faster",
        l_m.as_secs_f64() * 1e3,
        l_r.as_secs_f64() * 1e3,
        l_r.as_secs_f64() / l_m.as_secs_f64()
    );

    let a = ours.encode(texts);
    let b = theirs.encode_flat_with_args(owned, Some(512));
    let (worst, differing) = compare(a.as_slice(), &b, ours.dim(), 1e-5);
    eprintln!(
        "outputs vs model2vec-rs (potion): max abs diff {worst:e}, {differing} of {} texts differ by > 1e-5",
        texts.len()
    );
}

fn compare_tokenlearn(texts: &[&str], owned: &[String]) {
    let Some(dir) =
        m2v_hub::testing::model_or_skip("pypi/tokenlearn-static-model", "tokenlearn-static-model")
    else {
        return;
    };
    let ours = StaticModel::from_pretrained(&dir).expect("m2v loads tokenlearn");
    let theirs = model2vec_rs::model::StaticModel::from_pretrained(&dir, None, None, None)
        .expect("model2vec-rs loads tokenlearn");
    let k = texts.len().min(20_000);
    let a = ours.encode(&texts[..k]);
    let b = theirs.encode_flat_with_args(&owned[..k], Some(512));
    let (worst, differing) = compare(a.as_slice(), &b, ours.dim(), 1e-5);
    eprintln!(
        "outputs vs model2vec-rs (tokenlearn, Unigram + int8 + mapping): max abs diff {worst:e}, \
         {differing} of {k} texts differ by > 1e-5 (model2vec-rs keeps Unigram's unk, m2v removes it as Python does)"
    );
}

fn bench(c: &mut Criterion) {
    let Some(dir) = m2v_hub::testing::model_or_skip("minishlab/potion-base-8M", "potion-base-8M")
    else {
        return;
    };
    let Some(data) = m2v_eval::shared_data() else {
        return;
    };
    let owned = m2v_eval::corpus(&data).expect("reading the benchmark corpus");
    let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
    summary(&dir, &texts, &owned);
    compare_tokenlearn(&texts, &owned);

    let cores = cores();
    let (one, all) = (pool(1), pool(cores));
    let ours = StaticModel::from_pretrained(&dir).expect("m2v loads potion");
    let theirs = model2vec_rs::model::StaticModel::from_pretrained(&dir, None, None, None)
        .expect("model2vec-rs loads potion");
    let mut g = c.benchmark_group("encode/potion-base-8M");
    g.sample_size(10);
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("m2v/1-thread", |b| {
        b.iter(|| ours.encode_with(&texts, &EncodeOptions::new().threads(1)))
    });
    g.bench_function(format!("m2v/{cores}-threads"), |b| {
        b.iter(|| ours.encode_with(&texts, &EncodeOptions::new().threads(cores)))
    });
    g.bench_function("model2vec-rs/1-thread", |b| {
        b.iter(|| one.install(|| theirs.encode_flat_with_args(&owned, Some(512))))
    });
    g.bench_function(format!("model2vec-rs/{cores}-threads"), |b| {
        b.iter(|| all.install(|| theirs.encode_flat_with_args(&owned, Some(512))))
    });
    g.finish();

    let mut g = c.benchmark_group("load/potion-base-8M");
    g.sample_size(10);
    g.bench_function("m2v", |b| {
        b.iter(|| StaticModel::from_pretrained(&dir).expect("load"))
    });
    g.bench_function("model2vec-rs", |b| {
        b.iter(|| {
            model2vec_rs::model::StaticModel::from_pretrained(&dir, None, None, None).expect("load")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
