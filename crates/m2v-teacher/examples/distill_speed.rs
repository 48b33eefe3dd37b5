//! Quick timing of the distillation workload (no criterion): load time, then batches
//! of 256 `[CLS] tok [SEP]` sequences through `encode_ids`.
//!
//! `cargo run --release -p m2v-teacher --example distill_speed -- <model dir> [batches]`

use std::time::Instant;

use m2v_teacher::{DeviceChoice, Pooling, Teacher};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: distill_speed <model dir> [batches]")?;
    let batches: usize = args.next().map_or(Ok(4), |s| s.parse())?;
    let t = Instant::now();
    let teacher = Teacher::load(&dir, DeviceChoice::Cpu)?;
    println!("load: {:.2} s", t.elapsed().as_secs_f64());
    let cls = 101;
    let sep = 102;
    let seqs: Vec<Vec<u32>> = (1000..1000 + 256 * batches as u32)
        .map(|i| vec![cls, i, sep])
        .collect();
    // Warm-up batch.
    teacher.encode_ids(&seqs[..256], Pooling::Mean, 256, &mut |_, _| {})?;
    let (t, c) = (Instant::now(), cpu_seconds());
    let out = teacher.encode_ids(&seqs, Pooling::Mean, 256, &mut |_, _| {})?;
    let s = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - c;
    println!(
        "{} tokens in {s:.3} s = {:.0} tokens/s; {cpu:.2} s of CPU = {:.0} tokens per CPU-second ({} values)",
        seqs.len(),
        seqs.len() as f64 / s,
        seqs.len() as f64 / cpu,
        out.len()
    );
    // Sentences: the texts of the committed parity fixture, through the whole
    // sentence-transformers pipeline.
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/all-MiniLM-L6-v2/sentences.json"
    );
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(fixture)?)?;
    let texts: Vec<&str> = meta["texts"]
        .as_array()
        .ok_or("sentences.json: no texts")?
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    teacher.encode_sentences(&texts[..16], 64)?;
    let (t, c) = (Instant::now(), cpu_seconds());
    teacher.encode_sentences(&texts, 64)?;
    let s = t.elapsed().as_secs_f64();
    println!(
        "{} sentences in {s:.3} s = {:.1} sentences/s; {:.2} s of CPU",
        texts.len(),
        texts.len() as f64 / s,
        cpu_seconds() - c
    );
    Ok(())
}

/// User + system CPU time of this process (Linux `/proc/self/stat`, 100 ticks/s); 0
/// elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of the man page; `rest` starts at field 3.
    (ticks(11) + ticks(12)) / 100.0
}
