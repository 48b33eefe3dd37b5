//! `cargo xtask codegen`: regenerates the Unicode tables of `m2v-tokenize`.
//!
//! `m2v-tokenize` has no dependencies, yet must classify characters exactly as the
//! Hugging Face `tokenizers` crate does. That crate takes its categories from
//! `unicode_categories` 0.1 (BERT's "control" and "punctuation"), its normalization
//! forms from `unicode-normalization-alignments` 0.1 (Unicode 9.0, older than std's
//! tables) and its regex classes (`\w`, `\s`, `\p{L}`, `\p{N}`) from `regex-syntax`
//! 0.8, and its grapheme clusters from `unicode-segmentation`. This task reads the very
//! same crates and writes their data as plain Rust arrays into
//! `crates/m2v-tokenize/src/unicode/tables.rs`. The test `tests::tables_are_current`
//! fails when the committed file differs from what this task would write.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use unicode_categories::UnicodeCategories;
use unicode_normalization_alignments::char as unorm;

/// Where the generated file lives, relative to the workspace root.
pub const TABLES_PATH: &str = "crates/m2v-tokenize/src/unicode/tables.rs";

pub fn run(args: &[String]) -> Result<()> {
    let check = match args {
        [] => false,
        [a] if a == "--check" => true,
        _ => bail!("usage: cargo xtask codegen [--check]"),
    };
    let path = workspace_root().join(TABLES_PATH);
    let text = generate()?;
    if check {
        let old = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if old != text {
            bail!("{} is stale: run `cargo xtask codegen`", path.display());
        }
        println!("{} is current", path.display());
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn all_chars() -> impl Iterator<Item = char> {
    (0u32..=0x10FFFF).filter_map(char::from_u32)
}

/// Collapses the chars satisfying `f` into inclusive ranges.
fn ranges(f: impl Fn(char) -> bool) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for c in all_chars() {
        if f(c) {
            let u = c as u32;
            match out.last_mut() {
                Some(last) if last.1 + 1 == u => last.1 = u,
                _ => out.push((u, u)),
            }
        }
    }
    out
}

/// The inclusive ranges of a regex-syntax Unicode class such as `\w` or `\p{L}`.
fn regex_class(pattern: &str) -> Result<Vec<(u32, u32)>> {
    use regex_syntax::hir::{Class, HirKind};
    let hir = regex_syntax::Parser::new()
        .parse(pattern)
        .with_context(|| format!("parsing {pattern}"))?;
    match hir.kind() {
        HirKind::Class(Class::Unicode(c)) => Ok(c
            .ranges()
            .iter()
            .map(|r| (r.start() as u32, r.end() as u32))
            .collect()),
        // A class of one char is simplified to a literal.
        HirKind::Literal(lit) => match std::str::from_utf8(&lit.0).ok().map(|s| s.chars()) {
            Some(mut cs) => match (cs.next(), cs.next()) {
                (Some(c), None) => Ok(vec![(c as u32, c as u32)]),
                _ => bail!("{pattern} is not a single char"),
            },
            None => bail!("{pattern} is not UTF-8"),
        },
        other => bail!("{pattern} is not a Unicode class: {other:?}"),
    }
}

fn write_ranges(out: &mut String, doc: &str, name: &str, r: &[(u32, u32)]) {
    let _ = writeln!(out, "/// {doc}");
    let _ = writeln!(out, "pub static {name}: &[(u32, u32)] = &[");
    for chunk in r.chunks(6) {
        out.push_str("   ");
        for (a, b) in chunk {
            let _ = write!(out, " (0x{a:X}, 0x{b:X}),");
        }
        out.push('\n');
    }
    out.push_str("];\n\n");
}

fn write_u32s(out: &mut String, doc: &str, name: &str, v: &[u32]) {
    let _ = writeln!(out, "/// {doc}");
    let _ = writeln!(out, "pub static {name}: &[u32] = &[");
    for chunk in v.chunks(10) {
        out.push_str("   ");
        for a in chunk {
            let _ = write!(out, " 0x{a:X},");
        }
        out.push('\n');
    }
    out.push_str("];\n\n");
}

/// Decomposition table: `(char, start, len)` into a flat data array, for the chars
/// whose full decomposition differs from themselves (Hangul syllables excluded: they
/// are decomposed algorithmically).
fn decompositions(compat: bool) -> (Vec<(u32, u32)>, Vec<u32>) {
    let mut index = Vec::new();
    let mut data = Vec::new();
    for c in all_chars() {
        if (0xAC00..0xAC00 + 11172).contains(&(c as u32)) {
            continue;
        }
        let mut d = Vec::new();
        if compat {
            unorm::decompose_compatible(c, |x| d.push(x as u32));
        } else {
            unorm::decompose_canonical(c, |x| d.push(x as u32));
        }
        if d != [c as u32] {
            let start = data.len() as u32;
            let len = d.len() as u32;
            data.extend(d);
            // start < 2^24, len < 2^8
            index.push((c as u32, (start << 8) | len));
        }
    }
    (index, data)
}

/// Canonical composition pairs `(first, second) -> composite`, Hangul excluded.
///
/// A composite `c` composes from `(a, b)` where `b` is the last char of its full
/// canonical decomposition `d` and `a` is a char whose full decomposition is the rest
/// of `d`; `compose` itself decides (it knows the exclusions).
fn compositions() -> Vec<(u32, u32, u32)> {
    use std::collections::HashMap;
    let mut by_decomposition: HashMap<Vec<char>, Vec<char>> = HashMap::new();
    let mut decomposed = Vec::new();
    for c in all_chars() {
        let mut d = Vec::new();
        unorm::decompose_canonical(c, |x| d.push(x));
        if d.len() >= 2 {
            decomposed.push((c, d.clone()));
        }
        by_decomposition.entry(d).or_default().push(c);
    }
    let mut out = Vec::new();
    for (c, d) in decomposed {
        let uc = c as u32;
        if (0xAC00..0xAC00 + 11172).contains(&uc) {
            continue;
        }
        let (last, rest) = (d[d.len() - 1], &d[..d.len() - 1]);
        for &a in by_decomposition.get(rest).map(Vec::as_slice).unwrap_or(&[]) {
            if unorm::compose(a, last) == Some(c) {
                out.push((a as u32, last as u32, uc));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn ccc_ranges() -> Vec<(u32, u32, u32)> {
    let mut out: Vec<(u32, u32, u32)> = Vec::new();
    for c in all_chars() {
        let k = u32::from(unorm::canonical_combining_class(c));
        if k == 0 {
            continue;
        }
        let u = c as u32;
        match out.last_mut() {
            Some(last) if last.1 + 1 == u && last.2 == k => last.1 = u,
            _ => out.push((u, u, k)),
        }
    }
    out
}

/// Grapheme_Cluster_Break values in the numbering `m2v-tokenize` expects.
const GCB_CLASSES: [&str; 13] = [
    "CR",
    "LF",
    "Control",
    "Extend",
    "ZWJ",
    "Regional_Indicator",
    "Prepend",
    "SpacingMark",
    "L",
    "V",
    "T",
    "LV",
    "LVT",
];

/// General_Category values in the numbering `m2v-tokenize` expects (Cn, unassigned,
/// is 0 and omitted from the table; Cs, surrogates, are no chars and regex-syntax has
/// no such class).
const GENERAL_CATEGORIES: [&str; 28] = [
    "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi",
    "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Co",
];

/// The whole generated file.
pub fn generate() -> Result<String> {
    let mut out = String::new();
    out.push_str(
        "// @generated by `cargo xtask codegen` (xtask/src/codegen.rs). Do not edit.\n\
         //\n\
         // Sources: unicode_categories 0.1 (categories, as HF tokenizers' BERT components\n\
         // use them), unicode-normalization-alignments 0.1 (Unicode 9.0 normalization, as HF\n\
         // tokenizers' NFD/NFKD/NFC/NFKC use it), regex-syntax 0.8 (regex classes).\n\
         // Range tables are sorted, inclusive and non-overlapping.\n\n",
    );
    write_ranges(
        &mut out,
        "`unicode_categories::is_other`: Cc, Cf, Co (not Cn).",
        "OTHER",
        &ranges(|c| c.is_other()),
    );
    write_ranges(
        &mut out,
        "`unicode_categories::is_punctuation`: Pc, Pd, Pe, Pf, Pi, Po, Ps.",
        "PUNCTUATION",
        &ranges(|c| c.is_punctuation()),
    );
    write_ranges(
        &mut out,
        "`unicode_categories::is_mark_nonspacing`: Mn.",
        "MARK_NONSPACING",
        &ranges(|c| c.is_mark_nonspacing()),
    );
    write_ranges(
        &mut out,
        "`unicode_normalization_alignments::char::is_combining_mark` (HF's `StripAccents`).",
        "COMBINING_MARK",
        &ranges(unorm::is_combining_mark),
    );
    write_ranges(
        &mut out,
        "regex `\\w` (Unicode word characters).",
        "REGEX_WORD",
        &regex_class(r"\w")?,
    );
    write_ranges(
        &mut out,
        "regex `\\s` (Unicode White_Space).",
        "REGEX_SPACE",
        &regex_class(r"\s")?,
    );
    write_ranges(
        &mut out,
        "regex `\\p{L}` (letters).",
        "REGEX_LETTER",
        &regex_class(r"\p{L}")?,
    );
    write_ranges(
        &mut out,
        "regex `\\p{N}` (numbers).",
        "REGEX_NUMBER",
        &regex_class(r"\p{N}")?,
    );
    let mut gc: Vec<(u32, u32, u32)> = Vec::new();
    for (k, name) in GENERAL_CATEGORIES.iter().enumerate() {
        for (a, b) in regex_class(&format!(r"\p{{{name}}}"))? {
            gc.push((a, b, k as u32 + 1));
        }
    }
    gc.sort_unstable();
    let _ = writeln!(
        out,
        "/// regex `\\p{{..}}` General_Category: `(first, last, category)`, categories numbered from 1 in the order {GENERAL_CATEGORIES:?}, Cn omitted."
    );
    let _ = writeln!(out, "pub static GENERAL_CATEGORY: &[(u32, u32, u8)] = &[");
    for chunk in gc.chunks(5) {
        out.push_str("   ");
        for (a, b, k) in chunk {
            let _ = write!(out, " (0x{a:X}, 0x{b:X}, {k}),");
        }
        out.push('\n');
    }
    out.push_str("];\n\n");
    let mut gcb: Vec<(u32, u32, u32)> = Vec::new();
    for (k, name) in GCB_CLASSES.iter().enumerate() {
        for (a, b) in regex_class(&format!(r"\p{{Grapheme_Cluster_Break={name}}}"))? {
            gcb.push((a, b, k as u32 + 1));
        }
    }
    gcb.sort_unstable();
    let _ = writeln!(
        out,
        "/// Grapheme_Cluster_Break: `(first, last, class)`, classes numbered from 1 in the order {GCB_CLASSES:?}, Other omitted."
    );
    let _ = writeln!(out, "pub static GCB: &[(u32, u32, u8)] = &[");
    for chunk in gcb.chunks(5) {
        out.push_str("   ");
        for (a, b, k) in chunk {
            let _ = write!(out, " (0x{a:X}, 0x{b:X}, {k}),");
        }
        out.push('\n');
    }
    out.push_str("];\n\n");
    write_ranges(
        &mut out,
        "Extended_Pictographic.",
        "EXTENDED_PICTOGRAPHIC",
        &regex_class(r"\p{Extended_Pictographic}")?,
    );
    let ccc = ccc_ranges();
    let _ = writeln!(
        out,
        "/// Canonical combining class: `(first, last, class)`, class 0 omitted."
    );
    let _ = writeln!(out, "pub static CCC: &[(u32, u32, u8)] = &[");
    for chunk in ccc.chunks(5) {
        out.push_str("   ");
        for (a, b, k) in chunk {
            let _ = write!(out, " (0x{a:X}, 0x{b:X}, {k}),");
        }
        out.push('\n');
    }
    out.push_str("];\n\n");
    for (compat, name) in [(false, "CANONICAL"), (true, "COMPATIBLE")] {
        let (index, data) = decompositions(compat);
        write_ranges(
            &mut out,
            &format!(
                "Full {} decomposition index: `(char, start << 8 | len)` into `{name}_DATA`.",
                name.to_lowercase()
            ),
            &format!("{name}_INDEX"),
            &index,
        );
        write_u32s(
            &mut out,
            &format!("Code points of the {} decompositions.", name.to_lowercase()),
            &format!("{name}_DATA"),
            &data,
        );
    }
    let comp = compositions();
    let _ = writeln!(
        out,
        "/// Canonical composition pairs `(first, second, composite)`, sorted, Hangul excluded."
    );
    let _ = writeln!(out, "pub static COMPOSITION: &[(u32, u32, u32)] = &[");
    for chunk in comp.chunks(4) {
        out.push_str("   ");
        for (a, b, c) in chunk {
            let _ = write!(out, " (0x{a:X}, 0x{b:X}, 0x{c:X}),");
        }
        out.push('\n');
    }
    out.push_str("];\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed tables are exactly what the generator writes today.
    #[test]
    fn tables_are_current() {
        let path = workspace_root().join(TABLES_PATH);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        let fresh = generate().unwrap_or_default();
        assert!(!fresh.is_empty(), "generator failed");
        assert!(
            committed == fresh,
            "{} is stale: run `cargo xtask codegen`",
            path.display()
        );
    }
}
