//! Models: the `model` section of `tokenizer.json`, which turns a word into ids.

pub(crate) mod bpe;
pub(crate) mod unigram;
pub(crate) mod wordlevel;
pub(crate) mod wordpiece;

use crate::config::{bad, bool_or, opt_str, opt_u64, type_of, unsupported};
use crate::error::Error;
use std::ops::Range;

use crate::json::{self, Number, Value};
use crate::vocab::Vocab;

use self::bpe::{Bpe, PairMap};
use self::unigram::Unigram;
use self::wordlevel::WordLevel;
use self::wordpiece::WordPiece;

/// The kind of model a tokenizer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelType {
    /// Greedy longest-match-first subwords with a continuing prefix (BERT).
    WordPiece,
    /// Viterbi segmentation over a unigram language model (sentencepiece).
    Unigram,
    /// Byte-pair encoding merges (GPT-2, RoBERTa), byte-level or not.
    Bpe,
    /// One id per whole word.
    WordLevel,
}

/// One model.
#[derive(Debug, Clone)]
pub(crate) enum Model {
    WordPiece(WordPiece),
    Unigram(Unigram),
    Bpe(Bpe),
    WordLevel(WordLevel),
}

/// The unparsed `model.vocab` and `model.merges` of a file (byte ranges of `text`, see
/// [`json::parse_lazy`]): read member by member, so that a large vocabulary never exists
/// as a tree of JSON values.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lazy<'a> {
    pub(crate) text: &'a str,
    pub(crate) vocab: Option<Range<usize>>,
    pub(crate) merges: Option<Range<usize>>,
}

/// Calls `f` on each member of the object `v[key]`, or of the lazy range when the
/// value was skipped.
fn each_member(
    v: &Value,
    at: &str,
    key: &str,
    lazy: Option<(&str, Range<usize>)>,
    mut f: impl FnMut(&str, Value) -> Result<(), Error>,
) -> Result<(), Error> {
    match (v.get(key), lazy) {
        (Some(Value::Null) | None, Some((text, r))) => json::for_each_member(text, r, f),
        (Some(Value::Object(m)), _) => {
            for (k, x) in m {
                f(k, x.clone())?;
            }
            Ok(())
        }
        (Some(other), _) => Err(bad(
            at,
            key,
            format!("expected an object, found {}", other.type_name()),
        )),
        (None, None) => Err(bad(at, key, "missing")),
    }
}

/// Calls `f` on each element of the array `v[key]`, or of the lazy range.
fn each_element(
    v: &Value,
    at: &str,
    key: &str,
    lazy: Option<(&str, Range<usize>)>,
    mut f: impl FnMut(Value) -> Result<(), Error>,
) -> Result<(), Error> {
    match (v.get(key), lazy) {
        (Some(Value::Null) | None, Some((text, r))) => json::for_each_element(text, r, f),
        (Some(Value::Array(a)), _) => {
            for x in a {
                f(x.clone())?;
            }
            Ok(())
        }
        (Some(other), _) => Err(bad(
            at,
            key,
            format!("expected an array, found {}", other.type_name()),
        )),
        (None, None) => Err(bad(at, key, "missing")),
    }
}

/// Reads a `{token: id}` object into a vocabulary.
fn vocab_map(v: &Value, at: &str, lazy: &Lazy<'_>) -> Result<Vocab, Error> {
    let mut b = Vocab::builder(false);
    let range = lazy.vocab.clone().map(|r| (lazy.text, r));
    each_member(v, at, "vocab", range, |k, id| {
        match id.as_u64().filter(|&i| i < u64::from(u32::MAX) >> 4) {
            Some(i) => b.push(k, i as u32),
            None => return Err(bad(at, "vocab", format!("token `{k}` has no valid id"))),
        }
        Ok(())
    })?;
    b.finish().ok_or_else(|| {
        bad(
            at,
            "vocab",
            "an id is given to two tokens, or ids are too large",
        )
    })
}

