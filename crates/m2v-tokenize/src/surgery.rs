//! Vocabulary surgery for distillation: the tokenizer edits Python `model2vec` 0.10.0
//! makes (with the `skeletoken` package) before it feeds a vocabulary to the teacher.
//!
//! [`distill_vocabulary`] takes the teacher's `tokenizer.json` (parsed) and returns the
//! static model's `tokenizer.json`, its tokens in id order, and for each token where the
//! teacher's input comes from ([`TokenSource`]). The steps, in the reference's order
//! (`distill_from_model` and `clean_and_create_vocabulary`):
//!
//! 1. Prune the added tokens except bos/eos (from the post-processor), unk and pad; the
//!    pruned ones leave the vocabulary too, ids are renumbered compactly in order.
//! 2. `ByteLevel` pre-tokenizers get `add_prefix_space: true`; the post-processor is
//!    dropped; the padding becomes benign (`Fixed: 0`, right, type id 0).
//! 3. Tokens for which `remove` says yes (the driver's `token_remove_pattern`, with
//!    Python `re.match` semantics) are removed; WordPiece/WordLevel keep their unk.
//! 4. Each user word is normalized and pre-tokenized with the tokenizer's own pipeline:
//!    no piece: dropped; one piece already known (or seen, or removed by the pattern):
//!    dropped; one new piece: appended as a regular token in its preprocessed form (e.g.
//!    `Ġword` for byte-level BPE, `▁word` for Metaspace); more pieces: appended last as a
//!    multi-word added token (normalized, stripped, not special).
//! 5. The added tokens are pruned again (bos/eos are gone with the post-processor, so
//!    only unk and pad remain), then the new tokens and multi-word tokens are appended.
//!    For a BPE model each new regular token also gets merges that build it (skeletoken's
//!    `Merges._add_merges_for_token`: the token is split into characters, the existing
//!    merges applied, then the adjacent pairs at even positions are merged, new pairs
//!    appended to the merges, until one piece is left), and the pieces those merges name
//!    that are not in the vocabulary yet (intermediate pieces, characters missing from
//!    the alphabet) are appended right after it, in code point order. Multi-word added
//!    tokens get no merges.
//! 6. Truncation is set to 512 tokens (the reference's `StaticModel` default). The
//!    reference's file is a round trip through HF tokenizers, so BPE and Unigram models
//!    are written with every field in its order (defaults filled in), and `ByteLevel` and
//!    `Metaspace` pre-tokenizers and decoders in their current form (all fields; a legacy
//!    Metaspace `add_prefix_space` becomes `prepend_scheme`).
//!
//! The engine is dependency-free: the removal pattern comes in as a predicate, so the
//! caller chooses the regex engine (the CLI uses the `regex` crate, anchored).
//!
//! Known differences: for a Unigram model the reference keeps a stale `unk_id` when
//! tokens before the unk are removed; we point `unk_id` at the unk token's new position.
//! That happens to every distillation of an XLM-R-like teacher (`<s>` and `</s>` before
//! `<unk>` are pruned in step 5): the reference writes `unk_id: 3`, which then names `.`.
//! A user word whose preprocessed form is already in the vocabulary by the time it is
//! added (a BPE intermediate piece of an earlier word, or a multi-word token that is
//! also a vocabulary entry) makes the reference raise `ValueError` ("already exists in
//! vocabulary"); we skip it (counted as a duplicate).

use std::collections::{HashMap, HashSet};

use crate::error::Error;
use crate::json::{Number, Value};
use crate::normalizer::Normalizer;
use crate::pre_tokenizer::{PreTokenizer, Splits};

/// Python model2vec's `DEFAULT_MAX_LENGTH`: the tokens a static model keeps per text
/// when its config says nothing, and the truncation written into a distilled
/// tokenizer (the reference's `StaticModel(max_length=512)`). The one definition:
/// `m2v-static` re-exports it.
pub const DEFAULT_MAX_LENGTH: usize = 512;

/// Where the teacher's input for a token of the new vocabulary comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// A token of the teacher's vocabulary: `[bos…] id [eos…]` with this original id.
    Teacher(u32),
    /// A new token: encode its string with the teacher's tokenizer (specials added).
    Text,
}

/// Options of [`distill_vocabulary`].
#[derive(Clone, Copy)]
pub struct VocabularyOptions<'a> {
    /// Words to add, most frequent first.
    pub vocabulary: &'a [String],
    /// Tokens to remove (`token_remove_pattern`); `None` removes nothing.
    pub remove: Option<&'a dyn Fn(&str) -> bool>,
    /// The unk token as `transformers` reports it (`special_tokens_map.json`), if any.
    pub unk_token: Option<&'a str>,
    /// The pad token as `transformers` reports it, if any.
    pub pad_token: Option<&'a str>,
}

impl std::fmt::Debug for VocabularyOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VocabularyOptions")
            .field("vocabulary", &self.vocabulary.len())
            .field("remove", &self.remove.is_some())
            .field("unk_token", &self.unk_token)
            .field("pad_token", &self.pad_token)
            .finish()
    }
}

/// Counts of what happened to the user vocabulary and the removal pattern.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurgeryStats {
    /// Added tokens pruned from the teacher's tokenizer.
    pub pruned_added: usize,
    /// Teacher tokens removed by the pattern (user words matching it are counted too).
    pub removed_by_pattern: usize,
    /// User words that were already in the vocabulary (after preprocessing).
    pub duplicates: usize,
    /// User words that were empty after preprocessing.
    pub empty: usize,
    /// User words added as regular tokens.
    pub added_tokens: usize,
    /// Pieces appended for the merges of new BPE tokens (not user words themselves).
    pub merge_pieces: usize,
    /// User words added as multi-word added tokens.
    pub multiword: usize,
}

