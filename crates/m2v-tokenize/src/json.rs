//! A small, strict JSON parser for `tokenizer.json`, `config.json` and safetensors headers.
//!
//! Strict means RFC 8259: no comments, no trailing commas, no leading zeros, no
//! unescaped control characters, `\u` escapes with proper surrogate pairs, and nothing
//! but whitespace after the top-level value. Every error carries the 1-based line
//! and column of the offending byte. Nesting depth is bounded so that hostile input
//! cannot overflow the stack.
//!
//! Objects keep their keys in file order (a `Vec` of pairs): tokenizer.json files are
//! written by serde with a fixed order, and keeping it lets us write them back
//! unchanged. Lookups by key are linear, which is fine for the small objects of these
//! formats; big maps (a vocabulary) are consumed by iterating.

use std::fmt;
use std::ops::Range;

/// Maximum nesting depth accepted by [`parse`].
pub const MAX_DEPTH: usize = 256;

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, kept with its source text so integers above 2^53 stay exact.
    Number(Number),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, with its members in file order.
    Object(Vec<(String, Value)>),
}

/// A JSON number: the parsed `f64` plus an exact integer when the literal is one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number {
    /// The value as a double.
    pub f: f64,
    /// The value as an integer when the literal has no fraction or exponent and fits.
    pub i: Option<i64>,
}

/// Where and why parsing failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// 1-based line of the offending byte.
    pub line: usize,
    /// 1-based column (in bytes) of the offending byte.
    pub column: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

impl std::error::Error for JsonError {}

impl Value {
    /// The member `key` of an object, `None` for a missing key or a non-object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// The number as `f64`, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(n.f),
            _ => None,
        }
    }
    /// The number as `i64`, if this is an integer literal that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.i,
            _ => None,
        }
    }
    /// The number as `u64`, if this is a non-negative integer literal that fits.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_i64().and_then(|i| u64::try_from(i).ok())
    }
    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    /// The members in file order, if this is an object.
    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }
    /// `true` for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// A short name of the value's JSON type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

/// Parses a complete JSON document.
pub fn parse(text: &str) -> Result<Value, JsonError> {
    Ok(parse_lazy(text, &[])?.0)
}

/// What [`parse_lazy`] returns: the document with the skipped values as `null`, and
/// the byte range of each skipped value (one per path, `None` when absent).
pub type LazyDocument = (Value, Vec<Option<Range<usize>>>);

/// Parses a complete JSON document like [`parse`], except that the values found at the
/// object paths `skip` (keys from the root, e.g. `["model", "vocab"]`) are validated
/// but not built: they are left as [`Value::Null`] and their byte ranges in `text` are
/// returned, one entry per path (`None` when absent). Read them afterwards with
/// [`for_each_member`] or [`for_each_element`]: this keeps a large vocabulary from
/// ever existing as a tree of [`Value`]s.
pub fn parse_lazy(text: &str, skip: &[&[&str]]) -> Result<LazyDocument, JsonError> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
        depth: 0,
        skip,
        path: Vec::new(),
        found: vec![None; skip.len()],
    };
    p.skip_ws();
    let v = p.value()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.err("trailing characters after the JSON value"));
    }
    Ok((v, p.found))
}

/// Calls `f` with each member of the object at `range` of `text` (a range returned by
/// [`parse_lazy`]), in file order, parsing one value at a time. The key is lent from a
/// reused buffer.
pub fn for_each_member<E: From<JsonError>>(
    text: &str,
    range: Range<usize>,
    mut f: impl FnMut(&str, Value) -> Result<(), E>,
) -> Result<(), E> {
    let mut p = Parser::at(text, range.start);
    p.skip_ws();
    if p.peek() != Some(b'{') {
        return Err(p.err("expected an object").into());
    }
    p.pos += 1;
    p.skip_ws();
    if p.peek() == Some(b'}') {
        return Ok(());
    }
    let mut key = String::new();
    loop {
        p.skip_ws();
        if p.peek() != Some(b'"') {
            return Err(p.err("expected a string key in object").into());
        }
        key.clear();
        p.string_into(&mut key)?;
        p.skip_ws();
        if p.peek() != Some(b':') {
            return Err(p.err("expected ':' after object key").into());
        }
        p.pos += 1;
        p.skip_ws();
        let v = p.value()?;
        f(&key, v)?;
        p.skip_ws();
        match p.peek() {
            Some(b',') => p.pos += 1,
            Some(b'}') => return Ok(()),
            _ => return Err(p.err("expected ',' or '}' in object").into()),
        }
    }
}

