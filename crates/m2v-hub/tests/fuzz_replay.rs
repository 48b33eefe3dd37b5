//! The fuzz target's check (`fuzz/checks/cache_paths.rs`), replayed by `cargo test` on
//! the committed seeds and on seeded mutants of them (the mutator is m2v-static's
//! `fuzz/checks/mutate.rs`: not coverage-guided; the libFuzzer runs are in
//! docs/robustness.md).

#[path = "../fuzz/checks/cache_paths.rs"]
mod cache_paths;
#[path = "../../m2v-static/fuzz/checks/mutate.rs"]
mod mutate;

#[test]
fn cache_paths_seeds_and_mutants() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/cache_paths");
    let seeds = mutate::seeds(&dir);
    // Some seeds are ids that must be refused (`..`, bad revisions); others parse.
    assert!(
        seeds.iter().any(|s| cache_paths::check(s)),
        "no seed parses"
    );
    // Most mutants must still parse, so the path checks run on them.
    let mut rng = mutate::Rng::new(0x6875_6270_6174_6873);
    let n = 20_000;
    let parsed = (0..n)
        .filter(|_| cache_paths::check(&mutate::mutant(&mut rng, &seeds)))
        .count();
    eprintln!("{parsed} of {n} mutants hold an id that parses");
    assert!(parsed >= n / 100, "only {parsed} of {n} mutants parse");
}
