//! [`WordCache`]: the per-thread cache of the tokenizer's word and piece outputs.
//!
//! A word's (or a pre-tokenized piece's) ids are a pure function of the word and the
//! model, so a hit gives exactly what tokenizing would: the cache changes no result.
//! Entries are tagged with their owner's id ([`NEXT_UID`]), so one thread may use
//! several tokenizers in turns.

use crate::model::wordpiece::WordPiece;

/// Source of the owner ids of [`WordCache`] entries: the fused BERT path's
/// (`BertFast::uid`) and each `Tokenizer`'s (for Unigram and BPE pieces).
pub(crate) static NEXT_UID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A per-thread, direct-mapped cache of recently seen short words (at most 8 bytes),
/// and in a second table of words of 9 to 16 bytes, whose WordPiece output is 1 to 3
/// ids. The key is the word's bytes packed little-endian into
/// one or two `u64`s, zero-padded: unique, since a word never holds a NUL byte
/// (clean_text drops it), and `0` marks an empty entry. The output of a word is a pure
/// function of the word and the model, so a hit is exactly what tokenizing would give;
/// running text repeats a few thousand words most of the time, and a hit costs one
/// read of a 256 KiB table instead of hashing the word and probing the vocabulary, or
/// the longest-first search for its pieces. Each table, 2^14 short-word entries rather
/// than 2^12, and caching the pieces of words as well as single ids measured faster
/// (see `docs/bench.md`, "Tuning notes"). 352 KiB per thread that tokenizes with a
/// BERT pipeline, allocated on first use.
///
/// Unigram and BPE pieces (up to 15 bytes, see [`WordCache::piece`]) have a third
/// table of 4-way sets kept in least-recently-used order, 2^15 entries (768 KiB, only
/// for threads that use such a model): their misses are dear (a Viterbi search or
/// merge loop), and a Metaspace pre-tokenizer keeps case and punctuation, so there
/// are more distinct pieces; the sets miss fewer of them than a direct-mapped table of
/// the same size, and the table speeds up Unigram encoding severalfold (counts and
/// speeds in `docs/bench.md`, "Tuning notes").
#[derive(Debug, Default)]
pub(crate) struct WordCache {
    owner: u64,
    /// `[key, packed ids]` side by side (one cache line a lookup); see
    /// [`WordCache::pack`].
    short: Vec<[u64; 2]>,
    /// Words of 9 to 16 bytes: two key words, and up to 3 ids (see [`WordCache::pack`]).
    long_keys: Vec<[u64; 2]>,
    long_vals: Vec<u64>,
    /// Unigram and BPE pieces of up to 15 bytes (see [`WordCache::piece`]), of the
    /// model `pieces_owner`: 4-way sets, most recently used first.
    piece_keys: Vec<PieceKeys>,
    piece_vals: Vec<[u64; 4]>,
    pieces_owner: u64,
}

/// The keys of one 4-way set of [`WordCache::piece`]: one cache line.
#[derive(Debug, Default, Clone, Copy)]
#[repr(C, align(64))]
struct PieceKeys([[u64; 2]; 4]);

impl WordCache {
    const BITS: u32 = 14;
    const LONG_BITS: u32 = 12;
    /// Sets of the piece table (4 entries each).
    const PIECE_BITS: u32 = 13;
    const ID_BITS: u32 = 21;
    const ID_MASK: u64 = (1 << Self::ID_BITS) - 1;

    /// `id + 1` of up to 3 ids in 21-bit fields (`0`: no more), when they fit.
    fn pack(ids: &[u32]) -> Option<u64> {
        if ids.is_empty() || ids.len() > 3 {
            return None;
        }
        let mut v = 0u64;
        for (k, &id) in ids.iter().enumerate() {
            let x = u64::from(id) + 1;
            if x > Self::ID_MASK {
                return None;
            }
            v |= x << (Self::ID_BITS * k as u32);
        }
        Some(v)
    }

    /// Appends the ids packed in `v` by [`WordCache::pack`].
    #[inline(always)]
    fn unpack(v: u64, out: &mut Vec<u32>) {
        out.push(((v & Self::ID_MASK) - 1) as u32);
        if v >> Self::ID_BITS != 0 {
            out.push((((v >> Self::ID_BITS) & Self::ID_MASK) - 1) as u32);
            if v >> (2 * Self::ID_BITS) != 0 {
                out.push(((v >> (2 * Self::ID_BITS)) - 1) as u32);
            }
        }
    }

