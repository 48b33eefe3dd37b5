//! Post-processors: the special tokens put around a single sequence.

use crate::config::{bad, type_of, unsupported};
use crate::error::Error;
use crate::json::Value;

/// The ids a post-processor puts before and after one sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Specials {
    pub(crate) prefix: Vec<u32>,
    pub(crate) suffix: Vec<u32>,
}

fn pair_id(v: &Value, at: &str, key: &str) -> Result<u32, Error> {
    match v.get(key).and_then(Value::as_array) {
        Some([Value::String(_), id]) => id
            .as_u64()
            .map(|i| i as u32)
            .ok_or_else(|| bad(at, key, "expected [token, id]")),
        _ => Err(bad(at, key, "expected [token, id]")),
    }
}

impl Specials {
    /// Reads the `post_processor` value at JSON path `at` (`null` gives no specials).
    pub(crate) fn from_json(v: &Value, at: &str) -> Result<Specials, Error> {
        if v.is_null() {
            return Ok(Specials::default());
        }
        match type_of(v, at)? {
            "BertProcessing" | "RobertaProcessing" => Ok(Specials {
                prefix: vec![pair_id(v, at, "cls")?],
                suffix: vec![pair_id(v, at, "sep")?],
            }),
            "ByteLevel" => Ok(Specials::default()),
            "TemplateProcessing" => {
                let single = crate::config::array(v, at, "single")?;
                let specials = v.get("special_tokens");
                let mut out = Specials::default();
                let mut seen_sequence = false;
                for (i, piece) in single.iter().enumerate() {
                    if piece.get("Sequence").is_some() {
                        seen_sequence = true;
                        continue;
                    }
                    let name = piece
                        .get("SpecialToken")
                        .and_then(|s| s.get("id"))
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            bad(
                                at,
                                &format!("single[{i}]"),
                                "expected a SpecialToken or Sequence",
                            )
                        })?;
                    let ids = specials
                        .and_then(|s| s.get(name))
                        .and_then(|s| s.get("ids"))
                        .and_then(Value::as_array)
                        .ok_or_else(|| bad(at, "special_tokens", format!("`{name}` has no ids")))?;
                    for id in ids {
                        let id = id
                            .as_u64()
                            .ok_or_else(|| bad(at, "special_tokens", format!("`{name}`: bad id")))?
                            as u32;
                        if seen_sequence {
                            out.suffix.push(id);
                        } else {
                            out.prefix.push(id);
                        }
                    }
                }
                Ok(out)
            }
            "Sequence" => {
                let list = crate::config::array(v, at, "processors")?;
                let mut out = Specials::default();
                for (i, p) in list.iter().enumerate() {
                    let s = Specials::from_json(p, &format!("{at}.processors[{i}]"))?;
                    // Each processor wraps what the previous one produced.
                    let mut prefix = s.prefix;
                    prefix.extend_from_slice(&out.prefix);
                    out.prefix = prefix;
                    out.suffix.extend(s.suffix);
                }
                Ok(out)
            }
            other => Err(unsupported("post_processor", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str, prefix: &[u32], suffix: &[u32]) {
        let v = crate::json::parse(json).unwrap();
        let s = Specials::from_json(&v, "post_processor").unwrap();
        assert_eq!(
            (s.prefix.as_slice(), s.suffix.as_slice()),
            (prefix, suffix),
            "{json}"
        );
    }

    #[test]
    fn processors() {
        check(
            r#"{"type":"BertProcessing","sep":["[SEP]",102],"cls":["[CLS]",101]}"#,
            &[101],
            &[102],
        );
        check(
            r#"{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}}],"pair":[],"special_tokens":{"<s>":{"id":"<s>","ids":[0],"tokens":["<s>"]},"</s>":{"id":"</s>","ids":[2],"tokens":["</s>"]}}}"#,
            &[0],
            &[2],
        );
        check("null", &[], &[]);
    }
}
