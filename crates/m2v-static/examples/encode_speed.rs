//! Quick timing of `StaticModel::encode` (no criterion; for profiling with `perf`).
//!
//! `cargo run --release -p m2v-static --example encode_speed -- MODEL_DIR TEXTS [REPEATS] [THREADS]`
//!
//! `TEXTS` holds one text per line. Prints the best of `REPEATS` (default 3) runs in
//! texts/s and tokens/s, the time spent tokenizing alone and pooling alone, and the
//! speed into a reused output buffer (the difference is the page faults of a fresh
//! output matrix). `THREADS` defaults to 1. With `M2V_NO_MMAP` set, the model is read
//! into (huge-page) memory instead of memory-mapped; with `M2V_TOKENIZE_ONLY` set, only
//! tokenization is timed (for profiling the tokenizer alone); with `M2V_ENCODE_ONLY` set,
//! only `encode` is timed (for profiling it alone), in calls of `M2V_CALL` texts if set.

use std::time::Instant;

use m2v_static::{EncodeOptions, LoadOptions, StaticModel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, texts, rest @ ..] = args.as_slice() else {
        return Err("usage: encode_speed MODEL_DIR TEXTS [REPEATS] [THREADS]".into());
    };
    let repeats: usize = rest.first().map_or(Ok(3), |s| s.parse())?;
    let threads: usize = rest.get(1).map_or(Ok(1), |s| s.parse())?;
    let t = Instant::now();
    let map = std::env::var_os("M2V_NO_MMAP").is_none();
    let model = StaticModel::load(model, &LoadOptions::new().memory_map(map))?;
    println!(
        "load: {:.1} ms; kernels: {} (M2V_KERNELS caps them)",
        t.elapsed().as_secs_f64() * 1e3,
        m2v_static::kernel_level().name()
    );
    let text = std::fs::read_to_string(texts)?;
    let lines: Vec<&str> = text.lines().collect();
    let opts = EncodeOptions::new().threads(threads);
    let best = |f: &mut dyn FnMut()| {
        (0..repeats.max(1))
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    if std::env::var_os("M2V_ENCODE_ONLY").is_some() {
        // `M2V_CALL=N`: in calls of N texts (like `cargo xtask bench`: 16384).
        let call: usize = std::env::var("M2V_CALL").map_or(Ok(usize::MAX), |s| s.parse())?;
        let enc = best(&mut || {
            for chunk in lines.chunks(call.max(1)) {
                std::hint::black_box(model.encode_with(chunk, &opts));
            }
        });
        println!("encode: {:.0} texts/s", lines.len() as f64 / enc);
        return Ok(());
    }
    let mut tokens = 0usize;
    let mut ids = Vec::new();
    let tok = best(&mut || {
        tokens = 0;
        for l in &lines {
            model.tokenize_into(l, Some(512), &mut ids);
            tokens += ids.len();
        }
    });
    if std::env::var_os("M2V_TOKENIZE_ONLY").is_some() {
        println!("tokenize alone: {:.0} texts/s", lines.len() as f64 / tok);
        return Ok(());
    }
    let enc = best(&mut || {
        std::hint::black_box(model.encode_with(&lines, &opts));
    });
    let all_ids: Vec<Vec<u32>> = lines.iter().map(|l| model.tokenize(l, Some(512))).collect();
    let pool = best(&mut || {
        for ids in &all_ids {
            std::hint::black_box(model.pool_ids(ids, true));
        }
    });
    println!(
        "pooling alone (pre-tokenized ids, normalized): {:.1} ms",
        pool * 1e3
    );
    let mut buf = vec![0.0f32; lines.len() * model.dim()];
    let reuse = best(&mut || {
        model.encode_to_slice(&lines, &opts, &mut buf);
    });
    println!(
        "into a reused buffer: {:.0} texts/s (page faults on the fresh output: {:.0}% of encode time)",
        lines.len() as f64 / reuse,
        100.0 * (enc - reuse) / enc
    );
    println!(
        "{} texts, {tokens} tokens, {threads} thread(s): encode {:.0} texts/s ({:.1} M tokens/s); \
         tokenize alone {:.0} texts/s ({:.0}% of encode time)",
        lines.len(),
        lines.len() as f64 / enc,
        tokens as f64 / enc / 1e6,
        lines.len() as f64 / tok,
        100.0 * tok / enc
    );
    Ok(())
}
