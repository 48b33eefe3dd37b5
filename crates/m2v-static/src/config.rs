//! The model's `config.json` (or `config_sentence_transformers.json`), kept verbatim,
//! with the two fields inference reads.

use m2v_tokenize::json::{self, Value};

use crate::error::Error;

pub use m2v_tokenize::DEFAULT_MAX_LENGTH;

/// A parsed model config: the whole JSON object plus the values inference uses.
#[derive(Debug, Clone)]
pub struct Config {
    raw: Value,
    normalize: Option<bool>,
    max_length: Option<usize>,
}

impl Config {
    /// Parses config JSON. `normalize` must be a boolean or null (null reads as false,
    /// as in Python), `max_length` a non-negative integer or null (null disables
    /// truncation; a missing key means [`DEFAULT_MAX_LENGTH`]).
    pub fn parse(bytes: &[u8]) -> Result<Config, Error> {
        let err = |message: String| Error::Config {
            path: None,
            message,
        };
        let raw = json::parse_bytes(bytes).map_err(|e| err(e.to_string()))?;
        if raw.as_object().is_none() {
            return Err(err(format!(
                "a JSON {}, expected an object",
                raw.type_name()
            )));
        }
        let normalize = match raw.get("normalize") {
            None => None,
            Some(Value::Null) => Some(false),
            Some(Value::Bool(b)) => Some(*b),
            Some(v) => {
                return Err(err(format!(
                    "`normalize` is a {}, expected a boolean",
                    v.type_name()
                )));
            }
        };
        let max_length = match raw.get("max_length") {
            None => Some(DEFAULT_MAX_LENGTH),
            Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(|x| usize::try_from(x).ok())
                    .ok_or_else(|| {
                        err("`max_length` is not a non-negative integer or null".to_string())
                    })?,
            ),
        };
        Ok(Config {
            raw,
            normalize,
            max_length,
        })
    }

    /// The whole config object.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The `normalize` field (`None` when absent).
    pub fn normalize(&self) -> Option<bool> {
        self.normalize
    }

    /// The `max_length` field: 512 when absent, `None` when null.
    pub fn max_length(&self) -> Option<usize> {
        self.max_length
    }

    /// A string field, e.g. `embedding_dtype` or `tokenizer_name`.
    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.raw.get(key).and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_defaults() {
        let c = Config::parse(br#"{"normalize": true, "hidden_dim": 256}"#).unwrap();
        assert_eq!(c.normalize(), Some(true));
        assert_eq!(c.max_length(), Some(512));
        let c = Config::parse(br#"{"normalize": null, "max_length": null}"#).unwrap();
        assert_eq!(c.normalize(), Some(false));
        assert_eq!(c.max_length(), None);
        let c = Config::parse(br#"{"max_length": 16}"#).unwrap();
        assert_eq!((c.normalize(), c.max_length()), (None, Some(16)));
        for bad in [
            &br#"{"normalize": "yes"}"#[..],
            br#"{"max_length": -1}"#,
            b"[]",
            b"{",
        ] {
            assert!(matches!(Config::parse(bad), Err(Error::Config { .. })));
        }
    }
}