    /// Appends the ids of the word of 9 to 16 bytes whose key is `key`.
    #[inline(always)]
    pub(crate) fn tokenize_long(
        &mut self,
        wp: &WordPiece,
        key: [u64; 2],
        len: usize,
        out: &mut Vec<u32>,
    ) {
        let h = (key[0] ^ key[1].rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let i = (h >> (64 - Self::LONG_BITS)) as usize;
        let mut word = [0u8; 16];
        word[..8].copy_from_slice(&key[0].to_le_bytes());
        word[8..].copy_from_slice(&key[1].to_le_bytes());
        let (Some(k), Some(val)) = (self.long_keys.get_mut(i), self.long_vals.get_mut(i)) else {
            wp.tokenize_bytes(&word[..len], out);
            return;
        };
        if *k == key {
            Self::unpack(*val, out);
            return;
        }
        let before = out.len();
        wp.tokenize_bytes(&word[..len], out);
        if let Some(v) = Self::pack(&out[before..]) {
            *k = key;
            *val = v;
        }
    }

    /// Appends the ids of the pre-tokenized piece `w`, from the cache when `w` has 1 to
    /// 15 bytes, else from `tokenize`, which must append exactly the piece's ids (a
    /// pure function of `w`) to `out`. The key holds the bytes and, in its last byte,
    /// the length: unique even for pieces that hold NUL bytes.
    #[inline]
    pub(crate) fn piece(
        &mut self,
        owner: u64,
        w: &[u8],
        out: &mut Vec<u32>,
        tokenize: impl FnOnce(&mut Vec<u32>),
    ) {
        let len = w.len();
        if len == 0 || len > 15 {
            tokenize(out);
            return;
        }
        if self.pieces_owner != owner || self.piece_keys.is_empty() {
            self.piece_keys.clear();
            self.piece_keys
                .resize(1 << Self::PIECE_BITS, PieceKeys::default());
            self.piece_vals.clear();
            self.piece_vals.resize(1 << Self::PIECE_BITS, [0; 4]);
            self.pieces_owner = owner;
        }
        let mut bytes = [0u8; 16];
        bytes[..len].copy_from_slice(w);
        bytes[15] = len as u8;
        let (&[lo, hi], _) = bytes.as_chunks::<8>() else {
            tokenize(out);
            return;
        };
        let key = [u64::from_le_bytes(lo), u64::from_le_bytes(hi)];
        let h = (key[0] ^ key[1].rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let i = (h >> (64 - Self::PIECE_BITS)) as usize;
        let (Some(PieceKeys(keys)), Some(vals)) =
            (self.piece_keys.get_mut(i), self.piece_vals.get_mut(i))
        else {
            tokenize(out);
            return;
        };
        // Least-recently-used order, with explicit moves (a `copy_within` over a
        // variable range would be a `memmove` call).
        if let Some(j) = keys.iter().position(|k| *k == key) {
            let (k, v) = (keys[j], vals[j]);
            for m in (1..=j).rev() {
                keys[m] = keys[m - 1];
                vals[m] = vals[m - 1];
            }
            keys[0] = k;
            vals[0] = v;
            Self::unpack(v, out);
            return;
        }
        let before = out.len();
        tokenize(out);
        if let Some(v) = Self::pack(&out[before..]) {
            *keys = [key, keys[0], keys[1], keys[2]];
            *vals = [v, vals[0], vals[1], vals[2]];
        }
    }

    /// Makes the cache hold entries of the model `owner` only.
    pub(crate) fn claim(&mut self, owner: u64) {
        if self.owner != owner || self.short.is_empty() {
            self.short.clear();
            self.short.resize(1 << Self::BITS, [0; 2]);
            self.long_keys.clear();
            self.long_keys.resize(1 << Self::LONG_BITS, [0; 2]);
            self.long_vals.clear();
            self.long_vals.resize(1 << Self::LONG_BITS, 0);
            self.owner = owner;
        }
    }

    #[inline(always)]
    fn slot(key: u64) -> usize {
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - Self::BITS)) as usize
    }

    /// Appends the ids of the word whose key is `key` (`len` bytes, at most 8),
    /// from the cache or from `wp`.
    #[inline(always)]
    pub(crate) fn tokenize(&mut self, wp: &WordPiece, key: u64, len: usize, out: &mut Vec<u32>) {
        let i = Self::slot(key);
        let word = key.to_le_bytes();
        let Some(e) = self.short.get_mut(i) else {
            wp.tokenize_bytes(&word[..len], out);
            return;
        };
        if e[0] == key {
            Self::unpack(e[1], out);
            return;
        }
        let before = out.len();
        wp.tokenize_bytes(&word[..len], out);
        if let Some(v) = Self::pack(&out[before..]) {
            *e = [key, v];
        }
    }
}
