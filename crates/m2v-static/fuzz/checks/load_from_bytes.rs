//! `StaticModel::from_bytes` on a fuzzed `model.safetensors` (first byte even) or a
//! fuzzed `config.json` (first byte odd), with a small fixed tokenizer: never
//! panics, and a model that loads encodes texts into rows of its dimension.
//!
//! Shared by the libFuzzer target (`fuzz_targets/load_from_bytes.rs`) and the crate's
//! replay test (`tests/fuzz_replay.rs`, run by `cargo test`): both check the same
//! promises.

use m2v_static::{LoadOptions, StaticModel};

const TOKENIZER: &[u8] = br#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],"normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,"model":{"type":"WordLevel","vocab":{"[UNK]":0,"a":1,"b":2,"c":3},"unk_token":"[UNK]"}}"#;

/// A valid 4 x 2 f32 model, the other half when the config is fuzzed.
fn valid_safetensors() -> Vec<u8> {
    let header = br#"{"embeddings":{"dtype":"F32","shape":[4,2],"data_offsets":[0,32]}}"#;
    let mut f = (header.len() as u64).to_le_bytes().to_vec();
    f.extend_from_slice(header);
    f.extend((0..8).flat_map(|i| (i as f32 * 0.5 - 1.0).to_le_bytes()));
    f
}

/// The check, on one input; panics on a broken promise. `true` when the input was
/// accepted (so the promises about accepted input were checked).
pub fn check(data: &[u8]) -> bool {
    let Some((&mode, rest)) = data.split_first() else {
        return false;
    };
    let (st, config) = if mode & 1 == 0 {
        (rest.to_vec(), &br#"{"normalize": true}"#[..])
    } else {
        (valid_safetensors(), rest)
    };
    let Ok(m) = StaticModel::from_bytes(TOKENIZER, st, config, &LoadOptions::new()) else {
        return false;
    };
    let e = m.encode(&["a b c", "", "zz a", "c c c c c c c c"]);
    assert_eq!(e.rows(), 4);
    assert_eq!(e.dim(), m.dim());
    assert!(m.dim() <= m2v_static::MAX_DIM);
    true
}