/// What [`distill_vocabulary`] returns.
#[derive(Debug, Clone)]
pub struct DistillVocabulary {
    /// The static model's `tokenizer.json` (serialize with [`crate::json::to_string`]).
    pub tokenizer: Value,
    /// Its tokens in id order (`tokens[id]`).
    pub tokens: Vec<String>,
    /// For each token, where the teacher's input comes from.
    pub sources: Vec<TokenSource>,
    /// Original ids of the teacher's beginning-of-sequence tokens (post-processor).
    pub bos: Vec<u32>,
    /// Original ids of the teacher's end-of-sequence tokens.
    pub eos: Vec<u32>,
    /// Original id the reference pads teacher batches with (`pad_token_id or 0`).
    pub pad_id: u32,
    /// The teacher's `tokenizer.json` without the pruned added tokens, original ids kept:
    /// what [`TokenSource::Text`] tokens are encoded with.
    pub teacher_tokenizer: Value,
    /// Counts.
    pub stats: SurgeryStats,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    WordPiece,
    Bpe,
    Unigram,
    WordLevel,
}

#[derive(Debug, Clone)]
struct Added {
    content: String,
    single_word: bool,
    lstrip: bool,
    rstrip: bool,
    normalized: bool,
    special: bool,
}

/// The editable state: a vocabulary in id order plus what refers to it by token.
#[derive(Debug, Clone)]
struct State {
    kind: Kind,
    /// Tokens in id order (ids are always compact).
    vocab: Vec<String>,
    /// Unigram scores, parallel to `vocab` (kept as their JSON values).
    scores: Vec<Value>,
    /// Original id of each token (`None` for tokens we added).
    origin: Vec<Option<u32>>,
    /// BPE merges.
    merges: Vec<(String, String)>,
    added: Vec<Added>,
    unk: Option<String>,
    pad: Option<String>,
    index: HashMap<String, usize>,
}

fn err(field: &str, message: impl Into<String>) -> Error {
    Error::Format {
        path: None,
        field: field.to_string(),
        message: message.into(),
    }
}

fn num_u(n: usize) -> Value {
    Value::Number(Number {
        f: n as f64,
        i: Some(n as i64),
    })
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn obj_set(v: &mut Value, key: &str, new: Value) {
    if let Value::Object(members) = v {
        if let Some(slot) = members.iter_mut().find(|(k, _)| k == key) {
            slot.1 = new;
        } else {
            members.push((key.to_string(), new));
        }
    }
}

impl State {
    fn reindex(&mut self) {
        self.index = self
            .vocab
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i))
            .collect();
    }

    fn contains(&self, t: &str) -> bool {
        self.index.contains_key(t)
    }

    /// `_remove_tokens_from_vocabulary` (the post-processor is checked by the caller).
    fn remove(&mut self, tokens: &[String]) {
        let mut set: HashSet<&str> = tokens.iter().map(String::as_str).collect();
        if let Some(unk) = &self.unk
            && set.contains(unk.as_str())
        {
            if matches!(self.kind, Kind::WordPiece | Kind::WordLevel) {
                set.remove(unk.as_str());
            } else {
                self.unk = None;
            }
        }
        if let Some(pad) = &self.pad
            && set.contains(pad.as_str())
        {
            self.pad = None;
        }
        self.added.retain(|a| !set.contains(a.content.as_str()));
        if self.kind == Kind::Bpe {
            self.merges.retain(|(l, r)| {
                !set.contains(l.as_str())
                    && !set.contains(r.as_str())
                    && !set.contains(format!("{l}{r}").as_str())
            });
        }
        let keep: Vec<bool> = self
            .vocab
            .iter()
            .map(|t| !set.contains(t.as_str()))
            .collect();
        let mut k = keep.iter();
        self.vocab.retain(|_| *k.next().unwrap_or(&true));
        if !self.scores.is_empty() {
            let mut k = keep.iter();
            self.scores.retain(|_| *k.next().unwrap_or(&true));
        }
        let mut k = keep.iter();
        self.origin.retain(|_| *k.next().unwrap_or(&true));
        self.reindex();
    }

    /// `prune_added_tokens`: keeps the added tokens in `keep` plus unk and pad.
    fn prune_added(&mut self, keep: &[String]) -> usize {
        let mut keep: HashSet<&str> = keep.iter().map(String::as_str).collect();
        if let Some(u) = &self.unk {
            keep.insert(u);
        }
        if let Some(p) = &self.pad {
            keep.insert(p);
        }
        let gone: Vec<String> = self
            .added
            .iter()
            .filter(|a| !keep.contains(a.content.as_str()))
            .map(|a| a.content.clone())
            .collect();
        let n = gone.len();
        self.remove(&gone);
        n
    }

    /// skeletoken's `BPE.add_token` for a regular token: the token, then merges that
    /// build it (`Merges._add_merges_for_token` without a vocabulary constraint), then
    /// the merge pieces still missing from the vocabulary, sorted. Returns how many
    /// pieces were appended after the token.
    fn push_bpe(&mut self, token: String, table: &mut MergeTable) -> usize {
        table.missing.remove(&token);
        self.push(token.clone(), 0.0);
        let mut form = table.apply(&token);
        while form.len() > 1 {
            for pair in form.chunks_exact(2) {
                let bigram = (pair[0].clone(), pair[1].clone());
                if !table.rank.contains_key(&bigram) {
                    table.rank.insert(bigram.clone(), self.merges.len());
                    self.merges.push(bigram);
                }
                for p in pair {
                    if table.parts.insert(p.clone()) && !self.contains(p) {
                        table.missing.insert(p.clone());
                    }
                }
            }
            form = table.apply(&token);
        }
        let new = std::mem::take(&mut table.missing);
        let n = new.len();
        for p in new {
            self.push(p, 0.0);
        }
        n
    }

    fn push(&mut self, token: String, min_score: f64) {
        self.index.insert(token.clone(), self.vocab.len());
        self.vocab.push(token);
        self.origin.push(None);
        if self.kind == Kind::Unigram {
            self.scores.push(Value::Number(Number {
                f: min_score,
                i: None,
            }));
        }
    }
}

