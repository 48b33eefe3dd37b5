//! Reading `pytorch_model.bin` (the zip format `torch.save` writes since PyTorch 1.6)
//! without PyTorch and without running the pickle.
//!
//! The file is a zip archive with stored (uncompressed) members: `<name>/data.pkl`, a
//! pickle of the state dict, and `<name>/data/<key>`, the raw little-endian bytes of
//! each storage. The pickle is read by a small stack machine that knows the opcodes
//! `torch.save` emits and interprets exactly four globals (`OrderedDict`,
//! `_rebuild_tensor_v2`, `_rebuild_parameter`, the `*Storage` types); any other global
//! becomes an opaque value, so nothing in the file is ever executed (unlike
//! `torch.load` without `weights_only`). Every offset and length read from the file is
//! checked against the file's size before use.

use std::collections::HashMap;
use std::path::Path;

use crate::error::Error;

/// One tensor of the state dict: where its storage lies in the file and how the tensor
/// views it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TensorRef {
    /// The state-dict key.
    pub(crate) name: String,
    /// Safetensors-style dtype name (`F32`, `F16`, `BF16`, `F64`, `I64`, ...).
    pub(crate) dtype: &'static str,
    /// Byte range of the whole storage in the file.
    pub(crate) storage: std::ops::Range<usize>,
    /// Element offset of the tensor in its storage.
    pub(crate) offset: usize,
    /// The tensor's shape.
    pub(crate) shape: Vec<usize>,
    /// Strides in elements.
    pub(crate) stride: Vec<usize>,
}

/// The byte width of a dtype name [`TensorRef::dtype`] can hold.
pub(crate) fn dtype_width(dtype: &str) -> usize {
    match dtype {
        "F64" | "I64" => 8,
        "F32" | "I32" => 4,
        "F16" | "BF16" | "I16" => 2,
        _ => 1,
    }
}

/// The largest pickle accepted (a state dict's pickle is a few hundred bytes per
/// tensor; this bounds the memory the stack machine can use).
const MAX_PICKLE: usize = 256 << 20;

