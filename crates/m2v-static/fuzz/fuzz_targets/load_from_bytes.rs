//! libFuzzer target: see `../checks/load_from_bytes.rs` for what it checks.
#![no_main]

#[path = "../checks/load_from_bytes.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check::check(data);
});
