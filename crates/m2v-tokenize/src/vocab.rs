//! A compact, editable token vocabulary: strings in id order in one buffer, and a
//! hash index from string to id.
//!
//! Design: token `i` is `blob[offsets[i]..offsets[i + 1]]`, with the offsets stored
//! as a `u32` base per 64 ids plus a `u16` each ([`Offsets`]). The index is an
//! open-addressing table (linear probing; 1.25 slots per entry, 2 with prefix entries)
//! of packed `u64` slots ([`Slot`]: a value, a hash tag, and the token's start and
//! length in the blob), with a small Bloom filter in front for lookups that mostly
//! miss. A value is `0` for an empty slot, `id + 1` for a token, and `PREFIX` for an
//! entry that only records "some token starts with these bytes" (used by the Unigram
//! lattice to stop early). The index takes a few times the strings' own memory (the
//! figure for potion-base-8M is in `docs/bench.md`, "Tuning notes"): memory traded for
//! lookups that touch two cache lines.
//! The hash is FxHash-style and computed one byte at a time ([`step`]), so that
//! callers can hash all prefixes of a word in one pass and probe them without
//! re-hashing.
//!
//! Invariants: every token id `< len()` with `present(id)` has its string in the index;
//! a lookup verifies the bytes, so the tag only saves comparisons and a tag collision is
//! never a wrong answer. Prefix entries may be shared by colliding prefixes, which only
//! makes an early stop happen later (never a missed token).

const K: u64 = 0x517c_c1b7_2722_0a95;

/// The hash state before any byte.
pub(crate) const SEED: u64 = 0x2d35_8dcc_aa6c_78a5;

/// Feeds one byte into the hash.
#[inline(always)]
pub(crate) fn step(h: u64, b: u8) -> u64 {
    (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K)
}

/// Hash of `bytes` continuing from state `h`.
#[inline]
pub(crate) fn hash_from(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = step(h, b);
    }
    h
}

/// Byte equality without a `memcmp` call (tokens are short).
#[inline(always)]
fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return false;
        }
    }
    true
}

/// The outcome of probing a prefix hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// No token has this byte string as a prefix (certain).
    Absent,
    /// Some token may start with these bytes, but none equals them.
    Prefix,
    /// The token with this id equals the bytes.
    Token(u32),
}

/// Start offsets of the tokens in the blob (one more entry than tokens): a `u32` base
/// per 64 entries plus a `u16` delta each, or plain `u32`s once a delta overflows.
#[derive(Clone, Debug, Default)]
struct Offsets {
    base: Vec<u32>,
    local: Vec<u16>,
    /// Used instead of `base`/`local` when `is_wide`.
    wide: Vec<u32>,
    is_wide: bool,
}

impl Offsets {
    #[inline]
    fn len(&self) -> usize {
        if self.is_wide {
            self.wide.len()
        } else {
            self.local.len()
        }
    }

    #[inline(always)]
    fn get(&self, i: usize) -> usize {
        if self.is_wide {
            self.wide[i] as usize
        } else {
            self.base[i >> 6] as usize + self.local[i] as usize
        }
    }

    fn push(&mut self, off: usize) {
        if self.is_wide {
            self.wide.push(off as u32);
            return;
        }
        let i = self.local.len();
        if i.is_multiple_of(64) {
            self.base.push(off as u32);
        }
        match u16::try_from(off - self.base[i >> 6] as usize) {
            Ok(d) => self.local.push(d),
            Err(_) => {
                self.wide = (0..i).map(|k| self.get(k) as u32).collect();
                self.wide.push(off as u32);
                self.base = Vec::new();
                self.local = Vec::new();
                self.is_wide = true;
            }
        }
    }

    fn shrink_to_fit(&mut self) {
        self.base.shrink_to_fit();
        self.local.shrink_to_fit();
        self.wide.shrink_to_fit();
    }

