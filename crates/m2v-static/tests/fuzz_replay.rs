//! The fuzz targets' checks (`fuzz/checks/`), replayed by `cargo test` on the
//! committed seeds and on seeded mutants of them (see `fuzz/checks/mutate.rs`: not
//! coverage-guided; the libFuzzer runs are in docs/robustness.md).

#[path = "../fuzz/checks/load_from_bytes.rs"]
mod load_from_bytes;
#[path = "../fuzz/checks/mutate.rs"]
mod mutate;
#[path = "../fuzz/checks/safetensors_header.rs"]
mod safetensors_header;

use std::path::Path;

/// Runs `check` on every seed and on `mutants` mutants; the share of mutants the code
/// under test accepted must be at least `min_accepted`, so the checks on accepted
/// input do run (most mutants are refused, as they should be).
fn replay(target: &str, mutants: usize, min_accepted: f64, check: fn(&[u8]) -> bool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let seeds = mutate::seeds(&dir);
    for s in &seeds {
        assert!(check(s), "a seed of {target} is refused");
    }
    let mut rng = mutate::Rng::new(0x6d32_7620_6675_7a7a);
    let accepted = (0..mutants)
        .filter(|_| check(&mutate::mutant(&mut rng, &seeds)))
        .count();
    let share = accepted as f64 / mutants as f64;
    eprintln!("{target}: {accepted} of {mutants} mutants accepted");
    assert!(
        share >= min_accepted,
        "{target}: only {accepted} of {mutants} mutants accepted"
    );
}

#[test]
fn safetensors_header_seeds_and_mutants() {
    replay(
        "safetensors_header",
        20_000,
        0.01,
        safetensors_header::check,
    );
}

#[test]
fn load_from_bytes_seeds_and_mutants() {
    replay("load_from_bytes", 5_000, 0.01, load_from_bytes::check);
}