/// The model an untyped `model` object is, as HF's `ModelUntagged` decides: the first
/// of BPE, WordPiece, WordLevel and Unigram whose required fields are all present.
fn untyped_kind(v: &Value, lazy: &Lazy<'_>) -> Option<&'static str> {
    let has = |k: &str| v.get(k).is_some();
    // `vocab` may have been left unparsed (see `Lazy`): its first byte tells a map from
    // a list.
    let vocab_open = match (v.get("vocab"), &lazy.vocab) {
        (Some(Value::Object(_)), _) => Some(b'{'),
        (Some(Value::Array(_)), _) => Some(b'['),
        (Some(Value::Null) | None, Some(r)) => lazy.text.as_bytes().get(r.start).copied(),
        _ => None,
    };
    let has_vocab = has("vocab") || lazy.vocab.is_some();
    let has_merges = has("merges") || lazy.merges.is_some();
    let map = vocab_open == Some(b'{');
    if has_vocab && has_merges {
        Some("BPE")
    } else if map
        && has("unk_token")
        && has("continuing_subword_prefix")
        && has("max_input_chars_per_word")
    {
        Some("WordPiece")
    } else if map && has("unk_token") {
        Some("WordLevel")
    } else if vocab_open == Some(b'[') {
        Some("Unigram")
    } else {
        None
    }
}

impl Model {
    /// Parses the model object at JSON path `at`.
    pub(crate) fn from_json(v: &Value, at: &str, lazy: &Lazy<'_>) -> Result<Model, Error> {
        let kind = match v.get("type") {
            Some(_) => type_of(v, at)?,
            // Old files omit the type; HF then takes the first model whose required
            // fields are all present.
            None => untyped_kind(v, lazy).ok_or_else(|| {
                bad(
                    at,
                    "type",
                    "missing, and the fields fit no model (BPE: vocab and merges; \
                     WordPiece: vocab, unk_token, continuing_subword_prefix and \
                     max_input_chars_per_word; WordLevel: vocab and unk_token; \
                     Unigram: a vocab list)",
                )
            })?,
        };
        match kind {
            "WordPiece" => {
                let vocab = vocab_map(v, at, lazy)?;
                let unk_token = opt_str(v, at, "unk_token")?.unwrap_or("[UNK]").to_string();
                let unk_id = vocab.get(&unk_token).ok_or_else(|| {
                    bad(
                        at,
                        "unk_token",
                        format!("`{unk_token}` is not in the vocabulary"),
                    )
                })?;
                let prefix = opt_str(v, at, "continuing_subword_prefix")?
                    .unwrap_or("##")
                    .to_string();
                let max = opt_u64(v, at, "max_input_chars_per_word")?.unwrap_or(100) as usize;
                Ok(Model::WordPiece(WordPiece::new(vocab, unk_id, prefix, max)))
            }
            "WordLevel" => {
                let vocab = vocab_map(v, at, lazy)?;
                let unk_token = opt_str(v, at, "unk_token")?.unwrap_or("<unk>").to_string();
                let unk_id = vocab.get(&unk_token);
                Ok(Model::WordLevel(WordLevel { vocab, unk_id }))
            }
            "Unigram" => {
                let mut b = Vocab::builder(true);
                let mut scores = Vec::new();
                let range = lazy.vocab.clone().map(|r| (lazy.text, r));
                each_element(v, at, "vocab", range, |e| {
                    match e.as_array() {
                        Some([Value::String(t), Value::Number(Number { f, .. })]) => {
                            b.push(t, scores.len() as u32);
                            scores.push(*f);
                        }
                        _ => {
                            return Err(bad(
                                at,
                                &format!("vocab[{}]", scores.len()),
                                "expected [token, score]",
                            ));
                        }
                    }
                    Ok(())
                })?;
                scores.shrink_to_fit();
                let vocab = b
                    .finish()
                    .ok_or_else(|| bad(at, "vocab", "vocabulary too large"))?;
                let unk_id = opt_u64(v, at, "unk_id")?.map(|u| u as u32);
                if let Some(u) = unk_id
                    && u as usize >= scores.len()
                {
                    return Err(bad(at, "unk_id", "outside the vocabulary"));
                }
                let byte_fallback = bool_or(v, at, "byte_fallback", Some(false))?;
                Ok(Model::Unigram(Unigram::new(
                    vocab,
                    scores,
                    unk_id,
                    byte_fallback,
                )))
            }
            "BPE" => {
                if let Some(d) = v.get("dropout").and_then(Value::as_f64)
                    && d != 0.0
                {
                    return Err(unsupported("model", "BPE with dropout"));
                }
                let vocab = vocab_map(v, at, lazy)?;
                let prefix = opt_str(v, at, "continuing_subword_prefix")?.map(String::from);
                let suffix = opt_str(v, at, "end_of_word_suffix")?.map(String::from);
                let plen = prefix.as_ref().map_or(0, String::len);
                let mut i = 0usize;
                let mut joined = String::new();
                let mut pairs: Vec<(u32, u32, u32)> = Vec::new();
                let range = lazy.merges.clone().map(|r| (lazy.text, r));
                each_element(v, at, "merges", range, |m| {
                    let here = format!("merges[{i}]");
                    i += 1;
                    let (a, b) = match &m {
                        Value::String(s) => {
                            if s.starts_with("#version") {
                                return Ok(());
                            }
                            let mut parts = s.split(' ');
                            match (parts.next(), parts.next(), parts.next()) {
                                (Some(a), Some(b), None) => (a, b),
                                _ => return Err(bad(at, &here, "expected `a b`")),
                            }
                        }
                        Value::Array(p) => match p.as_slice() {
                            [Value::String(a), Value::String(b)] => (a.as_str(), b.as_str()),
                            _ => return Err(bad(at, &here, "expected [a, b]")),
                        },
                        _ => return Err(bad(at, &here, "expected a merge")),
                    };
                    let missing =
                        |t: &str| bad(at, &here, format!("`{t}` is not in the vocabulary"));
                    let ia = vocab.get(a).ok_or_else(|| missing(a))?;
                    let ib = vocab.get(b).ok_or_else(|| missing(b))?;
                    joined.clear();
                    joined.push_str(a);
                    joined.push_str(b.get(plen..).unwrap_or(""));
                    let new_id = vocab.get(&joined).ok_or_else(|| missing(&joined))?;
                    pairs.push((ia, ib, new_id));
                    Ok(())
                })?;
                let mut merges = PairMap::with_capacity(pairs.len());
                for (r, &(a, b, new_id)) in pairs.iter().enumerate() {
                    merges.insert(a, b, (r as u32, new_id));
                }
                Ok(Model::Bpe(Bpe::new(
                    vocab,
                    merges,
                    opt_str(v, at, "unk_token")?.map(String::from),
                    prefix,
                    suffix,
                    bool_or(v, at, "fuse_unk", Some(false))?,
                    bool_or(v, at, "byte_fallback", Some(false))?,
                    bool_or(v, at, "ignore_merges", Some(false))?,
                )))
            }
            other => Err(unsupported("model", other)),
        }
    }

    pub(crate) fn model_type(&self) -> ModelType {
        match self {
            Model::WordPiece(_) => ModelType::WordPiece,
            Model::Unigram(_) => ModelType::Unigram,
            Model::Bpe(_) => ModelType::Bpe,
            Model::WordLevel(_) => ModelType::WordLevel,
        }
    }

    pub(crate) fn vocab(&self) -> &Vocab {
        match self {
            Model::WordPiece(m) => &m.vocab,
            Model::Unigram(m) => &m.vocab,
            Model::Bpe(m) => &m.vocab,
            Model::WordLevel(m) => &m.vocab,
        }
    }

    pub(crate) fn unk_id(&self) -> Option<u32> {
        match self {
            Model::WordPiece(m) => Some(m.unk_id),
            Model::Unigram(m) => m.unk_id,
            Model::Bpe(m) => m.unk_id,
            Model::WordLevel(m) => m.unk_id,
        }
    }
}
