//! Pre-tokenizers: the `pre_tokenizer` section of `tokenizer.json`.
//!
//! A pre-tokenizer cuts a normalized string into words (and may rewrite them, as
//! `Metaspace` and `ByteLevel` do). Words are written into a [`Splits`] buffer: one
//! `String` plus ranges, so a whole pipeline runs without a per-word allocation.

use crate::config::{bad, bool_or, opt_str, str_req, type_of, unsupported};
use crate::error::Error;
use crate::json::Value;
use crate::regex::Regex;
use crate::unicode;

/// Words produced by a pre-tokenizer: ranges into `buf`, each with a flag that is
/// `true` when the word starts at offset 0 of the original input (for `Metaspace`'s
/// `prepend_scheme: "first"`).
#[derive(Debug, Default, Clone)]
pub(crate) struct Splits {
    pub(crate) buf: String,
    pub(crate) ranges: Vec<(u32, u32, bool)>,
}

impl Splits {
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.ranges.clear();
    }
    #[inline]
    fn push(&mut self, s: &str, first: bool) {
        if s.is_empty() {
            return;
        }
        let a = self.buf.len() as u32;
        self.buf.push_str(s);
        self.ranges.push((a, self.buf.len() as u32, first));
    }
    /// The words in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.ranges
            .iter()
            .map(move |&(a, b, _)| &self.buf[a as usize..b as usize])
    }
}

/// What to do with the matched delimiters of a split (HF `SplitDelimiterBehavior`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behavior {
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

impl Behavior {
    fn from_json(v: &Value, at: &str, key: &str) -> Result<Behavior, Error> {
        Ok(match opt_str(v, at, key)? {
            Some("Removed") => Behavior::Removed,
            Some("Isolated") | None => Behavior::Isolated,
            Some("MergedWithPrevious") => Behavior::MergedWithPrevious,
            Some("MergedWithNext") => Behavior::MergedWithNext,
            Some("Contiguous") => Behavior::Contiguous,
            Some(other) => return Err(bad(at, key, format!("unknown behavior `{other}`"))),
        })
    }
}

/// `Metaspace`'s `prepend_scheme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrependScheme {
    Always,
    First,
    Never,
}

/// The pattern of a `Split` pre-tokenizer.
#[derive(Debug, Clone)]
pub(crate) enum SplitPattern {
    /// `{"String": ...}`: a literal.
    String(String),
    /// `{"Regex": ...}`.
    Regex(Regex),
}

/// One pre-tokenizer of the pipeline.
#[derive(Debug, Clone)]
pub(crate) enum PreTokenizer {
    Bert,
    Whitespace,
    WhitespaceSplit,
    Punctuation(Behavior),
    CharDelimiterSplit(char),
    Metaspace {
        replacement: char,
        prepend_scheme: PrependScheme,
        split: bool,
    },
    ByteLevel {
        add_prefix_space: bool,
        use_regex: bool,
    },
    Digits {
        individual: bool,
    },
    /// `Split` with a string or regex pattern.
    Split {
        pattern: SplitPattern,
        behavior: Behavior,
        invert: bool,
    },
    Sequence(Vec<PreTokenizer>),
}

