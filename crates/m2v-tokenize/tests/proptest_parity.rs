//! Property tests: random strings give the same ids as HF `tokenizers`, for each model
//! type (WordPiece, Unigram, BPE, WordLevel). Strings are drawn both from arbitrary
//! Unicode and from a pool of tricky pieces (accents, combining marks, CJK, emoji and
//! ZWJ sequences, controls, spaces, added tokens).

mod common;

use std::sync::OnceLock;

use common::{Pair, adversarial, model_file, train};
use proptest::prelude::*;

const PIECES: &[&str] = &[
    "a",
    "b",
    "the",
    "The",
    "running",
    "un",
    "##",
    "##s",
    "x",
    "Z",
    "0",
    "42",
    "3.5",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\u{a0}",
    "\u{3000}",
    ".",
    ",",
    "!",
    "?",
    "'",
    "'s",
    "'ll",
    "\"",
    "-",
    "(",
    ")",
    "[",
    "]",
    "<",
    ">",
    "/",
    "é",
    "E\u{301}",
    "\u{301}",
    "\u{323}",
    "ñ",
    "ü",
    "ß",
    "İ",
    "Σ",
    "ς",
    "中",
    "文",
    "日本",
    "한국",
    "\u{1100}\u{1161}",
    "😀",
    "👍🏽",
    "👨\u{200d}👩",
    "🇫🇷",
    "\u{200b}",
    "\u{200d}",
    "\u{feff}",
    "\u{0}",
    "\u{1}",
    "\u{7f}",
    "\u{85}",
    "\u{fffd}",
    "ﬁ",
    "①",
    "Ａ",
    "▁",
    "Ġ",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "[UNK]",
    "<s>",
    "</s>",
    "<mask>",
    "<pad>",
    "<unk>",
    "<|endoftext|>",
    "क्ष",
    "ि",
    "\u{e000}",
    "𝔘",
];

fn pieces() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..24).prop_map(|v| v.concat())
}

fn texts() -> impl Strategy<Value = String> {
    prop_oneof![pieces(), any::<String>(), "[ -~]{0,40}"]
}

fn check(pair: &Pair, text: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        pair.ours.encode(text),
        pair.expected(text),
        "{}: {:?}",
        pair.name,
        text
    );
    Ok(())
}

fn wordpiece() -> Option<&'static Pair> {
    static P: OnceLock<Option<Pair>> = OnceLock::new();
    P.get_or_init(|| {
        model_file("minishlab/potion-base-8M", "potion-base-8M")
            .map(|p| Pair::from_file("potion-base-8M", &p))
    })
    .as_ref()
}

fn unigram() -> Option<&'static Pair> {
    static P: OnceLock<Option<Pair>> = OnceLock::new();
    P.get_or_init(|| {
        model_file("pypi/tokenlearn-static-model", "tokenlearn-static-model")
            .map(|p| Pair::from_file("tokenlearn", &p))
    })
    .as_ref()
}

fn training() -> Vec<String> {
    let mut t: Vec<String> = (0..30).flat_map(|_| adversarial()).collect();
    t.extend(PIECES.iter().map(|p| p.repeat(3)));
    t
}

fn bpe() -> &'static Pair {
    static P: OnceLock<Pair> = OnceLock::new();
    P.get_or_init(|| Pair::from_json("byte-level BPE", &train::byte_level_bpe(&training(), 600)))
}

fn prefixed_bpe() -> &'static Pair {
    static P: OnceLock<Pair> = OnceLock::new();
    P.get_or_init(|| Pair::from_json("prefixed BPE", &train::prefixed_bpe(&training(), 500)))
}

fn word_level() -> &'static Pair {
    static P: OnceLock<Pair> = OnceLock::new();
    P.get_or_init(|| Pair::from_json("WordLevel", &train::word_level(&training(), 300)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn wordpiece_matches(text in texts()) {
        if let Some(p) = wordpiece() {
            check(p, &text)?;
        }
    }

    #[test]
    fn unigram_matches(text in texts()) {
        if let Some(p) = unigram() {
            check(p, &text)?;
        }
    }

    #[test]
    fn bpe_matches(text in texts()) {
        check(bpe(), &text)?;
        check(prefixed_bpe(), &text)?;
    }

    #[test]
    fn word_level_matches(text in texts()) {
        check(word_level(), &text)?;
    }
}
