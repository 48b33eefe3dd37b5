//! Reading `model.safetensors` into host `f32` buffers, with bookkeeping of which
//! tensors the architecture took.
//!
//! Keys are looked up without the architecture prefix (`bert.`, `mpnet.`, ...): a
//! checkpoint saved from `BertModel` has bare keys, one saved from `BertForMaskedLM`
//! prefixed ones; both load. After building a model, [`Weights::finish`] fails if a
//! tensor the model did not take remains (apart from known buffers such as
//! `embeddings.position_ids` and heads of other tasks), so a mismatch between
//! `config.json` and the checkpoint cannot go unnoticed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;
use crate::pytorch;

#[derive(Debug, Deserialize)]
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

#[derive(Debug)]
struct Entry {
    /// Index into [`Weights::files`].
    file: usize,
    dtype: String,
    shape: Vec<usize>,
    /// Absolute byte range in the file (for a strided `pytorch_model.bin` tensor: its
    /// whole storage).
    start: usize,
    end: usize,
    /// A `pytorch_model.bin` tensor that is a view (offset, strides) of its storage.
    view: Option<pytorch::TensorRef>,
}

/// The tensors of a checkpoint (one file or the shards of one), keyed by name without
/// the architecture prefix.
#[derive(Debug)]
pub(crate) struct Weights {
    /// Each file read: its path and bytes.
    files: Vec<(PathBuf, Vec<u8>)>,
    entries: BTreeMap<String, Entry>,
}
/// A host tensor: row-major `f32` values and their shape.
#[derive(Debug, Clone)]
pub(crate) struct HostTensor {
    pub(crate) data: Vec<f32>,
    pub(crate) shape: Vec<usize>,
}

impl HostTensor {
    /// The transpose of a 2-D tensor `[r, c]` as `[c, r]` (PyTorch `Linear` weights are
    /// `[out, in]`; `y = x W` needs `[in, out]`).
    pub(crate) fn transposed(&self) -> HostTensor {
        let (r, c) = (self.shape[0], self.shape[1]);
        let mut data = vec![0.0f32; r * c];
        for i in 0..r {
            for j in 0..c {
                data[j * r + i] = self.data[i * c + j];
            }
        }
        HostTensor {
            data,
            shape: vec![c, r],
        }
    }
}

/// Keys a checkpoint may hold that no encoder uses: buffers and the heads of other
/// tasks (masked LM, NSP, classification).
fn ignorable(key: &str) -> bool {
    key.ends_with("position_ids")
        || key.starts_with("lm_head.")
        || key.starts_with("cls.")
        || key.starts_with("classifier.")
        || key.starts_with("qa_outputs.")
}

impl Weights {
    /// Reads the checkpoint of a model folder, in `transformers`' order of preference:
    /// `model.safetensors`, the shards listed by `model.safetensors.index.json`,
    /// `pytorch_model.bin`, the shards listed by `pytorch_model.bin.index.json`.
    /// `prefixes` are the architecture prefixes (`"bert."`) stripped from keys.
    pub(crate) fn open_dir(dir: &Path, prefixes: &[&str]) -> Result<Self, Error> {
        let single = dir.join("model.safetensors");
        if single.is_file() {
            return Self::open(&single, prefixes);
        }
        for (index, pytorch) in [
            ("model.safetensors.index.json", false),
            ("pytorch_model.bin.index.json", true),
        ] {
            let index = dir.join(index);
            if pytorch && dir.join("pytorch_model.bin").is_file() {
                return Self::open_files(&[dir.join("pytorch_model.bin")], true, prefixes);
            }
            if index.is_file() {
                let shards = shard_files(&index)?;
                let paths: Vec<PathBuf> = shards.iter().map(|s| dir.join(s)).collect();
                return Self::open_files(&paths, pytorch, prefixes);
            }
        }
        Err(Error::NoWeights {
            dir: dir.to_path_buf(),
        })
    }

    /// Reads one safetensors file; `prefixes` are the architecture prefixes (`"bert."`)
    /// stripped from keys that carry them.
    pub(crate) fn open(path: &Path, prefixes: &[&str]) -> Result<Self, Error> {
        Self::open_files(&[path.to_path_buf()], false, prefixes)
    }

