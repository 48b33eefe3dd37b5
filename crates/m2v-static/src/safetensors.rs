//! A small, strict reader and writer for the safetensors format.
//!
//! Layout of a file: an 8-byte little-endian header length `N`, `N` bytes of JSON
//! (`{"name": {"dtype": "F32", "shape": [r, c], "data_offsets": [begin, end]}, ...,
//! "__metadata__": {"k": "v"}}`, possibly padded with spaces), then the data buffer;
//! offsets are relative to the start of the data buffer.
//!
//! [`read_header`] validates everything before any tensor data is touched: the header
//! length against the file size, the JSON, every dtype, that every shape's element count
//! times the dtype size equals the byte range (with overflow checks), that every
//! range lies inside the file, that no name is listed twice, and, as the reference
//! reader does, that the ranges tile the data buffer exactly (no overlap, no hole, no
//! trailing bytes). After a successful parse, [`TensorInfo::start`] and
//! [`TensorInfo::end`] are absolute, in-bounds byte offsets into the buffer that was
//! parsed.

use m2v_tokenize::json::{self, Number, Value};

use crate::error::Error;

/// The largest header accepted (the reference implementation's limit).
pub const MAX_HEADER_LEN: u64 = 100_000_000;

/// An element type of a safetensors tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dtype {
    /// `BOOL`, one byte.
    Bool,
    /// `U8`
    U8,
    /// `I8`
    I8,
    /// `I16`
    I16,
    /// `U16`
    U16,
    /// `F16` (IEEE 754 binary16)
    F16,
    /// `BF16` (bfloat16)
    BF16,
    /// `I32`
    I32,
    /// `U32`
    U32,
    /// `F32`
    F32,
    /// `F64`
    F64,
    /// `I64`
    I64,
    /// `U64`
    U64,
    /// `F8_E4M3`
    F8E4M3,
    /// `F8_E5M2`
    F8E5M2,
}

impl Dtype {
    /// Parses a safetensors dtype name (`"F32"`, `"I8"`, ...).
    pub fn from_name(name: &str) -> Option<Dtype> {
        Some(match name {
            "BOOL" => Dtype::Bool,
            "U8" => Dtype::U8,
            "I8" => Dtype::I8,
            "I16" => Dtype::I16,
            "U16" => Dtype::U16,
            "F16" => Dtype::F16,
            "BF16" => Dtype::BF16,
            "I32" => Dtype::I32,
            "U32" => Dtype::U32,
            "F32" => Dtype::F32,
            "F64" => Dtype::F64,
            "I64" => Dtype::I64,
            "U64" => Dtype::U64,
            "F8_E4M3" => Dtype::F8E4M3,
            "F8_E5M2" => Dtype::F8E5M2,
            _ => return None,
        })
    }

    /// The safetensors name of the dtype.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Bool => "BOOL",
            Dtype::U8 => "U8",
            Dtype::I8 => "I8",
            Dtype::I16 => "I16",
            Dtype::U16 => "U16",
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
            Dtype::I32 => "I32",
            Dtype::U32 => "U32",
            Dtype::F32 => "F32",
            Dtype::F64 => "F64",
            Dtype::I64 => "I64",
            Dtype::U64 => "U64",
            Dtype::F8E4M3 => "F8_E4M3",
            Dtype::F8E5M2 => "F8_E5M2",
        }
    }

    /// The numpy name of the dtype, as Python model2vec writes it in `embedding_dtype`.
    pub fn numpy_name(self) -> &'static str {
        match self {
            Dtype::Bool => "bool",
            Dtype::U8 => "uint8",
            Dtype::I8 => "int8",
            Dtype::I16 => "int16",
            Dtype::U16 => "uint16",
            Dtype::F16 => "float16",
            Dtype::BF16 => "bfloat16",
            Dtype::I32 => "int32",
            Dtype::U32 => "uint32",
            Dtype::F32 => "float32",
            Dtype::F64 => "float64",
            Dtype::I64 => "int64",
            Dtype::U64 => "uint64",
            Dtype::F8E4M3 => "float8_e4m3",
            Dtype::F8E5M2 => "float8_e5m2",
        }
    }

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            Dtype::Bool | Dtype::U8 | Dtype::I8 | Dtype::F8E4M3 | Dtype::F8E5M2 => 1,
            Dtype::I16 | Dtype::U16 | Dtype::F16 | Dtype::BF16 => 2,
            Dtype::I32 | Dtype::U32 | Dtype::F32 => 4,
            Dtype::F64 | Dtype::I64 | Dtype::U64 => 8,
        }
    }
}