/// skeletoken's `Merges` bookkeeping for adding BPE tokens: the rank of every merge
/// (a later duplicate wins, as in its dict) and the merge pieces not in the vocabulary.
struct MergeTable {
    rank: HashMap<(String, String), usize>,
    parts: HashSet<String>,
    /// `_all_merge_tokens - vocabulary`, kept sorted (Rust's byte order on UTF-8 is
    /// Python's code point order).
    missing: std::collections::BTreeSet<String>,
}

impl MergeTable {
    fn new(st: &State) -> MergeTable {
        let mut rank = HashMap::with_capacity(st.merges.len());
        let mut parts = HashSet::new();
        for (i, (l, r)) in st.merges.iter().enumerate() {
            rank.insert((l.clone(), r.clone()), i);
            parts.insert(l.clone());
            parts.insert(r.clone());
        }
        let missing = parts.iter().filter(|p| !st.contains(p)).cloned().collect();
        MergeTable {
            rank,
            parts,
            missing,
        }
    }

    /// `Merges._merge`: the token's characters with the existing merges applied, the
    /// lowest-ranked pair first, each pass merging its non-overlapping occurrences.
    fn apply(&self, token: &str) -> Vec<String> {
        let mut pieces: Vec<String> = token.chars().map(String::from).collect();
        if pieces.len() == 1 {
            return pieces;
        }
        let mut key = (String::new(), String::new());
        loop {
            let mut best: Option<(usize, usize)> = None;
            for (i, w) in pieces.windows(2).enumerate() {
                key.0.clone_from(&w[0]);
                key.1.clone_from(&w[1]);
                if let Some(&r) = self.rank.get(&key)
                    && best.is_none_or(|(b, _)| r < b)
                {
                    best = Some((r, i));
                }
            }
            let Some((_, at)) = best else {
                return pieces;
            };
            let (l, r) = (pieces[at].clone(), pieces[at + 1].clone());
            let mut out = Vec::with_capacity(pieces.len());
            let mut i = 0;
            while i < pieces.len() {
                if i + 1 < pieces.len() && pieces[i] == l && pieces[i + 1] == r {
                    out.push(format!("{l}{r}"));
                    i += 2;
                } else {
                    out.push(std::mem::take(&mut pieces[i]));
                    i += 1;
                }
            }
            pieces = out;
        }
    }
}

/// bos and eos tokens of a post-processor (`get_bos_token_from_post_processor` and
/// `get_eos_token_from_post_processor`).
fn bos_eos(pp: &Value) -> (Vec<String>, Vec<String>) {
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    match pp.get("type").and_then(Value::as_str) {
        Some("BertProcessing") | Some("RobertaProcessing") => {
            let first = |key: &str| -> Vec<String> {
                pp.get(key)
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(Value::as_str)
                    .map(|t| vec![t.to_string()])
                    .unwrap_or_default()
            };
            (first("cls"), first("sep"))
        }
        Some("TemplateProcessing") => {
            let single = pp.get("single").and_then(Value::as_array).unwrap_or(&[]);
            let special = |piece: Option<&Value>| -> Vec<String> {
                let Some(id) = piece
                    .and_then(|p| p.get("SpecialToken"))
                    .and_then(|st| st.get("id"))
                    .and_then(Value::as_str)
                else {
                    return Vec::new();
                };
                strings(
                    pp.get("special_tokens")
                        .and_then(|m| m.get(id))
                        .and_then(|info| info.get("tokens")),
                )
            };
            (special(single.first()), special(single.last()))
        }
        _ => (Vec::new(), Vec::new()),
    }
}

/// Sets `add_prefix_space: true` on every `ByteLevel` pre-tokenizer (also inside a
/// `Sequence`). Returns whether there was one.
fn byte_level_prefix_space(v: &mut Value) -> bool {
    match v.get("type").and_then(Value::as_str) {
        Some("ByteLevel") => {
            obj_set(v, "add_prefix_space", Value::Bool(true));
            true
        }
        Some("Sequence") => {
            let mut any = false;
            if let Value::Object(members) = v {
                for (k, x) in members.iter_mut() {
                    if let (true, Value::Array(items)) = (k == "pretokenizers", x) {
                        for item in items {
                            any |= byte_level_prefix_space(item);
                        }
                    }
                }
            }
            any
        }
        _ => false,
    }
}

