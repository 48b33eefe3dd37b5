//! Normalizers: the `normalizer` section of `tokenizer.json`.
//!
//! Each variant reproduces the string HF `tokenizers` produces (offsets are not tracked:
//! m2v only needs ids). [`Normalizer::normalize`] appends the normalized text to `out`.

use crate::config::{
    bad, base64_decode, bool_or, opt_bool, opt_str, str_req, type_of, unsupported,
};
use crate::error::Error;
use crate::json::Value;
use crate::regex::Regex;
use crate::unicode;

/// The most bytes of normalized text a `normalizer` may make of each byte of input
/// (a bound worked out from its components at load: a file over it is refused with
/// [`Error::Format`] naming `normalizer`, the bound and the limit).
///
/// A `Sequence` multiplies its components' growths: ten `Replace`s of `a` by ten
/// `a`s make 10^10 bytes of each `a`, which aborted at load (added tokens are
/// normalized there). The shipped files' bounds are at most 66 (T5: a charsmap whose
/// longest replacement is 33 bytes for a 2-byte key, then a `Replace` of a regex by
/// `▁`); see `docs/robustness.md`.
pub const MAX_NORMALIZER_GROWTH: f64 = 256.0;

/// The most bytes a `normalizer` may add to a text whatever its length (`Prepend`,
/// a regex `Replace` that matches the empty string), after [`MAX_NORMALIZER_GROWTH`].
pub const MAX_NORMALIZER_ADDED: f64 = 1_048_576.0;

/// Upper bounds of the bytes-out per byte-in of the Unicode mappings, over every
/// `char` (checked by `unicode_growth_bounds` below): NFD, NFKD (and so NFC, NFKC:
/// composition never lengthens), and `char::to_lowercase`.
const NFD_GROWTH: f64 = 3.0;
const NFKD_GROWTH: f64 = 11.0;
const LOWERCASE_GROWTH: f64 = 1.5;

/// One normalizer of the pipeline.
#[derive(Debug, Clone)]
pub(crate) enum Normalizer {
    /// `BertNormalizer`; `strip_accents` is resolved (`null` follows `lowercase`).
    Bert {
        clean_text: bool,
        handle_chinese_chars: bool,
        strip_accents: bool,
        lowercase: bool,
    },
    Lowercase,
    Nfd,
    Nfkd,
    Nfc,
    Nfkc,
    StripAccents,
    Strip {
        left: bool,
        right: bool,
    },
    /// `Replace` with a string pattern.
    Replace {
        pattern: String,
        content: String,
    },
    /// `Replace` with a `{"Regex": ...}` pattern: every match becomes `content`.
    ReplaceRegex {
        regex: Regex,
        content: String,
    },
    Prepend(String),
    Precompiled(Precompiled),
    Sequence(Vec<Normalizer>),
}

