//! Added tokens: strings matched in the text before the model sees it, as HF's
//! `AddedVocabulary` does (leftmost-longest, non-overlapping; `single_word`, `lstrip`,
//! `rstrip`; `normalized` tokens matched in the normalized text).

use crate::config::{bad, bool_or, str_req};
use crate::error::Error;
use crate::json::Value;
use crate::unicode;

/// One entry of `added_tokens`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedToken {
    /// Its id.
    pub id: u32,
    /// Its text.
    pub content: String,
    /// Only matches whole words.
    pub single_word: bool,
    /// Swallows whitespace on its left.
    pub lstrip: bool,
    /// Swallows whitespace on its right.
    pub rstrip: bool,
    /// Matched in the normalized text (after normalizing `content`) instead of the raw text.
    pub normalized: bool,
    /// A special token (`[CLS]`, `<s>`...).
    pub special: bool,
}

impl AddedToken {
    pub(crate) fn from_json(v: &Value, at: &str) -> Result<AddedToken, Error> {
        let id = v
            .get("id")
            .and_then(Value::as_u64)
            .filter(|&i| i < u64::from(u32::MAX))
            .ok_or_else(|| bad(at, "id", "expected a non-negative integer"))?;
        Ok(AddedToken {
            id: id as u32,
            content: str_req(v, at, "content")?.to_string(),
            single_word: bool_or(v, at, "single_word", Some(false))?,
            lstrip: bool_or(v, at, "lstrip", Some(false))?,
            rstrip: bool_or(v, at, "rstrip", Some(false))?,
            normalized: bool_or(v, at, "normalized", Some(true))?,
            special: bool_or(v, at, "special", Some(false))?,
        })
    }
}

/// A set of patterns matched leftmost-longest, through a byte trie: a position costs
/// at most one step per byte of the longest pattern, however many patterns share a
/// first byte (issue 19: the 6,322 added tokens of Gemma 3, most starting with `<`,
/// were each compared at every `<` of the text).
#[derive(Debug, Clone, Default)]
pub(crate) struct Matcher {
    first: Vec<bool>,
    /// The distinct first bytes, when there is exactly one (a fast scan).
    single_first: Option<u8>,
    /// Number of (non-empty) patterns.
    count: usize,
    /// The trie's node after each first byte (`NO_NODE` where no pattern starts so).
    roots: Vec<u32>,
    /// Trie nodes; node `k`'s children are `edges[nodes[k].edges.0..nodes[k].edges.1]`,
    /// sorted by byte.
    nodes: Vec<Node>,
    edges: Vec<(u8, u32)>,
}

/// A trie node: its children's range in `Matcher::edges`, and the index of the added
/// token whose pattern ends here (`NO_TOKEN` for none).
#[derive(Debug, Clone, Copy)]
struct Node {
    edges: (u32, u32),
    token: usize,
}

const NO_NODE: u32 = u32::MAX;
const NO_TOKEN: usize = usize::MAX;

