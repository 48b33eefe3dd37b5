//! [`Tokenizer`]: loading a `tokenizer.json` and the encode pipeline
//! (added tokens → normalizer → added tokens again → pre-tokenizer → model).

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use crate::added::{self, AddedToken, Matcher, Piece};
use crate::config::bad;
use crate::error::Error;
use crate::fused_bert::BertFast;
use crate::json::{self, Value};
use crate::model::bpe::BpeScratch;
use crate::model::unigram::Lattice;
use crate::model::{Lazy, Model, ModelType};
use crate::normalizer::Normalizer;
use crate::pre_tokenizer::{PreTokenizer, Splits};
use crate::processor::Specials;
use crate::word_cache::{NEXT_UID, WordCache};

/// A loaded `tokenizer.json`, ready to encode.
///
/// Cheap to share across threads (`Send + Sync`); encoding keeps its scratch buffers in
/// a thread-local, so [`Tokenizer::encode_into`] does not allocate once warm.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    /// The file's JSON without `model.vocab` and `model.merges` (those live in `model`).
    json: Value,
    normalizer: Option<Normalizer>,
    pre_tokenizer: Option<PreTokenizer>,
    model: Model,
    added: Vec<AddedToken>,
    /// Tokens with `normalized: false`, matched in the raw text.
    raw_matcher: Matcher,
    /// Tokens with `normalized: true`, matched in the normalized text.
    norm_matcher: Matcher,
    added_by_content: HashMap<String, u32>,
    added_by_id: HashMap<u32, usize>,
    specials: Specials,
    pad_id: Option<u32>,
    vocab_size: usize,
    /// Present when the pipeline is BERT's (BertNormalizer with clean_text,
    /// BertPreTokenizer, WordPiece): an all-ASCII segment then takes a fused loop.
    bert_fast: Option<BertFast>,
    /// The pre-tokenizer has a `Metaspace` with `prepend_scheme: "first"`.
    needs_first: bool,
    /// Identifies this tokenizer's entries in a thread's [`WordCache`] (Unigram and
    /// BPE pieces; see [`WordCache::piece`]).
    uid: u64,
}

#[derive(Debug, Default)]
struct Scratch {
    pieces: Vec<Piece>,
    norm_pieces: Vec<Piece>,
    norm: String,
    splits: Splits,
    word: Vec<u8>,
    words: WordCache,
    lattice: Lattice,
    bpe: BpeScratch,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Working memory of [`Tokenizer::encode_into_with`]: buffers and the word cache
/// (up to about 1.1 MiB once used). Keep one per thread and reuse it across calls.
#[derive(Debug, Default)]
pub struct TokenizerScratch(Scratch);

impl Tokenizer {
    /// Loads a `tokenizer.json` file; errors name the file.
    pub fn from_file(path: &Path) -> Result<Tokenizer, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Tokenizer::from_bytes(&bytes).map_err(|e| e.with_path(path))
    }

    /// Loads a `tokenizer.json` from its bytes (UTF-8 JSON).
    pub fn from_bytes(json: &[u8]) -> Result<Tokenizer, Error> {
        let text = std::str::from_utf8(json).map_err(|_| Error::Json {
            path: None,
            source: json::parse_bytes(json).err().unwrap_or(json::JsonError {
                line: 1,
                column: 1,
                message: "invalid UTF-8".into(),
            }),
        })?;
        let (v, found) = json::parse_lazy(text, &[&["model", "vocab"], &["model", "merges"]])?;
        let mut found = found.into_iter();
        let lazy = Lazy {
            text,
            vocab: found.next().flatten(),
            merges: found.next().flatten(),
        };
        Tokenizer::build(v, &lazy)
    }

    /// Loads a `tokenizer.json` from its text.
    pub fn from_json_str(json: &str) -> Result<Tokenizer, Error> {
        Tokenizer::from_bytes(json.as_bytes())
    }

    /// Builds a tokenizer from a parsed `tokenizer.json`.
    pub fn from_value(v: Value) -> Result<Tokenizer, Error> {
        Tokenizer::build(v, &Lazy::default())
    }

