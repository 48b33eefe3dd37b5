//! Memory of loading potion-base-8M's tokenizer.json, measured with a counting global
//! allocator: the heap the loaded tokenizer keeps, and the peak while loading (the
//! file's bytes, read before measuring, are not counted), against what the vocabulary
//! strings themselves need.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn potion_load_memory() {
    let Some(dir) = m2v_hub::testing::model_or_skip("minishlab/potion-base-8M", "potion-base-8M")
    else {
        return;
    };
    let bytes = std::fs::read(dir.join("tokenizer.json")).unwrap_or_else(|e| panic!("{e}"));
    // Other test threads of this binary: there are none (one test).
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let tok = m2v_tokenize::Tokenizer::from_bytes(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let retained = LIVE.load(Ordering::SeqCst) - before;
    let peak = PEAK.load(Ordering::SeqCst) - before;
    let tokens = tok.tokens();
    let strings: usize = tokens.iter().map(|t| t.len()).sum();
    // A `Vec<String>` of the vocabulary: the bytes plus a 24-byte handle per token.
    let as_strings = strings + 24 * tokens.len();
    eprintln!(
        "potion-base-8M: {} tokens, {} string bytes ({} as Vec<String>), file {} bytes; \
         retained {} bytes ({:.2}x strings, {:.2}x Vec<String>), vocabulary structures {} bytes; \
         peak while loading {} bytes ({:.2}x strings, {:.2}x Vec<String>)",
        tokens.len(),
        strings,
        as_strings,
        bytes.len(),
        retained,
        retained as f64 / strings as f64,
        retained as f64 / as_strings as f64,
        tok.vocab_heap_bytes(),
        peak,
        peak as f64 / strings as f64,
        peak as f64 / as_strings as f64,
    );
    // The goal: loading needs at most twice what the vocabulary strings need when held
    // as Rust strings (Vec<String>: bytes + 24-byte handle each).
    assert!(peak <= 2 * as_strings, "peak {peak} > 2 x {as_strings}");
    assert!(
        retained <= 2 * as_strings,
        "retained {retained} > 2 x {as_strings}"
    );
    drop(tokens);
}
