//! Text to teacher input ids: the one place that talks to `m2v_tokenize`.

use std::path::Path;

use m2v_tokenize::Tokenizer;

use crate::error::Error;

/// The folder's tokenizer, applied as sentence-transformers does (specials added,
/// truncation that keeps them). The padding and truncation settings stored in
/// `tokenizer.json` are not used: batches are padded by the teacher itself.
#[derive(Debug)]
pub(crate) struct TextEncoder {
    tokenizer: Tokenizer,
}

impl TextEncoder {
    /// Loads `tokenizer.json`.
    pub(crate) fn load(path: &Path) -> Result<Self, Error> {
        if !path.is_file() {
            return Err(Error::NoTokenizer {
                path: path.to_path_buf(),
                message: "file not found".to_string(),
            });
        }
        Ok(Self {
            tokenizer: Tokenizer::from_file(path)?,
        })
    }

    /// Ids of `text` with the post-processor's specials, at most `max` ids in all: the
    /// text's ids are cut to `max - specials` (HF `longest_first` truncation of one
    /// sequence), the specials always kept.
    pub(crate) fn encode(&self, text: &str, max: usize) -> Vec<u32> {
        let prefix = self.tokenizer.special_prefix();
        let suffix = self.tokenizer.special_suffix();
        let room = max.saturating_sub(prefix.len() + suffix.len());
        let mut out = Vec::with_capacity(prefix.len() + suffix.len() + 16);
        out.extend_from_slice(prefix);
        self.tokenizer.encode_into(text, Some(room), &mut out);
        out.extend_from_slice(suffix);
        out
    }
}