    fn heap_bytes(&self) -> usize {
        self.base.capacity() * 4 + self.local.capacity() * 2 + self.wide.capacity() * 4
    }
}

/// Candidates of at most this many bytes are compared whole by
/// [`Vocab::probe_after`].
const SHORT: usize = 16;

/// The value of a prefix-only slot.
const PREFIX: u32 = u32::MAX;

/// A slot of the index, packed in a `u64`: bits 0..24 the value (`0` empty, `id + 1`,
/// or `0xFF_FFFF` for `PREFIX`; ids are below 2^24 - 2, see [`Vocab::from_pairs`]),
/// bits 24..32 the hash tag, bits 32..40 the token's length in bytes and bits 40..64
/// its start in the blob. A length of 255 or a start of `0xFF_FFFF` means "too large
/// to pack": the bytes are then found through the offsets.
///
/// So a hit costs two memory reads (the slot, the bytes), where separate value, tag
/// and offset arrays cost four or five; 8 bytes a slot instead of 3, which measured
/// faster (see `docs/bench.md`, "Tuning notes").
struct Slot;

impl Slot {
    const EMPTY_VALUE: u64 = 0;
    const PREFIX_VALUE: u64 = 0xFF_FFFF;
    const FAR: usize = 0xFF_FFFF;

    #[inline(always)]
    fn value(s: u64) -> u32 {
        match s & 0xFF_FFFF {
            Self::PREFIX_VALUE => PREFIX,
            v => v as u32,
        }
    }

    #[inline(always)]
    fn tag(s: u64) -> u8 {
        (s >> 24) as u8
    }

    fn pack(value: u32, tag: u8, start: usize, len: usize) -> u64 {
        let v = if value == PREFIX {
            Self::PREFIX_VALUE
        } else {
            u64::from(value)
        };
        let (start, len) = if len < 255 && start < Self::FAR {
            (start as u64, len as u64)
        } else {
            (Self::FAR as u64, 255)
        };
        v | u64::from(tag) << 24 | len << 32 | start << 40
    }
}

/// See the module documentation.
#[derive(Clone, Debug, Default)]
pub(crate) struct Vocab {
    blob: String,
    offsets: Offsets,
    /// `true` at ids that have no token (gaps in a `{token: id}` map).
    gaps: Vec<bool>,
    /// The index: one [`Slot`] per position, so that a probe reads one array, and
    /// a hit reads the token's bytes straight from `blob`.
    slots: Vec<u64>,
    /// A blocked Bloom filter of the tokens' hashes (8 bits a token, two set per
    /// token in one word): "certainly not a token" in one read of a table small enough
    /// to stay in L1/L2, for callers whose probes mostly miss (WordPiece's
    /// longest-first search, most of whose probes find nothing).
    filter: Vec<u64>,
    /// `64 - log2(filter.len())`.
    filter_shift: u32,
    /// Number of slots.
    cap: usize,
    with_prefixes: bool,
    max_len: usize,
}

impl Vocab {
    /// Builds a vocabulary from `(token, id)` pairs. Ids need not be contiguous; a
    /// repeated token keeps its last id (as HF's `HashMap` insertion does). `None` when
    /// an id is given twice or an id is too large.
    pub(crate) fn from_pairs<'a>(
        pairs: impl Iterator<Item = (&'a str, u32)> + Clone,
        with_prefixes: bool,
    ) -> Option<Vocab> {
        let mut n = 0usize;
        let mut bytes = 0usize;
        let mut count = 0usize;
        for (t, id) in pairs.clone() {
            n = n.max(id as usize + 1);
            bytes += t.len();
            count += 1;
        }
        if n >= (1 << 24) - 2 || bytes >= u32::MAX as usize {
            return None;
        }
        // Place tokens in id order.
        let mut order: Vec<(u32, &str)> = Vec::with_capacity(count);
        for (t, id) in pairs {
            order.push((id, t));
        }
        order.sort_by_key(|&(id, _)| id);
        let mut v = Vocab {
            blob: String::with_capacity(bytes),
            gaps: Vec::new(),
            ..Vocab::default()
        };
        v.offsets.push(0);
        let mut next = 0u32;
        let mut has_gaps = false;
        for &(id, t) in &order {
            if id < next {
                return None; // the same id twice
            }
            while next < id {
                v.offsets.push(v.blob.len());
                next += 1;
                has_gaps = true;
            }
            v.blob.push_str(t);
            v.offsets.push(v.blob.len());
            next += 1;
        }
        if has_gaps {
            let mut gaps = vec![true; n];
            for &(id, _) in &order {
                gaps[id as usize] = false;
            }
            v.gaps = gaps;
        }
        v.with_prefixes = with_prefixes;
        v.rebuild_index();
        Some(v)
    }