    fn build(mut v: Value, lazy: &Lazy<'_>) -> Result<Tokenizer, Error> {
        if v.as_object().is_none() {
            return Err(bad("", "", "expected a JSON object at the top level"));
        }
        let normalizer = match v.get("normalizer") {
            None | Some(Value::Null) => None,
            Some(n) => {
                let n = Normalizer::from_json(n, "normalizer")?;
                n.check_growth("normalizer")?;
                Some(n)
            }
        };
        let pre_tokenizer = match v.get("pre_tokenizer") {
            None | Some(Value::Null) => None,
            Some(p) => Some(PreTokenizer::from_json(p, "pre_tokenizer")?),
        };
        let model_json = v.get("model").ok_or_else(|| bad("", "model", "missing"))?;
        let model = Model::from_json(model_json, "model", lazy)?;
        let specials = match v.get("post_processor") {
            None => Specials::default(),
            Some(p) => Specials::from_json(p, "post_processor")?,
        };

        // Added tokens, with ids assigned as HF's deserializer does (`add_tokens`): the
        // id the vocabulary already gives the content, else the next free id after
        // the model's vocabulary size.
        let vocab = model.vocab();
        let model_size = vocab
            .iter()
            .filter(|&(t, id)| vocab.get(t) == Some(id))
            .count();
        let mut added: Vec<AddedToken> = Vec::new();
        let mut added_by_content: HashMap<String, u32> = HashMap::new();
        let mut added_by_id: HashMap<u32, usize> = HashMap::new();
        if let Some(list) = v.get("added_tokens") {
            let list = list
                .as_array()
                .ok_or_else(|| bad("", "added_tokens", "expected an array"))?;
            // HF's `get_vocab_size()`: distinct strings for map vocabularies, the list
            // length (duplicates included) for Unigram.
            let mut next_id = match &model {
                Model::Unigram(_) => vocab.len() as u32,
                _ => model_size as u32,
            };
            for (i, t) in list.iter().enumerate() {
                let mut tok = AddedToken::from_json(t, &format!("added_tokens[{i}]"))?;
                if tok.content.is_empty() {
                    continue;
                }
                if let Some(&id) = added_by_content.get(&tok.content)
                    && added_by_id.get(&id).is_some_and(|&k| {
                        let a = &added[k];
                        AddedToken {
                            id: a.id,
                            ..tok.clone()
                        } == *a
                    })
                {
                    continue;
                }
                let id = match added_by_content
                    .get(&tok.content)
                    .copied()
                    .or_else(|| vocab.get(&tok.content))
                {
                    Some(id) => id,
                    None => {
                        let id = next_id;
                        next_id += 1;
                        id
                    }
                };
                tok.id = id;
                added_by_content.insert(tok.content.clone(), id);
                added_by_id.insert(id, added.len());
                added.push(tok);
            }
        }
        // Patterns: only the token that currently owns each id is matched (HF keeps
        // one token per id in `added_tokens_map_r`).
        let mut raw = Vec::new();
        let mut norm = Vec::new();
        for (&_id, &k) in &added_by_id {
            let t = &added[k];
            if t.normalized {
                let mut s = String::new();
                match &normalizer {
                    Some(n) => n.normalize(&t.content, &mut s),
                    None => s.push_str(&t.content),
                }
                norm.push((s, k));
            } else {
                raw.push((t.content.clone(), k));
            }
        }
        let raw_matcher = Matcher::new(raw);
        let norm_matcher = Matcher::new(norm);

        let mut vocab_size = model_size;
        for t in added_by_content.keys() {
            if vocab.get(t).is_none() {
                vocab_size += 1;
            }
        }

        let pad_id = v
            .get("padding")
            .and_then(|p| p.get("pad_id"))
            .and_then(Value::as_u64)
            .map(|p| p as u32);

        let bert_fast = match (&normalizer, &pre_tokenizer, &model) {
            (
                Some(Normalizer::Bert {
                    clean_text: true,
                    lowercase,
                    ..
                }),
                Some(PreTokenizer::Bert),
                Model::WordPiece(wp),
            ) => Some(BertFast::new(*lowercase, wp)),
            _ => None,
        };

        // The vocabulary now lives in `model`: drop it from the kept JSON.
        if let Value::Object(top) = &mut v {
            for (k, m) in top.iter_mut() {
                if k == "model"
                    && let Value::Object(fields) = m
                {
                    for (f, x) in fields.iter_mut() {
                        if f == "vocab" || f == "merges" {
                            *x = Value::Null;
                        }
                    }
                }
            }
        }

        let needs_first = pre_tokenizer
            .as_ref()
            .is_some_and(PreTokenizer::uses_first_scheme);
        let mut tok = Tokenizer {
            json: v,
            normalizer,
            pre_tokenizer,
            model,
            added,
            raw_matcher,
            norm_matcher,
            added_by_content,
            added_by_id,
            specials,
            pad_id,
            vocab_size,
            bert_fast,
            needs_first,
            uid: NEXT_UID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        };
        if tok.pad_id.is_none() {
            tok.pad_id = tok
                .token_to_id("[PAD]")
                .or_else(|| tok.token_to_id("<pad>"));
        }
        Ok(tok)
    }

