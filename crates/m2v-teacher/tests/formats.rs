//! Checkpoints in the formats other than one `model.safetensors`: sharded safetensors
//! with their index, `pytorch_model.bin` (the zip format of `torch.save`) and sharded
//! `.bin` files, all written by PyTorch/transformers (`scripts/golden_teacher_formats.py`)
//! from the tiny RoBERTa checkpoint of `fixtures/families/roberta`. Each must give the
//! PyTorch hidden states of that checkpoint (cosine >= 0.99999, max |diff| <= 1e-4 per
//! row) and exactly the hidden states of the single-file checkpoint (same f32 weights).

use std::path::{Path, PathBuf};

use m2v_teacher::{DeviceChoice, Error, Teacher};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn golden() -> (Vec<Vec<u32>>, Vec<f32>) {
    let dir = fixtures().join("families/roberta");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("hidden.json")).unwrap()).unwrap();
    let seqs = meta["sequences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect()
        })
        .collect();
    let want = std::fs::read(dir.join("hidden.bin"))
        .unwrap()
        .as_chunks::<4>()
        .0
        .iter()
        .map(|b| f32::from_le_bytes(*b))
        .collect();
    (seqs, want)
}

/// The real rows of every sequence, concatenated.
fn hidden(dir: &Path, seqs: &[Vec<u32>]) -> Vec<f32> {
    let teacher = Teacher::load(dir, DeviceChoice::Cpu).unwrap_or_else(|e| panic!("{e}"));
    let got = teacher.hidden_states(seqs).unwrap();
    let mut out = Vec::new();
    for (b, s) in seqs.iter().enumerate() {
        for t in 0..s.len() {
            out.extend_from_slice(got.row(b, t));
        }
    }
    out
}

#[test]
fn every_format_gives_the_pytorch_hidden_states() {
    let (seqs, want) = golden();
    let reference = hidden(&fixtures().join("families/roberta"), &seqs);
    for format in ["sharded", "bin", "bin-sharded"] {
        let got = hidden(&fixtures().join("formats").join(format), &seqs);
        assert_eq!(got.len(), want.len(), "{format}");
        let h = 32;
        for (ours, theirs) in got.chunks_exact(h).zip(want.chunks_exact(h)) {
            let dot: f64 = ours
                .iter()
                .zip(theirs)
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
            let n = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            let cos = dot / (n(ours) * n(theirs));
            assert!(cos >= 0.99999, "{format}: cosine {cos}");
            for (x, y) in ours.iter().zip(theirs) {
                assert!((x - y).abs() <= 1e-4, "{format}: {x} vs {y}");
            }
        }
        assert!(
            got == reference,
            "{format}: differs from the single-file checkpoint"
        );
    }
}

/// Copies a fixture folder to a temporary one the test may damage.
fn scratch(format: &str, tag: &str) -> PathBuf {
    let src = fixtures().join("formats").join(format);
    let dir = std::env::temp_dir().join(format!("m2v-formats-{}-{tag}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    dir
}

#[test]
fn broken_checkpoints_are_named_errors() {
    // No weights at all.
    let dir = scratch("bin", "none");
    std::fs::remove_file(dir.join("pytorch_model.bin")).unwrap();
    let e = Teacher::load(&dir, DeviceChoice::Cpu).unwrap_err();
    assert!(matches!(e, Error::NoWeights { .. }), "{e}");
    assert!(e.to_string().contains("pytorch_model.bin"), "{e}");

    // A truncated pytorch_model.bin: its zip directory is gone.
    let dir = scratch("bin", "cut");
    let p = dir.join("pytorch_model.bin");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let e = Teacher::load(&dir, DeviceChoice::Cpu)
        .unwrap_err()
        .to_string();
    assert!(e.contains("pytorch_model.bin") && e.contains("zip"), "{e}");

    // A legacy (not zip) file.
    std::fs::write(&p, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc]).unwrap();
    let e = Teacher::load(&dir, DeviceChoice::Cpu)
        .unwrap_err()
        .to_string();
    assert!(e.contains("legacy"), "{e}");

    // Every truncation of the pickle member is an error, never a panic.
    let bytes = std::fs::read(fixtures().join("formats/bin/pytorch_model.bin")).unwrap();
    for cut in (0..bytes.len()).step_by(997) {
        std::fs::write(&p, &bytes[..cut]).unwrap();
        assert!(
            Teacher::load(&dir, DeviceChoice::Cpu).is_err(),
            "cut at {cut}"
        );
    }

    // A shard the index names is missing.
    let dir = scratch("sharded", "shard");
    std::fs::remove_file(dir.join("model-00002-of-00003.safetensors")).unwrap();
    let e = Teacher::load(&dir, DeviceChoice::Cpu)
        .unwrap_err()
        .to_string();
    assert!(e.contains("model-00002-of-00003.safetensors"), "{e}");

    // An index that points outside the folder.
    let dir = scratch("sharded", "escape");
    let idx = dir.join("model.safetensors.index.json");
    let text = std::fs::read_to_string(&idx).unwrap().replace(
        "model-00002-of-00003.safetensors",
        "../model-00002-of-00003.safetensors",
    );
    std::fs::write(&idx, text).unwrap();
    let e = Teacher::load(&dir, DeviceChoice::Cpu)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a file name beside the index"), "{e}");
}
