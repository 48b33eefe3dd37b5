//! Arbitrary bytes into m2v-tokenize's JSON parser (see `checks::json`).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::json(data));
