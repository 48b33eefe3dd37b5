//! A hub access token that never shows up in logs, errors or `Debug` output.

use std::fmt;

/// A Hugging Face access token.
///
/// Invariant: the secret is only readable through [`Token::expose`], which the HTTP
/// layer calls to build the `Authorization` header; `Debug` prints `Token(<redacted>)`
/// and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token; `None` for an empty or blank string.
    pub fn new(secret: impl Into<String>) -> Option<Self> {
        let s: String = secret.into();
        let t = s.trim();
        (!t.is_empty()).then(|| Token(t.to_string()))
    }

    /// `$HF_TOKEN`, else `$HUGGING_FACE_HUB_TOKEN`, else the token file Python
    /// `huggingface_hub` writes at login (`$HF_TOKEN_PATH`, else `$HF_HOME/token`,
    /// else `~/.cache/huggingface/token`).
    pub fn from_env() -> Option<Self> {
        let var = |k: &str| std::env::var(k).ok().and_then(Token::new);
        if let Some(t) = var("HF_TOKEN").or_else(|| var("HUGGING_FACE_HUB_TOKEN")) {
            return Some(t);
        }
        let path = std::env::var_os("HF_TOKEN_PATH")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| crate::cache::hf_home().map(|h| h.join("token")))?;
        std::fs::read_to_string(path).ok().and_then(Token::new)
    }

    /// The secret itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let t = Token::new(" hf_secret123 ").unwrap();
        assert_eq!(t.expose(), "hf_secret123");
        let dbg = format!("{t:?} {:?}", Some(&t));
        assert!(!dbg.contains("secret"), "{dbg}");
        assert!(Token::new("  ").is_none());
    }
}
