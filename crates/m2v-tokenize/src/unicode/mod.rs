//! Character classes and normalization forms, from the generated [`tables`].
//!
//! The tables reproduce the Unicode data that HF `tokenizers` uses (see
//! `xtask/src/codegen.rs`): categories from `unicode_categories`, normalization from
//! `unicode-normalization-alignments` (Unicode 9.0), regex classes from `regex-syntax`.
//! `char::is_whitespace` and `char::to_lowercase` come from std, exactly as in HF.

#[rustfmt::skip]
#[allow(clippy::unreadable_literal)]
pub(crate) mod tables;

use self::tables as t;

#[inline]
fn in_ranges(c: u32, r: &[(u32, u32)]) -> bool {
    let i = r.partition_point(|&(_, hi)| hi < c);
    i < r.len() && r[i].0 <= c
}

/// Cc, Cf or Co (BERT's "control" characters, minus tab and newlines).
#[inline]
pub(crate) fn is_other(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return u < 0x20 || u == 0x7F;
    }
    in_ranges(u, t::OTHER)
}

/// Unicode punctuation (P*), as `unicode_categories` defines it.
#[inline]
pub(crate) fn is_punctuation(c: char) -> bool {
    in_ranges(c as u32, t::PUNCTUATION)
}

/// BERT punctuation: ASCII punctuation or Unicode P*.
#[inline]
pub(crate) fn is_bert_punc(c: char) -> bool {
    c.is_ascii_punctuation() || (!c.is_ascii() && is_punctuation(c))
}

/// Nonspacing mark (Mn).
#[inline]
pub(crate) fn is_mark_nonspacing(c: char) -> bool {
    let u = c as u32;
    u >= 0x300 && in_ranges(u, t::MARK_NONSPACING)
}

/// Combining mark (Mn, Mc, Me) as `unicode-normalization-alignments` defines it.
#[inline]
pub(crate) fn is_combining_mark(c: char) -> bool {
    let u = c as u32;
    u >= 0x300 && in_ranges(u, t::COMBINING_MARK)
}

/// Regex `\w`.
#[inline]
pub(crate) fn is_regex_word(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    in_ranges(c as u32, t::REGEX_WORD)
}

/// Regex `\s`.
#[inline]
pub(crate) fn is_regex_space(c: char) -> bool {
    if c.is_ascii() {
        return matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}');
    }
    in_ranges(c as u32, t::REGEX_SPACE)
}

/// Regex `\p{L}`.
#[inline]
pub(crate) fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    in_ranges(c as u32, t::REGEX_LETTER)
}

/// Regex `\p{N}`.
#[inline]
pub(crate) fn is_number(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    in_ranges(c as u32, t::REGEX_NUMBER)
}

/// [`general_category`]'s number of Nd (decimal digits, regex `\d`).
pub(crate) const GC_ND: u32 = 9;

/// The general category of `c` as the regex crate sees it, numbered as in
/// [`t::GENERAL_CATEGORY`] (Lu = 1 ... Co = 28), 0 for Cn (unassigned).
#[inline]
pub(crate) fn general_category(c: char) -> u32 {
    let u = c as u32;
    let table = t::GENERAL_CATEGORY;
    let i = table.partition_point(|&(_, last, _)| last < u);
    match table.get(i) {
        Some(&(first, _, k)) if first <= u => u32::from(k),
        _ => 0,
    }
}

/// The CJK ideograph blocks of BERT's `handle_chinese_chars`.
#[inline]
pub(crate) fn is_chinese_char(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}

/// Grapheme cluster break classes (UAX #29), as far as the Precompiled normalizer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gcb {
    Other,
    Cr,
    Lf,
    Control,
    Extend,
    Zwj,
    RegionalIndicator,
    Prepend,
    SpacingMark,
    L,
    V,
    T,
    Lv,
    Lvt,
}

