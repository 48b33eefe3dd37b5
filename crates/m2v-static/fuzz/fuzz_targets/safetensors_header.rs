//! libFuzzer target: see `../checks/safetensors_header.rs` for what it checks.
#![no_main]

#[path = "../checks/safetensors_header.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check::check(data);
});