impl Matcher {
    /// `patterns`: `(pattern, index into the added tokens)`; empty patterns are
    /// dropped, and of equal patterns the first is kept.
    pub(crate) fn new(patterns: Vec<(String, usize)>) -> Matcher {
        // Build with a child list per node, then pack the lists into `edges`.
        let mut children: Vec<Vec<(u8, u32)>> = Vec::new();
        let mut tokens: Vec<usize> = Vec::new();
        let mut roots = vec![NO_NODE; 256];
        let mut first = vec![false; 256];
        let mut count = 0;
        for (p, t) in &patterns {
            let Some((&b0, rest)) = p.as_bytes().split_first() else {
                continue;
            };
            count += 1;
            first[b0 as usize] = true;
            let mut node = roots[b0 as usize];
            if node == NO_NODE {
                node = children.len() as u32;
                children.push(Vec::new());
                tokens.push(NO_TOKEN);
                roots[b0 as usize] = node;
            }
            for &c in rest {
                node = match children[node as usize].iter().find(|e| e.0 == c) {
                    Some(e) => e.1,
                    None => {
                        let n = children.len() as u32;
                        children.push(Vec::new());
                        tokens.push(NO_TOKEN);
                        children[node as usize].push((c, n));
                        n
                    }
                };
            }
            if tokens[node as usize] == NO_TOKEN {
                tokens[node as usize] = *t;
            }
        }
        let mut nodes = Vec::with_capacity(children.len());
        let mut edges = Vec::new();
        for (mut list, token) in children.into_iter().zip(tokens) {
            list.sort_unstable_by_key(|e| e.0);
            let a = edges.len() as u32;
            edges.extend(list);
            nodes.push(Node {
                edges: (a, edges.len() as u32),
                token,
            });
        }
        let mut firsts = (0..=255u8).filter(|&b| first[b as usize]);
        let single_first = match (firsts.next(), firsts.next()) {
            (Some(b), None) => Some(b),
            _ => None,
        };
        Matcher {
            first,
            single_first,
            count,
            roots,
            nodes,
            edges,
        }
    }