/// The grapheme cluster break class of `c`.
pub(crate) fn gcb(c: char) -> Gcb {
    let u = c as u32;
    if u < 0x7F {
        return match u {
            0x0D => Gcb::Cr,
            0x0A => Gcb::Lf,
            0..0x20 => Gcb::Control,
            _ => Gcb::Other,
        };
    }
    let i = t::GCB.partition_point(|&(_, hi, _)| hi < u);
    if i < t::GCB.len() && t::GCB[i].0 <= u {
        match t::GCB[i].2 {
            1 => Gcb::Cr,
            2 => Gcb::Lf,
            3 => Gcb::Control,
            4 => Gcb::Extend,
            5 => Gcb::Zwj,
            6 => Gcb::RegionalIndicator,
            7 => Gcb::Prepend,
            8 => Gcb::SpacingMark,
            9 => Gcb::L,
            10 => Gcb::V,
            11 => Gcb::T,
            12 => Gcb::Lv,
            13 => Gcb::Lvt,
            _ => Gcb::Other,
        }
    } else {
        Gcb::Other
    }
}

/// Extended_Pictographic.
pub(crate) fn is_extended_pictographic(c: char) -> bool {
    let u = c as u32;
    u >= 0xA9 && in_ranges(u, t::EXTENDED_PICTOGRAPHIC)
}

/// Splits `s` into extended grapheme clusters (UAX #29 rules GB3-GB13, without the
/// Indic conjunct rule GB9c, which never joins clusters shorter than 6 bytes and so
/// cannot change the Precompiled normalizer's output) and calls `f` on each.
pub(crate) fn graphemes(s: &str, mut f: impl FnMut(&str)) {
    let mut start = 0;
    let mut prev: Option<Gcb> = None;
    // State for GB11 (emoji ZWJ sequences) and GB12/13 (regional indicator pairs).
    let mut ext_pict_run = false; // ExtPict Extend* seen, possibly followed by ZWJ
    let mut ri_count = 0usize;
    for (i, c) in s.char_indices() {
        let cur = gcb(c);
        let pict = is_extended_pictographic(c);
        if let Some(p) = prev {
            let no_break = match (p, cur) {
                (Gcb::Cr, Gcb::Lf) => true,
                (Gcb::Cr | Gcb::Lf | Gcb::Control, _) => false,
                (_, Gcb::Cr | Gcb::Lf | Gcb::Control) => false,
                (Gcb::L, Gcb::L | Gcb::V | Gcb::Lv | Gcb::Lvt) => true,
                (Gcb::Lv | Gcb::V, Gcb::V | Gcb::T) => true,
                (Gcb::Lvt | Gcb::T, Gcb::T) => true,
                (_, Gcb::Extend | Gcb::Zwj) => true,
                (_, Gcb::SpacingMark) => true,
                (Gcb::Prepend, _) => true,
                (Gcb::Zwj, _) if pict && ext_pict_run => true,
                (Gcb::RegionalIndicator, Gcb::RegionalIndicator) => !ri_count.is_multiple_of(2),
                _ => false,
            };
            if !no_break {
                f(&s[start..i]);
                start = i;
            }
        }
        // Update GB11 state: ExtPict Extend* ZWJ x ExtPict.
        ext_pict_run = if pict {
            true
        } else if matches!(cur, Gcb::Extend) {
            ext_pict_run
        } else if matches!(cur, Gcb::Zwj) {
            ext_pict_run && !matches!(prev, Some(Gcb::Zwj))
        } else {
            false
        };
        ri_count = if cur == Gcb::RegionalIndicator {
            ri_count + 1
        } else {
            0
        };
        prev = Some(cur);
    }
    if start < s.len() {
        f(&s[start..]);
    }
}

/// Canonical combining class.
#[inline]
pub(crate) fn ccc(c: char) -> u8 {
    let u = c as u32;
    if u < 0x300 {
        return 0;
    }
    let i = t::CCC.partition_point(|&(_, hi, _)| hi < u);
    if i < t::CCC.len() && t::CCC[i].0 <= u {
        t::CCC[i].2
    } else {
        0
    }
}

