//! The BPE model: byte-pair merges applied lowest rank first, leftmost first on ties
//! (what HF's priority queue in `Word::merge_all` amounts to).
//!
//! Short words take a scan of the pairs per merge; long ones (sentencepiece BPE files
//! such as Llama 2, Mistral and Gemma 3 make the whole text one word) take HF's own
//! algorithm, a priority queue over a linked list of symbols, so that their cost stays
//! `O(n log n)` instead of quadratic. Both give the same merges: a queued pair whose
//! symbols have changed since is recognised by its merged token (a merge yields a
//! longer string, so a changed pair never yields the queued token) and skipped.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::vocab::Vocab;

/// Words with more symbols than this take the priority-queue merge.
const HEAP_MIN_SYMBOLS: usize = 24;

/// An open-addressing map from a pair of ids to `(rank, new_id)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct PairMap {
    keys: Vec<u64>,
    vals: Vec<(u32, u32)>,
    shift: u32,
}

const EMPTY: u64 = u64::MAX;

impl PairMap {
    pub(crate) fn with_capacity(n: usize) -> PairMap {
        let cap = (n * 2 + 16).next_power_of_two();
        PairMap {
            keys: vec![EMPTY; cap],
            vals: vec![(0, 0); cap],
            shift: 64 - cap.trailing_zeros(),
        }
    }
    #[inline]
    fn slot(&self, k: u64) -> usize {
        (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }
    /// Inserts or overwrites (a later merge of the same pair wins, as in HF's map).
    pub(crate) fn insert(&mut self, a: u32, b: u32, v: (u32, u32)) {
        let k = (u64::from(a) << 32) | u64::from(b);
        let mask = self.keys.len() - 1;
        let mut i = self.slot(k);
        loop {
            if self.keys[i] == EMPTY || self.keys[i] == k {
                self.keys[i] = k;
                self.vals[i] = v;
                return;
            }
            i = (i + 1) & mask;
        }
    }
    #[inline]
    pub(crate) fn get(&self, a: u32, b: u32) -> Option<(u32, u32)> {
        let k = (u64::from(a) << 32) | u64::from(b);
        let mask = self.keys.len() - 1;
        let mut i = self.slot(k);
        loop {
            let key = self.keys[i];
            if key == k {
                return Some(self.vals[i]);
            }
            if key == EMPTY {
                return None;
            }
            i = (i + 1) & mask;
        }
    }
}

/// HF `BPE` (dropout must be off). Invariant: every merge's ids are tokens of `vocab`.
#[derive(Debug, Clone)]
pub(crate) struct Bpe {
    pub(crate) vocab: Vocab,
    pub(crate) merges: PairMap,
    pub(crate) unk_id: Option<u32>,
    pub(crate) continuing_subword_prefix: Option<String>,
    pub(crate) end_of_word_suffix: Option<String>,
    pub(crate) fuse_unk: bool,
    pub(crate) byte_fallback: bool,
    pub(crate) ignore_merges: bool,
    /// Id of each single-byte char (`u32::MAX` when absent) when no prefix or suffix
    /// applies: the byte-level fast path.
    ascii: Box<[u32; 128]>,
    /// Id of each byte's `<0xXX>` token (`u32::MAX` when absent), with `byte_fallback`.
    bytes: Box<[u32; 256]>,
}

/// Reusable buffers of the merge loop.
#[derive(Debug, Default, Clone)]
pub(crate) struct BpeScratch {
    syms: Vec<u32>,
    s: String,
    /// The priority-queue merge: `(rank, position, new id)`, lowest first, and the
    /// linked list of live symbols.
    heap: BinaryHeap<Reverse<(u32, u32, u32)>>,
    prev: Vec<u32>,
    next: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl Bpe {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        vocab: Vocab,
        merges: PairMap,
        unk_token: Option<String>,
        continuing_subword_prefix: Option<String>,
        end_of_word_suffix: Option<String>,
        fuse_unk: bool,
        byte_fallback: bool,
        ignore_merges: bool,
    ) -> Bpe {
        let unk_id = unk_token.as_deref().and_then(|u| vocab.get(u));
        let mut ascii = Box::new([NONE; 128]);
        for (b, slot) in ascii.iter_mut().enumerate() {
            let s = [b as u8];
            if let Some(id) = std::str::from_utf8(&s).ok().and_then(|t| vocab.get(t)) {
                *slot = id;
            }
        }
        let mut bytes = Box::new([NONE; 256]);
        if byte_fallback {
            for (b, slot) in bytes.iter_mut().enumerate() {
                if let Some(id) = vocab.get(&format!("<0x{b:02X}>")) {
                    *slot = id;
                }
            }
        }
        Bpe {
            vocab,
            merges,
            unk_id,
            continuing_subword_prefix,
            end_of_word_suffix,
            fuse_unk,
            byte_fallback,
            ignore_merges,
            ascii,
            bytes,
        }
    }