/// Calls `f` with each element of the array at `range` of `text` (a range returned by
/// [`parse_lazy`]), in order, parsing one element at a time.
pub fn for_each_element<E: From<JsonError>>(
    text: &str,
    range: Range<usize>,
    mut f: impl FnMut(Value) -> Result<(), E>,
) -> Result<(), E> {
    let mut p = Parser::at(text, range.start);
    p.skip_ws();
    if p.peek() != Some(b'[') {
        return Err(p.err("expected an array").into());
    }
    p.pos += 1;
    p.skip_ws();
    if p.peek() == Some(b']') {
        return Ok(());
    }
    loop {
        p.skip_ws();
        let v = p.value()?;
        f(v)?;
        p.skip_ws();
        match p.peek() {
            Some(b',') => p.pos += 1,
            Some(b']') => return Ok(()),
            _ => return Err(p.err("expected ',' or ']' in array").into()),
        }
    }
}

/// Parses a complete JSON document from bytes, which must be UTF-8.
pub fn parse_bytes(bytes: &[u8]) -> Result<Value, JsonError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => parse(s),
        Err(e) => {
            let mut p = Parser::at("", 0);
            p.s = bytes;
            p.pos = e.valid_up_to();
            Err(p.err("invalid UTF-8"))
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
    /// Object paths whose values are skipped (see [`parse_lazy`]).
    skip: &'a [&'a [&'a str]],
    /// Keys from the root to the current value while every ancestor is an object
    /// (only maintained when `skip` is not empty).
    path: Vec<String>,
    found: Vec<Option<Range<usize>>>,
}

impl<'a> Parser<'a> {
    fn at(text: &'a str, pos: usize) -> Parser<'a> {
        Parser {
            s: text.as_bytes(),
            pos,
            depth: 0,
            skip: &[],
            path: Vec::new(),
            found: Vec::new(),
        }
    }

    /// The index of the skip path equal to `self.path`, if any.
    fn skipped(&self) -> Option<usize> {
        self.skip.iter().position(|p| {
            p.len() == self.path.len() && p.iter().zip(&self.path).all(|(a, b)| a == b)
        })
    }

    /// Validates one value without building it.
    fn skip_value(&mut self) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                loop {
                    match self.peek() {
                        None => return Err(self.err("unterminated string")),
                        Some(b'"') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        Some(b'\\') => {
                            self.pos += 1;
                            match self.peek() {
                                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                                    self.pos += 1;
                                }
                                Some(b'u') => {
                                    self.pos += 1;
                                    self.hex4()?;
                                }
                                _ => return Err(self.err("invalid escape")),
                            }
                        }
                        Some(b) if b < 0x20 => {
                            return Err(self.err("unescaped control character in string"));
                        }
                        Some(_) => self.pos += 1,
                    }
                }
            }
            Some(b'[') => {
                self.enter()?;
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    self.skip_value()?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            self.depth -= 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("expected ',' or ']' in array")),
                    }
                }
            }
            Some(b'{') => {
                self.enter()?;
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected a string key in object"));
                    }
                    self.skip_value()?;
                    self.skip_ws();
                    if self.peek() != Some(b':') {
                        return Err(self.err("expected ':' after object key"));
                    }
                    self.pos += 1;
                    self.skip_ws();
                    self.skip_value()?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            self.depth -= 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("expected ',' or '}' in object")),
                    }
                }
            }
            _ => self.value().map(|_| ()),
        }
    }

    fn err(&self, message: &str) -> JsonError {
        let upto = &self.s[..self.pos.min(self.s.len())];
        let line = 1 + upto.iter().filter(|&&b| b == b'\n').count();
        let line_start = upto.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        JsonError {
            line,
            column: 1 + upto.len() - line_start,
            message: message.to_string(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect_lit(&mut self, lit: &[u8], v: Value) -> Result<Value, JsonError> {
        if self.s[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            Ok(v)
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn value(&mut self) -> Result<Value, JsonError> {
        match self.peek() {
            None => Err(self.err("unexpected end of input")),
            Some(b'n') => self.expect_lit(b"null", Value::Null),
            Some(b't') => self.expect_lit(b"true", Value::Bool(true)),
            Some(b'f') => self.expect_lit(b"false", Value::Bool(false)),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b'[') => self.array(),
            Some(b'{') => self.object(),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expected a JSON value")),
        }
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        Ok(())
    }

    fn array(&mut self) -> Result<Value, JsonError> {
        self.enter()?;
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Array(items));
        }
        let tracking = !self.skip.is_empty();
        if tracking {
            self.path.push(String::from("\u{0}[]"));
        }
        loop {
            self.skip_ws();
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                None => return Err(self.err("unexpected end of input in array")),
                Some(_) => return Err(self.err("expected ',' or ']' in array")),
            }
        }
        if tracking {
            self.path.pop();
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    fn object(&mut self) -> Result<Value, JsonError> {
        self.enter()?;
        self.pos += 1; // '{'
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a string key in object"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expected ':' after object key"));
            }
            self.pos += 1;
            self.skip_ws();
            let v = if self.skip.is_empty() {
                self.value()?
            } else {
                self.path.push(key.clone());
                let v = match self.skipped() {
                    Some(i) => {
                        let start = self.pos;
                        self.skip_value()?;
                        self.found[i] = Some(start..self.pos);
                        Value::Null
                    }
                    None => self.value()?,
                };
                self.path.pop();
                v
            };
            members.push((key, v));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                None => return Err(self.err("unexpected end of input in object")),
                Some(_) => return Err(self.err("expected ',' or '}' in object")),
            }
        }
        self.depth -= 1;
        Ok(Value::Object(members))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.err("invalid \\u escape")),
            };
            v = v * 16 + u32::from(d);
            self.pos += 1;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        let mut out = String::new();
        self.string_into(&mut out)?;
        Ok(out)
    }

    /// Parses a string literal, appending its contents to `out`.
    fn string_into(&mut self, out: &mut String) -> Result<(), JsonError> {
        self.pos += 1; // opening quote
        loop {
            // Fast path: copy a run of plain bytes at once. The input is valid UTF-8
            // and '"' / '\\' are ASCII, so the run ends on a char boundary.
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            if self.pos > start {
                match std::str::from_utf8(&self.s[start..self.pos]) {
                    Ok(run) => out.push_str(run),
                    Err(_) => return Err(self.err("invalid UTF-8 in string")),
                }
            }
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.peek().ok_or_else(|| self.err("unterminated escape"))?;
                    self.pos += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                if self.s[self.pos..].starts_with(b"\\u") {
                                    self.pos += 2;
                                    let lo = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&lo) {
                                        return Err(self.err("invalid low surrogate"));
                                    }
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    return Err(self.err("unpaired high surrogate"));
                                }
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(self.err("unpaired low surrogate"));
                            } else {
                                hi
                            };
                            match char::from_u32(cp) {
                                Some(ch) => out.push(ch),
                                None => return Err(self.err("invalid code point")),
                            }
                        }
                        _ => {
                            self.pos -= 1;
                            return Err(self.err("invalid escape"));
                        }
                    }
                }
                Some(_) => return Err(self.err("unescaped control character in string")),
            }
        }
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return Err(self.err("leading zeros are not allowed"));
                }
            }
            Some(b'1'..=b'9') => {
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.pos += 1;
                }
            }
            _ => return Err(self.err("invalid number")),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("expected digits after '.'"));
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.pos += 1;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("expected digits in exponent"));
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.pos += 1;
            }
        }
        // The slice is ASCII by construction.
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("0");
        let f: f64 = text.parse().map_err(|_| self.err("invalid number"))?;
        let i = if integer {
            text.parse::<i64>().ok()
        } else {
            None
        };
        Ok(Value::Number(Number { f, i }))
    }
}