const S_BASE: u32 = 0xAC00;
const L_BASE: u32 = 0x1100;
const V_BASE: u32 = 0x1161;
const T_BASE: u32 = 0x11A7;
const L_COUNT: u32 = 19;
const V_COUNT: u32 = 21;
const T_COUNT: u32 = 28;
const N_COUNT: u32 = V_COUNT * T_COUNT;
const S_COUNT: u32 = L_COUNT * N_COUNT;

/// Calls `f` with the full canonical (or compatibility) decomposition of `c`.
#[inline]
pub(crate) fn decompose(c: char, compat: bool, mut f: impl FnMut(char)) {
    let u = c as u32;
    if u < 0xC0 && !(compat && u >= 0xA0) {
        f(c);
        return;
    }
    if (S_BASE..S_BASE + S_COUNT).contains(&u) {
        let s = u - S_BASE;
        let l = L_BASE + s / N_COUNT;
        let v = V_BASE + (s % N_COUNT) / T_COUNT;
        let tt = T_BASE + s % T_COUNT;
        for x in [l, v] {
            if let Some(ch) = char::from_u32(x) {
                f(ch);
            }
        }
        if tt != T_BASE
            && let Some(ch) = char::from_u32(tt)
        {
            f(ch);
        }
        return;
    }
    let (index, data) = if compat {
        (t::COMPATIBLE_INDEX, t::COMPATIBLE_DATA)
    } else {
        (t::CANONICAL_INDEX, t::CANONICAL_DATA)
    };
    match index.binary_search_by_key(&u, |&(k, _)| k) {
        Ok(i) => {
            let v = index[i].1;
            let (start, len) = ((v >> 8) as usize, (v & 0xFF) as usize);
            for &x in data.get(start..start + len).unwrap_or(&[]) {
                if let Some(ch) = char::from_u32(x) {
                    f(ch);
                }
            }
        }
        Err(_) => f(c),
    }
}

/// Canonical composition of a pair, Hangul included.
#[inline]
pub(crate) fn compose(a: char, b: char) -> Option<char> {
    let (ua, ub) = (a as u32, b as u32);
    if (L_BASE..L_BASE + L_COUNT).contains(&ua) && (V_BASE..V_BASE + V_COUNT).contains(&ub) {
        let l = ua - L_BASE;
        let v = ub - V_BASE;
        return char::from_u32(S_BASE + (l * V_COUNT + v) * T_COUNT);
    }
    if (S_BASE..S_BASE + S_COUNT).contains(&ua)
        && (T_BASE + 1..T_BASE + T_COUNT).contains(&ub)
        && (ua - S_BASE).is_multiple_of(T_COUNT)
    {
        return char::from_u32(ua + (ub - T_BASE));
    }
    t::COMPOSITION
        .binary_search_by(|&(x, y, _)| (x, y).cmp(&(ua, ub)))
        .ok()
        .and_then(|i| char::from_u32(t::COMPOSITION[i].2))
}

/// Appends the NFD (or NFKD when `compat`) of `s` to `out`.
pub(crate) fn decompose_str(s: &str, compat: bool, out: &mut String) {
    // Pending non-starters after the last starter, sorted stably by class on flush.
    let mut pending: Vec<(u8, char)> = Vec::new();
    let flush = |pending: &mut Vec<(u8, char)>, out: &mut String| {
        if pending.len() > 1 {
            pending.sort_by_key(|&(k, _)| k);
        }
        for &(_, c) in pending.iter() {
            out.push(c);
        }
        pending.clear();
    };
    for c in s.chars() {
        if c.is_ascii() {
            flush(&mut pending, out);
            out.push(c);
            continue;
        }
        decompose(c, compat, |d| {
            let k = ccc(d);
            if k == 0 {
                flush(&mut pending, out);
                out.push(d);
            } else {
                pending.push((k, d));
            }
        });
    }
    flush(&mut pending, out);
}

