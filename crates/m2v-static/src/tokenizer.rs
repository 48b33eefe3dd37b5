//! The one place that talks to [`m2v_tokenize`]: the model holds a [`TextTokenizer`]
//! and nothing else knows which tokenizer engine is behind it.

/// The model's tokenizer. PLACEHOLDER until `m2v_tokenize::Tokenizer` lands: loading
/// always fails, so no model can be built yet.
#[derive(Debug)]
pub(crate) struct TextTokenizer {
    tokens: Vec<String>,
}

impl TextTokenizer {
    /// Loads `tokenizer.json` bytes.
    pub fn from_bytes(_bytes: &[u8]) -> Result<Self, m2v_tokenize::Error> {
        Err(m2v_tokenize::Error::Unsupported {
            path: None,
            component: "tokenizer".into(),
            kind: "pending".into(),
        })
    }

    /// Appends the ids of `text` (no special tokens), truncated to the first
    /// `max_tokens` ids.
    #[inline]
    pub fn encode_into(&self, _text: &str, _max_tokens: Option<usize>, _out: &mut Vec<u32>) {}

    /// The tokens in id order, added tokens included.
    pub fn tokens(&self) -> Vec<&str> {
        self.tokens.iter().map(String::as_str).collect()
    }

    /// The unknown-token id (`unk_token`'s id, or Unigram's `unk_id`).
    pub fn unk_id(&self) -> Option<u32> {
        None
    }

    /// The model type, e.g. `WordPiece`.
    pub fn model_type(&self) -> &str {
        "pending"
    }
}