impl Normalizer {
    /// Parses a normalizer object found at JSON path `at`.
    pub(crate) fn from_json(v: &Value, at: &str) -> Result<Normalizer, Error> {
        let kind = type_of(v, at)?;
        Ok(match kind {
            "BertNormalizer" => {
                let lowercase = bool_or(v, at, "lowercase", Some(true))?;
                Normalizer::Bert {
                    clean_text: bool_or(v, at, "clean_text", Some(true))?,
                    handle_chinese_chars: bool_or(v, at, "handle_chinese_chars", Some(true))?,
                    strip_accents: opt_bool(v, at, "strip_accents")?.unwrap_or(lowercase),
                    lowercase,
                }
            }
            "Lowercase" => Normalizer::Lowercase,
            "NFD" => Normalizer::Nfd,
            "NFKD" => Normalizer::Nfkd,
            "NFC" => Normalizer::Nfc,
            "NFKC" => Normalizer::Nfkc,
            "StripAccents" => Normalizer::StripAccents,
            "Strip" => Normalizer::Strip {
                left: bool_or(v, at, "strip_left", Some(true))?,
                right: bool_or(v, at, "strip_right", Some(true))?,
            },
            "Replace" => {
                let p = v
                    .get("pattern")
                    .ok_or_else(|| bad(at, "pattern", "missing"))?;
                let content = str_req(v, at, "content")?.to_string();
                match (p.get("String"), p.get("Regex")) {
                    (Some(Value::String(s)), _) if !s.is_empty() => Normalizer::Replace {
                        pattern: s.clone(),
                        content,
                    },
                    (None, Some(Value::String(r))) => Normalizer::ReplaceRegex {
                        regex: Regex::new(r)
                            .map_err(|e| Error::regex(format!("{at}.pattern.Regex"), e))?,
                        content,
                    },
                    _ => {
                        return Err(bad(
                            at,
                            "pattern",
                            "expected {\"String\": non-empty string} or {\"Regex\": string}",
                        ));
                    }
                }
            }
            "Prepend" => Normalizer::Prepend(str_req(v, at, "prepend")?.to_string()),
            "Precompiled" => {
                let s = opt_str(v, at, "precompiled_charsmap")?.unwrap_or("");
                let bytes = base64_decode(s)
                    .ok_or_else(|| bad(at, "precompiled_charsmap", "invalid base64"))?;
                Normalizer::Precompiled(
                    Precompiled::from_bytes(&bytes)
                        .ok_or_else(|| bad(at, "precompiled_charsmap", "malformed charsmap"))?,
                )
            }
            "Sequence" => {
                let list = crate::config::array(v, at, "normalizers")?;
                let mut out = Vec::with_capacity(list.len());
                for (i, n) in list.iter().enumerate() {
                    out.push(Normalizer::from_json(n, &format!("{at}.normalizers[{i}]"))?);
                }
                Normalizer::Sequence(out)
            }
            other => return Err(unsupported("normalizer", other)),
        })
    }

    /// `(g, a)`: normalizing a text of `n` bytes gives at most `g * n + a` bytes.
    /// Worked out per component, conservatively (the real output is usually `n`).
    pub(crate) fn growth(&self) -> (f64, f64) {
        match self {
            Normalizer::Bert {
                handle_chinese_chars,
                strip_accents,
                lowercase,
                ..
            } => {
                // CJK chars gain two spaces (3 bytes into 5, 4 into 6); accents are
                // stripped after NFD; lowercase last.
                let mut g = if *handle_chinese_chars {
                    5.0 / 3.0
                } else {
                    1.0
                };
                if *strip_accents {
                    g *= NFD_GROWTH;
                }
                if *lowercase {
                    g *= LOWERCASE_GROWTH;
                }
                (g, 0.0)
            }
            Normalizer::Lowercase => (LOWERCASE_GROWTH, 0.0),
            Normalizer::Nfd | Normalizer::Nfc => (NFD_GROWTH, 0.0),
            Normalizer::Nfkd | Normalizer::Nfkc => (NFKD_GROWTH, 0.0),
            Normalizer::StripAccents | Normalizer::Strip { .. } => (1.0, 0.0),
            // Each match of `pattern` (at least one byte) becomes `content`.
            Normalizer::Replace { pattern, content } => {
                ((content.len() as f64 / pattern.len() as f64).max(1.0), 0.0)
            }
            // A match may be empty: `content` at each of the `n + 1` positions.
            Normalizer::ReplaceRegex { content, .. } => {
                let c = content.len() as f64;
                (1.0 + c, c)
            }
            Normalizer::Prepend(p) => (1.0, p.len() as f64),
            Normalizer::Precompiled(p) => (p.growth(), 0.0),
            Normalizer::Sequence(list) => list.iter().fold((1.0, 0.0), |(g, a), n| {
                let (g2, a2) = n.growth();
                (g * g2, a * g2 + a2)
            }),
        }
    }

