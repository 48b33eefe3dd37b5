//! The safetensors header parser on arbitrary bytes: never panics, and whatever it
//! accepts keeps the reader's promises (in-bounds ranges that tile the data buffer,
//! sizes that match shapes, unique names).
//!
//! Shared by the libFuzzer target (`fuzz_targets/safetensors_header.rs`) and the crate's
//! replay test (`tests/fuzz_replay.rs`, run by `cargo test`): both check the same
//! promises.

use m2v_static::safetensors::read_header;

/// The check, on one input; panics on a broken promise. `true` when the input was
/// accepted (so the promises about accepted input were checked).
pub fn check(data: &[u8]) -> bool {
    let Ok(h) = read_header(data) else {
        return false;
    };
    assert!(h.data_start <= data.len());
    let mut ranges: Vec<(usize, usize)> = h.tensors.iter().map(|t| (t.start, t.end)).collect();
    ranges.sort_unstable();
    let mut at = h.data_start;
    for (s, e) in ranges {
        assert_eq!(s, at, "hole or overlap accepted");
        assert!(e >= s && e <= data.len());
        at = e;
    }
    assert_eq!(at, data.len(), "trailing bytes accepted");
    let mut names = std::collections::HashSet::new();
    for t in &h.tensors {
        assert!(names.insert(t.name.as_str()), "duplicate accepted");
        let n: usize = t.shape.iter().product();
        assert_eq!(n * t.dtype.size(), t.end - t.start);
        assert_eq!(t.data(data).map(<[u8]>::len), Some(t.end - t.start));
    }
    true
}
