//! JSON written byte-for-byte as Python's `json.dump(obj, f, indent=4)` writes it.
//!
//! `config.json` and `modules.json` of a saved model are written by Python `model2vec`
//! with the standard library's `json` module: `indent=4`, `", "`/`": "` separators
//! (`","` at line ends), `ensure_ascii=True` (every non-ASCII character as `\uXXXX`,
//! astral ones as surrogate pairs) and floats in Python's `repr` form (`0.0001`,
//! `1e-05`, `256.0`). Writing the same bytes keeps our folders diff-equal to the
//! reference's.

/// A JSON value in the shape Python's `json` module sees it (dicts keep insertion order).
#[derive(Debug, Clone, PartialEq)]
pub enum PyJson {
    /// `None`
    Null,
    /// `True` / `False`
    Bool(bool),
    /// A Python `int`.
    Int(i64),
    /// A Python `float`.
    Float(f64),
    /// A Python `str`.
    Str(String),
    /// A Python `list`.
    List(Vec<PyJson>),
    /// A Python `dict`, members in insertion order.
    Dict(Vec<(String, PyJson)>),
}

impl PyJson {
    /// A string value.
    pub fn str(s: impl Into<String>) -> PyJson {
        PyJson::Str(s.into())
    }
}

/// `json.dumps(value, indent=4)`.
pub fn dumps_indent4(value: &PyJson) -> String {
    let mut out = String::new();
    write(&mut out, value, 0);
    out
}

fn newline(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level * 4 {
        out.push(' ');
    }
}

fn write(out: &mut String, v: &PyJson, level: usize) {
    match v {
        PyJson::Null => out.push_str("null"),
        PyJson::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        PyJson::Int(i) => out.push_str(&i.to_string()),
        PyJson::Float(f) => out.push_str(&float_repr(*f)),
        PyJson::Str(s) => write_str(out, s),
        PyJson::List(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write(out, item, level + 1);
            }
            newline(out, level);
            out.push(']');
        }
        PyJson::Dict(members) => {
            if members.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (k, (key, item)) in members.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write_str(out, key);
                out.push_str(": ");
                write(out, item, level + 1);
            }
            newline(out, level);
            out.push('}');
        }
    }
}

/// A string literal as `json.dumps(..., ensure_ascii=True)` writes it.
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed notation when
/// the decimal exponent is in `[-4, 16)`, else `d.ddde±XX`; `NaN`/`Infinity` as `json` writes them.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e-5".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        let body = if exp < 0 {
            format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        } else if exp + 1 >= n {
            format!("{}{}.0", digits, "0".repeat((exp + 1 - n) as usize))
        } else {
            let (a, b) = digits.split_at((exp + 1) as usize);
            format!("{a}.{b}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let m = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{esign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_python_repr() {
        // Expected values: Python 3.11 `repr(x)`.
        for (x, want) in [
            (0.0001, "0.0001"),
            (1e-5, "1e-05"),
            (0.9, "0.9"),
            (256.0, "256.0"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (123456789012345.6, "123456789012345.6"),
            (-0.5, "-0.5"),
            (0.00012345, "0.00012345"),
            (1e22, "1e+22"),
        ] {
            assert_eq!(float_repr(x), want, "{x}");
        }
    }

    #[test]
    fn indent4_like_json_dump() {
        let v = PyJson::Dict(vec![
            ("model_type".into(), PyJson::str("model2vec")),
            (
                "architectures".into(),
                PyJson::List(vec![PyJson::str("StaticModel")]),
            ),
            ("x".into(), PyJson::List(vec![])),
            ("name".into(), PyJson::str("caf\u{e9} \u{1f600}\"")),
            ("n".into(), PyJson::Null),
        ]);
        // Expected: Python `json.dumps(v, indent=4)`.
        assert_eq!(
            dumps_indent4(&v),
            "{\n    \"model_type\": \"model2vec\",\n    \"architectures\": [\n        \"StaticModel\"\n    ],\n    \"x\": [],\n    \"name\": \"caf\\u00e9 \\ud83d\\ude00\\\"\",\n    \"n\": null\n}"
        );
    }
}