    /// Refuses a normalizer whose [`Normalizer::growth`] exceeds
    /// [`MAX_NORMALIZER_GROWTH`] or [`MAX_NORMALIZER_ADDED`].
    pub(crate) fn check_growth(&self, at: &str) -> Result<(), Error> {
        let (g, a) = self.growth();
        if g > MAX_NORMALIZER_GROWTH || a > MAX_NORMALIZER_ADDED {
            return Err(bad(
                at,
                "",
                format!(
                    "may turn a text of n bytes into up to {g:.4e} * n + {a:.4e} bytes, \
                     more than the limit of {MAX_NORMALIZER_GROWTH} * n + \
                     {MAX_NORMALIZER_ADDED} (a Sequence multiplies the growth of its \
                     normalizers)"
                ),
            ));
        }
        Ok(())
    }

    /// Appends the normalization of `s` to `out`.
    pub(crate) fn normalize(&self, s: &str, out: &mut String) {
        match self {
            Normalizer::Bert {
                clean_text,
                handle_chinese_chars,
                strip_accents,
                lowercase,
            } => bert(
                s,
                *clean_text,
                *handle_chinese_chars,
                *strip_accents,
                *lowercase,
                out,
            ),
            Normalizer::Lowercase => lowercase(s, out),
            Normalizer::Nfd => unicode::decompose_str(s, false, out),
            Normalizer::Nfkd => unicode::decompose_str(s, true, out),
            Normalizer::Nfc => unicode::compose_str(s, false, out),
            Normalizer::Nfkc => unicode::compose_str(s, true, out),
            Normalizer::StripAccents => {
                out.extend(s.chars().filter(|&c| !unicode::is_combining_mark(c)));
            }
            Normalizer::Strip { left, right } => {
                let mut t = s;
                if *left {
                    t = t.trim_start();
                }
                if *right {
                    t = t.trim_end();
                }
                out.push_str(t);
            }
            Normalizer::Replace { pattern, content } => {
                let mut last = 0;
                for (i, m) in s.match_indices(pattern.as_str()) {
                    out.push_str(&s[last..i]);
                    out.push_str(content);
                    last = i + m.len();
                }
                out.push_str(&s[last..]);
            }
            Normalizer::ReplaceRegex { regex, content } => {
                // HF finds no match at all in an empty string.
                if s.is_empty() {
                    return;
                }
                let mut last = 0;
                for m in regex.find_iter(s) {
                    out.push_str(&s[last..m.start]);
                    out.push_str(content);
                    last = m.end;
                }
                out.push_str(&s[last..]);
            }
            Normalizer::Prepend(p) => {
                if !s.is_empty() {
                    out.push_str(p);
                }
                out.push_str(s);
            }
            Normalizer::Precompiled(p) => p.normalize(s, out),
            Normalizer::Sequence(list) => {
                let mut cur = s.to_string();
                let mut next = String::new();
                for n in list {
                    next.clear();
                    n.normalize(&cur, &mut next);
                    std::mem::swap(&mut cur, &mut next);
                }
                out.push_str(&cur);
            }
        }
    }
}

/// HF `NormalizedString::lowercase`: `char::to_lowercase` one char at a time (so no
/// final-sigma rule, unlike `str::to_lowercase`).
fn lowercase(s: &str, out: &mut String) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        return;
    }
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

fn bert(
    s: &str,
    clean_text: bool,
    chinese: bool,
    strip_accents: bool,
    lower: bool,
    out: &mut String,
) {
    // Stage 1: clean text and space out CJK ideographs.
    let mut a = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        let mut c = c;
        if clean_text {
            if c == '\0' || c == '\u{fffd}' || (is_bert_control(c)) {
                continue;
            }
            if is_bert_whitespace(c) {
                c = ' ';
            }
        }
        if chinese && unicode::is_chinese_char(c) {
            a.push(' ');
            a.push(c);
            a.push(' ');
        } else {
            a.push(c);
        }
    }
    // Stage 2: NFD, then drop nonspacing marks.
    if strip_accents && !a.is_ascii() {
        let mut d = String::with_capacity(a.len() + 8);
        unicode::decompose_str(&a, false, &mut d);
        a.clear();
        a.extend(d.chars().filter(|&c| !unicode::is_mark_nonspacing(c)));
    }
    // Stage 3: lowercase.
    if lower {
        lowercase(&a, out);
    } else {
        out.push_str(&a);
    }
}

