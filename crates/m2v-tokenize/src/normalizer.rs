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