/// Python's `str.strip()`: Unicode whitespace plus the ASCII separators 0x1c-0x1f.
fn py_strip(t: &str) -> &str {
    t.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// The teacher tokenizer's normalizer and pre-tokenizer: skeletoken's `Preprocessor`.
struct Preprocessor {
    normalizer: Option<Normalizer>,
    pre_tokenizer: Option<PreTokenizer>,
}

impl Preprocessor {
    fn new(tok: &Value) -> Result<Preprocessor, Error> {
        let normalizer = match tok.get("normalizer") {
            Some(v) if !v.is_null() => {
                let n = Normalizer::from_json(v, "normalizer")?;
                n.check_growth("normalizer")?;
                Some(n)
            }
            _ => None,
        };
        let pre_tokenizer = match tok.get("pre_tokenizer") {
            Some(v) if !v.is_null() => Some(PreTokenizer::from_json(v, "pre_tokenizer")?),
            _ => None,
        };
        Ok(Preprocessor {
            normalizer,
            pre_tokenizer,
        })
    }

    fn normalize(&self, word: &str) -> String {
        match &self.normalizer {
            Some(n) => {
                let mut out = String::new();
                n.normalize(word, &mut out);
                out
            }
            None => word.to_string(),
        }
    }

    /// `preprocess(word, had_initial_subword_prefix=True)`.
    fn pieces(&self, word: &str) -> Vec<String> {
        let norm = self.normalize(word);
        if norm.is_empty() {
            return Vec::new();
        }
        match &self.pre_tokenizer {
            Some(p) => {
                let mut splits = Splits::default();
                p.pre_tokenize(&norm, true, &mut splits);
                splits.iter().map(str::to_string).collect()
            }
            None => vec![norm],
        }
    }
}

fn parse_state(tok: &Value) -> Result<State, Error> {
    let model = tok.get("model").ok_or_else(|| err("model", "missing"))?;
    let kind = match model.get("type").and_then(Value::as_str) {
        Some("WordPiece") => Kind::WordPiece,
        Some("BPE") => Kind::Bpe,
        Some("Unigram") => Kind::Unigram,
        Some("WordLevel") => Kind::WordLevel,
        Some(other) => {
            return Err(Error::Unsupported {
                path: None,
                component: "model".into(),
                kind: other.into(),
            });
        }
        None => {
            // Old files without `type`: WordPiece has `continuing_subword_prefix` and no merges.
            if model.get("merges").is_some() {
                Kind::Bpe
            } else if model.get("continuing_subword_prefix").is_some() {
                Kind::WordPiece
            } else {
                return Err(err("model.type", "missing"));
            }
        }
    };
    let vocab_v = model
        .get("vocab")
        .ok_or_else(|| err("model.vocab", "missing"))?;
    let mut vocab = Vec::new();
    let mut scores = Vec::new();
    if kind == Kind::Unigram {
        let items = vocab_v
            .as_array()
            .ok_or_else(|| err("model.vocab", "expected an array of [token, score]"))?;
        for (i, item) in items.iter().enumerate() {
            let pair = item.as_array().filter(|p| p.len() == 2);
            let (t, sc) = match pair {
                Some([t, sc]) => (t.as_str(), sc.clone()),
                _ => (None, Value::Null),
            };
            let t =
                t.ok_or_else(|| err(&format!("model.vocab[{i}]"), "expected [token, score]"))?;
            vocab.push(t.to_string());
            scores.push(sc);
        }
    } else {
        let members = vocab_v
            .as_object()
            .ok_or_else(|| err("model.vocab", "expected an object"))?;
        let mut pairs: Vec<(u64, &str)> = Vec::with_capacity(members.len());
        for (t, id) in members {
            let id = id
                .as_u64()
                .ok_or_else(|| err(&format!("model.vocab[{t:?}]"), "expected an id"))?;
            pairs.push((id, t));
        }
        pairs.sort_unstable();
        for w in pairs.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(err("model.vocab", format!("id {} used twice", w[0].0)));
            }
        }
        vocab = pairs.into_iter().map(|(_, t)| t.to_string()).collect();
    }
    let mut merges = Vec::new();
    if kind == Kind::Bpe {
        for (i, m) in model
            .get("merges")
            .and_then(Value::as_array)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let pair = match m {
                Value::String(x) => x
                    .split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string())),
                Value::Array(p) if p.len() == 2 => match (p[0].as_str(), p[1].as_str()) {
                    (Some(a), Some(b)) => Some((a.to_string(), b.to_string())),
                    _ => None,
                },
                _ => None,
            };
            merges.push(pair.ok_or_else(|| err(&format!("model.merges[{i}]"), "expected a pair"))?);
        }
    }
    let unk = match kind {
        Kind::Unigram => model
            .get("unk_id")
            .and_then(Value::as_u64)
            .and_then(|i| vocab.get(i as usize).cloned()),
        _ => model
            .get("unk_token")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let mut added = Vec::new();
    for (i, a) in tok
        .get("added_tokens")
        .and_then(Value::as_array)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let at = format!("added_tokens[{i}]");
        let content = a
            .get("content")
            .and_then(Value::as_str)
            .ok_or_else(|| err(&at, "missing content"))?;
        let flag = |k: &str| a.get(k).and_then(Value::as_bool).unwrap_or(false);
        added.push((
            a.get("id").and_then(Value::as_u64).unwrap_or(u64::MAX),
            Added {
                content: content.to_string(),
                single_word: flag("single_word"),
                lstrip: flag("lstrip"),
                rstrip: flag("rstrip"),
                normalized: flag("normalized"),
                special: flag("special"),
            },
        ));
    }
    added.sort_by_key(|(id, _)| *id);
    let pad = tok
        .get("padding")
        .and_then(|p| p.get("pad_token"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let n = vocab.len();
    let mut st = State {
        kind,
        vocab,
        scores,
        origin: (0..n as u32).map(Some).collect(),
        merges,
        added: added.into_iter().map(|(_, a)| a).collect(),
        unk,
        pad,
        index: HashMap::new(),
    };
    st.reindex();
    // Added tokens missing from the vocabulary are appended (skeletoken's model_post_init,
    // in id order, a Unigram score being the lowest one). They are part of the teacher's
    // tokenizer as the reference sees it (its `_original_tokenizer` is taken after this),
    // so the teacher gets them by the id they receive here (ModernBERT's `[CLS]`/`[SEP]`).
    let missing: Vec<String> = st
        .added
        .iter()
        .filter(|a| !st.contains(&a.content))
        .map(|a| a.content.clone())
        .collect();
    let low = min_score(&st);
    for m in missing {
        st.push(m, low);
        let id = st.vocab.len() - 1;
        st.origin[id] = u32::try_from(id).ok();
    }
    Ok(st)
}

fn min_score(st: &State) -> f64 {
    let m = st
        .scores
        .iter()
        .filter_map(Value::as_f64)
        .fold(f64::INFINITY, f64::min);
    if m.is_finite() { m } else { -100.0 }
}

fn added_json(st: &State) -> Value {
    let mut items: Vec<(usize, &Added)> = st
        .added
        .iter()
        // HF tokenizers drops an empty added token when it loads the file (the vocabulary
        // keeps it): a multi-word word that is blank after stripping.
        .filter(|a| !a.content.is_empty())
        .filter_map(|a| st.index.get(&a.content).map(|&i| (i, a)))
        .collect();
    items.sort_by_key(|(i, _)| *i);
    Value::Array(
        items
            .into_iter()
            .map(|(id, a)| {
                Value::Object(vec![
                    ("id".into(), num_u(id)),
                    ("content".into(), s(&a.content)),
                    ("single_word".into(), Value::Bool(a.single_word)),
                    ("lstrip".into(), Value::Bool(a.lstrip)),
                    ("rstrip".into(), Value::Bool(a.rstrip)),
                    ("normalized".into(), Value::Bool(a.normalized)),
                    ("special".into(), Value::Bool(a.special)),
                ])
            })
            .collect(),
    )
}

fn model_json(st: &State, original: &Value) -> Value {
    let mut model = original.clone();
    let vocab = match st.kind {
        Kind::Unigram => Value::Array(
            st.vocab
                .iter()
                .zip(&st.scores)
                .map(|(t, sc)| Value::Array(vec![s(t), sc.clone()]))
                .collect(),
        ),
        _ => Value::Object(
            st.vocab
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), num_u(i)))
                .collect(),
        ),
    };
    obj_set(&mut model, "vocab", vocab);
    match st.kind {
        Kind::Unigram => {
            let unk = st
                .unk
                .as_ref()
                .and_then(|u| st.index.get(u))
                .map_or(Value::Null, |&i| num_u(i));
            obj_set(&mut model, "unk_id", unk);
        }
        Kind::Bpe => {
            obj_set(
                &mut model,
                "merges",
                Value::Array(
                    st.merges
                        .iter()
                        .map(|(a, b)| Value::Array(vec![s(a), s(b)]))
                        .collect(),
                ),
            );
            if model.get("unk_token").is_some() || st.unk.is_some() {
                obj_set(
                    &mut model,
                    "unk_token",
                    st.unk.as_deref().map_or(Value::Null, s),
                );
            }
        }
        Kind::WordPiece | Kind::WordLevel => return model,
    }
    // HF tokenizers writes every field of these models, in this order, defaults included
    // (the reference's output is a `Tokenizer.from_str(...).to_str()` round trip).
    let names: &[(&str, Value)] = match st.kind {
        Kind::Bpe => &[
            ("type", Value::Null),
            ("dropout", Value::Null),
            ("unk_token", Value::Null),
            ("continuing_subword_prefix", Value::Null),
            ("end_of_word_suffix", Value::Null),
            ("fuse_unk", Value::Bool(false)),
            ("byte_fallback", Value::Bool(false)),
            ("ignore_merges", Value::Bool(false)),
            ("vocab", Value::Null),
            ("merges", Value::Null),
        ],
        _ => &[
            ("type", Value::Null),
            ("unk_id", Value::Null),
            ("vocab", Value::Null),
            ("byte_fallback", Value::Bool(false)),
        ],
    };
    let kind = if st.kind == Kind::Bpe {
        "BPE"
    } else {
        "Unigram"
    };
    Value::Object(
        names
            .iter()
            .map(|(k, default)| {
                let v = match *k {
                    "type" => s(kind),
                    _ => model.get(k).cloned().unwrap_or_else(|| default.clone()),
                };
                (k.to_string(), v)
            })
            .collect(),
    )
}