impl Dtype {
    /// The dtype's place in the Python `safetensors` library's `Dtype` enum, whose
    /// derived order decides the order of tensors in a file it writes (widest rank first).
    fn library_rank(self) -> u8 {
        match self {
            Dtype::Bool => 0,
            Dtype::F8E5M2 => 2,
            Dtype::F8E4M3 => 3,
            Dtype::U8 => 4,
            Dtype::I8 => 5,
            Dtype::I16 => 9,
            Dtype::U16 => 10,
            Dtype::F16 => 11,
            Dtype::BF16 => 12,
            Dtype::I32 => 13,
            Dtype::U32 => 14,
            Dtype::F32 => 15,
            Dtype::F64 => 16,
            Dtype::I64 => 17,
            Dtype::U64 => 18,
        }
    }

    /// The dtypes a model2vec embedding matrix is stored in by `quantize_to`
    /// (Python's `model2vec.quantization.DType`).
    pub const STORABLE: [Dtype; 4] = [Dtype::F16, Dtype::F32, Dtype::F64, Dtype::I8];
}

/// Parses a dtype from its safetensors name (`F16`), its numpy name (`float16`, as
/// Python model2vec's `quantize_to` and `embedding_dtype` spell it) or the short
/// lowercase form (`f16`, `i8`), case-insensitively.
impl std::str::FromStr for Dtype {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if let Some(d) = Dtype::from_name(&t.to_ascii_uppercase()) {
            return Ok(d);
        }
        let lower = t.to_ascii_lowercase();
        let all = [
            Dtype::Bool,
            Dtype::U8,
            Dtype::I8,
            Dtype::I16,
            Dtype::U16,
            Dtype::F16,
            Dtype::BF16,
            Dtype::I32,
            Dtype::U32,
            Dtype::F32,
            Dtype::F64,
            Dtype::I64,
            Dtype::U64,
            Dtype::F8E4M3,
            Dtype::F8E5M2,
        ];
        all.into_iter()
            .find(|d| d.numpy_name() == lower)
            .ok_or_else(|| {
                format!("unknown dtype `{s}` (float16, float32, float64, int8, or f16, f32, f64, i8, ...)")
            })
    }
}

impl std::fmt::Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One tensor's entry in a parsed header (made by [`read_header`] only; more fields may
/// come).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TensorInfo {
    /// The tensor's name.
    pub name: String,
    /// Its element type.
    pub dtype: Dtype,
    /// Its shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// Absolute byte offset of its first byte in the parsed buffer.
    pub start: usize,
    /// Absolute byte offset one past its last byte (`end - start` = elements × dtype size).
    pub end: usize,
}

impl TensorInfo {
    /// The tensor's bytes in `file`, the buffer the header was parsed from (`None` when
    /// `file` is too short, i.e. it is not that buffer).
    pub fn data<'b>(&self, file: &'b [u8]) -> Option<&'b [u8]> {
        file.get(self.start..self.end)
    }

    /// The number of elements (product of the shape).
    pub fn len(&self) -> usize {
        (self.end - self.start) / self.dtype.size()
    }

    /// `true` when the tensor has no element.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// A parsed and validated safetensors header (made by [`read_header`] only; more fields
/// may come).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Header {
    /// The tensors, in header order.
    pub tensors: Vec<TensorInfo>,
    /// The `__metadata__` string map, in header order.
    pub metadata: Vec<(String, String)>,
    /// Absolute offset of the data buffer (8 + header length).
    pub data_start: usize,
}

impl Header {
    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }
}

fn bad(message: impl Into<String>) -> Error {
    Error::Safetensors {
        path: None,
        message: message.into(),
    }
}

