//! The fused BERT path: `BertNormalizer` (with `clean_text`) + `BertPreTokenizer` +
//! WordPiece on an ASCII segment in one pass ([`BertFast::encode`]), the common case of
//! BERT-vocabulary models. Words are found eight bytes at a time, lowercased in a
//! register and looked up in the thread's [`WordCache`]; the ids equal the general
//! pipeline's (the tokenizer tests compare them).

use crate::model::wordpiece::WordPiece;
use crate::word_cache::{NEXT_UID, WordCache};

/// Tables of the fused BERT path for ASCII text.
#[derive(Debug, Clone)]
pub(crate) struct BertFast {
    lowercase: bool,
    /// What the model gives for each ASCII punctuation character alone.
    punct: [u32; 128],
    /// Identifies this model's entries in a thread's [`WordCache`] (clones share it:
    /// a tokenizer never changes after it is built).
    uid: u64,
}

const NONE: u32 = u32::MAX;

/// Character classes of the fused ASCII BERT loop.
const DROP: u8 = 0;
const SPACE: u8 = 1;
const PUNCT: u8 = 2;
const WORD: u8 = 3;

/// The high bit of each byte of `x` (ASCII bytes) set where the byte is `[0-9A-Za-z]`,
/// the `WORD` class of [`ASCII_CLASS`]. Each range test adds a constant that carries
/// into the byte's high bit exactly from the range's start, and another exactly past
/// its end; ASCII bytes leave no carry into the next byte.
#[inline(always)]
fn alnum_mask(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let in_range = |v: u64, lo: u8, hi: u8| {
        let from_lo = v + ONES * u64::from(0x80 - lo);
        let past_hi = v + ONES * u64::from(0x7F - hi);
        from_lo & !past_hi & HIGH
    };
    // `| 0x20` maps 'A'..='Z' onto 'a'..='z' and no other byte into that range.
    in_range(x | (ONES * 0x20), b'a', b'z') | in_range(x, b'0', b'9')
}

static ASCII_CLASS: [u8; 128] = {
    let mut t = [WORD; 128];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = if b == b'\t' || b == b'\n' || b == b'\r' || b == b' ' {
            SPACE
        } else if b < 0x20 || b == 0x7F {
            DROP
        } else if b.is_ascii_punctuation() {
            PUNCT
        } else {
            WORD
        };
        c += 1;
    }
    t
};