    /// Appends the ids of one non-empty word.
    pub(crate) fn tokenize(&self, word: &str, sc: &mut BpeScratch, out: &mut Vec<u32>) {
        if word.is_empty() {
            return;
        }
        if self.ignore_merges
            && let Some(id) = self.vocab.get(word)
        {
            out.push(id);
            return;
        }
        // Initial symbols, one per char (with prefix/suffix, byte fallback, unk fusing).
        let syms = &mut sc.syms;
        syms.clear();
        let plain = self.continuing_subword_prefix.is_none() && self.end_of_word_suffix.is_none();
        let mut unk: Option<u32> = None; // pending (possibly fused) unk
        let mut it = word.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            let end = it.peek().map_or(word.len(), |&(e, _)| e);
            let piece = &word[i..end];
            let id = if plain && c.is_ascii() {
                let id = self.ascii[c as usize];
                (id != NONE).then_some(id)
            } else if plain {
                self.vocab.get(piece)
            } else {
                let s = &mut sc.s;
                s.clear();
                if i > 0
                    && let Some(p) = &self.continuing_subword_prefix
                {
                    s.push_str(p);
                }
                s.push_str(piece);
                if end == word.len()
                    && let Some(x) = &self.end_of_word_suffix
                {
                    s.push_str(x);
                }
                self.vocab.get(s)
            };
            if let Some(id) = id {
                if let Some(u) = unk.take() {
                    syms.push(u);
                }
                syms.push(id);
                continue;
            }
            if self.byte_fallback {
                // HF: every byte's `<0xXX>` token, or none of them (then unk). A
                // pending unk stays pending (HF adds it after these bytes).
                let full: &str = if plain { piece } else { &sc.s };
                if full.bytes().all(|b| self.bytes[b as usize] != NONE) {
                    syms.extend(full.bytes().map(|b| self.bytes[b as usize]));
                    continue;
                }
            }
            if let Some(u) = self.unk_id {
                match unk {
                    Some(_) if self.fuse_unk => {}
                    Some(prev) => {
                        syms.push(prev);
                        unk = Some(u);
                    }
                    None => unk = Some(u),
                }
            }
        }
        if let Some(u) = unk {
            syms.push(u);
        }
        if syms.len() > HEAP_MIN_SYMBOLS {
            self.merge_queued(sc);
        } else {
            self.merge(&mut sc.syms);
        }
        out.extend_from_slice(&sc.syms);
    }

    /// Applies merges until none applies: each step merges the pair of lowest rank,
    /// the leftmost among equal ranks.
    fn merge(&self, syms: &mut Vec<u32>) {
        if syms.len() < 2 {
            return;
        }
        loop {
            let mut best: Option<(u32, usize, u32)> = None;
            for i in 0..syms.len() - 1 {
                if let Some((rank, new_id)) = self.merges.get(syms[i], syms[i + 1])
                    && best.is_none_or(|(r, _, _)| rank < r)
                {
                    best = Some((rank, i, new_id));
                }
            }
            match best {
                Some((_, i, new_id)) => {
                    syms[i] = new_id;
                    syms.remove(i + 1);
                    if syms.len() < 2 {
                        return;
                    }
                }
                None => return,
            }
        }
    }