/// A pre-tokenizer or decoder as HF tokenizers writes it back: `ByteLevel` with all
/// its fields, `Metaspace` in its current form (a legacy `add_prefix_space` becomes
/// `prepend_scheme`), inside `Sequence`s too; anything else unchanged.
fn canonical_component(v: &Value) -> Value {
    let get = |k: &str| v.get(k).cloned();
    match v.get("type").and_then(Value::as_str) {
        Some("ByteLevel") => Value::Object(vec![
            ("type".into(), s("ByteLevel")),
            (
                "add_prefix_space".into(),
                get("add_prefix_space").unwrap_or(Value::Bool(true)),
            ),
            (
                "trim_offsets".into(),
                get("trim_offsets").unwrap_or(Value::Bool(true)),
            ),
            (
                "use_regex".into(),
                get("use_regex").unwrap_or(Value::Bool(true)),
            ),
        ]),
        Some("Metaspace") => {
            let scheme = get("prepend_scheme").unwrap_or_else(|| {
                match v.get("add_prefix_space").and_then(Value::as_bool) {
                    Some(false) => s("never"),
                    _ => s("always"),
                }
            });
            Value::Object(vec![
                ("type".into(), s("Metaspace")),
                (
                    "replacement".into(),
                    get("replacement").unwrap_or_else(|| s("\u{2581}")),
                ),
                ("prepend_scheme".into(), scheme),
                ("split".into(), get("split").unwrap_or(Value::Bool(true))),
            ])
        }
        Some("Sequence") => match v {
            Value::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, x)| match x {
                        Value::Array(items) if k == "pretokenizers" || k == "decoders" => (
                            k.clone(),
                            Value::Array(items.iter().map(canonical_component).collect()),
                        ),
                        _ => (k.clone(), x.clone()),
                    })
                    .collect(),
            ),
            _ => v.clone(),
        },
        _ => v.clone(),
    }
}

