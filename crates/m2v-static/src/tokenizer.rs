//! The one place that talks to [`m2v_tokenize`]: the model holds a [`TextTokenizer`]
//! and nothing else knows which tokenizer engine is behind it.

use m2v_tokenize::{ModelType, Tokenizer, TokenizerScratch};

/// The model's tokenizer: `tokenizer.json` semantics of HF `tokenizers` with
/// `add_special_tokens=false`, no padding, and only the truncation the caller asks for
/// (the file's own `truncation` and `padding` sections are ignored, as model2vec
/// overrides them).
#[derive(Debug)]
pub(crate) struct TextTokenizer {
    inner: Tokenizer,
}

impl TextTokenizer {
    /// Loads `tokenizer.json` bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, m2v_tokenize::Error> {
        Ok(TextTokenizer {
            inner: Tokenizer::from_bytes(bytes)?,
        })
    }

    /// Appends the ids of `text` (no special tokens), truncated to the first
    /// `max_tokens` ids.
    #[inline]
    pub fn encode_into(&self, text: &str, max_tokens: Option<usize>, out: &mut Vec<u32>) {
        self.inner.encode_into(text, max_tokens, out);
    }

    /// [`TextTokenizer::encode_into`] with the caller's working memory.
    #[inline]
    pub fn encode_into_with(
        &self,
        text: &str,
        max_tokens: Option<usize>,
        out: &mut Vec<u32>,
        scratch: &mut TokenizerScratch,
    ) {
        self.inner.encode_into_with(text, max_tokens, out, scratch);
    }

    /// The tokens in id order, added tokens included.
    pub fn tokens(&self) -> Vec<&str> {
        self.inner.tokens()
    }

    /// One past the highest id among `tokens` (this tokenizer's [`TextTokenizer::tokens`])
    /// and the token there: more than the number of tokens when the vocabulary's ids
    /// have gaps (a `{token: id}` map need not be dense), so the embedding tensors must
    /// be checked against this, not against the token count. One hash lookup per token.
    pub fn id_bound<'t>(&self, tokens: &[&'t str]) -> (usize, Option<&'t str>) {
        let mut best = (tokens.len(), None);
        for &t in tokens {
            if let Some(id) = self.inner.token_to_id(t) {
                let bound = id as usize + 1;
                if bound > best.0 || (bound == best.0 && best.1.is_none()) {
                    best = (bound, Some(t));
                }
            }
        }
        best
    }

    /// The unknown-token id (`unk_token`'s id, or Unigram's `unk_id`).
    pub fn unk_id(&self) -> Option<u32> {
        self.inner.unk_id()
    }

    /// The model type as `tokenizer.json` names it (`WordPiece`, `Unigram`, `BPE`,
    /// `WordLevel`).
    pub fn model_type(&self) -> &'static str {
        match self.inner.model_type() {
            ModelType::WordPiece => "WordPiece",
            ModelType::Unigram => "Unigram",
            ModelType::Bpe => "BPE",
            ModelType::WordLevel => "WordLevel",
        }
    }
}