    /// Starts a vocabulary filled token by token (see [`VocabBuilder`]).
    pub(crate) fn builder(with_prefixes: bool) -> VocabBuilder {
        let mut offsets = Offsets::default();
        offsets.push(0);
        VocabBuilder {
            blob: String::new(),
            offsets,
            ids: None,
            with_prefixes,
        }
    }

    /// Builds a vocabulary whose ids are the positions in `tokens`.
    #[cfg(test)]
    pub(crate) fn from_list<'a>(
        tokens: impl Iterator<Item = &'a str> + Clone,
        with_prefixes: bool,
    ) -> Option<Vocab> {
        Vocab::from_pairs(
            tokens.enumerate().map(|(i, t)| (t, i as u32)),
            with_prefixes,
        )
    }

    /// Number of distinct proper prefixes of the tokens (an upper bound when tokens
    /// repeat): sort the tokens, then each brings the prefixes longer than its common
    /// prefix with the previous one.
    fn count_prefixes(&self) -> usize {
        let mut ids: Vec<u32> = (0..self.len() as u32)
            .filter(|&i| self.present(i))
            .collect();
        ids.sort_unstable_by(|&a, &b| self.token_bytes(a).cmp(self.token_bytes(b)));
        let mut total = 0;
        let mut prev: &[u8] = &[];
        for &id in &ids {
            let t = self.token_bytes(id);
            let lcp = t.iter().zip(prev).take_while(|(a, b)| a == b).count();
            total += t.len().saturating_sub(1).saturating_sub(lcp);
            prev = t;
        }
        total
    }

    /// Rebuilds the hash index from the strings (after an edit). The table has room for
    /// 1.25 slots per entry, 2 with prefixes (any size: slots are picked by
    /// multiply-shift, not a mask).
    pub(crate) fn rebuild_index(&mut self) {
        let n = self.len();
        let mut entries = n;
        if self.with_prefixes {
            entries += self.count_prefixes();
        }
        // Lookups in a Unigram lattice mostly miss (they run until no token starts
        // with the bytes), and a miss scans to an empty slot: keep that table half
        // empty. WordPiece's misses are mostly stopped by the Bloom filter, and most of
        // its words by the fused path's word cache, so its table stays 80% full: a
        // half-empty one measured only slightly faster, for more heap at load (see
        // docs/bench.md, "Tuning notes").
        let cap = if self.with_prefixes {
            2 * entries + 8
        } else {
            entries + entries / 4 + 8
        };
        self.cap = cap;
        self.slots = vec![Slot::EMPTY_VALUE; cap];
        let words = (n * 8 / 64).max(1).next_power_of_two();
        self.filter = vec![0; words];
        self.filter_shift = 64 - words.trailing_zeros();
        self.max_len = 0;
        for id in 0..n as u32 {
            if !self.present(id) {
                continue;
            }
            let len = self.token_bytes(id).len();
            self.max_len = self.max_len.max(len);
            self.insert(id);
        }
        if self.with_prefixes {
            for id in 0..n as u32 {
                if !self.present(id) {
                    continue;
                }
                let (s, e) = self.range(id);
                let mut h = SEED;
                for k in s..e.saturating_sub(1) {
                    h = step(h, self.blob.as_bytes()[k]);
                    self.insert_prefix(h);
                }
            }
        }
    }

    /// The home slot of a hash.
    #[inline(always)]
    fn home(&self, h: u64) -> usize {
        (((h >> 32) * self.cap as u64) >> 32) as usize
    }

    #[inline(always)]
    fn next(&self, i: usize) -> usize {
        if i + 1 == self.cap { 0 } else { i + 1 }
    }

    #[inline(always)]
    fn tag(h: u64) -> u8 {
        (h ^ (h >> 29)) as u8
    }

    /// The value in slot `i` (`0` empty, `id + 1`, or `PREFIX`).
    #[inline(always)]
    fn slot(&self, i: usize) -> u32 {
        Slot::value(self.slots[i])
    }

    /// The tag of slot `i`.
    #[inline(always)]
    fn tag_at(&self, i: usize) -> u8 {
        Slot::tag(self.slots[i])
    }

    fn set_slot(&mut self, i: usize, v: u32, tag: u8) {
        let (start, len) = if v == PREFIX || v == 0 {
            (0, 0)
        } else {
            let (a, b) = self.range(v - 1);
            (a, b - a)
        };
        self.slots[i] = Slot::pack(v, tag, start, len);
    }

    /// The bytes of the token in the (token) slot `s` whose value is `v`.
    #[inline(always)]
    fn slot_bytes(&self, s: u64, v: u32) -> &[u8] {
        let len = (s >> 32) as u8 as usize;
        let start = (s >> 40) as usize;
        if len == 255 || start == Slot::FAR {
            return self.token_bytes(v - 1);
        }
        // The packed start and length were taken from the offsets (in `set_slot`).
        self.blob
            .as_bytes()
            .get(start..start + len)
            .unwrap_or_default()
    }

    fn insert(&mut self, id: u32) {
        let h = hash_from(SEED, self.token_bytes(id));
        let (w, m) = self.filter_bits(h);
        self.filter[w] |= m;
        let mut i = self.home(h);
        let tag = Self::tag(h);
        loop {
            let v = self.slot(i);
            if v == 0 {
                self.set_slot(i, id + 1, tag);
                return;
            }
            if v != PREFIX && self.token_bytes(v - 1) == self.token_bytes(id) {
                // The same string again: the later id wins.
                self.set_slot(i, id + 1, tag);
                return;
            }
            i = self.next(i);
        }
    }

    fn insert_prefix(&mut self, h: u64) {
        let mut i = self.home(h);
        let tag = Self::tag(h);
        loop {
            let v = self.slot(i);
            if v == 0 {
                self.set_slot(i, PREFIX, tag);
                return;
            }
            if self.tag_at(i) == tag {
                // A token or a prefix with the same tag already marks this spot: a
                // probe for these bytes will report at least `Prefix` there.
                return;
            }
            i = self.next(i);
        }
    }

    /// The filter word and the two bits of hash `h`.
    #[inline(always)]
    fn filter_bits(&self, h: u64) -> (usize, u64) {
        let f = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let w = f.checked_shr(self.filter_shift).unwrap_or(0) as usize;
        (w, 1u64 << (f & 63) | 1u64 << ((f >> 6) & 63))
    }

    /// `false` when no token has hash `h` (certain); `true` when one may have.
    #[inline(always)]
    pub(crate) fn may_contain(&self, h: u64) -> bool {
        let (w, m) = self.filter_bits(h);
        self.filter.get(w).is_none_or(|&x| x & m == m)
    }

    /// Probes the index for `bytes`, whose hash from [`SEED`] is `h`.
    #[inline]
    pub(crate) fn probe(&self, h: u64, bytes: &[u8]) -> Probe {
        let mut i = self.home(h);
        let tag = Self::tag(h);
        let mut prefix = false;
        loop {
            let s = self.slots[i];
            let v = Slot::value(s);
            if v == 0 {
                return if prefix { Probe::Prefix } else { Probe::Absent };
            }
            if Slot::tag(s) == tag {
                if v == PREFIX {
                    prefix = true;
                } else {
                    if eq_bytes(self.slot_bytes(s, v), bytes) {
                        return Probe::Token(v - 1);
                    }
                    // A token with the same tag stands for its own prefixes too.
                    prefix = true;
                }
            }
            i = self.next(i);
        }
    }

    /// [`Vocab::probe`] for the walk of a lattice that probes `bytes[..1]`,
    /// `bytes[..2]`, ... in turn: `last` is the longest token found so far in that
    /// walk (`u32::MAX` for none) and `last_len` its length, and `parent[id]` is the
    /// longest token that is a proper prefix of token `id` (as [`Vocab::parents`]
    /// gives). A token equal to `bytes` must then have `last` as its parent, so only
    /// the bytes after `last_len` are compared (candidates up to `SHORT` bytes are
    /// compared whole): a walk costs `O(length)`, not `O(length^2)` (issue 19: a
    /// vocabulary of `a`, `aa`, ... `a` x 2000).
    #[inline]
    pub(crate) fn probe_after(
        &self,
        h: u64,
        bytes: &[u8],
        last: u32,
        last_len: usize,
        parent: &[u32],
    ) -> Probe {
        let mut i = self.home(h);
        let tag = Self::tag(h);
        let mut prefix = false;
        loop {
            let s = self.slots[i];
            let v = Slot::value(s);
            if v == 0 {
                return if prefix { Probe::Prefix } else { Probe::Absent };
            }
            if Slot::tag(s) == tag {
                if v == PREFIX {
                    prefix = true;
                } else {
                    let t = self.slot_bytes(s, v);
                    // Short candidates (most real tokens) are compared whole, which
                    // costs at most `SHORT` bytes and spares the `parent` read.
                    if t.len() == bytes.len()
                        && if bytes.len() <= SHORT {
                            eq_bytes(t, bytes)
                        } else {
                            parent.get((v - 1) as usize) == Some(&last)
                                && eq_bytes(&t[last_len..], &bytes[last_len..])
                        }
                    {
                        return Probe::Token(v - 1);
                    }
                    prefix = true;
                }
            }
            i = self.next(i);
        }
    }

    /// For each id, the longest token that is a proper prefix of its token
    /// (`u32::MAX` for none, and for ids without a token), for
    /// [`Vocab::probe_after`]. Tokens are walked shortest first, each through
    /// `probe_after` with the parents already found: `O(total bytes)` probes.
    pub(crate) fn parents(&self) -> Vec<u32> {
        const NONE: u32 = u32::MAX;
        let n = self.len();
        let mut parent = vec![NONE; n];
        if self.cap == 0 {
            return parent;
        }
        let mut ids: Vec<u32> = (0..n as u32).filter(|&i| self.present(i)).collect();
        ids.sort_by_key(|&id| self.token_bytes(id).len());
        for id in ids {
            let t = self.token_bytes(id);
            let (mut last, mut last_len) = (NONE, 0);
            let mut h = SEED;
            for k in 0..t.len().saturating_sub(1) {
                h = step(h, t[k]);
                match self.probe_after(h, &t[..=k], last, last_len, &parent) {
                    Probe::Token(p) => (last, last_len) = (p, k + 1),
                    Probe::Prefix => {}
                    Probe::Absent => break,
                }
            }
            parent[id as usize] = last;
        }
        parent
    }

    /// Looks up `bytes` split in two parts (e.g. `##` + a word piece), whose hash from
    /// [`SEED`] over both parts is `h`.
    #[inline]
    pub(crate) fn get2(&self, h: u64, a: &[u8], b: &[u8]) -> Option<u32> {
        let mut i = self.home(h);
        let tag = Self::tag(h);
        loop {
            let s = self.slots[i];
            let v = Slot::value(s);
            if v == 0 {
                return None;
            }
            if Slot::tag(s) == tag && v != PREFIX {
                let t = self.slot_bytes(s, v);
                if t.len() == a.len() + b.len()
                    && eq_bytes(&t[..a.len()], a)
                    && eq_bytes(&t[a.len()..], b)
                {
                    return Some(v - 1);
                }
            }
            i = self.next(i);
        }
    }

    /// The id of `token`, if present.
    #[inline]
    pub(crate) fn get(&self, token: &str) -> Option<u32> {
        if self.cap == 0 {
            return None;
        }
        match self.probe(hash_from(SEED, token.as_bytes()), token.as_bytes()) {
            Probe::Token(id) => Some(id),
            _ => None,
        }
    }

    /// One past the largest id.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Number of ids that hold a token.
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        if self.gaps.is_empty() {
            self.len()
        } else {
            self.gaps.iter().filter(|g| !**g).count()
        }
    }

    #[inline]
    pub(crate) fn present(&self, id: u32) -> bool {
        (id as usize) < self.len() && !self.gaps.get(id as usize).copied().unwrap_or(false)
    }

    #[inline]
    fn range(&self, id: u32) -> (usize, usize) {
        let i = id as usize;
        (self.offsets.get(i), self.offsets.get(i + 1))
    }

    #[inline]
    fn token_bytes(&self, id: u32) -> &[u8] {
        let (s, e) = self.range(id);
        &self.blob.as_bytes()[s..e]
    }

    /// The token with this id.
    #[inline]
    pub(crate) fn token(&self, id: u32) -> Option<&str> {
        if !self.present(id) {
            return None;
        }
        let (s, e) = self.range(id);
        self.blob.get(s..e)
    }

    /// Length in bytes of the longest token.
    #[inline]
    pub(crate) fn max_len(&self) -> usize {
        self.max_len
    }

    /// Bytes held by this structure (strings, offsets, index), for memory reports.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.blob.capacity()
            + self.offsets.heap_bytes()
            + self.gaps.capacity()
            + self.slots.capacity() * 8
            + self.filter.capacity() * 8
    }

    /// `(token, id)` for every present id, in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, u32)> + '_ {
        (0..self.len() as u32).filter_map(move |id| self.token(id).map(|t| (t, id)))
    }
}