impl PreTokenizer {
    /// Parses a pre-tokenizer object found at JSON path `at`.
    pub(crate) fn from_json(v: &Value, at: &str) -> Result<PreTokenizer, Error> {
        let kind = type_of(v, at)?;
        Ok(match kind {
            "BertPreTokenizer" => PreTokenizer::Bert,
            "Whitespace" => PreTokenizer::Whitespace,
            "WhitespaceSplit" => PreTokenizer::WhitespaceSplit,
            "Punctuation" => PreTokenizer::Punctuation(Behavior::from_json(v, at, "behavior")?),
            "CharDelimiterSplit" => {
                let d = str_req(v, at, "delimiter")?;
                let mut it = d.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => PreTokenizer::CharDelimiterSplit(c),
                    _ => return Err(bad(at, "delimiter", "expected one character")),
                }
            }
            "Metaspace" => {
                let rep = str_req(v, at, "replacement")?;
                let mut it = rep.chars();
                let replacement = match (it.next(), it.next()) {
                    (Some(c), None) => c,
                    _ => return Err(bad(at, "replacement", "expected one character")),
                };
                let prepend_scheme = match opt_str(v, at, "prepend_scheme")? {
                    Some("always") => PrependScheme::Always,
                    Some("first") => PrependScheme::First,
                    Some("never") => PrependScheme::Never,
                    None => {
                        // Older files: `add_prefix_space`.
                        if bool_or(v, at, "add_prefix_space", Some(true))? {
                            PrependScheme::Always
                        } else {
                            PrependScheme::Never
                        }
                    }
                    Some(other) => {
                        return Err(bad(
                            at,
                            "prepend_scheme",
                            format!("unknown scheme `{other}`"),
                        ));
                    }
                };
                PreTokenizer::Metaspace {
                    replacement,
                    prepend_scheme,
                    split: bool_or(v, at, "split", Some(true))?,
                }
            }
            "ByteLevel" => PreTokenizer::ByteLevel {
                add_prefix_space: bool_or(v, at, "add_prefix_space", Some(true))?,
                use_regex: bool_or(v, at, "use_regex", Some(true))?,
            },
            "Digits" => PreTokenizer::Digits {
                individual: bool_or(v, at, "individual_digits", Some(false))?,
            },
            "Split" => {
                let p = v
                    .get("pattern")
                    .ok_or_else(|| bad(at, "pattern", "missing"))?;
                let pattern = match (p.get("String"), p.get("Regex")) {
                    (Some(Value::String(s)), _) if !s.is_empty() => SplitPattern::String(s.clone()),
                    (None, Some(Value::String(r))) => SplitPattern::Regex(
                        Regex::new(r)
                            .map_err(|e| Error::regex(format!("{at}.pattern.Regex"), e))?,
                    ),
                    _ => {
                        return Err(bad(
                            at,
                            "pattern",
                            "expected {\"String\": non-empty string} or {\"Regex\": string}",
                        ));
                    }
                };
                PreTokenizer::Split {
                    pattern,
                    behavior: Behavior::from_json(v, at, "behavior")?,
                    invert: bool_or(v, at, "invert", Some(false))?,
                }
            }
            "Sequence" => {
                let list = crate::config::array(v, at, "pretokenizers")?;
                let mut out = Vec::with_capacity(list.len());
                for (i, p) in list.iter().enumerate() {
                    out.push(PreTokenizer::from_json(
                        p,
                        &format!("{at}.pretokenizers[{i}]"),
                    )?);
                }
                PreTokenizer::Sequence(out)
            }
            other => return Err(unsupported("pre_tokenizer", other)),
        })
    }

    /// Does this pipeline contain a `Metaspace` with `prepend_scheme: "first"`?
    pub(crate) fn uses_first_scheme(&self) -> bool {
        match self {
            PreTokenizer::Metaspace { prepend_scheme, .. } => {
                *prepend_scheme == PrependScheme::First
            }
            PreTokenizer::Sequence(list) => list.iter().any(PreTokenizer::uses_first_scheme),
            _ => false,
        }
    }

    /// Appends the words of `s` to `out`. `first` says whether `s` starts at offset 0
    /// of the original input.
    pub(crate) fn pre_tokenize(&self, s: &str, first: bool, out: &mut Splits) {
        match self {
            PreTokenizer::Bert => {
                let mut start = None;
                for (i, c) in s.char_indices() {
                    if c.is_whitespace() {
                        if let Some(a) = start.take() {
                            out.push(&s[a..i], first && a == 0);
                        }
                    } else if unicode::is_bert_punc(c) {
                        if let Some(a) = start.take() {
                            out.push(&s[a..i], first && a == 0);
                        }
                        out.push(&s[i..i + c.len_utf8()], first && i == 0);
                    } else if start.is_none() {
                        start = Some(i);
                    }
                }
                if let Some(a) = start {
                    out.push(&s[a..], first && a == 0);
                }
            }
            PreTokenizer::WhitespaceSplit => {
                let mut start = None;
                for (i, c) in s.char_indices() {
                    if c.is_whitespace() {
                        if let Some(a) = start.take() {
                            out.push(&s[a..i], first && a == 0);
                        }
                    } else if start.is_none() {
                        start = Some(i);
                    }
                }
                if let Some(a) = start {
                    out.push(&s[a..], first && a == 0);
                }
            }
            PreTokenizer::Whitespace => {
                // Matches of `\w+|[^\w\s]+`.
                #[derive(PartialEq, Clone, Copy)]
                enum K {
                    Word,
                    Other,
                    Space,
                }
                let class = |c: char| {
                    if unicode::is_regex_word(c) {
                        K::Word
                    } else if unicode::is_regex_space(c) {
                        K::Space
                    } else {
                        K::Other
                    }
                };
                let mut cur: Option<(usize, K)> = None;
                for (i, c) in s.char_indices() {
                    let k = class(c);
                    match cur {
                        Some((_, ck)) if ck == k => {}
                        Some((a, ck)) => {
                            if ck != K::Space {
                                out.push(&s[a..i], first && a == 0);
                            }
                            cur = Some((i, k));
                        }
                        None => cur = Some((i, k)),
                    }
                }
                if let Some((a, ck)) = cur
                    && ck != K::Space
                {
                    out.push(&s[a..], first && a == 0);
                }
            }
            PreTokenizer::Punctuation(b) => {
                split_by(s, first, *b, out, |t| {
                    char_matches(t, unicode::is_bert_punc)
                });
            }
            PreTokenizer::CharDelimiterSplit(d) => {
                split_by(s, first, Behavior::Removed, out, |t| {
                    char_matches(t, |c| c == *d)
                });
            }
            PreTokenizer::Digits { individual } => {
                let b = if *individual {
                    Behavior::Isolated
                } else {
                    Behavior::Contiguous
                };
                split_by(s, first, b, out, |t| char_matches(t, char::is_numeric));
            }
            PreTokenizer::Split {
                pattern,
                behavior,
                invert,
            } => {
                split_by(s, first, *behavior, out, |t| {
                    let mut m = match pattern {
                        SplitPattern::String(p) => str_matches(t, p),
                        SplitPattern::Regex(r) => regex_matches(t, r),
                    };
                    if *invert {
                        for x in &mut m {
                            x.2 = !x.2;
                        }
                    }
                    m
                });
            }
            PreTokenizer::Metaspace {
                replacement,
                prepend_scheme,
                split,
            } => {
                if s.is_empty() {
                    return;
                }
                let prepend = match prepend_scheme {
                    PrependScheme::Always => true,
                    PrependScheme::First => first,
                    PrependScheme::Never => false,
                };
                // Spaces become the replacement; a leading space (or replacement)
                // makes the prefix unnecessary.
                let start = out.buf.len();
                if prepend && !s.starts_with(*replacement) && !s.starts_with(' ') {
                    out.buf.push(*replacement);
                }
                for c in s.chars() {
                    out.buf.push(if c == ' ' { *replacement } else { c });
                }
                let end = out.buf.len();
                if *split {
                    // `MergedWithNext` on the replacement: a piece starts at each one.
                    let mut a = start;
                    for (i, c) in out.buf[start..end].char_indices() {
                        let i = start + i;
                        if c == *replacement && i > a {
                            out.ranges.push((a as u32, i as u32, first && a == start));
                            a = i;
                        }
                    }
                    out.ranges.push((a as u32, end as u32, first && a == start));
                } else {
                    out.ranges.push((start as u32, end as u32, first));
                }
            }
            PreTokenizer::ByteLevel {
                add_prefix_space,
                use_regex,
            } => {
                let owned;
                let t = if *add_prefix_space && !s.starts_with(' ') && !s.is_empty() {
                    owned = format!(" {s}");
                    owned.as_str()
                } else {
                    s
                };
                let mut emit = |piece: &str, f: bool| {
                    let a = out.buf.len() as u32;
                    for &b in piece.as_bytes() {
                        out.buf.push(BYTES_CHAR[b as usize]);
                    }
                    if !piece.is_empty() {
                        out.ranges.push((a, out.buf.len() as u32, f));
                    }
                };
                if *use_regex {
                    let mut i = 0;
                    while i < t.len() {
                        let n = gpt2_match(&t[i..]);
                        emit(&t[i..i + n], first && i == 0);
                        i += n;
                    }
                } else {
                    emit(t, first);
                }
            }
            PreTokenizer::Sequence(list) => {
                let mut cur = Splits::default();
                cur.push(s, first);
                let mut next = Splits::default();
                for p in list {
                    next.clear();
                    for &(a, b, f) in &cur.ranges {
                        p.pre_tokenize(&cur.buf[a as usize..b as usize], f, &mut next);
                    }
                    std::mem::swap(&mut cur, &mut next);
                }
                for &(a, b, f) in &cur.ranges {
                    out.push(&cur.buf[a as usize..b as usize], f);
                }
            }
        }
    }
}