/// Parses and validates the header of a safetensors file held in `file`.
///
/// No tensor data is read. Errors carry no path; callers attach one.
pub fn read_header(file: &[u8]) -> Result<Header, Error> {
    let Some((len_bytes, rest)) = file.split_first_chunk::<8>() else {
        return Err(bad(format!(
            "file is {} bytes, shorter than the 8-byte header length",
            file.len()
        )));
    };
    let n = u64::from_le_bytes(*len_bytes);
    if n > MAX_HEADER_LEN {
        return Err(bad(format!(
            "header length {n} exceeds the limit of {MAX_HEADER_LEN} bytes"
        )));
    }
    if n > rest.len() as u64 {
        return Err(bad(format!(
            "header length {n} exceeds the {} bytes after the length field",
            rest.len()
        )));
    }
    let n = n as usize;
    let (head, data) = rest.split_at(n);
    let value = json::parse_bytes(head).map_err(|e| bad(format!("header JSON: {e}")))?;
    let Some(members) = value.as_object() else {
        return Err(bad(format!(
            "header is a JSON {}, expected an object",
            value.type_name()
        )));
    };
    let data_start = 8 + n;
    let mut seen = std::collections::HashSet::with_capacity(members.len());
    let mut header = Header {
        tensors: Vec::with_capacity(members.len()),
        metadata: Vec::new(),
        data_start,
    };
    for (name, v) in members {
        if name == "__metadata__" {
            let Some(m) = v.as_object() else {
                return Err(bad("`__metadata__` is not an object"));
            };
            for (k, x) in m {
                let Some(s) = x.as_str() else {
                    return Err(bad(format!("`__metadata__.{k}` is not a string")));
                };
                header.metadata.push((k.clone(), s.to_string()));
            }
            continue;
        }
        if !seen.insert(name.as_str()) {
            return Err(bad(format!("tensor `{name}` is listed twice")));
        }
        header
            .tensors
            .push(tensor_info(name, v, data.len(), data_start)?);
    }
    check_layout(&header.tensors, data_start, data.len())?;
    Ok(header)
}

/// The reference reader's rule (`safetensors`' `Metadata::validate`): sorted by their
/// offsets, the tensors tile the data buffer exactly, from its first byte to its last.
/// Overlapping tensors (two names over the same bytes: a write through one would
/// change the other) and holes or trailing bytes (data no tensor owns, e.g. an
/// appended payload) are errors. O(n log n) in the number of tensors.
fn check_layout(tensors: &[TensorInfo], data_start: usize, data_len: usize) -> Result<(), Error> {
    let mut order: Vec<&TensorInfo> = tensors.iter().collect();
    order.sort_unstable_by_key(|t| (t.start, t.end));
    let mut offset = 0usize;
    let mut previous: Option<&str> = None;
    for t in order {
        let (begin, end) = (t.start - data_start, t.end - data_start);
        if begin < offset {
            let other = previous.unwrap_or_default();
            return Err(bad(format!(
                "tensor `{}` (data_offsets [{begin}, {end}]) overlaps tensor `{other}` (which ends at {offset})",
                t.name
            )));
        }
        if begin > offset {
            return Err(bad(format!(
                "bytes [{offset}, {begin}) of the data buffer belong to no tensor (a hole before tensor `{}`)",
                t.name
            )));
        }
        offset = end;
        previous = Some(&t.name);
    }
    if offset != data_len {
        return Err(bad(format!(
            "{} trailing bytes after the last tensor (the tensors cover {offset} of the {data_len}-byte data buffer)",
            data_len - offset
        )));
    }
    Ok(())
}