/// Writes `s` as a JSON string literal (with quotes) to `out`, escaping as serde_json does
/// (non-ASCII characters written as they are).
pub fn write_string(out: &mut String, s: &str) {
    escape(out, s, false);
}

/// The one JSON string escaper: quotes, backslash and control characters always;
/// with `ascii_only`, every non-ASCII character as `\uXXXX` (astral ones as a surrogate
/// pair), as Python's `json.dumps(..., ensure_ascii=True)` writes them.
fn escape(out: &mut String, s: &str, ascii_only: bool) {
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
            c if (c as u32) < 0x20 || (ascii_only && (c as u32) > 0x7e) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Serialises a value as Python's `json.dump(value, f, indent=4)` writes it: members in
/// stored order, `", "`-free line ends, `": "` after keys, non-ASCII escaped, integers as
/// they are and floats in Python's `repr` form ([`python_float_repr`]). `config.json`
/// and `modules.json` of a saved model are written this way, so that our folders are
/// byte-identical to Python `model2vec`'s.
pub fn to_python_string(v: &Value) -> String {
    let mut out = String::new();
    write_python(&mut out, v, 0);
    out
}

fn python_newline(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level * 4 {
        out.push(' ');
    }
}

fn write_python(out: &mut String, v: &Value, level: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.i {
            Some(i) => out.push_str(&i.to_string()),
            None => out.push_str(&python_float_repr(n.f)),
        },
        Value::String(s) => escape(out, s, true),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                python_newline(out, level + 1);
                write_python(out, item, level + 1);
            }
            python_newline(out, level);
            out.push(']');
        }
        Value::Object(members) => {
            if members.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (k, (key, item)) in members.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                python_newline(out, level + 1);
                escape(out, key, true);
                out.push_str(": ");
                write_python(out, item, level + 1);
            }
            python_newline(out, level);
            out.push('}');
        }
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed notation when
/// the decimal exponent is in `[-4, 16)`, else `d.ddde±XX`; `NaN`/`Infinity` as `json`
/// writes them.
pub fn python_float_repr(f: f64) -> String {
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

impl Value {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// An integer value (written without a fraction).
    pub fn int(i: i64) -> Value {
        Value::Number(Number {
            f: i as f64,
            i: Some(i),
        })
    }

    /// A float value (written with a fraction or an exponent, as Python writes floats).
    pub fn float(f: f64) -> Value {
        Value::Number(Number { f, i: None })
    }

    /// Sets `key` of an object: replaces the value in place when the key exists (keeping
    /// its position, as a Python dict does), else appends the member. No-op on a non-object.
    pub fn set(&mut self, key: &str, value: Value) {
        if let Value::Object(members) = self {
            match members.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => members.push((key.to_string(), value)),
            }
        }
    }

    /// Removes `key` from an object, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        if let Value::Object(members) = self {
            let i = members.iter().position(|(k, _)| k == key)?;
            return Some(members.remove(i).1);
        }
        None
    }
}

