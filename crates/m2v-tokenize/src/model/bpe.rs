//! The BPE model: byte-pair merges applied lowest rank first, leftmost first on ties
//! (what HF's priority queue in `Word::merge_all` amounts to).

use crate::vocab::Vocab;

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
}

/// Reusable buffers of the merge loop.
#[derive(Debug, Default, Clone)]
pub(crate) struct BpeScratch {
    syms: Vec<u32>,
    s: String,
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
                let full: &str = if plain { piece } else { &sc.s };
                let ids: Option<Vec<u32>> = full
                    .bytes()
                    .map(|b| self.vocab.get(&format!("<0x{b:02X}>")))
                    .collect();
                if let Some(ids) = ids {
                    syms.extend(ids);
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
        self.merge(syms);
        out.extend_from_slice(syms);
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
}
