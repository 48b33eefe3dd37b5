//! Issue 19: well-formed but hostile `tokenizer.json` files must not make tokenizing
//! blow up. Each test tokenizes one input at two sizes of the hostile parameter and
//! checks how the time grows: each is a ratio of two timings within the test (the
//! best of five runs each, and up to five such measurements), never a wall-clock
//! threshold, with a generous bound
//! (stated at each test) between the linear growth of the fix and the quadratic
//! (or worse) growth of the code before it: for 4 times the size, at most 8 times
//! the time (linear: 4, quadratic: 16). The normalizer that multiplies text is
//! refused at load (`normalizer.rs`, `multiplying_replaces_are_refused_at_load`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use m2v_tokenize::{Tokenizer, TokenizerScratch};

/// The best of `reps` timings of `f`, each with fresh working memory (so that no
/// word cache answers from an earlier run).
fn best(reps: usize, t: &Tokenizer, text: &str) -> (Duration, Vec<u32>) {
    let mut best = Duration::MAX;
    let mut ids = Vec::new();
    for _ in 0..reps {
        let mut scratch = TokenizerScratch::default();
        ids.clear();
        let start = Instant::now();
        t.encode_into_with(text, None, &mut ids, &mut scratch);
        best = best.min(start.elapsed());
    }
    (best, ids)
}

/// `time(big) / time(small)`, each the best of five, measured alternately so that a
/// change of the machine's load falls on both.
fn ratio(small: (&Tokenizer, &str), big: (&Tokenizer, &str)) -> f64 {
    let (mut a, mut b) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        a = a.min(best(1, small.0, small.1).0);
        b = b.min(best(1, big.0, big.1).0);
    }
    let r = b.as_secs_f64() / a.as_secs_f64().max(1e-9);
    eprintln!("{a:?} -> {b:?}: {r:.2}x");
    r
}

/// Asserts `ratio(small, big) < bound`, measuring up to five times: on a loaded
/// machine one measurement can be unlucky, but a growth of the wrong order (twice
/// the bound here) fails all five. One test measures at a time (the tests of this
/// file would otherwise time each other).
fn assert_ratio(small: (&Tokenizer, &str), big: (&Tokenizer, &str), bound: f64, what: &str) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut seen = Vec::new();
    for _ in 0..5 {
        let r = ratio(small, big);
        if r < bound {
            return;
        }
        seen.push(format!("{r:.2}x"));
    }
    panic!("{what} cost {} (bound {bound}x)", seen.join(", "));
}

fn json_str(s: &str) -> String {
    let mut out = String::new();
    m2v_tokenize::json::write_string(&mut out, s);
    out
}

/// A WordPiece model over `tokens` (ids in order; the continuing prefix is the
/// default `##`), one word per text (no normalizer
/// or pre-tokenizer), with the `max_input_chars_per_word` of the issue: 10^9.
fn wordpiece(tokens: &[String]) -> Tokenizer {
    let vocab: Vec<String> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{}:{i}", json_str(t)))
        .collect();
    Tokenizer::from_json_str(&format!(
        r#"{{"added_tokens":[],"normalizer":null,"pre_tokenizer":null,
        "model":{{"type":"WordPiece","unk_token":"[UNK]",
        "max_input_chars_per_word":1000000000,"vocab":{{{}}}}}}}"#,
        vocab.join(",")
    ))
    .unwrap()
}

/// WordPiece's greedy longest match tries every end up to the longest token; a
/// vocabulary with long tokens made each try hash its candidate anew, so a position
/// cost `O(L^2)` for tokens of `L` bytes. Four times `L` (125 to 500) must cost at
/// most 8x (the hashing anew took 16x; the fix is `O(L)` a position, 4x).
#[test]
fn wordpiece_long_tokens_cost_linear_time_a_position() {
    let make = |l: usize| {
        let long = "a".repeat(l);
        wordpiece(&[
            "[UNK]".into(),
            "a".into(),
            "##a".into(),
            format!("{long}b"),
            format!("##{long}b"),
        ])
    };
    let (small, big) = (make(125), make(500));
    let text = "a".repeat(3000);
    let (_, ids) = best(1, &big, &text);
    assert_eq!(ids.len(), 3000);
    assert!(ids[0] == 1 && ids[1..].iter().all(|&i| i == 2));
    assert_ratio(
        (&small, &text),
        (&big, &text),
        8.0,
        "4 times the longest token",
    );
}

/// With the issue's `max_input_chars_per_word` of 10^9 and a BERT-like vocabulary, a
/// word's cost is linear in its length (the longest match is bounded by the longest
/// token): 4 times the word (20,000 to 80,000 chars) costs at most 8x (quadratic
/// would be 16x).
#[test]
fn wordpiece_huge_max_input_chars_is_linear_in_the_word() {
    let mut toks: Vec<String> = vec!["[UNK]".into()];
    for c in 'a'..='z' {
        toks.push(c.to_string());
        toks.push(format!("##{c}"));
        toks.push(format!("##{c}{c}"));
    }
    let t = wordpiece(&toks);
    let word = |n: usize| "abcdefghij".repeat(n / 10);
    let (a, b) = (word(20_000), word(80_000));
    assert_eq!(best(1, &t, &b).1.len(), 80_000);
    assert_ratio((&t, &a), (&t, &b), 8.0, "4 times the word");
}