/// Parses the zip archive in `bytes` (read from `path`) and returns its tensors in
/// state-dict order.
pub(crate) fn read_state_dict(path: &Path, bytes: &[u8]) -> Result<Vec<TensorRef>, Error> {
    let bad = |message: String| Error::Pytorch {
        path: path.to_path_buf(),
        message,
    };
    if !bytes.starts_with(b"PK") {
        return Err(bad(
            "not a zip archive: the legacy (pre-1.6) torch.save format or not a checkpoint; re-save it with a current PyTorch or convert it to model.safetensors".to_string(),
        ));
    }
    let members = zip_members(bytes).map_err(bad)?;
    let pkl = members
        .keys()
        .filter(|n| n.ends_with("/data.pkl") || n.as_str() == "data.pkl")
        .min()
        .cloned()
        .ok_or_else(|| bad("no data.pkl in the archive (not a torch.save file)".to_string()))?;
    let prefix = &pkl[..pkl.len() - "data.pkl".len()];
    let range = members[&pkl].clone();
    if range.len() > MAX_PICKLE {
        return Err(bad(format!(
            "data.pkl is {} bytes, more than the {MAX_PICKLE} accepted",
            range.len()
        )));
    }
    let value = Unpickler::new(&bytes[range]).run().map_err(bad)?;
    let Value::Dict(items) = value else {
        return Err(bad(
            "the pickle is not a state dict (a mapping of names to tensors)".to_string(),
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for (k, v) in items {
        let Value::Str(name) = k else {
            return Err(bad("a state-dict key is not a string".to_string()));
        };
        let Value::Tensor(t) = v else {
            // Non-tensor entries (e.g. a saved integer) are not weights.
            continue;
        };
        let member = format!("{prefix}data/{}", t.key);
        let storage = members
            .get(&member)
            .cloned()
            .ok_or_else(|| bad(format!("tensor `{name}`: storage `{member}` is missing")))?;
        let width = dtype_width(t.dtype);
        // The furthest element the view reaches must lie inside the storage.
        let mut last = t.offset;
        for (&n, &s) in t.shape.iter().zip(&t.stride) {
            if n > 0 {
                last = (n - 1)
                    .checked_mul(s)
                    .and_then(|d| last.checked_add(d))
                    .ok_or_else(|| bad(format!("tensor `{name}`: stride overflows")))?;
            }
        }
        let empty = t.shape.contains(&0);
        if !empty && (last + 1).saturating_mul(width) > storage.len() {
            return Err(bad(format!(
                "tensor `{name}` reaches element {last} of a storage of {} bytes",
                storage.len()
            )));
        }
        out.push(TensorRef {
            name,
            dtype: t.dtype,
            storage,
            offset: t.offset,
            shape: t.shape,
            stride: t.stride,
        });
    }
    Ok(out)
}

/// Copies a tensor's elements in row-major order (as raw little-endian bytes), following
/// its strides. Bounds were checked by [`read_state_dict`].
pub(crate) fn gather(bytes: &[u8], t: &TensorRef) -> Vec<u8> {
    let width = dtype_width(t.dtype);
    let storage = &bytes[t.storage.clone()];
    let n: usize = t.shape.iter().product();
    let contiguous = {
        let mut expect = 1;
        let mut ok = true;
        for (&d, &s) in t.shape.iter().zip(&t.stride).rev() {
            if d > 1 && s != expect {
                ok = false;
            }
            expect *= d;
        }
        ok
    };
    if contiguous {
        let start = t.offset * width;
        return storage[start..start + n * width].to_vec();
    }
    let mut out = Vec::with_capacity(n * width);
    let mut idx = vec![0usize; t.shape.len()];
    for _ in 0..n {
        let e = t.offset + idx.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<usize>();
        out.extend_from_slice(&storage[e * width..(e + 1) * width]);
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < t.shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The data ranges of the stored members of a zip archive, by name (zip64 included).
fn zip_members(b: &[u8]) -> Result<HashMap<String, std::ops::Range<usize>>, String> {
    let short = || "truncated zip archive".to_string();
    // The end-of-central-directory record: 22 bytes plus a comment of up to 64 KiB.
    let lo = b.len().saturating_sub(22 + 65535);
    let eocd = (lo..b.len().saturating_sub(21))
        .rev()
        .find(|&i| b[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .ok_or_else(|| "not a zip archive (no end of central directory)".to_string())?;
    let mut count = u64::from(u16_at(b, eocd + 10).ok_or_else(short)?);
    let mut cd = u64::from(u32_at(b, eocd + 16).ok_or_else(short)?);
    if (count == 0xffff || cd == 0xffff_ffff) && eocd >= 20 {
        let loc = eocd - 20;
        if b[loc..loc + 4] == [0x50, 0x4b, 0x06, 0x07] {
            let z = usize::try_from(u64_at(b, loc + 8).ok_or_else(short)?).map_err(|_| short())?;
            if b.get(z..z + 4) != Some(&[0x50, 0x4b, 0x06, 0x06]) {
                return Err("bad zip64 end of central directory".to_string());
            }
            count = u64_at(b, z + 32).ok_or_else(short)?;
            cd = u64_at(b, z + 48).ok_or_else(short)?;
        }
    }
    let mut at = usize::try_from(cd).map_err(|_| short())?;
    let mut out = HashMap::new();
    for _ in 0..count {
        if b.get(at..at + 4) != Some(&[0x50, 0x4b, 0x01, 0x02]) {
            return Err(format!("bad central directory entry at byte {at}"));
        }
        let method = u16_at(b, at + 10).ok_or_else(short)?;
        let mut comp = u64::from(u32_at(b, at + 20).ok_or_else(short)?);
        let mut uncomp = u64::from(u32_at(b, at + 24).ok_or_else(short)?);
        let name_len = usize::from(u16_at(b, at + 28).ok_or_else(short)?);
        let extra_len = usize::from(u16_at(b, at + 30).ok_or_else(short)?);
        let comment_len = usize::from(u16_at(b, at + 32).ok_or_else(short)?);
        let mut local = u64::from(u32_at(b, at + 42).ok_or_else(short)?);
        let name_bytes = b.get(at + 46..at + 46 + name_len).ok_or_else(short)?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        // The zip64 extra field holds the sizes and offset that did not fit.
        let extra = b
            .get(at + 46 + name_len..at + 46 + name_len + extra_len)
            .ok_or_else(short)?;
        let mut e = 0;
        while e + 4 <= extra.len() {
            let id = u16_at(extra, e).ok_or_else(short)?;
            let len = usize::from(u16_at(extra, e + 2).ok_or_else(short)?);
            if id == 1 {
                let mut f = e + 4;
                for v in [&mut uncomp, &mut comp, &mut local] {
                    if *v == 0xffff_ffff {
                        *v = u64_at(extra, f).ok_or_else(short)?;
                        f += 8;
                    }
                }
            }
            e += 4 + len;
        }
        if method != 0 {
            return Err(format!(
                "member `{name}` is compressed (method {method}); torch.save writes stored members only"
            ));
        }
        if comp != uncomp {
            return Err(format!("member `{name}`: stored sizes disagree"));
        }
        let local = usize::try_from(local).map_err(|_| short())?;
        if b.get(local..local + 4) != Some(&[0x50, 0x4b, 0x03, 0x04]) {
            return Err(format!("member `{name}`: bad local header"));
        }
        let lname = usize::from(u16_at(b, local + 26).ok_or_else(short)?);
        let lextra = usize::from(u16_at(b, local + 28).ok_or_else(short)?);
        let start = local + 30 + lname + lextra;
        let end = usize::try_from(comp)
            .ok()
            .and_then(|c| start.checked_add(c))
            .filter(|&end| end <= b.len())
            .ok_or_else(|| format!("member `{name}` extends past the end of the file"))?;
        out.insert(name, start..end);
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}

/// A rebuilt tensor inside the pickle (its storage not yet located).
#[derive(Debug, Clone, PartialEq)]
struct PickledTensor {
    key: String,
    dtype: &'static str,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

/// The values the stack machine builds.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(usize),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// A global not interpreted (module.name).
    Global(String),
    /// A storage, from a persistent id: (key, dtype).
    Storage(String, &'static str),
    Tensor(PickledTensor),
    /// The result of calling something that is not interpreted.
    Opaque(String),
    Mark,
}

struct Unpickler<'a> {
    b: &'a [u8],
    at: usize,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
}

fn storage_dtype(global: &str) -> Option<&'static str> {
    Some(match global.strip_prefix("torch.")? {
        "FloatStorage" => "F32",
        "HalfStorage" => "F16",
        "BFloat16Storage" => "BF16",
        "DoubleStorage" => "F64",
        "LongStorage" => "I64",
        "IntStorage" => "I32",
        "ShortStorage" => "I16",
        "CharStorage" => "I8",
        "ByteStorage" => "U8",
        "BoolStorage" => "BOOL",
        _ => return None,
    })
}

fn usize_list(v: &Value, what: &str) -> Result<Vec<usize>, String> {
    let Value::Tuple(items) = v else {
        return Err(format!("tensor {what} is not a tuple"));
    };
    items
        .iter()
        .map(|x| match x {
            Value::Int(i) => usize::try_from(*i).map_err(|_| format!("negative {what}")),
            _ => Err(format!("tensor {what} holds a non-integer")),
        })
        .collect()
}

impl<'a> Unpickler<'a> {
    fn new(b: &'a [u8]) -> Self {
        Self {
            b,
            at: 0,
            stack: Vec::new(),
            memo: HashMap::new(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let s = self
            .at
            .checked_add(n)
            .and_then(|end| self.b.get(self.at..end))
            .ok_or_else(|| "truncated pickle".to_string())?;
        self.at += n;
        Ok(s)
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.b[self.at..];
        let n = rest
            .iter()
            .position(|&c| c == b'\n')
            .ok_or_else(|| "truncated pickle".to_string())?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.at += n + 1;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<u64, String> {
        let s = self.take(n)?;
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(s);
        Ok(u64::from_le_bytes(buf))
    }

    fn pop(&mut self) -> Result<Value, String> {
        self.stack
            .pop()
            .ok_or_else(|| "pickle stack underflow".to_string())
    }

    /// The values above the topmost mark (the mark removed).
    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let m = self
            .stack
            .iter()
            .rposition(|v| *v == Value::Mark)
            .ok_or_else(|| "pickle mark missing".to_string())?;
        let items = self.stack.split_off(m + 1);
        self.stack.pop();
        Ok(items)
    }

    fn text(&mut self, n: usize) -> Result<Value, String> {
        let s = self.take(n)?;
        Ok(Value::Str(String::from_utf8_lossy(s).into_owned()))
    }

    fn run(mut self) -> Result<Value, String> {
        loop {
            let op = self.take(1)?[0];
            match op {
                0x80 => {
                    self.take(1)?;
                }
                0x95 => {
                    self.take(8)?;
                }
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b']' => self.stack.push(Value::List(Vec::new())),
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b'(' => self.stack.push(Value::Mark),
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'K' => {
                    let v = self.uint(1)?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = self.uint(2)?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'J' => {
                    let v = self.uint(4)? as u32 as i32;
                    self.stack.push(Value::Int(i64::from(v)));
                }
                0x8a => {
                    let n = self.uint(1)? as usize;
                    if n > 8 {
                        return Err(format!("integer of {n} bytes"));
                    }
                    let s = self.take(n)?;
                    let mut buf = if s.last().is_some_and(|&c| c & 0x80 != 0) {
                        [0xff; 8]
                    } else {
                        [0; 8]
                    };
                    buf[..n].copy_from_slice(s);
                    self.stack.push(Value::Int(i64::from_le_bytes(buf)));
                }
                b'G' => {
                    let s = self.take(8)?;
                    let v = f64::from_be_bytes(s.try_into().map_err(|_| "truncated pickle")?);
                    self.stack.push(Value::Float(v));
                }
                b'X' => {
                    let n = self.uint(4)? as usize;
                    let v = self.text(n)?;
                    self.stack.push(v);
                }
                0x8c | b'U' => {
                    let n = self.uint(1)? as usize;
                    let v = self.text(n)?;
                    self.stack.push(v);
                }
                b'T' => {
                    let n = self.uint(4)? as usize;
                    let v = self.text(n)?;
                    self.stack.push(v);
                }
                b'B' | b'C' | 0x8e => {
                    let w = match op {
                        b'C' => 1,
                        b'B' => 4,
                        _ => 8,
                    };
                    let n = usize::try_from(self.uint(w)?).map_err(|_| "bytes too long")?;
                    self.take(n)?;
                    self.stack.push(Value::Bytes(n));
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(format!("{module}.{name}")));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            self.stack.push(Value::Global(format!("{m}.{n}")));
                        }
                        _ => return Err("STACK_GLOBAL of non-strings".to_string()),
                    }
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n {
                        return Err("pickle stack underflow".to_string());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(items));
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let v = persistent(pid)?;
                    self.stack.push(v);
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    let v = call(f, args)?;
                    self.stack.push(v);
                }
                b'b' => {
                    // BUILD: sets state on the object below (OrderedDict `_metadata`,
                    // tensor hooks); nothing a weight needs.
                    self.pop()?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    match self.stack.last_mut() {
                        Some(Value::Dict(d)) => d.push((k, v)),
                        Some(_) => {}
                        None => return Err("pickle stack underflow".to_string()),
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err("SETITEMS with an odd number of values".to_string());
                    }
                    if let Some(Value::Dict(d)) = self.stack.last_mut() {
                        let mut it = items.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            d.push((k, v));
                        }
                    }
                }
                b'a' => {
                    let v = self.pop()?;
                    if let Some(Value::List(l)) = self.stack.last_mut() {
                        l.push(v);
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    if let Some(Value::List(l)) = self.stack.last_mut() {
                        l.extend(items);
                    }
                }
                b'q' | b'r' | 0x94 => {
                    let key = match op {
                        b'q' => self.uint(1)? as u32,
                        b'r' => self.uint(4)? as u32,
                        _ => self.memo.len() as u32,
                    };
                    let top = self
                        .stack
                        .last()
                        .cloned()
                        .ok_or_else(|| "pickle stack underflow".to_string())?;
                    self.memo.insert(key, top);
                }
                b'h' | b'j' => {
                    let key = if op == b'h' {
                        self.uint(1)? as u32
                    } else {
                        self.uint(4)? as u32
                    };
                    let v = self
                        .memo
                        .get(&key)
                        .cloned()
                        .ok_or_else(|| format!("pickle memo {key} missing"))?;
                    self.stack.push(v);
                }
                b'.' => return self.pop(),
                other => {
                    return Err(format!(
                        "pickle opcode 0x{other:02x} at byte {} is not one torch.save writes",
                        self.at - 1
                    ));
                }
            }
        }
    }
}

/// A persistent id `('storage', <dtype>Storage, key, location, numel)`.
fn persistent(pid: Value) -> Result<Value, String> {
    let Value::Tuple(items) = pid else {
        return Err("persistent id is not a tuple".to_string());
    };
    match items.as_slice() {
        [Value::Str(kind), Value::Global(ty), Value::Str(key), ..] if kind == "storage" => {
            let dtype = storage_dtype(ty).ok_or_else(|| format!("unknown storage type {ty}"))?;
            Ok(Value::Storage(key.clone(), dtype))
        }
        _ => Err("persistent id is not a storage".to_string()),
    }
}

/// The calls a state dict uses; anything else is an opaque value.
fn call(f: Value, args: Value) -> Result<Value, String> {
    let Value::Global(name) = f else {
        return Ok(Value::Opaque("call".to_string()));
    };
    let args = match args {
        Value::Tuple(a) => a,
        _ => return Ok(Value::Opaque(name)),
    };
    match name.as_str() {
        "collections.OrderedDict" => Ok(Value::Dict(Vec::new())),
        "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
            let [
                Value::Storage(key, dtype),
                Value::Int(offset),
                size,
                stride,
                ..,
            ] = args.as_slice()
            else {
                return Err("malformed _rebuild_tensor_v2 arguments".to_string());
            };
            let shape = usize_list(size, "size")?;
            let stride = usize_list(stride, "stride")?;
            if shape.len() != stride.len() {
                return Err("tensor size and stride differ in rank".to_string());
            }
            Ok(Value::Tensor(PickledTensor {
                key: key.clone(),
                dtype,
                offset: usize::try_from(*offset).map_err(|_| "negative storage offset")?,
                shape,
                stride,
            }))
        }
        "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
            Ok(args.into_iter().next().unwrap_or(Value::None))
        }
        _ => Ok(Value::Opaque(name)),
    }
}