/// Appends the NFC (or NFKC when `compat`) of `s` to `out`.
pub(crate) fn compose_str(s: &str, compat: bool, out: &mut String) {
    // ASCII text is its own NFC and NFKC: no ASCII char decomposes, and none composes
    // without a following non-ASCII mark.
    if s.is_ascii() {
        out.push_str(s);
        return;
    }
    let mut d = String::with_capacity(s.len());
    decompose_str(s, compat, &mut d);
    let chars: Vec<char> = d.chars().collect();
    let mut res: Vec<char> = Vec::with_capacity(chars.len());
    let mut starter: Option<usize> = None;
    let mut last_ccc: Option<u8> = None;
    for &c in &chars {
        let k = ccc(c);
        if let Some(si) = starter {
            // Not blocked: nothing between the starter and c, or the last one has a
            // lower non-zero class.
            let blocked = match last_ccc {
                None => false,
                Some(lk) => lk == 0 || lk >= k,
            };
            if !blocked && let Some(comp) = compose(res[si], c) {
                res[si] = comp;
                continue;
            }
        }
        if k == 0 {
            starter = Some(res.len());
            last_ccc = None;
        } else {
            last_ccc = Some(k);
        }
        res.push(c);
    }
    out.extend(res);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nfd(s: &str) -> String {
        let mut o = String::new();
        decompose_str(s, false, &mut o);
        o
    }
    fn nfkc(s: &str) -> String {
        let mut o = String::new();
        compose_str(s, true, &mut o);
        o
    }

    /// What `compose_str`'s ASCII shortcut relies on: every ASCII char is its own
    /// full decomposition, canonical and compatible, and no two compose.
    #[test]
    fn ascii_is_its_own_normal_form() {
        for a in (0u8..128).map(char::from) {
            for compat in [false, true] {
                let mut d = Vec::new();
                decompose(a, compat, |x| d.push(x));
                assert_eq!(d, [a]);
            }
            assert_eq!(ccc(a), 0);
            for b in (0u8..128).map(char::from) {
                assert_eq!(compose(a, b), None, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn classes() {
        assert!(is_other('\u{200b}')); // ZERO WIDTH SPACE is Cf
        assert!(is_other('\u{1}'));
        assert!(!is_other('a'));
        assert!(is_bert_punc('$') && is_bert_punc('¿') && !is_bert_punc('a'));
        assert!(is_mark_nonspacing('\u{301}'));
        assert!(is_regex_word('é') && !is_regex_word('-'));
        assert!(is_letter('ж') && is_number('٣'));
        assert!(is_chinese_char('中') && !is_chinese_char('あ'));
    }

    #[test]
    fn normalization_forms() {
        assert_eq!(nfd("é"), "e\u{301}");
        assert_eq!(nfd("한"), "\u{1112}\u{1161}\u{11ab}");
        // Marks are reordered by combining class: dot below (220) before acute (230).
        assert_eq!(nfd("a\u{301}\u{323}"), "a\u{323}\u{301}");
        assert_eq!(nfkc("ﬁ"), "fi");
        assert_eq!(nfkc("e\u{301}"), "é");
        assert_eq!(nfkc("\u{1112}\u{1161}\u{11ab}"), "한");
        assert_eq!(nfkc("①"), "1");
    }

    #[test]
    fn grapheme_clusters() {
        let split = |s: &str| {
            let mut v = Vec::new();
            graphemes(s, |g| v.push(g.to_string()));
            v
        };
        assert_eq!(split("e\u{301}x"), ["e\u{301}", "x"]);
        assert_eq!(split("\r\na"), ["\r\n", "a"]);
        assert_eq!(split("🇫🇷🇩"), ["🇫🇷", "🇩"]);
        assert_eq!(split("👩\u{200d}💻!"), ["👩\u{200d}💻", "!"]);
    }
}