/// A Unigram vocabulary of `a`, `aa`, ... `a` x `l` (each scored -1, so the longest
/// pieces win), whole texts as one piece.
fn unigram_runs(l: usize) -> Tokenizer {
    let mut vocab = vec![r#"["<unk>",0.0]"#.to_string()];
    vocab.extend((1..=l).map(|k| format!(r#"["{}",-1.0]"#, "a".repeat(k))));
    Tokenizer::from_json_str(&format!(
        r#"{{"added_tokens":[],"normalizer":null,"pre_tokenizer":null,
        "model":{{"type":"Unigram","unk_id":0,"vocab":[{}]}}}}"#,
        vocab.join(",")
    ))
    .unwrap()
}

/// The Viterbi lattice walks up to the longest piece from each position; each step
/// compared the whole candidate with the text, so a run of `a` over a vocabulary of
/// `a` ... `a` x `L` cost `O(L^2)` a position. Four times `L` (50 to 200) must cost
/// at most 8x (it took 16x; now each step compares only the new bytes, 4x).
#[test]
fn unigram_runs_cost_linear_time_in_the_longest_piece() {
    let (small, big) = (unigram_runs(50), unigram_runs(200));
    let text = "a".repeat(1200);
    let (_, ids) = best(1, &big, &text);
    assert_eq!(ids, vec![200; 6]);
    let (_, ids) = best(1, &small, &text);
    assert_eq!(ids, vec![50; 24]);
    assert_ratio(
        (&small, &text),
        (&big, &text),
        8.0,
        "4 times the longest piece",
    );
}

/// The issue's vocabulary (`a` ... `a` x 2000) loads with an index of a few times
/// its 2 MB of strings, and a 6,000-byte run of `a` tokenizes into 3 pieces.
#[test]
fn unigram_runs_of_2000_memory_and_result() {
    let t = unigram_runs(2000);
    let strings = 2000 * 2001 / 2;
    let heap = t.vocab_heap_bytes();
    assert!(
        heap < 4 * strings,
        "{heap} bytes of index for {strings} of strings"
    );
    let (_, ids) = best(1, &t, &"a".repeat(6000));
    assert_eq!(ids, vec![2000; 3]);
}

/// `p` added tokens `<tok0>`, `<tok1>`, ... (all starting with `<`, like most of
/// Gemma 3's 6,322) over a WordLevel model.
fn many_added(p: usize) -> Tokenizer {
    let added: Vec<String> = (0..p)
        .map(|i| {
            format!(
                r#"{{"id":{},"content":"<tok{i}>","normalized":false,"special":true}}"#,
                i + 2
            )
        })
        .collect();
    Tokenizer::from_json_str(&format!(
        r#"{{"added_tokens":[{}],"normalizer":null,"pre_tokenizer":{{"type":"WhitespaceSplit"}},
        "model":{{"type":"WordLevel","unk_token":"[UNK]","vocab":{{"[UNK]":0,"<":1}}}}}}"#,
        added.join(",")
    ))
    .unwrap()
}

/// The added-token matcher compared every pattern with the same first byte at each
/// position: a text of `<` cost `text x patterns`. With 8 times the patterns (500 to
/// 4,000), the same text must cost at most 3x (it took about 8x; a trie walk is one
/// step here, whatever the number of patterns).
#[test]
fn added_token_scan_does_not_grow_with_the_patterns() {
    let (small, big) = (many_added(500), many_added(4000));
    let text = format!("{} <tok7> <<tok3999>", "<".repeat(20_000));
    let (_, ids) = best(1, &big, &text);
    assert_eq!(ids, [0, 9, 1, 4001]);
    assert_ratio((&small, &text), (&big, &text), 3.0, "8 times the patterns");
}

/// BPE merges `a a`, `aa aa`, ... on one long word of `a`s: HF's priority queue
/// (commit 75e0776) keeps it `O(n log n)`. 4 times the word (8,192 to 32,768 chars)
/// must cost at most 8x (a scan of the pairs per merge is quadratic: 16x).
#[test]
fn bpe_long_word_merges_in_n_log_n() {
    let mut vocab = Vec::new();
    let mut merges = Vec::new();
    for k in 0..=10 {
        let s = "a".repeat(1 << k);
        vocab.push(format!(r#""{s}":{k}"#));
        if k > 0 {
            let h = "a".repeat(1 << (k - 1));
            merges.push(format!(r#""{h} {h}""#));
        }
    }
    let t = Tokenizer::from_json_str(&format!(
        r#"{{"added_tokens":[],"normalizer":null,"pre_tokenizer":null,
        "model":{{"type":"BPE","vocab":{{{}}},"merges":[{}]}}}}"#,
        vocab.join(","),
        merges.join(",")
    ))
    .unwrap();
    let (a, b) = ("a".repeat(8_192), "a".repeat(32_768));
    assert_eq!(best(1, &t, &b).1, vec![10; 32]);
    assert_ratio((&t, &a), (&t, &b), 8.0, "4 times the word");
}
