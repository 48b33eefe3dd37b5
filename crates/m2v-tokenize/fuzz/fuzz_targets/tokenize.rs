//! Arbitrary bytes tokenized by one of the ten shipped tokenizers (the first byte
//! picks it; see `checks::tokenize`). They are loaded once, from `$M2V_TOKENIZERS`
//! or `../shared/data/tokenizers` beside the repository; all ten must load.
#![no_main]

#[path = "../checks.rs"]
mod checks;

use std::path::PathBuf;
use std::sync::LazyLock;

use m2v_tokenize::Tokenizer;

static TOKENIZERS: LazyLock<Vec<Tokenizer>> = LazyLock::new(|| {
    let dir = std::env::var_os("M2V_TOKENIZERS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data/tokenizers"),
        PathBuf::from,
    );
    checks::SHIPPED
        .iter()
        .map(|name| {
            let p = dir.join(name).join("tokenizer.json");
            Tokenizer::from_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
});

// Loading the ten files takes seconds: done before the first input, so that it does
// not count against libFuzzer's per-input timeout.
libfuzzer_sys::fuzz_target!(
    init: {
        LazyLock::force(&TOKENIZERS);
    },
    |data: &[u8]| checks::tokenize(&TOKENIZERS, data)
);
