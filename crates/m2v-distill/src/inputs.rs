//! The teacher's input for every token of the new vocabulary: the one place where
//! `[bos] id [eos]` sequences and the reference's padding are built.

use std::path::Path;

use m2v_tokenize::json::{self, Value};
use m2v_tokenize::{DistillVocabulary, TokenSource};

use crate::error::Error;

/// Reads and parses a JSON file.
pub(crate) fn read_json(path: &Path) -> Result<Value, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    json::parse_bytes(&bytes).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// A special token as `transformers` reads it: a string or `{"content": ...}`.
fn special(v: Option<&Value>) -> Option<String> {
    let v = v?;
    v.as_str()
        .or_else(|| v.get("content").and_then(Value::as_str))
        .map(str::to_string)
}

/// The unk and pad tokens `transformers` would report for a folder
/// (`special_tokens_map.json`, then `tokenizer_config.json`, the later winning).
#[derive(Debug, Default)]
pub(crate) struct SpecialTokens {
    pub unk: Option<String>,
    pub pad: Option<String>,
}

pub(crate) fn special_tokens(dir: &Path) -> Result<SpecialTokens, Error> {
    let mut info = SpecialTokens::default();
    for name in ["special_tokens_map.json", "tokenizer_config.json"] {
        let p = dir.join(name);
        if !p.is_file() {
            continue;
        }
        let v = read_json(&p)?;
        info.unk = special(v.get("unk_token")).or(info.unk);
        info.pad = special(v.get("pad_token")).or(info.pad);
    }
    Ok(info)
}

/// `tokenizer.encode(word)` of the reference's (pruned) teacher tokenizer, including
/// the padding that tokenizer still carries (e.g. all-MiniLM-L6-v2's `Fixed: 128`: the
/// reference feeds those pad positions to the teacher unmasked, so we do too).
fn encode_new_word(tok: &m2v_tokenize::Tokenizer, padding: &Value, word: &str) -> Vec<u32> {
    let mut ids = tok.encode_with_special_tokens(word);
    if padding.is_null() {
        return ids;
    }
    let pad_id = padding.get("pad_id").and_then(Value::as_u64).unwrap_or(0) as u32;
    let mut target = padding
        .get("strategy")
        .and_then(|s| s.get("Fixed"))
        .and_then(Value::as_u64)
        .map_or(ids.len(), |n| (n as usize).max(ids.len()));
    if let Some(m) = padding.get("pad_to_multiple_of").and_then(Value::as_u64) {
        let m = m as usize;
        if m > 0 && !target.is_multiple_of(m) {
            target += m - target % m;
        }
    }
    let n = target - ids.len();
    if padding.get("direction").and_then(Value::as_str) == Some("Left") {
        let mut v = vec![pad_id; n];
        v.extend_from_slice(&ids);
        ids = v;
    } else {
        ids.extend(std::iter::repeat_n(pad_id, n));
    }
    ids
}

/// The teacher input of every token, in id order: `bos + [id] + eos` for a token of
/// the teacher's vocabulary, the (pruned) teacher tokenizer's encoding of the word for
/// a token added by a custom vocabulary. `padding` is the teacher `tokenizer.json`'s
/// `padding` member.
pub(crate) fn teacher_inputs(
    d: &DistillVocabulary,
    padding: &Value,
    tokenizer_path: &Path,
) -> Result<Vec<Vec<u32>>, Error> {
    let tok = if d.sources.contains(&TokenSource::Text) {
        Some(
            m2v_tokenize::Tokenizer::from_value(d.teacher_tokenizer.clone()).map_err(|source| {
                Error::Tokenizer {
                    path: tokenizer_path.to_path_buf(),
                    source,
                }
            })?,
        )
    } else {
        None
    };
    let mut out = Vec::with_capacity(d.tokens.len());
    for (token, source) in d.tokens.iter().zip(&d.sources) {
        match (source, &tok) {
            (TokenSource::Teacher(id), _) => {
                let mut v = Vec::with_capacity(d.bos.len() + 1 + d.eos.len());
                v.extend_from_slice(&d.bos);
                v.push(*id);
                v.extend_from_slice(&d.eos);
                out.push(v);
            }
            (TokenSource::Text, Some(t)) => out.push(encode_new_word(t, padding, token)),
            // `tok` is built whenever a source is `Text`.
            (TokenSource::Text, None) => out.push(Vec::new()),
        }
    }
    Ok(out)
}