/// Serialises a value compactly (no whitespace), members in stored order.
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.i {
            Some(i) => out.push_str(&i.to_string()),
            None if n.f.is_finite() => {
                let s = format!("{:?}", n.f);
                out.push_str(&s);
            }
            None => out.push_str("null"),
        },
        Value::String(s) => write_string(out, s),
        Value::Array(a) => {
            out.push('[');
            for (k, x) in a.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                write_value(out, x);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (k, (key, x)) in o.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, x);
            }
            out.push('}');
        }
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
            assert_eq!(python_float_repr(x), want, "{x}");
        }
    }

    #[test]
    fn indent4_like_python_json_dump() {
        let v = Value::Object(vec![
            ("model_type".into(), Value::string("model2vec")),
            (
                "architectures".into(),
                Value::Array(vec![Value::string("StaticModel")]),
            ),
            ("x".into(), Value::Array(vec![])),
            ("name".into(), Value::string("caf\u{e9} \u{1f600}\"")),
            ("n".into(), Value::Null),
            ("f".into(), Value::float(256.0)),
            ("i".into(), Value::int(256)),
        ]);
        // Expected: Python `json.dumps(v, indent=4)` with f=256.0 and i=256.
        assert_eq!(
            to_python_string(&v),
            "{\n    \"model_type\": \"model2vec\",\n    \"architectures\": [\n        \"StaticModel\"\n    ],\n    \"x\": [],\n    \"name\": \"caf\\u00e9 \\ud83d\\ude00\\\"\",\n    \"n\": null,\n    \"f\": 256.0,\n    \"i\": 256\n}"
        );
        let mut cfg = v.clone();
        cfg.set("n", Value::Bool(true));
        cfg.set("new", Value::int(1));
        assert_eq!(cfg.remove("x"), Some(Value::Array(vec![])));
        let keys: Vec<&str> = cfg
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            keys,
            ["model_type", "architectures", "name", "n", "f", "i", "new"]
        );
    }

    fn ok(s: &str) -> Value {
        parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn bad(s: &str) -> JsonError {
        match parse(s) {
            Ok(v) => panic!("{s:?} parsed as {v:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn scalars() {
        assert_eq!(ok("null"), Value::Null);
        assert_eq!(ok(" true "), Value::Bool(true));
        assert_eq!(ok("-12").as_i64(), Some(-12));
        assert_eq!(ok("1.5e2").as_f64(), Some(150.0));
        assert_eq!(ok("1.5e2").as_i64(), None);
        assert_eq!(ok("9007199254740993").as_i64(), Some(9_007_199_254_740_993));
        assert_eq!(
            ok(r#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#).as_str(),
            Some("a\"\\/\u{8}\u{c}\n\r\té😀")
        );
    }

    #[test]
    fn containers_keep_order() {
        let v = ok(r#"{"b": [1, {"x": null}], "a": {}}"#);
        let keys: Vec<&str> = v
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(v.get("b").unwrap().as_array().unwrap().len(), 2);
        assert_eq!(to_string(&v), r#"{"b":[1,{"x":null}],"a":{}}"#);
    }

    #[test]
    fn errors_have_positions() {
        let e = bad("{\n  \"a\": 1,\n}");
        assert_eq!((e.line, e.column), (3, 1), "{e}");
        for s in [
            "",
            "[1,]",
            "01",
            "1.",
            "-",
            "\"\\x\"",
            "\"\u{1}\"",
            "[1] 2",
            "{\"a\" 1}",
            "\"\\ud800\"",
            "nul",
            "[",
            "{\"a\":",
            "\"abc",
        ] {
            bad(s);
        }
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(bad(&deep).message, "nesting too deep");
    }

    #[test]
    fn lazy_parsing() {
        let text = r#"{"model": {"type": "X", "vocab": {"a\u00e9": 1, "b": [2, {"c": "]"}]}}, "vocab": 3}"#;
        let (v, found) = parse_lazy(text, &[&["model", "vocab"], &["nope"]]).unwrap();
        assert_eq!(v.get("model").unwrap().get("vocab"), Some(&Value::Null));
        assert_eq!(v.get("vocab").and_then(Value::as_i64), Some(3));
        assert_eq!(found[1], None);
        let r = found[0].clone().unwrap();
        assert_eq!(&text[r.clone()], r#"{"a\u00e9": 1, "b": [2, {"c": "]"}]}"#);
        let mut seen = Vec::new();
        for_each_member::<JsonError>(text, r, |k, v| {
            seen.push((k.to_string(), v));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].0, "aé");
        let mut n = 0;
        for_each_element::<JsonError>("[1, [2], {}]", 0..12, |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 3);
        // Skipped values are still validated.
        assert!(parse_lazy(r#"{"v": [1,]}"#, &[&["v"]]).is_err());
        assert!(parse_lazy(r#"{"v": "\x"}"#, &[&["v"]]).is_err());
    }

    #[test]
    fn round_trip_escapes() {
        let s = "tab\tq\"\u{1f}é";
        let mut out = String::new();
        write_string(&mut out, s);
        assert_eq!(ok(&out).as_str(), Some(s));
    }
}