    /// The child of `node` by byte `c`.
    #[inline]
    fn child(&self, node: u32, c: u8) -> Option<u32> {
        let (a, b) = self.nodes[node as usize].edges;
        let e = &self.edges[a as usize..b as usize];
        if e.len() <= 8 {
            e.iter().find(|x| x.0 == c).map(|x| x.1)
        } else {
            e.binary_search_by_key(&c, |x| x.0).ok().map(|i| e[i].1)
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// `true` when `s` is all ASCII and holds no match (certain); `false` when it may
    /// hold one or has a non-ASCII byte (or, without patterns, a NUL byte). One pass,
    /// 8 bytes at a time, for the usual matcher whose patterns share one first byte
    /// (BERT's `[`); with several first bytes it answers `false`.
    #[inline]
    pub(crate) fn ascii_without_match(&self, s: &[u8]) -> bool {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let Some(c) = self.single_first.or(self.is_empty().then_some(0)) else {
            return false;
        };
        let pat = ONES * u64::from(c);
        let (chunks, rest) = s.as_chunks::<8>();
        for ch in chunks {
            let x = u64::from_le_bytes(*ch);
            let y = x ^ pat;
            // High bit of a byte of `y.wrapping_sub(ONES) & !y` is set at the first
            // zero byte of `y` (a byte equal to `c`), if any.
            if (x | (y.wrapping_sub(ONES) & !y)) & HIGH != 0 {
                return false;
            }
        }
        rest.iter().all(|&b| b < 0x80 && b != c)
    }

    /// The leftmost-longest match starting at or after `from`: `(start, end, token)`.
    #[inline]
    fn find(&self, s: &str, from: usize) -> Option<(usize, usize, usize)> {
        let b = s.as_bytes();
        let mut i = from;
        while i < b.len() {
            let c = b[i];
            if self.first[c as usize] {
                let mut node = self.roots[c as usize];
                let mut best = None;
                let mut j = i + 1;
                loop {
                    let t = self.nodes[node as usize].token;
                    if t != NO_TOKEN {
                        best = Some((j, t));
                    }
                    match b.get(j).and_then(|&x| self.child(node, x)) {
                        Some(n) => node = n,
                        None => break,
                    }
                    j += 1;
                }
                if let Some((end, t)) = best {
                    return Some((i, end, t));
                }
            }
            i += 1;
        }
        None
    }

    /// Can `s` contain a match at all? (A fast pre-check.)
    #[inline]
    pub(crate) fn may_match(&self, s: &str) -> bool {
        match self.single_first {
            Some(b) => s.as_bytes().contains(&b),
            None => !self.is_empty() && s.bytes().any(|c| self.first[c as usize]),
        }
    }
}

/// A piece of text after added-token extraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Text the model must tokenize: `start..end`.
    Text(usize, usize),
    /// An added token's id.
    Token(u32),
}

/// HF `AddedVocabulary::find_matches`: splits `s` into text and added tokens.
pub(crate) fn split(s: &str, m: &Matcher, tokens: &[AddedToken], out: &mut Vec<Piece>) {
    if m.is_empty() || !m.may_match(s) {
        if !s.is_empty() {
            out.push(Piece::Text(0, s.len()));
        }
        return;
    }
    let mut start_offset = 0;
    let mut from = 0;
    while let Some((mut start, mut stop, t)) = m.find(s, from) {
        from = stop;
        let tok = &tokens[t];
        if tok.single_word {
            let start_space = start == 0
                || !s[..start]
                    .chars()
                    .next_back()
                    .is_some_and(unicode::is_regex_word);
            let stop_space =
                stop == s.len() || !s[stop..].chars().next().is_some_and(unicode::is_regex_word);
            if !start_space || !stop_space {
                continue;
            }
        }
        if tok.lstrip {
            let trimmed = s[..start].trim_end_matches(unicode::is_regex_space).len();
            start = trimmed.max(start_offset);
        }
        if tok.rstrip {
            stop += s[stop..].len() - s[stop..].trim_start_matches(unicode::is_regex_space).len();
        }
        if start_offset < start {
            out.push(Piece::Text(start_offset, start));
        }
        out.push(Piece::Token(tok.id));
        start_offset = stop;
    }
    if start_offset < s.len() {
        out.push(Piece::Text(start_offset, s.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass check agrees with "ASCII and no pattern's first byte" at every
    /// position of the 8-byte chunks and of the tail.
    #[test]
    fn ascii_without_match_scans_every_byte() {
        let m = Matcher::new(vec![("[CLS]".into(), 0), ("[SEP]".into(), 1)]);
        let empty = Matcher::new(Vec::new());
        for len in 0..20 {
            let base = "a".repeat(len);
            assert!(m.ascii_without_match(base.as_bytes()));
            assert!(empty.ascii_without_match(base.as_bytes()));
            for i in 0..len {
                for (c, any) in [(b'[', false), (0xC3, false), (b']', true), (0, true)] {
                    let mut b = base.clone().into_bytes();
                    b[i] = c;
                    assert_eq!(m.ascii_without_match(&b), any, "{c:#x} at {i} of {len}");
                }
                let mut b = base.clone().into_bytes();
                b[i] = 0;
                assert!(!empty.ascii_without_match(&b), "NUL at {i} of {len}");
            }
        }
    }

    fn tok(id: u32, content: &str) -> AddedToken {
        AddedToken {
            id,
            content: content.into(),
            single_word: false,
            lstrip: false,
            rstrip: false,
            normalized: false,
            special: true,
        }
    }

    fn check(tokens: &[AddedToken], s: &str, expected: &[Piece]) {
        let m = Matcher::new(
            tokens
                .iter()
                .enumerate()
                .map(|(i, t)| (t.content.clone(), i))
                .collect(),
        );
        let mut out = Vec::new();
        split(s, &m, tokens, &mut out);
        assert_eq!(out, expected, "{s:?}");
    }

    #[test]
    fn leftmost_longest_and_flags() {
        use Piece::*;
        let t = [tok(7, "<s>"), tok(8, "<s>x")];
        check(
            &t,
            "a<s>xb<s>",
            &[Text(0, 1), Token(8), Text(5, 6), Token(7)],
        );
        let mut m = tok(9, "<mask>");
        m.lstrip = true;
        check(
            &[m.clone()],
            "a  <mask> b",
            &[Text(0, 1), Token(9), Text(9, 11)],
        );
        m.lstrip = false;
        m.rstrip = true;
        check(
            &[m.clone()],
            "a <mask>  b",
            &[Text(0, 2), Token(9), Text(10, 11)],
        );
        let mut w = tok(3, "ab");
        w.single_word = true;
        check(&[w], "xab ab", &[Text(0, 4), Token(3)]);
        check(&[tok(1, "x")], "", &[]);
    }
}
