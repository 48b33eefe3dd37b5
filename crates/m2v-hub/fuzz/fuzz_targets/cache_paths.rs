//! libFuzzer target: see `../checks/cache_paths.rs` for what it checks.
#![no_main]

#[path = "../checks/cache_paths.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check::check(data);
});