    /// Reads `paths` (safetensors, or torch zip files when `pytorch`) as one checkpoint.
    fn open_files(paths: &[PathBuf], pytorch: bool, prefixes: &[&str]) -> Result<Self, Error> {
        let mut w = Weights {
            files: Vec::with_capacity(paths.len()),
            entries: BTreeMap::new(),
        };
        for path in paths {
            let bytes = std::fs::read(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            let file = w.files.len();
            let found = if pytorch {
                pytorch_entries(path, &bytes, file)?
            } else {
                safetensors_entries(path, &bytes, file)?
            };
            for (key, entry) in found {
                let name = prefixes
                    .iter()
                    .find_map(|p| key.strip_prefix(p))
                    .unwrap_or(&key)
                    .to_string();
                if w.entries.insert(name.clone(), entry).is_some() {
                    return Err(Error::Safetensors {
                        path: path.clone(),
                        message: format!(
                            "tensor `{name}` appears twice (with and without a prefix, or in two shards)"
                        ),
                    });
                }
            }
            w.files.push((path.clone(), bytes));
        }
        Ok(w)
    }

    /// The file a tensor is read from (the first file for a missing one).
    fn path_of(&self, entry: Option<&Entry>) -> PathBuf {
        let i = entry.map_or(0, |e| e.file);
        self.files.get(i).map(|f| f.0.clone()).unwrap_or_default()
    }

    /// `true` when the checkpoint has `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// Takes tensor `name` (removing it from the pending set), checking its shape.
    pub(crate) fn take(&mut self, name: &str, shape: &[usize]) -> Result<HostTensor, Error> {
        let Some(e) = self.entries.remove(name) else {
            return Err(Error::MissingTensor {
                path: self.path_of(None),
                name: name.to_string(),
            });
        };
        let path = self.path_of(Some(&e));
        if e.shape != shape {
            return Err(Error::TensorShape {
                path,
                name: name.to_string(),
                expected: shape.to_vec(),
                actual: e.shape,
            });
        }
        let n: usize = shape.iter().product();
        let bytes = &self.files[e.file].1;
        let gathered;
        let raw = match &e.view {
            Some(view) => {
                gathered = pytorch::gather(bytes, view);
                &gathered[..]
            }
            None => &bytes[e.start..e.end],
        };
        let width = match e.dtype.as_str() {
            "F64" => 8,
            "F32" => 4,
            "F16" | "BF16" => 2,
            _ => 0,
        };
        if width == 0 {
            return Err(Error::TensorDtype {
                path,
                name: name.to_string(),
                dtype: e.dtype,
            });
        }
        if raw.len() != n * width {
            return Err(Error::Safetensors {
                path,
                message: format!(
                    "tensor `{name}` has {} bytes, expected {} for shape {shape:?} {}",
                    raw.len(),
                    n * width,
                    e.dtype
                ),
            });
        }
        let data: Vec<f32> = match e.dtype.as_str() {
            "F32" => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            "F64" => raw
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32)
                .collect(),
            "BF16" => raw
                .chunks_exact(2)
                .map(|b| m2v_static::bf16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
            _ => raw
                .chunks_exact(2)
                .map(|b| m2v_static::f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
        };
        Ok(HostTensor {
            data,
            shape: shape.to_vec(),
        })
    }

    /// Fails when tensors other than known buffers and task heads were not taken.
    pub(crate) fn finish(self) -> Result<(), Error> {
        let path = self.path_of(None);
        let names: Vec<String> = self.entries.into_keys().filter(|k| !ignorable(k)).collect();
        if names.is_empty() {
            Ok(())
        } else {
            Err(Error::UnusedTensors { path, names })
        }
    }
}

/// The shard file names an index (`*.index.json`) lists, each once, sorted.
fn shard_files(index: &Path) -> Result<Vec<String>, Error> {
    let bytes = std::fs::read(index).map_err(|source| Error::Io {
        path: index.to_path_buf(),
        source,
    })?;
    #[derive(Deserialize)]
    struct Index {
        weight_map: BTreeMap<String, String>,
    }
    let idx: Index = serde_json::from_slice(&bytes).map_err(|e| Error::Json {
        path: index.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut files: Vec<String> = idx.weight_map.into_values().collect();
    files.sort();
    files.dedup();
    for f in &files {
        // A shard is a file beside the index, never a path elsewhere.
        if f.is_empty() || f.contains('/') || f.contains('\\') || f == ".." {
            return Err(Error::InvalidField {
                path: index.to_path_buf(),
                field: "weight_map".to_string(),
                message: format!("shard `{f}` is not a file name beside the index"),
            });
        }
    }
    Ok(files)
}

/// The tensors of one safetensors file (`bytes`, read from `path`), keys as stored.
fn safetensors_entries(
    path: &Path,
    bytes: &[u8],
    file: usize,
) -> Result<Vec<(String, Entry)>, Error> {
    let bad = |message: String| Error::Safetensors {
        path: path.to_path_buf(),
        message,
    };
    let len_bytes: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("shorter than 8 bytes".to_string()))?;
    let header_len = usize::try_from(u64::from_le_bytes(len_bytes))
        .map_err(|_| bad("header length overflows".to_string()))?;
    let base = 8usize
        .checked_add(header_len)
        .filter(|&b| b <= bytes.len())
        .ok_or_else(|| bad(format!("header length {header_len} exceeds the file")))?;
    let header: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..base]).map_err(|e| bad(format!("header: {e}")))?;
    let data_len = bytes.len() - base;
    let mut out = Vec::with_capacity(header.len());
    for (key, value) in header {
        if key == "__metadata__" {
            continue;
        }
        let h: HeaderEntry =
            serde_json::from_value(value).map_err(|e| bad(format!("header entry `{key}`: {e}")))?;
        let [start, end] = h.data_offsets;
        if start > end || end > data_len {
            return Err(bad(format!(
                "tensor `{key}` has offsets {start}..{end} outside {data_len} data bytes"
            )));
        }
        out.push((
            key,
            Entry {
                file,
                dtype: h.dtype,
                shape: h.shape,
                start: base + start,
                end: base + end,
                view: None,
            },
        ));
    }
    Ok(out)
}

/// The tensors of one `pytorch_model.bin` (`bytes`, read from `path`), keys as stored.
fn pytorch_entries(path: &Path, bytes: &[u8], file: usize) -> Result<Vec<(String, Entry)>, Error> {
    Ok(pytorch::read_state_dict(path, bytes)?
        .into_iter()
        .map(|t| {
            let entry = Entry {
                file,
                dtype: t.dtype.to_string(),
                shape: t.shape.clone(),
                start: t.storage.start,
                end: t.storage.end,
                view: Some(t.clone()),
            };
            (t.name, entry)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a safetensors file with the given (name, dtype, shape, bytes) tensors.
    pub(crate) fn write(path: &Path, tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) {
        let mut header = serde_json::Map::new();
        let mut data = Vec::new();
        for (name, dtype, shape, bytes) in tensors {
            let start = data.len();
            data.extend_from_slice(bytes);
            header.insert(
                (*name).to_string(),
                serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [start, data.len()]}),
            );
        }
        let h = serde_json::to_vec(&header).unwrap();
        let mut out = (h.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&h);
        out.extend_from_slice(&data);
        std::fs::write(path, out).unwrap();
    }

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn prefixes_shapes_dtypes_and_leftovers() {
        let p = std::env::temp_dir().join(format!("m2v-teacher-w-{}.st", std::process::id()));
        write(
            &p,
            &[
                (
                    "bert.a",
                    "F32",
                    vec![2, 3],
                    f32_bytes(&[1., 2., 3., 4., 5., 6.]),
                ),
                (
                    "b",
                    "F16",
                    vec![3],
                    vec![0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00],
                ),
                ("c", "BF16", vec![1], vec![0x80, 0x3f]),
                ("embeddings.position_ids", "I64", vec![1], vec![0; 8]),
                ("d", "I64", vec![1], vec![0; 8]),
            ],
        );
        let mut w = Weights::open(&p, &["bert."]).unwrap();
        let a = w.take("a", &[2, 3]).unwrap();
        assert_eq!(a.transposed().data, vec![1., 4., 2., 5., 3., 6.]);
        let b = w.take("b", &[3]).unwrap();
        assert_eq!(b.data[..2], [1.0, -2.0]);
        assert_eq!(b.data[2], 2f32.powi(-24));
        assert_eq!(w.take("c", &[1]).unwrap().data, vec![1.0]);
        let e = w.take("a", &[2, 3]).unwrap_err().to_string();
        assert!(e.ends_with("missing tensor `a`"), "{e}");
        let e = w.take("d", &[2]).unwrap_err().to_string();
        assert!(e.contains("tensor `d` has shape [1], expected [2]"), "{e}");

        let mut w = Weights::open(&p, &["bert."]).unwrap();
        let e = w.take("d", &[1]).unwrap_err().to_string();
        assert!(e.contains("unsupported dtype I64"), "{e}");
        for (n, s) in [("a", vec![2, 3]), ("b", vec![3]), ("c", vec![1])] {
            w.take(n, &s).unwrap();
        }
        // position_ids is a known buffer; nothing else is left.
        w.finish().unwrap();

        let w = Weights::open(&p, &["bert."]).unwrap();
        let e = w.finish().unwrap_err().to_string();
        assert!(e.contains("4 unused tensors, e.g. `a`"), "{e}");
        std::fs::remove_file(&p).ok();
    }

    /// Views of storages (a transpose, an offset slice, a shared storage) and every
    /// float dtype, as `torch.save` wrote them (`scripts/golden_teacher_formats.py`);
    /// the values are defined by `torch.arange` there.
    #[test]
    fn pytorch_views_and_dtypes() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats/views.bin");
        let mut w = Weights::open_files(&[p], true, &[]).unwrap();
        let t = w.take("transposed", &[4, 3]).unwrap();
        assert_eq!(t.data, [0., 4., 8., 1., 5., 9., 2., 6., 10., 3., 7., 11.]);
        assert_eq!(w.take("offset", &[4]).unwrap().data, [2., 3., 4., 5.]);
        let whole: Vec<f32> = (0..10).map(|i| i as f32).collect();
        assert_eq!(w.take("whole", &[10]).unwrap().data, whole);
        assert_eq!(w.take("half", &[4]).unwrap().data, [0., 0.25, 0.5, 0.75]);
        assert_eq!(w.take("bf16", &[3]).unwrap().data, [0., 2., 4.]);
        assert_eq!(w.take("double", &[3]).unwrap().data, [0., 0.125, 0.25]);
        w.finish().unwrap();
    }
}
