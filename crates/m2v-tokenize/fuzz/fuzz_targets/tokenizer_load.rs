//! Arbitrary bytes as a `tokenizer.json`, then the fixed texts through whatever loads
//! (see `checks::tokenizer_load`).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::tokenizer_load(data));
