//! The WordLevel model: one id per word, or the unknown token.

use crate::vocab::Vocab;

/// HF `WordLevel`.
#[derive(Debug, Clone)]
pub(crate) struct WordLevel {
    pub(crate) vocab: Vocab,
    pub(crate) unk_id: Option<u32>,
}

impl WordLevel {
    /// Appends the id of one word (nothing when neither the word nor the unknown token
    /// is in the vocabulary, where HF fails).
    pub(crate) fn tokenize(&self, word: &str, out: &mut Vec<u32>) {
        if let Some(id) = self.vocab.get(word).or(self.unk_id) {
            out.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words() {
        let vocab = Vocab::from_list(["<unk>", "hello"].iter().copied(), false).unwrap();
        let m = WordLevel {
            vocab,
            unk_id: Some(0),
        };
        let mut out = Vec::new();
        m.tokenize("hello", &mut out);
        m.tokenize("world", &mut out);
        assert_eq!(out, [1, 0]);
    }
}
