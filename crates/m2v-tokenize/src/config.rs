//! Small helpers to read typed fields out of a parsed `tokenizer.json`, with errors that
//! name the JSON path of the field.

use crate::error::Error;
use crate::json::Value;

/// A format error at JSON path `at.key`.
pub(crate) fn bad(at: &str, key: &str, message: impl Into<String>) -> Error {
    let field = if key.is_empty() {
        at.to_string()
    } else if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    };
    Error::Format {
        path: None,
        field,
        message: message.into(),
    }
}

/// An unsupported component error.
pub(crate) fn unsupported(component: &str, kind: &str) -> Error {
    Error::Unsupported {
        path: None,
        component: component.to_string(),
        kind: kind.to_string(),
    }
}

/// The `type` string of a component object.
pub(crate) fn type_of<'a>(v: &'a Value, at: &str) -> Result<&'a str, Error> {
    match v.get("type") {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(bad(
            at,
            "type",
            format!("expected a string, found {}", other.type_name()),
        )),
        None => Err(bad(at, "type", "missing")),
    }
}

/// A boolean field; `default` when missing or null (an error when there is no default).
pub(crate) fn bool_or(
    v: &Value,
    at: &str,
    key: &str,
    default: Option<bool>,
) -> Result<bool, Error> {
    match v.get(key) {
        Some(Value::Bool(b)) => Ok(*b),
        None | Some(Value::Null) => default.ok_or_else(|| bad(at, key, "missing")),
        Some(other) => Err(bad(
            at,
            key,
            format!("expected a boolean, found {}", other.type_name()),
        )),
    }
}

/// An optional boolean field (`None` when missing or null).
pub(crate) fn opt_bool(v: &Value, at: &str, key: &str) -> Result<Option<bool>, Error> {
    match v.get(key) {
        Some(Value::Bool(b)) => Ok(Some(*b)),
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err(bad(
            at,
            key,
            format!("expected a boolean, found {}", other.type_name()),
        )),
    }
}

/// A required string field.
pub(crate) fn str_req<'a>(v: &'a Value, at: &str, key: &str) -> Result<&'a str, Error> {
    match v.get(key) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(bad(at, key, "missing")),
        Some(other) => Err(bad(
            at,
            key,
            format!("expected a string, found {}", other.type_name()),
        )),
    }
}

/// An optional string field (`None` when missing or null).
pub(crate) fn opt_str<'a>(v: &'a Value, at: &str, key: &str) -> Result<Option<&'a str>, Error> {
    match v.get(key) {
        Some(Value::String(s)) => Ok(Some(s)),
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err(bad(
            at,
            key,
            format!("expected a string, found {}", other.type_name()),
        )),
    }
}

/// An optional non-negative integer field.
pub(crate) fn opt_u64(v: &Value, at: &str, key: &str) -> Result<Option<u64>, Error> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(at, key, "expected a non-negative integer")),
    }
}

/// A required array field.
pub(crate) fn array<'a>(v: &'a Value, at: &str, key: &str) -> Result<&'a [Value], Error> {
    match v.get(key) {
        Some(Value::Array(a)) => Ok(a),
        None | Some(Value::Null) => Err(bad(at, key, "missing")),
        Some(other) => Err(bad(
            at,
            key,
            format!("expected an array, found {}", other.type_name()),
        )),
    }
}

/// Decodes standard base64 (with or without padding).
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    }
    let bytes = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for &c in bytes {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64_decode("aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("").as_deref(), Some(&b""[..]));
        assert_eq!(base64_decode("a$"), None);
    }
}
