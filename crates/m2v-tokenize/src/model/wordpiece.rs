//! The WordPiece model: greedy longest-match-first with a continuing-subword prefix.

use crate::vocab::{Probe, SEED, Vocab, hash_from, step};

/// HF `WordPiece`. Invariant: `unk_id` is a token of `vocab`.
#[derive(Debug, Clone)]
pub(crate) struct WordPiece {
    pub(crate) vocab: Vocab,
    pub(crate) unk_id: u32,
    pub(crate) prefix: String,
    prefix_hash: u64,
    pub(crate) max_input_chars_per_word: usize,
}

/// Longest piece whose prefix hashes are kept on the stack; longer candidates are
/// hashed one by one.
const STACK: usize = 48;

impl WordPiece {
    pub(crate) fn new(
        vocab: Vocab,
        unk_id: u32,
        prefix: String,
        max_input_chars_per_word: usize,
    ) -> WordPiece {
        let prefix_hash = hash_from(SEED, prefix.as_bytes());
        WordPiece {
            vocab,
            unk_id,
            prefix,
            prefix_hash,
            max_input_chars_per_word,
        }
    }

    /// Appends the ids of one word (non-empty, already normalized and pre-tokenized).
    #[inline]
    pub(crate) fn tokenize(&self, word: &str, out: &mut Vec<u32>) {
        self.tokenize_bytes(word.as_bytes(), out);
    }

    /// [`WordPiece::tokenize`] on the UTF-8 bytes of a word.
    #[inline]
    pub(crate) fn tokenize_bytes(&self, b: &[u8], out: &mut Vec<u32>) {
        if b.len() > self.max_input_chars_per_word
            && b.iter().filter(|&&x| x & 0xC0 != 0x80).count() > self.max_input_chars_per_word
        {
            out.push(self.unk_id);
            return;
        }
        // The common case: the whole word is a token.
        if b.len() <= self.vocab.max_len()
            && let Probe::Token(id) = self.vocab.probe(hash_from(SEED, b), b)
        {
            out.push(id);
            return;
        }
        self.tokenize_pieces(b, out);
    }

    #[inline(never)]
    fn tokenize_pieces(&self, b: &[u8], out: &mut Vec<u32>) {
        let is_boundary = |i: usize| i == b.len() || b[i] & 0xC0 != 0x80;
        let mark = out.len();
        let max_len = self.vocab.max_len();
        let plen = self.prefix.len();
        let mut start = 0;
        let mut stack = [0u64; STACK];
        // A vocabulary with tokens longer than `STACK` bytes: every prefix's hash is
        // kept on the heap, so a position costs `O(max_len)`, not `O(max_len^2)`
        // (issue 19: a long token made each position hash every candidate anew).
        let mut heap = Vec::new();
        let hashes: &mut [u64] = if max_len.min(b.len()) > STACK {
            heap.resize(max_len.min(b.len()), 0);
            &mut heap
        } else {
            &mut stack
        };
        while start < b.len() {
            let (h0, room) = if start == 0 {
                (SEED, max_len)
            } else {
                (self.prefix_hash, max_len.saturating_sub(plen))
            };
            let limit = (b.len() - start).min(room);
            let n = limit.min(hashes.len());
            let mut h = h0;
            for k in 0..n {
                h = step(h, b[start + k]);
                hashes[k] = h;
            }
            let mut found = None;
            let mut end = start + limit;
            while end > start {
                if is_boundary(end) {
                    let len = end - start;
                    let h = if len <= n {
                        hashes[len - 1]
                    } else {
                        hash_from(h0, &b[start..end])
                    };
                    let id = if !self.vocab.may_contain(h) {
                        None
                    } else if start == 0 {
                        match self.vocab.probe(h, &b[..end]) {
                            Probe::Token(id) => Some(id),
                            _ => None,
                        }
                    } else {
                        self.vocab.get2(h, self.prefix.as_bytes(), &b[start..end])
                    };
                    if let Some(id) = id {
                        found = Some(id);
                        break;
                    }
                }
                end -= 1;
            }
            match found {
                Some(id) => {
                    out.push(id);
                    start = end;
                }
                None => {
                    out.truncate(mark);
                    out.push(self.unk_id);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(word: &str, expected: &[u32]) {
        let toks = ["[UNK]", "un", "##aff", "##able", "a", "##b", "##é", "ü"];
        let vocab = Vocab::from_list(toks.iter().copied(), false).unwrap();
        let wp = WordPiece::new(vocab, 0, "##".into(), 10);
        let mut out = vec![99];
        wp.tokenize(word, &mut out);
        assert_eq!(&out[1..], expected, "{word}");
    }

    #[test]
    fn greedy_longest_match() {
        check("unaffable", &[1, 2, 3]);
        check("ab", &[4, 5]);
        check("abé", &[4, 5, 6]);
        check("ü", &[7]);
        check("abx", &[0]);
        check("abbbbbbbbbb", &[0]); // 11 chars > 10
    }
}
