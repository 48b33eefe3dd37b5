//! GPU (wgpu) parity with PyTorch, only with `--features wgpu`.
//!
//! Skipped with a message where no wgpu adapter exists. Without a GPU, Mesa's software
//! Vulkan driver gives one: `apt-get install -y --no-install-recommends
//! mesa-vulkan-drivers libvulkan1`, then `cargo test -p m2v-teacher --features wgpu
//! --test wgpu`. Tolerance: cosine >= 0.9999 per row and max abs diff <= 5e-4 (GPU
//! kernels sum in a different order and may use fused multiply-adds).
//!
//! `cargo xtask ci` runs it on Mesa's lavapipe when that driver is installed, with
//! `M2V_REQUIRE_GPU=1`, which turns the skip into a failure.
#![cfg(feature = "wgpu")]

use std::path::Path;

use m2v_teacher::{DeviceChoice, Error, Teacher};

const MIN_COSINE: f64 = 0.9999;
const MAX_ABS: f32 = 5e-4;

#[test]
fn minilm_on_gpu_matches_transformers() {
    let Some(dir) = m2v_hub::testing::model_or_skip(
        "sentence-transformers/all-MiniLM-L6-v2",
        "all-MiniLM-L6-v2",
    ) else {
        return;
    };
    let teacher = match Teacher::load(&dir, DeviceChoice::Gpu) {
        Ok(t) => t,
        Err(Error::GpuUnavailable(why)) => {
            assert!(
                std::env::var("M2V_REQUIRE_GPU").as_deref() != Ok("1"),
                "no wgpu adapter ({why}) although M2V_REQUIRE_GPU=1"
            );
            eprintln!("SKIPPED: no wgpu adapter ({why}); install mesa-vulkan-drivers to run it");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/all-MiniLM-L6-v2");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures.join("hidden.json")).unwrap()).unwrap();
    let expected: Vec<f32> = std::fs::read(fixtures.join("hidden.bin"))
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let seqs: Vec<Vec<u32>> = meta["sequences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect()
        })
        .collect();
    let dim = teacher.hidden_size();
    // One padded batch on the GPU.
    let h = teacher.hidden_states(&seqs).unwrap();
    let mut offset = 0;
    for b in 0..seqs.len() {
        let ours = h.sequence(b);
        let reference = &expected[offset..offset + ours.len()];
        offset += ours.len();
        for (a, r) in ours.chunks_exact(dim).zip(reference.chunks_exact(dim)) {
            let dot: f64 = a.iter().zip(r).map(|(x, y)| f64::from(x * y)).sum();
            let na: f64 = a.iter().map(|x| f64::from(x * x)).sum::<f64>().sqrt();
            let nr: f64 = r.iter().map(|x| f64::from(x * x)).sum::<f64>().sqrt();
            let max = a
                .iter()
                .zip(r)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            let cos = dot / (na * nr);
            assert!(
                cos >= MIN_COSINE && max <= MAX_ABS,
                "sequence {b}: cosine {cos}, max {max}"
            );
        }
    }
}
