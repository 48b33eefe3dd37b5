//! The Unigram model: Viterbi segmentation over token log-probabilities, as HF's
//! `encode_optimized` (sentencepiece's `EncodeOptimized`) does it.

use crate::vocab::{Probe, SEED, Vocab, step};

/// HF's penalty below the lowest score for an unknown character.
const UNK_PENALTY: f64 = 10.0;

/// HF `Unigram`. Invariant: `scores.len() == vocab.len()`; `unk_id < vocab.len()`.
#[derive(Debug, Clone)]
pub(crate) struct Unigram {
    /// Built with prefix entries, so that the lattice walk stops at the first byte
    /// string no token starts with.
    pub(crate) vocab: Vocab,
    pub(crate) scores: Vec<f64>,
    pub(crate) unk_id: Option<u32>,
    min_score: f64,
    /// Ids of `<0x00>`..`<0xFF>` (`NONE` where absent), when `byte_fallback`.
    byte_ids: Option<Box<[u32; 256]>>,
    /// [`Vocab::parents`]: the lattice walk compares only the bytes after the last
    /// token found, so a position costs `O(longest token)`.
    parent: Vec<u32>,
}

/// Reusable buffers of the Viterbi pass.
#[derive(Debug, Default, Clone)]
pub(crate) struct Lattice {
    score: Vec<f64>,
    from: Vec<u32>,
    id: Vec<u32>,
    pieces: Vec<(u32, u32, u32)>,
}

const NONE: u32 = u32::MAX;

impl Unigram {
    pub(crate) fn new(
        vocab: Vocab,
        scores: Vec<f64>,
        unk_id: Option<u32>,
        byte_fallback: bool,
    ) -> Unigram {
        let min_score = scores.iter().copied().fold(f64::INFINITY, f64::min);
        let byte_ids = if byte_fallback {
            let mut t = Box::new([NONE; 256]);
            for (b, slot) in t.iter_mut().enumerate() {
                if let Some(id) = vocab.get(&format!("<0x{b:02X}>")) {
                    *slot = id;
                }
            }
            Some(t)
        } else {
            None
        };
        let parent = vocab.parents();
        Unigram {
            vocab,
            scores,
            unk_id,
            min_score,
            byte_ids,
            parent,
        }
    }

    /// Appends the ids of one non-empty word.
    pub(crate) fn tokenize(&self, word: &str, lat: &mut Lattice, out: &mut Vec<u32>) {
        let b = word.as_bytes();
        let size = b.len();
        if size == 0 {
            return;
        }
        let unk_score = self.min_score - UNK_PENALTY;
        lat.score.clear();
        lat.score.resize(size + 1, 0.0);
        lat.from.clear();
        lat.from.resize(size + 1, NONE);
        lat.id.clear();
        lat.id.resize(size + 1, 0);
        let max_len = self.vocab.max_len();
        let mut start = 0;
        while start < size {
            let base = lat.score[start];
            let mblen = utf8_len(b[start]).min(size - start);
            let mut has_single = false;
            let mut h = SEED;
            let stop = size.min(start + max_len);
            let (mut last, mut last_len) = (NONE, 0);
            for k in start..stop {
                h = step(h, b[k]);
                // Short candidates take the plain probe (whole compare, the old
                // hot path); longer ones compare only the bytes after `last`.
                let probe = if k - start < 16 {
                    self.vocab.probe(h, &b[start..=k])
                } else {
                    self.vocab
                        .probe_after(h, &b[start..=k], last, last_len, &self.parent)
                };
                match probe {
                    Probe::Absent => break,
                    Probe::Prefix => {}
                    Probe::Token(id) => {
                        let end = k + 1;
                        (last, last_len) = (id, end - start);
                        let cand = base + self.scores[id as usize];
                        if lat.from[end] == NONE || cand > lat.score[end] {
                            lat.score[end] = cand;
                            lat.from[end] = start as u32;
                            lat.id[end] = id;
                        }
                        if end - start == mblen {
                            has_single = true;
                        }
                    }
                }
            }
            if !has_single {
                let end = start + mblen;
                let cand = base + unk_score;
                if lat.from[end] == NONE || cand > lat.score[end] {
                    lat.score[end] = cand;
                    lat.from[end] = start as u32;
                    // HF fails with MissingUnkId here; the loader rejects such files
                    // only lazily, so an absent unk id yields the sentinel NONE.
                    lat.id[end] = self.unk_id.unwrap_or(NONE);
                }
            }
            start += mblen;
        }
        // Backtrack, fusing consecutive unknown pieces.
        lat.pieces.clear();
        let mut end = size;
        while end > 0 {
            let s = lat.from[end];
            if s == NONE {
                break; // unreachable for valid UTF-8 input
            }
            let id = lat.id[end];
            let is_unk = self.unk_id.is_some_and(|u| u == id) || id == NONE;
            match lat.pieces.last_mut() {
                Some(last) if is_unk && last.2 == NONE => last.0 = s,
                _ => lat
                    .pieces
                    .push((s, end as u32, if is_unk { NONE } else { id })),
            }
            end = s as usize;
        }
        for &(s, e, id) in lat.pieces.iter().rev() {
            if id != NONE {
                out.push(id);
                continue;
            }
            // An unknown run: its string may still be a token (HF looks it up).
            let piece = &word[s as usize..e as usize];
            if let Some(id) = self.vocab.get(piece) {
                out.push(id);
            } else if let Some(t) = self
                .byte_ids
                .as_ref()
                .filter(|t| piece.bytes().all(|x| t[x as usize] != NONE))
            {
                out.extend(piece.bytes().map(|x| t[x as usize]));
            } else if let Some(u) = self.unk_id {
                out.push(u);
            }
        }
    }
}

#[inline]
fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(byte_fallback: bool) -> Unigram {
        let toks = [
            ("<unk>", 0.0),
            ("▁a", -1.0),
            ("b", -2.0),
            ("▁ab", -2.5),
            ("c", -3.0),
            ("<0x78>", -5.0),
        ];
        let vocab = Vocab::from_list(toks.iter().map(|t| t.0), true).unwrap();
        Unigram::new(
            vocab,
            toks.iter().map(|t| t.1).collect(),
            Some(0),
            byte_fallback,
        )
    }

    fn check(m: &Unigram, word: &str, expected: &[u32]) {
        let mut out = Vec::new();
        m.tokenize(word, &mut Lattice::default(), &mut out);
        assert_eq!(out, expected, "{word}");
    }

    #[test]
    fn viterbi() {
        let m = model(false);
        // "▁ab" (-2.5) beats "▁a" + "b" (-3).
        check(&m, "▁ab", &[3]);
        check(&m, "▁abc", &[3, 4]);
        // Unknown chars are fused into one unk.
        check(&m, "▁axyc", &[1, 0, 4]);
    }

    #[test]
    fn byte_fallback_needs_every_byte() {
        let m = model(true);
        check(&m, "x", &[5]);
        // <0x79> is missing, so the run "xy" becomes unk.
        check(&m, "xy", &[0]);
    }
}