impl BertFast {
    pub(crate) fn new(lowercase: bool, wp: &WordPiece) -> BertFast {
        let mut punct = [NONE; 128];
        for (c, slot) in punct.iter_mut().enumerate() {
            if ASCII_CLASS[c] == PUNCT {
                let s = [c as u8];
                let mut ids = Vec::new();
                if let Ok(t) = std::str::from_utf8(&s) {
                    wp.tokenize(t, &mut ids);
                }
                if let [id] = ids[..] {
                    *slot = id;
                }
            }
        }
        BertFast {
            lowercase,
            punct,
            uid: NEXT_UID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// BertNormalizer + BertPreTokenizer + WordPiece on an ASCII segment in one pass.
    ///
    /// A word is a run of `WORD` bytes; `DROP` bytes (controls, which clean_text
    /// deletes) inside a run are removed without splitting it. A run of at most 8
    /// bytes without controls goes through the [`WordCache`], keyed by its bytes read
    /// in one load and lowercased in a register; other runs are tokenized in place, or
    /// copied into `word` when they need lowercasing or hold controls.
    #[inline]
    pub(crate) fn encode(
        &self,
        wp: &WordPiece,
        seg: &str,
        word: &mut Vec<u8>,
        cache: &mut WordCache,
        limit: usize,
        out: &mut Vec<u32>,
    ) {
        cache.claim(self.uid);
        let b = seg.as_bytes();
        let n = b.len();
        let mut i = 0;
        while i < n {
            let c = b[i];
            match ASCII_CLASS[(c & 0x7F) as usize] {
                WORD => {
                    let start = i;
                    let mut drop = false;
                    i += 1;
                    while i < n {
                        // Eight bytes at a time while they last: the run ends at the
                        // first byte that is not alphanumeric (a control byte
                        // continues it, see above).
                        if let Some(&[b0, b1, b2, b3, b4, b5, b6, b7]) = b.get(i..i + 8) {
                            let x = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
                            let other = !alnum_mask(x) & 0x8080_8080_8080_8080;
                            if other == 0 {
                                i += 8;
                                continue;
                            }
                            i += (other.trailing_zeros() / 8) as usize;
                        }
                        match ASCII_CLASS.get(b.get(i).map_or(0, |&c| c & 0x7F) as usize) {
                            Some(&WORD) if i < n => {}
                            Some(&DROP) if i < n => drop = true,
                            _ => break,
                        }
                        i += 1;
                    }
                    let run = &b[start..i];
                    if !drop && run.len() <= 8 {
                        let key = self.short_key(b, start, run.len());
                        cache.tokenize(wp, key, run.len(), out);
                    } else if !drop && run.len() <= 16 {
                        let key = [
                            self.short_key(b, start, 8),
                            self.short_key(b, start + 8, run.len() - 8),
                        ];
                        cache.tokenize_long(wp, key, run.len(), out);
                    } else if !(drop || self.lowercase && run.iter().any(u8::is_ascii_uppercase)) {
                        wp.tokenize_bytes(run, out);
                    } else {
                        word.clear();
                        word.extend(
                            run.iter()
                                .filter(|&&x| ASCII_CLASS[(x & 0x7F) as usize] == WORD)
                                .map(|&x| {
                                    if self.lowercase {
                                        x.to_ascii_lowercase()
                                    } else {
                                        x
                                    }
                                }),
                        );
                        if !word.is_empty() {
                            wp.tokenize_bytes(word, out);
                        }
                    }
                    if out.len() >= limit {
                        return;
                    }
                }
                PUNCT => {
                    i += 1;
                    let id = self.punct[(c & 0x7F) as usize];
                    if id != NONE {
                        out.push(id);
                    } else {
                        let s = [c];
                        if let Ok(t) = std::str::from_utf8(&s) {
                            wp.tokenize(t, out);
                        }
                    }
                    if out.len() >= limit {
                        return;
                    }
                }
                // SPACE separates words; DROP outside a word is deleted.
                _ => i += 1,
            }
        }
    }

    /// The [`WordCache`] key of the ASCII word `b[start..start + len]` (`1 <= len <= 8`):
    /// its bytes little-endian and zero-padded, lowercased when the normalizer does.
    #[inline(always)]
    fn short_key(&self, b: &[u8], start: usize, len: usize) -> u64 {
        let raw = match b.get(start..start + 8) {
            Some(&[b0, b1, b2, b3, b4, b5, b6, b7]) => {
                let x = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
                if len == 8 {
                    x
                } else {
                    x & ((1u64 << (8 * len)) - 1)
                }
            }
            _ => b[start..start + len]
                .iter()
                .rev()
                .fold(0u64, |k, &x| (k << 8) | u64::from(x)),
        };
        if self.lowercase {
            // SWAR ASCII lowercasing: 0x20 added to every byte in 'A'..='Z'.
            const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
            const HIGH: u64 = 0x8080_8080_8080_8080;
            let h = raw & LOW7;
            let ge_a = h + 0x3F3F_3F3F_3F3F_3F3F; // high bit set where byte >= b'A'
            let gt_z = h + 0x2525_2525_2525_2525; // high bit set where byte > b'Z'
            let upper = ge_a & !gt_z & !raw & HIGH;
            raw | (upper >> 2)
        } else {
            raw
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `alnum_mask` marks exactly the bytes `ASCII_CLASS` calls `WORD`, for every
    /// ASCII byte in every lane, whatever its neighbours.
    #[test]
    fn alnum_mask_is_the_word_class() {
        for c in 0u8..128 {
            for lane in 0..8 {
                for fill in [0u8, b' ', b'z', 0x7F, b'0'] {
                    let mut bytes = [fill; 8];
                    bytes[lane] = c;
                    let m = alnum_mask(u64::from_le_bytes(bytes));
                    let got = m >> (8 * lane + 7) & 1 == 1;
                    assert_eq!(
                        got,
                        ASCII_CLASS[c as usize] == WORD,
                        "{c:#x} in lane {lane}"
                    );
                    assert_eq!(m & !0x8080_8080_8080_8080, 0);
                }
            }
        }
    }
}