fn tensor_info(
    name: &str,
    v: &Value,
    data_len: usize,
    data_start: usize,
) -> Result<TensorInfo, Error> {
    let dtype_name = v
        .get("dtype")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("tensor `{name}`: missing or non-string `dtype`")))?;
    let dtype = Dtype::from_name(dtype_name)
        .ok_or_else(|| bad(format!("tensor `{name}`: unknown dtype `{dtype_name}`")))?;
    let shape_v = v
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(format!("tensor `{name}`: missing or non-array `shape`")))?;
    let mut shape = Vec::with_capacity(shape_v.len());
    for d in shape_v {
        let d = d
            .as_u64()
            .and_then(|d| usize::try_from(d).ok())
            .ok_or_else(|| {
                bad(format!(
                    "tensor `{name}`: shape entry is not a non-negative integer"
                ))
            })?;
        shape.push(d);
    }
    let offsets = v
        .get("data_offsets")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad(format!(
                "tensor `{name}`: missing or non-array `data_offsets`"
            ))
        })?;
    let [b, e] = offsets else {
        return Err(bad(format!(
            "tensor `{name}`: `data_offsets` has {} entries, expected 2",
            offsets.len()
        )));
    };
    let off = |x: &Value| x.as_u64().and_then(|x| usize::try_from(x).ok());
    let (Some(begin), Some(end)) = (off(b), off(e)) else {
        return Err(bad(format!(
            "tensor `{name}`: `data_offsets` are not non-negative integers"
        )));
    };
    if begin > end || end > data_len {
        return Err(bad(format!(
            "tensor `{name}`: data_offsets [{begin}, {end}] outside the {data_len}-byte data buffer"
        )));
    }
    let bytes = shape
        .iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad(format!("tensor `{name}`: shape {shape:?} overflows")))?;
    if bytes != end - begin {
        return Err(bad(format!(
            "tensor `{name}`: shape {shape:?} of {dtype} needs {bytes} bytes, data_offsets give {}",
            end - begin
        )));
    }
    Ok(TensorInfo {
        name: name.to_string(),
        dtype,
        shape,
        start: data_start + begin,
        end: data_start + end,
    })
}

/// A tensor to write: name, dtype, shape and its little-endian bytes.
#[derive(Debug, Clone, Copy)]
pub struct TensorSpec<'a> {
    /// The tensor's name.
    pub name: &'a str,
    /// Its element type.
    pub dtype: Dtype,
    /// Its shape.
    pub shape: &'a [usize],
}