/// HF's char-pattern matches: every matching char is its own match; the gaps between
/// them are non-matches. `(start, end, is_match)`, covering `s`.
fn char_matches(s: &str, f: impl Fn(char) -> bool) -> Vec<(usize, usize, bool)> {
    let mut m = Vec::new();
    let mut last = 0;
    for (i, c) in s.char_indices() {
        if f(c) {
            if last < i {
                m.push((last, i, false));
            }
            last = i + c.len_utf8();
            m.push((i, last, true));
        }
    }
    if last < s.len() {
        m.push((last, s.len(), false));
    }
    m
}

fn str_matches(s: &str, pattern: &str) -> Vec<(usize, usize, bool)> {
    let mut m = Vec::new();
    let mut last = 0;
    for (i, p) in s.match_indices(pattern) {
        if last < i {
            m.push((last, i, false));
        }
        last = i + p.len();
        m.push((i, last, true));
    }
    if last < s.len() {
        m.push((last, s.len(), false));
    }
    m
}

/// HF's regex-pattern matches: each match (empty ones included) and the gaps between
/// them, `(start, end, is_match)`, covering `s`; an empty `s` has no match.
fn regex_matches(s: &str, re: &Regex) -> Vec<(usize, usize, bool)> {
    let mut m = Vec::new();
    if s.is_empty() {
        return m;
    }
    let mut last = 0;
    for r in re.find_iter(s) {
        if last < r.start {
            m.push((last, r.start, false));
        }
        last = r.end;
        m.push((r.start, r.end, true));
    }
    if last < s.len() {
        m.push((last, s.len(), false));
    }
    m
}

