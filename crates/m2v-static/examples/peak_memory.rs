//! Peak heap while loading and using an f16 model, against the size of its files.
//!
//! `cargo run --release -p m2v-static --example peak_memory [MODEL_DIR]`
//!
//! Makes an f16 copy of potion-base-8M (or of `MODEL_DIR`, an f32 model2vec folder) in a
//! temporary folder, then, with a counting global allocator, loads it with
//! `StaticModel::from_pretrained` and encodes a few thousand texts, and prints the peak
//! heap in use against the size of `model.safetensors` and of all three model files.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use m2v_static::safetensors::{self, TensorSpec};
use m2v_static::{Dtype, StaticModel, f32_to_f16};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are
// updated around it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn mib(n: usize) -> f64 {
    n as f64 / (1024.0 * 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let src = match std::env::args().nth(1) {
        Some(d) => PathBuf::from(d),
        None => m2v_hub::testing::model_or_skip("minishlab/potion-base-8M", "potion-base-8M")
            .ok_or("potion-base-8M is not installed")?,
    };
    let tmp = std::env::temp_dir().join(format!("m2v-peak-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    {
        let bytes = std::fs::read(src.join("model.safetensors"))?;
        let h = safetensors::read_header(&bytes)?;
        let t = h.get("embeddings").ok_or("no `embeddings` tensor")?;
        let data = t.data(&bytes).ok_or("tensor outside the file")?;
        let f16: Vec<u8> = match t.dtype {
            Dtype::F32 => data
                .as_chunks::<4>()
                .0
                .iter()
                .flat_map(|b| f32_to_f16(f32::from_le_bytes(*b)).to_le_bytes())
                .collect(),
            Dtype::F16 => data.to_vec(),
            d => return Err(format!("embeddings are {d}, expected F32 or F16").into()),
        };
        let file = safetensors::serialize(
            &[(
                TensorSpec {
                    name: "embeddings",
                    dtype: Dtype::F16,
                    shape: &t.shape,
                },
                &f16,
            )],
            &[],
        )?;
        std::fs::write(tmp.join("model.safetensors"), file)?;
        std::fs::copy(src.join("tokenizer.json"), tmp.join("tokenizer.json"))?;
        std::fs::copy(src.join("config.json"), tmp.join("config.json"))?;
    }
    let size = |f: &str| std::fs::metadata(tmp.join(f)).map(|m| m.len() as usize);
    let st = size("model.safetensors")?;
    let all = st + size("tokenizer.json")? + size("config.json")?;

    let texts: Vec<String> = (0..5000)
        .map(|i| format!("sentence number {i} about static embeddings and fast inference"))
        .collect();
    let texts_heap = CURRENT.load(Ordering::Relaxed);
    PEAK.store(texts_heap, Ordering::Relaxed);

    let model = StaticModel::from_pretrained(&tmp)?;
    let after_load = CURRENT.load(Ordering::Relaxed) - texts_heap;
    let peak_load = PEAK.load(Ordering::Relaxed) - texts_heap;
    let e = model.encode(&texts);
    let peak_all = PEAK.load(Ordering::Relaxed) - texts_heap;
    let out = e.as_slice().len() * 4;
    drop(e);
    drop(model);
    std::fs::remove_dir_all(&tmp)?;

    println!(
        "f16 model: model.safetensors {:.2} MiB, all files {:.2} MiB",
        mib(st),
        mib(all)
    );
    println!("heap after load     : {:.2} MiB", mib(after_load));
    println!(
        "peak heap during load: {:.2} MiB = {:.1}% of model.safetensors, {:.1}% of all files",
        mib(peak_load),
        100.0 * peak_load as f64 / st as f64,
        100.0 * peak_load as f64 / all as f64
    );
    println!(
        "peak heap incl. encoding 5000 texts: {:.2} MiB (of which the output matrix {:.2} MiB)",
        mib(peak_all),
        mib(out)
    );
    Ok(())
}