    /// [`Bpe::merge`] on `sc.syms` with HF's priority queue (`Word::merge_all` without
    /// dropout): the queue holds `(rank, position, new id)` of every pair formed so far;
    /// an entry whose symbols have changed since is skipped when popped.
    fn merge_queued(&self, sc: &mut BpeScratch) {
        let BpeScratch {
            syms,
            heap,
            prev,
            next,
            ..
        } = sc;
        let n = syms.len();
        heap.clear();
        prev.clear();
        next.clear();
        prev.extend((0..n as u32).map(|i| i.wrapping_sub(1)));
        next.extend((1..=n as u32).map(|i| if (i as usize) < n { i } else { NONE }));
        for i in 0..n - 1 {
            if let Some((rank, new_id)) = self.merges.get(syms[i], syms[i + 1]) {
                heap.push(Reverse((rank, i as u32, new_id)));
            }
        }
        while let Some(Reverse((_, p, new_id))) = heap.pop() {
            let p = p as usize;
            let q = next[p];
            if syms[p] == NONE || q == NONE {
                continue;
            }
            let q = q as usize;
            if self.merges.get(syms[p], syms[q]).map(|m| m.1) != Some(new_id) {
                continue;
            }
            syms[p] = new_id;
            syms[q] = NONE;
            let after = next[q];
            next[p] = after;
            if after != NONE {
                prev[after as usize] = p as u32;
            }
            let before = prev[p];
            if before != NONE
                && let Some((rank, id)) = self.merges.get(syms[before as usize], new_id)
            {
                heap.push(Reverse((rank, before, id)));
            }
            if after != NONE
                && let Some((rank, id)) = self.merges.get(new_id, syms[after as usize])
            {
                heap.push(Reverse((rank, p as u32, id)));
            }
        }
        syms.retain(|&x| x != NONE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(prefix: Option<&str>) -> Bpe {
        let toks = [
            "<unk>", "a", "b", "c", "ab", "bc", "abc", "##b", "##c", "a##b",
        ];
        let vocab = Vocab::from_list(toks.iter().copied(), false).unwrap();
        let mut merges = PairMap::with_capacity(4);
        merges.insert(2, 3, (0, 5)); // b c -> bc
        merges.insert(1, 2, (1, 4)); // a b -> ab
        merges.insert(4, 3, (2, 6)); // ab c -> abc
        Bpe::new(
            vocab,
            merges,
            Some("<unk>".into()),
            prefix.map(String::from),
            None,
            true,
            false,
            false,
        )
    }

    fn check(m: &Bpe, word: &str, expected: &[u32]) {
        let mut out = Vec::new();
        m.tokenize(word, &mut BpeScratch::default(), &mut out);
        assert_eq!(out, expected, "{word}");
    }

    #[test]
    fn merges_by_rank() {
        let m = model(None);
        // b c merges first (rank 0), leaving a + bc: no merge for that pair.
        check(&m, "abc", &[1, 5]);
        check(&m, "ab", &[4]);
        check(&m, "abab", &[4, 4]);
        // Unknown chars fuse into one unk.
        check(&m, "xxa", &[0, 1]);
        let p = model(Some("##"));
        check(&p, "ab", &[1, 7]);
    }

    /// The priority-queue merge of long words gives the scan's merges, with merges
    /// that make one token from several pairs (`a bc` and `ab c`), as sentencepiece
    /// conversions have, on random words around the switch-over length.
    #[test]
    fn queued_merge_equals_the_scan() {
        let toks = [
            "a", "b", "c", "ab", "bc", "abc", "ca", "cab", "aa", "aaa", "abca", "bcab",
        ];
        let vocab = Vocab::from_list(toks.iter().copied(), false).unwrap();
        let id = |t: &str| toks.iter().position(|&x| x == t).unwrap() as u32;
        let rules = [
            ("b", "c"),
            ("a", "a"),
            ("a", "b"),
            ("c", "a"),
            ("a", "bc"),
            ("ab", "c"),
            ("c", "ab"),
            ("ca", "b"),
            ("aa", "a"),
            ("abc", "a"),
            ("bc", "ab"),
        ];
        let mut merges = PairMap::with_capacity(rules.len());
        for (r, (x, y)) in rules.iter().enumerate() {
            merges.insert(id(x), id(y), (r as u32, id(&format!("{x}{y}"))));
        }
        let m = Bpe::new(vocab, merges, None, None, None, false, false, false);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut sc = BpeScratch::default();
        for _ in 0..3000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 1 + (state % 60) as usize;
            let word: Vec<u32> = (0..len).map(|k| ((state >> (k % 60)) % 3) as u32).collect();
            let mut scan = word.clone();
            m.merge(&mut scan);
            sc.syms.clear();
            sc.syms.extend(&word);
            m.merge_queued(&mut sc);
            assert_eq!(sc.syms, scan, "{word:?}");
        }
    }
}