/// The bytes that precede the data buffer of a safetensors file holding `tensors` (in
/// that order, contiguous): the 8-byte length and the JSON header, padded with spaces
/// to a multiple of 8 so that the data is aligned. Write the tensors' bytes right after,
/// in the same order. Fails when a shape overflows.
pub fn header_bytes(
    tensors: &[TensorSpec<'_>],
    metadata: &[(String, String)],
) -> Result<Vec<u8>, Error> {
    let num = |x: usize| {
        Value::Number(Number {
            f: x as f64,
            i: i64::try_from(x).ok(),
        })
    };
    let mut members = Vec::with_capacity(tensors.len() + 1);
    if !metadata.is_empty() {
        let m = metadata
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        members.push(("__metadata__".to_string(), Value::Object(m)));
    }
    let mut offset = 0usize;
    for t in tensors {
        let bytes = t
            .shape
            .iter()
            .try_fold(t.dtype.size(), |acc, &d| acc.checked_mul(d))
            .and_then(|b| offset.checked_add(b).map(|end| (b, end)));
        let Some((_, end)) = bytes else {
            return Err(bad(format!(
                "tensor `{}`: shape {:?} overflows",
                t.name, t.shape
            )));
        };
        members.push((
            t.name.to_string(),
            Value::Object(vec![
                (
                    "dtype".to_string(),
                    Value::String(t.dtype.name().to_string()),
                ),
                (
                    "shape".to_string(),
                    Value::Array(t.shape.iter().map(|&d| num(d)).collect()),
                ),
                (
                    "data_offsets".to_string(),
                    Value::Array(vec![num(offset), num(end)]),
                ),
            ]),
        ));
        offset = end;
    }
    let mut text = json::to_string(&Value::Object(members));
    while !text.len().is_multiple_of(8) {
        text.push(' ');
    }
    let mut out = Vec::with_capacity(8 + text.len());
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    Ok(out)
}

/// A complete safetensors file holding `tensors` (name, dtype, shape, little-endian
/// bytes), laid out as the Python `safetensors` library's `save_file` lays them out:
/// tensors ordered by dtype (the library's enum order, widest rank first), then by name,
/// so that a model saved here is byte-identical to one saved by Python `model2vec`.
/// Fails when a tensor's byte length does not match its shape.
pub fn serialize(
    tensors: &[(TensorSpec<'_>, &[u8])],
    metadata: &[(String, String)],
) -> Result<Vec<u8>, Error> {
    let mut tensors: Vec<(TensorSpec<'_>, &[u8])> = tensors.to_vec();
    tensors.sort_by(|(a, _), (b, _)| {
        b.dtype
            .library_rank()
            .cmp(&a.dtype.library_rank())
            .then_with(|| a.name.cmp(b.name))
    });
    let specs: Vec<TensorSpec<'_>> = tensors.iter().map(|(s, _)| *s).collect();
    let mut out = header_bytes(&specs, metadata)?;
    for (spec, bytes) in &tensors {
        let want = spec.shape.iter().product::<usize>() * spec.dtype.size();
        if bytes.len() != want {
            return Err(bad(format!(
                "tensor `{}`: {} bytes given, shape {:?} of {} needs {want}",
                spec.name,
                bytes.len(),
                spec.shape,
                spec.dtype
            )));
        }
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_of(bytes: &[u8]) -> String {
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        String::from_utf8(bytes[8..8 + n].to_vec()).unwrap()
    }

    #[test]
    fn tensor_order_like_python() {
        // Expected headers: `safetensors.numpy.save_file` (safetensors 0.7) on the same arrays.
        let e = [0u8; 12];
        let w = [0u8; 40];
        let m = [0u8; 20];
        let spec = |name, dtype, shape| TensorSpec { name, dtype, shape };
        let b = serialize(
            &[
                (spec("embeddings", Dtype::F16, &[3, 2]), &e[..]),
                (spec("weights", Dtype::F64, &[5]), &w[..]),
                (spec("mapping", Dtype::I32, &[5]), &m[..]),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            header_of(&b),
            "{\"weights\":{\"dtype\":\"F64\",\"shape\":[5],\"data_offsets\":[0,40]},\"mapping\":{\"dtype\":\"I32\",\"shape\":[5],\"data_offsets\":[40,60]},\"embeddings\":{\"dtype\":\"F16\",\"shape\":[3,2],\"data_offsets\":[60,72]}}    "
        );
        assert_eq!(b.len(), 272);
        let b = serialize(&[(spec("embeddings", Dtype::F16, &[3, 2]), &e[..])], &[]).unwrap();
        assert_eq!(
            header_of(&b),
            "{\"embeddings\":{\"dtype\":\"F16\",\"shape\":[3,2],\"data_offsets\":[0,12]}}      "
        );
        assert_eq!(b.len(), 92);
        assert!(serialize(&[(spec("x", Dtype::F16, &[3]), &e[..])], &[]).is_err());
    }

    #[test]
    fn dtype_names() {
        for (s, d) in [
            ("float16", Dtype::F16),
            ("F16", Dtype::F16),
            ("f16", Dtype::F16),
            ("int8", Dtype::I8),
            ("i8", Dtype::I8),
            ("Float32", Dtype::F32),
            ("f64", Dtype::F64),
            ("bf16", Dtype::BF16),
            ("bfloat16", Dtype::BF16),
        ] {
            assert_eq!(s.parse::<Dtype>(), Ok(d), "{s}");
        }
        assert!("float8".parse::<Dtype>().unwrap_err().contains("float8"));
    }

    fn file_with(header: &str, data: &[u8]) -> Vec<u8> {
        let mut f = (header.len() as u64).to_le_bytes().to_vec();
        f.extend_from_slice(header.as_bytes());
        f.extend_from_slice(data);
        f
    }

    #[test]
    fn round_trip() {
        let a: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let b = [1u8, 255];
        let meta = vec![("format".to_string(), "pt".to_string())];
        let file = serialize(
            &[
                (
                    TensorSpec {
                        name: "a",
                        dtype: Dtype::F32,
                        shape: &[2, 3],
                    },
                    &a,
                ),
                (
                    TensorSpec {
                        name: "b",
                        dtype: Dtype::I8,
                        shape: &[2],
                    },
                    &b,
                ),
            ],
            &meta,
        )
        .unwrap();
        let h = read_header(&file).unwrap();
        assert_eq!(h.data_start % 8, 0);
        assert_eq!(h.metadata, meta);
        let ta = h.get("a").unwrap();
        assert_eq!(ta.shape, [2, 3]);
        assert_eq!(ta.data(&file).unwrap(), &a[..]);
        assert_eq!(h.get("b").unwrap().data(&file).unwrap(), &b);
        assert_eq!(ta.len(), 6);
    }

    fn check_err(file: &[u8], needle: &str) {
        match read_header(file) {
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
            }
            Ok(h) => panic!("accepted: {h:?}"),
        }
    }

    #[test]
    fn tensors_must_tile_the_data_buffer_like_the_reference_reader() {
        // Two names over the same bytes.
        check_err(
            &file_with(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                &[0; 4],
            ),
            "overlaps tensor",
        );
        check_err(
            &file_with(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                &[0; 8],
            ),
            "overlaps tensor `a`",
        );
        // Bytes no tensor owns: appended, or between two tensors.
        check_err(
            &file_with(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                &[0; 9],
            ),
            "5 trailing bytes",
        );
        check_err(
            &file_with(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                &[0; 12],
            ),
            "bytes [0, 8) of the data buffer belong to no tensor",
        );
        // Out of header order but contiguous, and empty tensors anywhere: fine.
        let ok = file_with(
            r#"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            &[0; 8],
        );
        assert_eq!(read_header(&ok).unwrap().tensors.len(), 3);
    }

    /// A header of `n` empty tensors (the cheapest tensors to declare).
    fn many_tensors(n: usize) -> Vec<u8> {
        let mut h = String::from("{");
        for i in 0..n {
            if i > 0 {
                h.push(',');
            }
            h.push_str(&format!(
                r#""t{i}":{{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#
            ));
        }
        h.push('}');
        file_with(&h, &[])
    }

    #[test]
    fn duplicate_check_is_not_quadratic() {
        // Size sweep with a generous ratio: 8x the tensors may take 24x the time (the
        // old pairwise check took 64x, and minutes at 200k tensors).
        let time = |n: usize| {
            let f = many_tensors(n);
            (0..3)
                .map(|_| {
                    let t = std::time::Instant::now();
                    assert_eq!(read_header(&f).unwrap().tensors.len(), n);
                    t.elapsed()
                })
                .min()
                .unwrap()
        };
        let small = time(10_000);
        let large = time(80_000);
        assert!(
            large < small * 24,
            "10k tensors: {small:?}, 80k tensors: {large:?}"
        );
        let mut dup = many_tensors(2);
        let h = String::from_utf8(dup[8..].to_vec())
            .unwrap()
            .replace("t1", "t0");
        dup = file_with(&h, &[]);
        check_err(&dup, "listed twice");
    }

    #[test]
    fn rejects_malformed_headers() {
        check_err(&[1, 2, 3], "shorter than the 8-byte");
        check_err(&u64::MAX.to_le_bytes(), "exceeds the limit");
        check_err(&100u64.to_le_bytes(), "exceeds the 0 bytes");
        check_err(&file_with("[1]", &[]), "expected an object");
        check_err(&file_with("{\"a\":", &[]), "header JSON");
        check_err(
            &file_with(
                r#"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#,
                &[0],
            ),
            "unknown dtype `Q4`",
        );
        check_err(
            &file_with(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
                &[0; 4],
            ),
            "needs 8 bytes",
        );
        check_err(
            &file_with(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                &[0; 3],
            ),
            "outside the 3-byte data buffer",
        );
        check_err(
            &file_with(
                r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
                &[0; 4],
            ),
            "shape entry",
        );
        check_err(
            &file_with(
                r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}}"#,
                &[0; 4],
            ),
            "overflows",
        );
        check_err(
            &file_with(
                r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
                &[0; 4],
            ),
            "outside",
        );
        check_err(
            &file_with(r#"{"a":{"dtype":"F32","shape":[1]}}"#, &[0; 4]),
            "data_offsets",
        );
        check_err(
            &file_with(r#"{"__metadata__":{"a":1}}"#, &[]),
            "not a string",
        );
    }
}