/// HF `NormalizedString::split` with a behavior, given the matches.
fn split_by(
    s: &str,
    first: bool,
    behavior: Behavior,
    out: &mut Splits,
    matches: impl FnOnce(&str) -> Vec<(usize, usize, bool)>,
) {
    let m = matches(s);
    let mut pieces: Vec<(usize, usize, bool)> = Vec::with_capacity(m.len());
    match behavior {
        Behavior::Isolated => pieces.extend(m.iter().map(|&(a, b, _)| (a, b, false))),
        Behavior::Removed => pieces = m,
        Behavior::Contiguous => {
            let mut prev = false;
            for &(a, b, is) in &m {
                match pieces.last_mut() {
                    Some(last) if is == prev => last.1 = b,
                    _ => pieces.push((a, b, false)),
                }
                prev = is;
            }
        }
        Behavior::MergedWithPrevious => {
            let mut prev = false;
            for &(a, b, is) in &m {
                match pieces.last_mut() {
                    Some(last) if is && !prev => last.1 = b,
                    _ => pieces.push((a, b, false)),
                }
                prev = is;
            }
        }
        Behavior::MergedWithNext => {
            let mut prev = false;
            for &(a, b, is) in m.iter().rev() {
                match pieces.last_mut() {
                    Some(last) if is && !prev => last.0 = a,
                    _ => pieces.push((a, b, false)),
                }
                prev = is;
            }
            pieces.reverse();
        }
    }
    for (a, b, removed) in pieces {
        if !removed {
            out.push(&s[a..b], first && a == 0);
        }
    }
}

/// GPT-2's byte-to-char table (`bytes_to_unicode`).
pub(crate) static BYTES_CHAR: [char; 256] = {
    let mut t = ['\0'; 256];
    let mut n = 0u32;
    let mut b = 0usize;
    while b < 256 {
        let printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        let cp = if printable {
            b as u32
        } else {
            let c = 256 + n;
            n += 1;
            c
        };
        t[b] = match char::from_u32(cp) {
            Some(c) => c,
            None => '\0',
        };
        b += 1;
    }
    t
};

#[derive(PartialEq, Clone, Copy)]
enum Cls {
    Letter,
    Number,
    Space,
    Other,
}