/// BERT's whitespace: tab, newlines and `char::is_whitespace`.
#[inline]
pub(crate) fn is_bert_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

/// BERT's control characters: Cc, Cf, Co except tab and newlines.
#[inline]
pub(crate) fn is_bert_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && unicode::is_other(c)
}

/// The sentencepiece `precompiled_charsmap`: a Darts double-array trie over UTF-8
/// byte strings whose leaves index NUL-terminated replacements in `normalized`.
#[derive(Debug, Clone)]
pub(crate) struct Precompiled {
    trie: Vec<u32>,
    normalized: Vec<u8>,
    /// The replacement of each ASCII char (a range of `normalized`), precomputed.
    ascii: Vec<Option<(u32, u32)>>,
}

impl Precompiled {
    /// Parses the decoded charsmap: a little-endian `u32` trie size in bytes, the trie
    /// units, then the replacement strings. `None` when malformed.
    pub(crate) fn from_bytes(b: &[u8]) -> Option<Precompiled> {
        let size = u32::from_le_bytes(b.get(0..4)?.try_into().ok()?) as usize;
        let units = size / 4;
        let trie_end = 4 + units * 4;
        let trie_bytes = b.get(4..trie_end)?;
        let trie = trie_bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let normalized = b.get(trie_end..)?.to_vec();
        std::str::from_utf8(&normalized).ok()?;
        let mut p = Precompiled {
            trie,
            normalized,
            ascii: Vec::new(),
        };
        p.ascii = (0u8..128)
            .map(|b| {
                p.transform(&[b]).map(|r| {
                    let start = r.as_ptr() as usize - p.normalized.as_ptr() as usize;
                    (start as u32, (start + r.len()) as u32)
                })
            })
            .collect();
        Some(p)
    }

    /// Bytes out per byte in: a chunk looked up is a grapheme or a char, so either
    /// one ASCII byte (whose replacement is in `ascii`) or at least two bytes, whose
    /// replacement is at most the longest NUL-free run of `normalized`.
    fn growth(&self) -> f64 {
        let ascii = self
            .ascii
            .iter()
            .flatten()
            .map(|&(x, y)| f64::from(y - x))
            .fold(1.0, f64::max);
        let longest = self
            .normalized
            .split(|&b| b == 0)
            .map(|r| r.len())
            .max()
            .unwrap_or(0);
        ascii.max(longest as f64 / 2.0)
    }

    /// The replacement of the shortest key that is a prefix of `chunk` (sic: this is
    /// what `spm_precompiled` does), if any.
    fn transform(&self, chunk: &[u8]) -> Option<&str> {
        let unit_at = |i: usize| self.trie.get(i).copied();
        let offset = |u: u32| ((u >> 10) << ((u & (1 << 9)) >> 6)) as usize;
        let mut pos = 0usize;
        let mut unit = unit_at(pos)?;
        pos ^= offset(unit);
        for &c in chunk {
            if c == 0 {
                break;
            }
            pos ^= usize::from(c);
            unit = unit_at(pos)?;
            if (unit & ((1 << 31) | 0xFF)) != u32::from(c) {
                return None;
            }
            pos ^= offset(unit);
            if (unit >> 8) & 1 == 1 {
                let value = (unit_at(pos)? & ((1 << 31) - 1)) as usize;
                let rest = self.normalized.get(value..)?;
                let end = rest.iter().position(|&x| x == 0).unwrap_or(rest.len());
                return std::str::from_utf8(&rest[..end]).ok();
            }
        }
        None
    }