fn padding_json(st: &State) -> Value {
    match &st.pad {
        Some(p) => match st.index.get(p) {
            Some(&id) => Value::Object(vec![
                (
                    "strategy".into(),
                    Value::Object(vec![("Fixed".into(), num_u(0))]),
                ),
                ("direction".into(), s("Right")),
                ("pad_to_multiple_of".into(), Value::Null),
                ("pad_id".into(), num_u(id)),
                ("pad_type_id".into(), num_u(0)),
                ("pad_token".into(), s(p)),
            ]),
            None => Value::Null,
        },
        None => Value::Null,
    }
}

/// Applies the reference's vocabulary surgery to a teacher's `tokenizer.json`.
///
/// Errors: a malformed or unsupported `tokenizer.json`, or a vocabulary that ends up
/// empty.
pub fn distill_vocabulary(
    teacher: &Value,
    opts: &VocabularyOptions<'_>,
) -> Result<DistillVocabulary, Error> {
    let mut st = parse_state(teacher)?;
    // transformers' view of the special tokens wins (skeletoken's conversion).
    if let Some(u) = opts.unk_token {
        if !st.contains(u) {
            st.push(u.to_string(), min_score(&st));
        }
        st.unk = Some(u.to_string());
    }
    if let Some(p) = opts.pad_token {
        if !st.contains(p) {
            st.push(p.to_string(), min_score(&st));
        }
        st.pad = Some(p.to_string());
    }
    for special in [st.unk.clone(), st.pad.clone()].into_iter().flatten() {
        if let Some(a) = st.added.iter_mut().find(|a| a.content == special) {
            a.special = true;
        } else {
            st.added.push(Added {
                content: special,
                single_word: false,
                lstrip: false,
                rstrip: false,
                normalized: false,
                special: true,
            });
        }
    }
    let min_sc = min_score(&st);
    let post = teacher
        .get("post_processor")
        .cloned()
        .unwrap_or(Value::Null);
    let (bos, eos) = bos_eos(&post);

    // 1. Prune the added tokens of the teacher's tokenizer.
    let before: Vec<String> = st.added.iter().map(|a| a.content.clone()).collect();
    let keep: Vec<String> = bos.iter().chain(&eos).cloned().collect();
    let pruned_added = st.prune_added(&keep);
    let kept: HashSet<&str> = st.added.iter().map(|a| a.content.as_str()).collect();
    let pruned: HashSet<String> = before
        .iter()
        .filter(|c| !kept.contains(c.as_str()))
        .cloned()
        .collect();
    let original = st.clone();
    let orig_id =
        |t: &str| -> Option<u32> { original.index.get(t).and_then(|&i| original.origin[i]) };
    let to_ids = |ts: &[String]| -> Result<Vec<u32>, Error> {
        ts.iter()
            .map(|t| {
                orig_id(t).ok_or_else(|| {
                    err(
                        "post_processor",
                        format!("token {t:?} is not in the vocabulary"),
                    )
                })
            })
            .collect()
    };
    let bos_ids = to_ids(&bos)?;
    let eos_ids = to_ids(&eos)?;
    let pad_id = original
        .pad
        .as_deref()
        .and_then(orig_id)
        .or_else(|| original.origin.first().copied().flatten())
        .unwrap_or(0);

    // The teacher tokenizer for new words: the pruned added tokens no longer match.
    let mut teacher_tokenizer = teacher.clone();
    if let Some(Value::Array(items)) = match &mut teacher_tokenizer {
        Value::Object(m) => m
            .iter_mut()
            .find(|(k, _)| k == "added_tokens")
            .map(|(_, v)| v),
        _ => None,
    } {
        items.retain(|a| {
            a.get("content")
                .and_then(Value::as_str)
                .is_none_or(|c| !pruned.contains(c))
        });
    }

    // 2. The output's components.
    let mut pre_tokenizer = teacher.get("pre_tokenizer").cloned().unwrap_or(Value::Null);
    byte_level_prefix_space(&mut pre_tokenizer);
    let mut edited = teacher.clone();
    obj_set(&mut edited, "pre_tokenizer", pre_tokenizer.clone());
    obj_set(&mut edited, "post_processor", Value::Null);

    // 3. The removal pattern.
    let mut stats = SurgeryStats {
        pruned_added,
        ..SurgeryStats::default()
    };
    let internal: Vec<String> = st.vocab.clone();
    if let Some(remove) = opts.remove {
        let gone: Vec<String> = internal.iter().filter(|t| remove(t)).cloned().collect();
        stats.removed_by_pattern = gone.len();
        st.remove(&gone);
    }

    // 4. The user vocabulary.
    let pre = Preprocessor::new(&edited)?;
    let mut seen: HashSet<String> = internal.into_iter().collect();
    let mut to_add: Vec<String> = Vec::new();
    let mut multi: Vec<String> = Vec::new();
    let mut seen_multi: HashSet<String> = HashSet::new();
    for word in opts.vocabulary {
        let pieces = pre.pieces(word);
        if pieces.is_empty() {
            stats.empty += 1;
            continue;
        }
        if pieces.len() > 1 {
            if st.contains(word) {
                st.remove(std::slice::from_ref(word));
            }
            let t = py_strip(&pre.normalize(word)).to_string();
            if seen_multi.insert(t.clone()) {
                multi.push(t);
            }
            continue;
        }
        let t = pieces.into_iter().next().unwrap_or_default();
        if seen.contains(&t) {
            stats.duplicates += 1;
            continue;
        }
        if opts.remove.is_some_and(|r| r(&t)) {
            stats.removed_by_pattern += 1;
            continue;
        }
        seen.insert(t.clone());
        to_add.push(t);
    }
    // 5. Prune again (only unk and pad survive), then append.
    st.prune_added(&[]);
    let mut merge_table =
        (st.kind == Kind::Bpe && !to_add.is_empty()).then(|| MergeTable::new(&st));
    for t in to_add {
        if st.contains(&t) {
            // A BPE piece added for an earlier word (the reference raises here).
            stats.duplicates += 1;
            continue;
        }
        stats.added_tokens += 1;
        match merge_table.as_mut() {
            Some(table) => stats.merge_pieces += st.push_bpe(t, table),
            None => st.push(t, min_sc),
        }
    }
    for t in multi {
        if st.contains(&t) {
            continue;
        }
        st.push(t.clone(), min_sc);
        st.added.push(Added {
            content: t,
            single_word: false,
            lstrip: true,
            rstrip: true,
            normalized: true,
            special: false,
        });
        stats.multiword += 1;
    }
    if st.vocab.is_empty() {
        return Err(err(
            "model.vocab",
            "the vocabulary is empty after preprocessing (check token_remove_pattern)",
        ));
    }

    let sources: Vec<TokenSource> = st
        .vocab
        .iter()
        .map(|t| match orig_id(t) {
            Some(id) => TokenSource::Teacher(id),
            None => TokenSource::Text,
        })
        .collect();

    // 6. Assemble in the order HF tokenizers serializes.
    let truncation = Value::Object(vec![
        ("direction".into(), s("Right")),
        ("max_length".into(), num_u(DEFAULT_MAX_LENGTH)),
        ("strategy".into(), s("LongestFirst")),
        ("stride".into(), num_u(0)),
    ]);
    let get = |k: &str| teacher.get(k).cloned().unwrap_or(Value::Null);
    let tokenizer = Value::Object(vec![
        ("version".into(), s("1.0")),
        ("truncation".into(), truncation),
        ("padding".into(), padding_json(&st)),
        ("added_tokens".into(), added_json(&st)),
        ("normalizer".into(), get("normalizer")),
        ("pre_tokenizer".into(), canonical_component(&pre_tokenizer)),
        ("post_processor".into(), Value::Null),
        ("decoder".into(), canonical_component(&get("decoder"))),
        (
            "model".into(),
            model_json(&st, teacher.get("model").unwrap_or(&Value::Null)),
        ),
    ]);
    Ok(DistillVocabulary {
        tokenizer,
        tokens: st.vocab,
        sources,
        bos: bos_ids,
        eos: eos_ids,
        pad_id,
        teacher_tokenizer,
        stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{parse, to_string};

    fn bert() -> Value {
        parse(
            r###"{"version":"1.0","truncation":{"max_length":128,"strategy":"LongestFirst","stride":0},
            "padding":{"strategy":{"Fixed":128},"direction":"Right","pad_to_multiple_of":null,"pad_id":0,"pad_type_id":0,"pad_token":"[PAD]"},
            "added_tokens":[
             {"id":0,"special":true,"content":"[PAD]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false},
             {"id":2,"special":true,"content":"[UNK]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false},
             {"id":3,"special":true,"content":"[CLS]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false},
             {"id":4,"special":true,"content":"[SEP]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false},
             {"id":5,"special":true,"content":"[MASK]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false}],
            "normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},
            "pre_tokenizer":{"type":"BertPreTokenizer"},
            "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],"pair":[],"special_tokens":{"[CLS]":{"id":"[CLS]","ids":[3],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[4],"tokens":["[SEP]"]}}},
            "decoder":{"type":"WordPiece","prefix":"##","cleanup":true},
            "model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,
             "vocab":{"[PAD]":0,"[unused0]":1,"[UNK]":2,"[CLS]":3,"[SEP]":4,"[MASK]":5,"the":6,"a":7,"##s":8,"don":9,"'":10,"t":11,"cat":12}}}"###,
        )
        .unwrap()
    }

    fn unused(t: &str) -> bool {
        t.starts_with("[unused")
    }

    #[test]
    fn bert_without_vocabulary() {
        let opts = VocabularyOptions {
            vocabulary: &[],
            remove: Some(&unused),
            unk_token: Some("[UNK]"),
            pad_token: Some("[PAD]"),
        };
        let d = distill_vocabulary(&bert(), &opts).unwrap();
        // What model2vec 0.10.0 does to bert-like tokenizers: [CLS]/[SEP]/[MASK] and
        // [unusedN] are gone, ids compact.
        assert_eq!(
            d.tokens,
            ["[PAD]", "[UNK]", "the", "a", "##s", "don", "'", "t", "cat"]
        );
        assert_eq!(d.bos, [3]);
        assert_eq!(d.eos, [4]);
        assert_eq!(d.pad_id, 0);
        assert_eq!(d.sources[2], TokenSource::Teacher(6));
        assert_eq!(d.stats.removed_by_pattern, 1);
        let text = to_string(&d.tokenizer);
        assert!(text.starts_with(r#"{"version":"1.0","truncation":{"direction":"Right","max_length":512,"strategy":"LongestFirst","stride":0},"padding":{"strategy":{"Fixed":0},"direction":"Right","pad_to_multiple_of":null,"pad_id":0,"pad_type_id":0,"pad_token":"[PAD]"},"added_tokens":[{"id":0,"content":"[PAD]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":1,"content":"[UNK]","#), "{text}");
        assert!(text.contains(r#""post_processor":null"#));
        // The teacher tokenizer keeps [CLS]/[SEP] but not [MASK].
        let added = d
            .teacher_tokenizer
            .get("added_tokens")
            .unwrap()
            .as_array()
            .unwrap();
        assert_eq!(added.len(), 4);
    }

    #[test]
    fn custom_vocabulary() {
        let words: Vec<String> = [
            "The",
            "cats",
            "don't",
            "dog",
            "",
            "  ",
            "dog",
            "Don't",
            "[unused7]",
        ]
        .iter()
        .map(|w| w.to_string())
        .collect();
        let opts = VocabularyOptions {
            vocabulary: &words,
            remove: Some(&unused),
            unk_token: None,
            pad_token: None,
        };
        let d = distill_vocabulary(&bert(), &opts).unwrap();
        // "the" is known, "cats" and "dog" are new single pieces, "don't" splits into 3
        // pieces and becomes one multi-word added token (normalized), "[unused7]"
        // pre-tokenizes into 3 pieces too.
        assert_eq!(
            &d.tokens[9..],
            ["cats", "dog", "don't", "[unused7]"],
            "{:?}",
            d.tokens
        );
        assert_eq!(d.sources[9], TokenSource::Text);
        assert_eq!(d.stats.duplicates, 2);
        assert_eq!(d.stats.empty, 2);
        assert_eq!(d.stats.multiword, 2);
        let added = d.tokenizer.get("added_tokens").unwrap().as_array().unwrap();
        let last = added.last().unwrap();
        assert_eq!(
            to_string(last),
            r#"{"id":12,"content":"[unused7]","single_word":false,"lstrip":true,"rstrip":true,"normalized":true,"special":false}"#
        );
    }

    #[test]
    fn bpe_words_get_merges_and_missing_pieces() {
        let tok = parse(
            r#"{"added_tokens":[{"id":0,"content":"<unk>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],
            "normalizer":null,"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true},
            "post_processor":null,"decoder":null,
            "model":{"type":"BPE","dropout":null,"unk_token":"<unk>","continuing_subword_prefix":null,"end_of_word_suffix":null,
             "fuse_unk":false,"byte_fallback":false,"ignore_merges":false,
             "vocab":{"<unk>":0,"▁":1,"a":2,"b":3,"c":4,"▁a":5},"merges":[["▁","a"]]}}"#,
        )
        .unwrap();
        let words: Vec<String> = ["abcab", "ab", "a", "x"]
            .iter()
            .map(|w| w.to_string())
            .collect();
        let opts = VocabularyOptions {
            vocabulary: &words,
            remove: None,
            unk_token: None,
            pad_token: None,
        };
        let d = distill_vocabulary(&tok, &opts).unwrap();
        // "▁abcab": chars, "▁a" merged, then (▁a,b) (c,a) at even positions, then
        // (▁ab,ca), then (▁abca,b): the missing pieces follow in code point order.
        // "▁ab" is then already there (skeletoken raises; we skip it), "▁a" is known,
        // "▁x" brings "x" (not in the alphabet). Checked with skeletoken 0.6.1's
        // `add_tokens_to_vocabulary(["▁abcab", "▁x"], preprocess_tokens=False)`.
        assert_eq!(
            d.tokens,
            [
                "<unk>", "▁", "a", "b", "c", "▁a", "▁abcab", "ca", "▁ab", "▁abca", "▁x", "x"
            ]
        );
        assert_eq!(d.stats.added_tokens, 2);
        assert_eq!(d.stats.merge_pieces, 4);
        assert_eq!(d.stats.duplicates, 2);
        let merges = d.tokenizer.get("model").unwrap().get("merges").unwrap();
        assert_eq!(
            to_string(merges),
            r#"[["▁","a"],["▁a","b"],["c","a"],["▁ab","ca"],["▁abca","b"],["▁","x"]]"#
        );
    }

    #[test]
    fn components_are_written_as_hf_tokenizers_writes_them() {
        // What `Tokenizer.from_str(...).to_str()` of tokenizers 0.22 gives for these.
        let cases = [
            (
                r#"{"type":"Metaspace","replacement":"▁","add_prefix_space":true}"#,
                r#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}"#,
            ),
            (
                r#"{"type":"Metaspace","replacement":"▁","add_prefix_space":true,"prepend_scheme":"first"}"#,
                r#"{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true}"#,
            ),
            (
                r#"{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true}"#,
                r#"{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}"#,
            ),
            (
                r#"{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},{"type":"ByteLevel","add_prefix_space":true}]}"#,
                r#"{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}]}"#,
            ),
            (
                r#"{"type":"BertPreTokenizer"}"#,
                r#"{"type":"BertPreTokenizer"}"#,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                to_string(&canonical_component(&parse(input).unwrap())),
                want
            );
        }
    }

    #[test]
    fn everything_removed_is_an_error() {
        let all = |_: &str| true;
        let opts = VocabularyOptions {
            vocabulary: &[],
            remove: Some(&all),
            unk_token: None,
            pad_token: None,
        };
        // WordPiece keeps its unk, so the vocabulary is not empty: [UNK] only.
        let d = distill_vocabulary(&bert(), &opts).unwrap();
        assert_eq!(d.tokens, ["[UNK]"]);
        let mut uni = parse(r#"{"added_tokens":[],"normalizer":null,"pre_tokenizer":null,"post_processor":null,"decoder":null,
            "model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0],["a",-1.5]],"byte_fallback":false}}"#).unwrap();
        assert!(distill_vocabulary(&uni, &opts).is_err());
        obj_set(&mut uni, "model", parse(r#"{"type":"Unigram","unk_id":1,"vocab":[["x",0.0],["<unk>",0.0],["a",-1.5]],"byte_fallback":false}"#).unwrap());
        let keep_x = |t: &str| t == "x";
        let opts = VocabularyOptions {
            remove: Some(&keep_x),
            ..opts
        };
        let d = distill_vocabulary(&uni, &opts).unwrap();
        assert_eq!(d.tokens, ["<unk>", "a"]);
        assert_eq!(
            d.tokenizer
                .get("model")
                .unwrap()
                .get("unk_id")
                .unwrap()
                .as_u64(),
            Some(0)
        );
    }
}