/// Fills a [`Vocab`] one token at a time without an intermediate copy when the tokens
/// come in id order (the usual layout of `tokenizer.json`); any other order falls back
/// to [`Vocab::from_pairs`].
#[derive(Debug)]
pub(crate) struct VocabBuilder {
    blob: String,
    offsets: Offsets,
    /// The ids in push order, once they stopped being `0, 1, 2, ...`.
    ids: Option<Vec<u32>>,
    with_prefixes: bool,
}

impl VocabBuilder {
    /// Adds `token` with `id`.
    pub(crate) fn push(&mut self, token: &str, id: u32) {
        let k = self.offsets.len() - 1;
        if self.ids.is_none() && id as usize != k {
            self.ids = Some((0..k as u32).collect());
        }
        if let Some(ids) = &mut self.ids {
            ids.push(id);
        }
        self.blob.push_str(token);
        self.offsets.push(self.blob.len());
    }

    /// The vocabulary; `None` when an id repeats or the data is too large.
    pub(crate) fn finish(mut self) -> Option<Vocab> {
        if self.blob.len() >= u32::MAX as usize || self.offsets.len() >= (1 << 24) - 2 {
            return None;
        }
        match self.ids.take() {
            None => {
                self.blob.shrink_to_fit();
                self.offsets.shrink_to_fit();
                let mut v = Vocab {
                    blob: self.blob,
                    offsets: self.offsets,
                    with_prefixes: self.with_prefixes,
                    ..Vocab::default()
                };
                v.rebuild_index();
                Some(v)
            }
            Some(ids) => {
                let blob = &self.blob;
                let offsets = &self.offsets;
                let pairs = ids
                    .iter()
                    .enumerate()
                    .map(|(k, &id)| (&blob[offsets.get(k)..offsets.get(k + 1)], id));
                Vocab::from_pairs(pairs, self.with_prefixes)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_gaps() {
        let pairs = [("a", 0u32), ("##b", 1), ("hello", 4), ("héllo", 3)];
        let v = Vocab::from_pairs(pairs.iter().copied(), false).unwrap();
        assert_eq!(v.len(), 5);
        assert_eq!(v.count(), 4);
        for (t, id) in pairs {
            assert_eq!(v.get(t), Some(id), "{t}");
            assert_eq!(v.token(id), Some(t));
        }
        assert_eq!(v.token(2), None);
        assert_eq!(v.get("hell"), None);
        assert_eq!(v.get(""), None);
        let h = hash_from(hash_from(SEED, b"##"), b"b");
        assert_eq!(v.get2(h, b"##", b"b"), Some(1));
        assert_eq!(v.max_len(), 6);
        assert!(Vocab::from_pairs([("a", 0u32), ("b", 0)].iter().copied(), false).is_none());
    }

    #[test]
    fn builder_any_order() {
        let mut b = Vocab::builder(false);
        b.push("x", 0);
        b.push("y", 1);
        let v = b.finish().unwrap();
        assert_eq!((v.get("y"), v.token(0)), (Some(1), Some("x")));
        let mut b = Vocab::builder(false);
        b.push("x", 2);
        b.push("y", 0);
        let v = b.finish().unwrap();
        assert_eq!(
            (v.get("x"), v.token(0), v.token(1)),
            (Some(2), Some("y"), None)
        );
    }

    #[test]
    fn wide_offsets_and_slots() {
        // A token longer than a u16 delta switches the offsets to u32.
        let long = "x".repeat(70_000);
        let v = Vocab::from_list(["a", long.as_str(), "b"].iter().copied(), false).unwrap();
        assert_eq!(
            (v.get("b"), v.get(&long), v.token(2)),
            (Some(2), Some(1), Some("b"))
        );
        // More ids than a u16 holds.
        let many: Vec<String> = (0..70_000).map(|i| format!("t{i}")).collect();
        let v = Vocab::from_list(many.iter().map(String::as_str), true).unwrap();
        for i in [0usize, 65_535, 69_999] {
            assert_eq!(v.get(&many[i]), Some(i as u32));
            assert_eq!(v.token(i as u32), Some(many[i].as_str()));
        }
    }

    /// The Bloom filter never rejects a token, and rejects most other strings.
    #[test]
    fn filter_has_no_false_negatives() {
        let toks: Vec<String> = (0..5000).map(|i| format!("w{i}")).collect();
        let v = Vocab::from_list(toks.iter().map(String::as_str), false).unwrap();
        let h = |t: &str| hash_from(SEED, t.as_bytes());
        assert!(toks.iter().all(|t| v.may_contain(h(t))));
        let passed = (0..5000)
            .filter(|i| v.may_contain(h(&format!("x{i}"))))
            .count();
        assert!(
            passed < 1000,
            "{passed} of 5000 non-tokens passed the filter"
        );
        assert!(Vocab::default().may_contain(h("anything")));
    }

    #[test]
    fn prefixes() {
        let v = Vocab::from_list(["abc", "ab", "x"].iter().copied(), true).unwrap();
        let p = |s: &str| v.probe(hash_from(SEED, s.as_bytes()), s.as_bytes());
        assert_eq!(p("a"), Probe::Prefix);
        assert_eq!(p("ab"), Probe::Token(1));
        assert_eq!(p("abc"), Probe::Token(0));
        assert_eq!(p("abcd"), Probe::Absent);
        assert_eq!(p("y"), Probe::Absent);
    }
}