#[inline]
fn cls(c: char) -> Cls {
    if c.is_ascii() {
        return match c {
            'a'..='z' | 'A'..='Z' => Cls::Letter,
            '0'..='9' => Cls::Number,
            ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}' => Cls::Space,
            _ => Cls::Other,
        };
    }
    if unicode::is_letter(c) {
        Cls::Letter
    } else if unicode::is_number(c) {
        Cls::Number
    } else if unicode::is_regex_space(c) {
        Cls::Space
    } else {
        Cls::Other
    }
}

/// Length in bytes of the GPT-2 pattern's match at the start of non-empty `s`:
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// (leftmost-first alternation, greedy repeats). Never 0 for a non-empty `s`.
pub(crate) fn gpt2_match(s: &str) -> usize {
    let b = s.as_bytes();
    if b[0] == b'\'' && b.len() >= 2 {
        match b[1] {
            b's' | b't' | b'm' | b'd' => return 2,
            b'r' | b'v' if b.get(2) == Some(&b'e') => return 3,
            b'l' if b.get(2) == Some(&b'l') => return 3,
            _ => {}
        }
    }
    let run = |from: usize, k: Cls| -> usize {
        let mut e = from;
        for c in s[from..].chars() {
            if cls(c) != k {
                break;
            }
            e += c.len_utf8();
        }
        e
    };
    let mut chars = s.chars();
    let Some(c0) = chars.next() else {
        return 0;
    };
    let k0 = cls(c0);
    // ` ?X+` for X in letters, numbers, others.
    if c0 == ' '
        && let Some(c1) = chars.next()
    {
        let k1 = cls(c1);
        if k1 != Cls::Space {
            return run(1, k1);
        }
    }
    if k0 != Cls::Space {
        return run(0, k0);
    }
    // Whitespace run.
    let end = run(0, Cls::Space);
    if end == s.len() {
        return end;
    }
    // `\s+(?!\S)`: give back the last whitespace char if that leaves at least one.
    let last = s[..end].chars().next_back().map_or(1, char::len_utf8);
    if end - last > 0 { end - last } else { end }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str, input: &str, expected: &[&str]) {
        let v = crate::json::parse(json).unwrap();
        let p = PreTokenizer::from_json(&v, "pre_tokenizer").unwrap();
        let mut out = Splits::default();
        p.pre_tokenize(input, true, &mut out);
        let got: Vec<&str> = out.iter().collect();
        assert_eq!(got, expected, "{json} on {input:?}");
    }

    #[test]
    fn bert_and_whitespace() {
        let b = r#"{"type":"BertPreTokenizer"}"#;
        check(
            b,
            "Hey friend!     How are you?!?",
            &["Hey", "friend", "!", "How", "are", "you", "?", "!", "?"],
        );
        check(
            r#"{"type":"Whitespace"}"#,
            "Hey, friend!! x_y",
            &["Hey", ",", "friend", "!!", "x_y"],
        );
        check(
            r#"{"type":"WhitespaceSplit"}"#,
            " a\u{3000}b  ",
            &["a", "b"],
        );
    }

    #[test]
    fn metaspace_and_digits() {
        let m = r#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}"#;
        check(m, "Hey friend", &["▁Hey", "▁friend"]);
        check(m, " Hey", &["▁Hey"]);
        check(m, "a  b", &["▁a", "▁", "▁b"]);
        check(
            r#"{"type":"Digits","individual_digits":true}"#,
            "a12",
            &["a", "1", "2"],
        );
        check(
            r#"{"type":"Digits","individual_digits":false}"#,
            "a12b",
            &["a", "12", "b"],
        );
        check(
            r#"{"type":"CharDelimiterSplit","delimiter":"-"}"#,
            "a-b--c",
            &["a", "b", "c"],
        );
        check(
            r#"{"type":"Punctuation","behavior":"MergedWithPrevious"}"#,
            "a.b..",
            &["a.", "b.", "."],
        );
    }

    #[test]
    fn byte_level() {
        let b = r#"{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}"#;
        check(
            b,
            "Hello world's  end!!\n",
            &["Hello", "Ġworld", "'s", "Ġ", "Ġend", "!!", "Ċ"],
        );
        check(b, "é", &["Ã©"]);
        assert_eq!(gpt2_match("   x"), 2);
        assert_eq!(gpt2_match("\nx"), 1);
        assert_eq!(gpt2_match("'x"), 1);
        assert_eq!(gpt2_match("  "), 2);
    }
}