    fn normalize(&self, s: &str, out: &mut String) {
        if s.is_ascii() {
            // Every ASCII char is a grapheme of its own, except CR LF.
            let b = s.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
                    self.grapheme("\r\n", out);
                    i += 2;
                    continue;
                }
                match self.ascii.get(b[i] as usize).copied().flatten() {
                    Some((x, y)) => out.push_str(
                        std::str::from_utf8(&self.normalized[x as usize..y as usize]).unwrap_or(""),
                    ),
                    None => out.push(char::from(b[i])),
                }
                i += 1;
            }
            return;
        }
        unicode::graphemes(s, |g| self.grapheme(g, out));
    }

    fn grapheme(&self, g: &str, out: &mut String) {
        {
            if g.len() < 6
                && let Some(n) = self.transform(g.as_bytes())
            {
                out.push_str(n);
                return;
            }
            for (i, c) in g.char_indices() {
                let part = &g[i..i + c.len_utf8()];
                match self.transform(part.as_bytes()) {
                    Some(n) => out.push_str(n),
                    None => out.push(c),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str, input: &str, expected: &str) {
        let v = crate::json::parse(json).unwrap();
        let n = Normalizer::from_json(&v, "normalizer").unwrap();
        let mut out = String::new();
        n.normalize(input, &mut out);
        assert_eq!(out, expected, "{json} on {input:?}");
    }

    #[test]
    fn bert_normalizer() {
        let b = r#"{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true}"#;
        check(b, "Héllo\tWORLD\u{0}\u{200b}!", "hello world!");
        check(b, "野口 x", " 野  口  x");
        check(b, "ΣΑΣ", "σασ");
        let keep = r#"{"type":"BertNormalizer","lowercase":false,"strip_accents":null}"#;
        check(keep, "Héllo", "Héllo");
    }

    #[test]
    fn simple_normalizers() {
        check(r#"{"type":"Lowercase"}"#, "ÀB", "àb");
        check(r#"{"type":"NFKC"}"#, "ﬁ①", "fi1");
        check(r#"{"type":"NFD"}"#, "é", "e\u{301}");
        check(r#"{"type":"StripAccents"}"#, "e\u{301}", "e");
        check(
            r#"{"type":"Strip","strip_left":true,"strip_right":false}"#,
            "  a ",
            "a ",
        );
        check(
            r#"{"type":"Replace","pattern":{"String":" "},"content":"▁"}"#,
            "a b",
            "a▁b",
        );
        check(
            r#"{"type":"Replace","pattern":{"Regex":" {2,}"},"content":"▁"}"#,
            "a  b c   d ",
            "a▁b c▁d ",
        );
        check(
            r#"{"type":"Replace","pattern":{"Regex":"\\s+"},"content":""}"#,
            " a \t b",
            "ab",
        );
        check(r#"{"type":"Prepend","prepend":"▁"}"#, "a", "▁a");
        check(r#"{"type":"Prepend","prepend":"▁"}"#, "", "");
        check(
            r#"{"type":"Sequence","normalizers":[{"type":"Lowercase"},{"type":"Prepend","prepend":"_"}]}"#,
            "AB",
            "_ab",
        );
    }

    /// The constants behind [`Normalizer::growth`] bound every `char`'s mapping, and
    /// composition never makes a pair longer (so NFC/NFKC stay within NFD/NFKD).
    #[test]
    fn unicode_growth_bounds() {
        let mut out = String::new();
        let mut worst = [0.0f64; 3];
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let n = c.len_utf8() as f64;
            let mut b = [0u8; 4];
            let s = c.encode_utf8(&mut b);
            for (k, f) in [
                |s: &str, o: &mut String| unicode::decompose_str(s, false, o),
                |s: &str, o: &mut String| unicode::decompose_str(s, true, o),
                |s: &str, o: &mut String| lowercase(s, o),
            ]
            .iter()
            .enumerate()
            {
                out.clear();
                f(s, &mut out);
                worst[k] = worst[k].max(out.len() as f64 / n);
            }
        }
        assert!(worst[0] <= NFD_GROWTH, "NFD {}", worst[0]);
        assert!(worst[1] <= NFKD_GROWTH, "NFKD {}", worst[1]);
        assert!(worst[2] <= LOWERCASE_GROWTH, "lowercase {}", worst[2]);
        for &(a, b, c) in crate::unicode::tables::COMPOSITION {
            let len = |u: u32| char::from_u32(u).map_or(0, char::len_utf8);
            assert!(len(c) <= len(a) + len(b), "{a:x} {b:x} -> {c:x}");
        }
    }

    /// Issue 19: ten `Replace`s of `a` by ten `a`s grow a text 10^10 times; the file
    /// is refused at load (it aborted there, normalizing its added token), naming the
    /// bound and the limit. One `Replace` less than the limit still loads.
    #[test]
    fn multiplying_replaces_are_refused_at_load() {
        let replace = r#"{"type":"Replace","pattern":{"String":"a"},"content":"aaaaaaaaaa"}"#;
        let file = |n: usize| {
            format!(
                r#"{{"added_tokens":[{{"id":1,"content":"a","normalized":true}}],
                "normalizer":{{"type":"Sequence","normalizers":[{}]}},
                "model":{{"type":"WordLevel","vocab":{{"[UNK]":0,"b":1}},"unk_token":"[UNK]"}}}}"#,
                vec![replace; n].join(",")
            )
        };
        let e = crate::Tokenizer::from_json_str(&file(10)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `normalizer`: may turn a text of n bytes into up to 1.0000e10 * n + \
             0.0000e0 bytes, more than the limit of 256 * n + 1048576 (a Sequence \
             multiplies the growth of its normalizers)"
        );
        // The added token `a` (id 2) is matched in the normalized text, `a` x 100.
        let t = crate::Tokenizer::from_json_str(&file(2)).unwrap();
        assert_eq!(t.encode("ab"), [2, 1]);
    }

    /// The real files' bounds (the shipped tokenizers are checked by loading them in
    /// `tests/parity_files.rs`): T5's normalizer, the largest, is 66.
    #[test]
    fn growth_of_common_normalizers() {
        let g = |json: &str| {
            let v = crate::json::parse(json).unwrap();
            Normalizer::from_json(&v, "normalizer").unwrap().growth()
        };
        assert_eq!(
            g(
                r#"{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]}"#
            ),
            (3.0, 9.0)
        );
        assert_eq!(g(r#"{"type":"NFC"}"#), (3.0, 0.0));
        assert_eq!(
            g(r#"{"type":"Replace","pattern":{"Regex":" {2,}"},"content":"▁"}"#),
            (4.0, 3.0)
        );
    }

    /// The charsmap files' bounds (the largest of the shipped ten; skipped without
    /// the shared data): T5 66, XLM-RoBERTa 33, both from a charsmap bound of 16.5.
    #[test]
    fn growth_of_the_shipped_charsmaps() {
        let Some(data) = m2v_hub::testing::shared_data() else {
            return;
        };
        for (name, want) in [("t5", (66.0, 3.0)), ("xlm-roberta", (33.0, 1.0))] {
            let p = data.join("tokenizers").join(name).join("tokenizer.json");
            let text = std::fs::read_to_string(&p).unwrap();
            let skip: &[&[&str]] = &[&["model", "vocab"], &["added_tokens"]];
            let (v, _) = crate::json::parse_lazy(&text, skip).unwrap();
            let n = Normalizer::from_json(v.get("normalizer").unwrap(), "normalizer").unwrap();
            assert_eq!(n.growth(), want, "{name}");
        }
    }

    #[test]
    fn unsupported_is_an_error() {
        let v = crate::json::parse(r#"{"type":"Fancy"}"#).unwrap();
        let e = Normalizer::from_json(&v, "normalizer").unwrap_err();
        assert_eq!(e.to_string(), "unsupported normalizer type `Fancy`");
        let v =
            crate::json::parse(r#"{"type":"Replace","pattern":{"Regex":"(?<=a)b"},"content":""}"#)
                .unwrap();
        let e = Normalizer::from_json(&v, "normalizer").unwrap_err();
        assert!(
            matches!(e, Error::Regex { ref message, .. } if message.contains("at byte 0")),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .starts_with("field `normalizer.pattern.Regex`: regex `(?<=a)b`")
        );
    }
}