    /// HF `encode(text, add_special_tokens=false)`: no padding, no truncation.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        self.encode_into(text, None, &mut out);
        out
    }

    /// Appends the ids of `text` to `out`, stopping after `max_tokens` ids when given
    /// (HF truncation: the first `max_tokens` ids). Reuses thread-local buffers.
    pub fn encode_into(&self, text: &str, max_tokens: Option<usize>, out: &mut Vec<u32>) {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut s) => self.encode_limited(text, max_tokens, out, &mut s),
            Err(_) => self.encode_limited(text, max_tokens, out, &mut Scratch::default()),
        });
    }

    /// [`Tokenizer::encode_into`] with the caller's working memory instead of the
    /// thread's: for threads that live for one call (e.g. `std::thread::scope`), whose
    /// thread-local word cache would start cold every time. The same ids.
    pub fn encode_into_with(
        &self,
        text: &str,
        max_tokens: Option<usize>,
        out: &mut Vec<u32>,
        scratch: &mut TokenizerScratch,
    ) {
        self.encode_limited(text, max_tokens, out, &mut scratch.0);
    }

    #[inline]
    fn encode_limited(
        &self,
        text: &str,
        max_tokens: Option<usize>,
        out: &mut Vec<u32>,
        s: &mut Scratch,
    ) {
        let base = out.len();
        let limit = max_tokens.map_or(usize::MAX, |m| base.saturating_add(m));
        if limit == base {
            return;
        }
        self.encode_impl(text, limit, out, s);
        if out.len() > limit {
            out.truncate(limit);
        }
    }

    /// HF `encode(text)` with `add_special_tokens=true`: the post-processor's special
    /// tokens around the ids of `text`.
    pub fn encode_with_special_tokens(&self, text: &str) -> Vec<u32> {
        let mut out = self.specials.prefix.clone();
        self.encode_into(text, None, &mut out);
        out.extend_from_slice(&self.specials.suffix);
        out
    }

    /// Special ids the post-processor puts before a single sequence (e.g. `[CLS]`).
    pub fn special_prefix(&self) -> &[u32] {
        &self.specials.prefix
    }

    /// Special ids the post-processor puts after a single sequence (e.g. `[SEP]`).
    pub fn special_suffix(&self) -> &[u32] {
        &self.specials.suffix
    }

    /// Number of distinct tokens, added tokens included (HF `get_vocab_size(True)`).
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// The token of an id (added tokens first, as HF does).
    pub fn id_to_token(&self, id: u32) -> Option<&str> {
        if let Some(&k) = self.added_by_id.get(&id) {
            return Some(&self.added[k].content);
        }
        self.model.vocab().token(id)
    }

    /// The id of a token (added tokens first, as HF does).
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.added_by_content
            .get(token)
            .copied()
            .or_else(|| self.model.vocab().get(token))
    }

    /// Every token in id order (ids without a token are skipped), added tokens included.
    pub fn tokens(&self) -> Vec<&str> {
        let max_added = self.added_by_id.keys().max().map_or(0, |&m| m as usize + 1);
        let n = self.model.vocab().len().max(max_added);
        (0..n as u32)
            .filter_map(|id| self.id_to_token(id))
            .collect()
    }

    /// The unknown token's id: `unk_token` of WordPiece/BPE/WordLevel, `unk_id` of Unigram.
    pub fn unk_id(&self) -> Option<u32> {
        self.model.unk_id()
    }

    /// The padding id: `padding.pad_id` of the file, else the id of `[PAD]` or `<pad>`.
    pub fn pad_id(&self) -> Option<u32> {
        self.pad_id
    }

    /// The model's kind.
    pub fn model_type(&self) -> ModelType {
        self.model.model_type()
    }

    /// The added tokens, with the ids HF assigns them.
    pub fn added_tokens(&self) -> &[AddedToken] {
        &self.added
    }

    /// The file's JSON without the model's `vocab` and `merges` (set to `null`): the
    /// sections a writer copies back unchanged.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Bytes of heap the model's vocabulary structures hold (strings, offsets, index).
    pub fn vocab_heap_bytes(&self) -> usize {
        self.model.vocab().heap_bytes()
    }

    fn encode_impl(&self, text: &str, limit: usize, out: &mut Vec<u32>, s: &mut Scratch) {
        let Scratch {
            pieces,
            norm_pieces,
            norm,
            splits,
            word,
            words,
            lattice,
            bpe,
        } = s;
        // The common case in one pass: BERT's pipeline, ASCII, no added token.
        if let (Some(f), Model::WordPiece(wp)) = (&self.bert_fast, &self.model)
            && self.norm_matcher.is_empty()
            && self.raw_matcher.ascii_without_match(text.as_bytes())
        {
            f.encode(wp, text, word, words, limit, out);
            return;
        }
        pieces.clear();
        added::split(text, &self.raw_matcher, &self.added, pieces);
        for &piece in pieces.iter() {
            if out.len() >= limit {
                return;
            }
            let (a, b) = match piece {
                Piece::Token(id) => {
                    out.push(id);
                    continue;
                }
                Piece::Text(a, b) => (a, b),
            };
            let seg = &text[a..b];
            if let (Some(f), Model::WordPiece(wp)) = (&self.bert_fast, &self.model)
                && seg.is_ascii()
                && (self.norm_matcher.is_empty() || !self.norm_matcher.may_match(seg))
            {
                f.encode(wp, seg, word, words, limit, out);
                continue;
            }
            // Normalize, then extract the normalized added tokens.
            let normalized: &str = match &self.normalizer {
                Some(n) => {
                    norm.clear();
                    n.normalize(seg, norm);
                    norm
                }
                None => seg,
            };
            norm_pieces.clear();
            added::split(normalized, &self.norm_matcher, &self.added, norm_pieces);
            for &np in norm_pieces.iter() {
                if out.len() >= limit {
                    return;
                }
                let (c, d) = match np {
                    Piece::Token(id) => {
                        out.push(id);
                        continue;
                    }
                    Piece::Text(c, d) => (c, d),
                };
                let part = &normalized[c..d];
                // HF's `offsets_original().0 == 0` (for Metaspace's "first" scheme): the
                // piece starts the input, and the normalizer kept its first char.
                let first = a == 0 && c == 0 && (!self.needs_first || self.keeps_first_char(seg));
                match &self.pre_tokenizer {
                    Some(p) => {
                        splits.clear();
                        p.pre_tokenize(part, first, splits);
                        for w in splits.iter() {
                            self.model_tokenize(w, lattice, bpe, words, out);
                            if out.len() >= limit {
                                return;
                            }
                        }
                    }
                    None => self.model_tokenize(part, lattice, bpe, words, out),
                }
            }
        }
    }

    /// Does the normalizer keep the first char of `seg` (rather than delete it)?
    fn keeps_first_char(&self, seg: &str) -> bool {
        match (&self.normalizer, seg.chars().next()) {
            (Some(n), Some(c)) => {
                let mut b = [0u8; 4];
                let mut out = String::new();
                n.normalize(c.encode_utf8(&mut b), &mut out);
                !out.is_empty()
            }
            _ => true,
        }
    }

    /// The model's ids for one pre-tokenized piece `w`. Unigram and BPE pieces go
    /// through the thread's [`WordCache`]: their output is a pure function of the
    /// piece (BPE dropout is off, see [`crate::model::bpe`]). WordPiece pieces do not:
    /// its fused ASCII path uses the cache under another owner, and alternating
    /// owners would clear it.
    #[inline]
    fn model_tokenize(
        &self,
        w: &str,
        lattice: &mut Lattice,
        bpe: &mut BpeScratch,
        words: &mut WordCache,
        out: &mut Vec<u32>,
    ) {
        match &self.model {
            Model::WordPiece(m) => m.tokenize(w, out),
            Model::Unigram(m) => {
                words.piece(self.uid, w.as_bytes(), out, |out| {
                    m.tokenize(w, lattice, out)
                });
            }
            Model::Bpe(m) => {
                words.piece(self.uid, w.as_bytes(), out, |out| m.tokenize(w, bpe, out))
            }
            Model::WordLevel(m) => m.tokenize(w, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BERT: &str = r###"{
      "version": "1.0",
      "added_tokens": [
        {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
      ],
      "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
      "pre_tokenizer": {"type": "BertPreTokenizer"},
      "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
      "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5, "!": 6, "cafe": 7, "##s": 8, "中": 9}}
    }"###;

    fn check(t: &Tokenizer, text: &str, expected: &[u32]) {
        assert_eq!(t.encode(text), expected, "{text:?}");
    }

    #[test]
    fn bert_pipeline() {
        let t = Tokenizer::from_json_str(BERT).unwrap();
        check(&t, "Hello, World!", &[4, 1, 5, 6]);
        check(&t, "Café worlds [SEP]hello", &[7, 5, 8, 3, 4]);
        check(&t, "中x", &[9, 1]);
        check(&t, "", &[]);
        check(&t, " \t\n", &[]);
        assert_eq!(t.encode_with_special_tokens("hello"), [2, 4, 3]);
        let mut out = vec![42];
        t.encode_into("hello world hello", Some(2), &mut out);
        assert_eq!(out, [42, 4, 5]);
        assert_eq!(t.vocab_size(), 10);
        assert_eq!(t.unk_id(), Some(1));
        assert_eq!(t.pad_id(), Some(0));
        assert_eq!(t.token_to_id("##s"), Some(8));
        assert_eq!(t.id_to_token(9), Some("中"));
        assert_eq!(t.tokens().len(), 10);
        assert_eq!(t.model_type(), ModelType::WordPiece);
        assert!(
            t.json()
                .get("model")
                .and_then(|m| m.get("vocab"))
                .is_some_and(Value::is_null)
        );
    }

    /// The fused ASCII path's word handling: lowercasing in a register (words read
    /// with one load, or byte by byte near the end of the text), controls deleted
    /// inside a word without splitting it, words of 8 bytes and longer.
    #[test]
    fn fused_path_words() {
        let t = Tokenizer::from_json_str(BERT).unwrap();
        check(&t, "HELLO world", &[4, 5]);
        check(&t, "HeLLo", &[4]);
        check(&t, "x HeLLo", &[1, 4]);
        check(&t, "he\u{1}llo WOR\u{7f}LD", &[4, 5]);
        check(&t, "hello\u{1}world", &[1]);
        check(&t, "\u{1}hello\u{1} \u{1}", &[4]);
        check(&t, "CAFES worlds! cafe\tWORLDS", &[7, 8, 5, 8, 6, 7, 5, 8]);
        check(&t, "helloooo hellooooo", &[1, 1]);
        for _ in 0..2 {
            check(&t, "Hello HELLO hello", &[4, 4, 4]);
        }
    }

    /// Words of 9 to 16 bytes go through the long-word cache, with up to 3 pieces,
    /// warm or cold.
    #[test]
    fn long_words_cached_with_pieces() {
        let t =
            Tokenizer::from_json_str(&BERT.replace("\"中\": 9}", "\"中\": 9, \"##world\": 10}"))
                .unwrap();
        for _ in 0..3 {
            check(&t, "helloworld HELLOWORLDS", &[4, 10, 4, 10, 8]);
            check(&t, "helloworldworld", &[4, 10, 10]);
            check(&t, "helloworldworlds", &[4, 10, 10, 8]);
            // 17 bytes: not cached.
            check(&t, "helloworldworldss", &[4, 10, 10, 8, 8]);
            // 15 bytes but 7 pieces: not cached either.
            check(&t, "helloworldsssss", &[4, 10, 8, 8, 8, 8, 8]);
            check(&t, "x helloworl", &[1, 1]);
        }
    }

    /// The per-thread word cache gives each model its own ids: two BERT tokenizers
    /// whose vocabularies number the same words differently, used in turns on one
    /// thread, each give their own answer, warm or cold.
    #[test]
    fn word_cache_is_per_model() {
        let a = Tokenizer::from_json_str(BERT).unwrap();
        let b = Tokenizer::from_json_str(
            &BERT
                .replace(r#""hello": 4, "world": 5"#, r#""hello": 5, "world": 4"#)
                .replace(r#""lowercase": true"#, r#""lowercase": false"#),
        )
        .unwrap();
        for _ in 0..3 {
            check(&a, "hello world Hello", &[4, 5, 4]);
            check(&b, "hello world Hello", &[5, 4, 1]);
            // Short words with pieces, and long ones (the second table).
            check(&a, "cafes helloworld", &[7, 8, 1]);
        }
        let c = a.clone();
        check(&c, "world hello", &[5, 4]);
    }

    /// A Unigram tokenizer (Metaspace, no normalizer) whose scores favour whole words
    /// when `whole` is set and single letters otherwise.
    fn unigram(whole: bool) -> Tokenizer {
        let (w, l) = if whole { (-1.0, -5.0) } else { (-20.0, -1.0) };
        let esc = |t: &str| t.replace('\0', "\\u0000");
        let mut vocab = vec![r#"["<unk>", 0.0]"#.to_string()];
        for t in [
            "▁hello",
            "▁world",
            "▁a\0b",
            "▁abcdefghijklmn",
            "hello",
            "world",
        ] {
            vocab.push(format!(r#"["{}", {w}]"#, esc(t)));
        }
        for c in ('a'..='z').chain(['\0', '▁']) {
            vocab.push(format!(r#"["{}", {l}]"#, esc(&c.to_string())));
        }
        let vocab = vocab.join(",");
        Tokenizer::from_json_str(&format!(
            r#"{{"version": "1.0", "added_tokens": [], "normalizer": null,
              "pre_tokenizer": {{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}},
              "model": {{"type": "Unigram", "unk_id": 0, "byte_fallback": false, "vocab": [{vocab}]}}}}"#
        ))
        .unwrap()
    }

    /// `t`'s ids for `text` without the piece cache: each piece through the model.
    fn uncached(t: &Tokenizer, text: &str) -> Vec<u32> {
        let mut splits = Splits::default();
        if let Some(p) = &t.pre_tokenizer {
            p.pre_tokenize(text, true, &mut splits);
        }
        let mut out = Vec::new();
        let Model::Unigram(m) = &t.model else {
            panic!("a Unigram model")
        };
        for w in splits.iter() {
            m.tokenize(w, &mut Lattice::default(), &mut out);
        }
        out
    }

    /// Unigram pieces go through the thread's word cache: the same ids as without it,
    /// for pieces of every length around the cache's 15-byte limit, pieces holding a
    /// NUL byte (the key's length byte keeps "a\0" apart from "a"), more than 3 ids
    /// (not cached), and two models that split the same words differently used in
    /// turns with a BERT model on one thread.
    #[test]
    fn piece_cache_gives_the_model_output() {
        let (a, b) = (unigram(true), unigram(false));
        let bert = Tokenizer::from_json_str(BERT).unwrap();
        let texts = [
            "hello world",
            "a\u{0}b a b a\u{0} hello",
            "abcdefghijklmn abcdefghijklm abcdefghijklmno abcdefghijklmnop",
            "x xy xyz xyzw helloworld worldhello",
            // "▁" is 3 bytes: pieces of 7, 8, 14, 15 and 16 bytes.
            "abcd abcde abcdefghijk abcdefghijkl abcdefghijklm",
            "",
            "   hello   ",
        ];
        // The caller's working memory (`encode_into_with`), shared by all three
        // models, gives the same ids as the thread's.
        let mut scratch = TokenizerScratch::default();
        let with = |u: &Tokenizer, t: &str, s: &mut TokenizerScratch| {
            let mut out = Vec::new();
            u.encode_into_with(t, None, &mut out, s);
            out
        };
        for _ in 0..3 {
            for t in texts {
                for u in [&a, &b] {
                    assert_eq!(u.encode(t), uncached(u, t), "{t:?}");
                    assert_eq!(with(u, t, &mut scratch), uncached(u, t), "{t:?}");
                }
                check(&bert, "hello world", &[4, 5]);
                assert_eq!(with(&bert, "hello world", &mut scratch), [4, 5]);
            }
        }
        assert_ne!(
            a.encode("hello"),
            b.encode("hello"),
            "the two models differ"
        );
        assert_ne!(a.encode("a\u{0}b"), a.encode("ab"), "NUL kept apart");
    }

    #[test]
    fn is_shareable() {
        fn check<T: Clone + Send + Sync + std::fmt::Debug>() {}
        check::<Tokenizer>();
    }

    #[test]
    fn errors_name_component_and_file() {
        let bad_json = BERT.replace("BertPreTokenizer", "FancySplitter");
        let e = Tokenizer::from_json_str(&bad_json).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported pre_tokenizer type `FancySplitter`"
        );
        let dir = std::env::temp_dir().join(format!("m2v-tokenize-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("tokenizer.json");
        std::fs::write(&p, bad_json).unwrap();
        let e = Tokenizer::from_file(&p).unwrap_err();
        assert!(e.to_string().starts_with(&p.display().to_string()), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
        let e = Tokenizer::from_json_str("{").unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }
}
