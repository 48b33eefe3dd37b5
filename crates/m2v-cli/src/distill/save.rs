//! Writing a model folder: `model.safetensors`, `tokenizer.json`, `config.json`,
//! `modules.json` and `README.md`, atomically.
//!
//! The layout and bytes follow Python `model2vec` 0.10.0's `save_pretrained`
//! (`docs/REFERENCE.md`, "Saved format"). The safetensors file is written by hand in the
//! format the reference's `safetensors.numpy.save_file` produces: an 8-byte little-endian
//! header length, a compact JSON header (tensors ordered by dtype, widest first, then by
//! name, as the safetensors library orders them) padded with spaces to a multiple of 8,
//! then the tensors' bytes back to back in that order.
//!
//! Invariant: a folder is never visible half-written. Everything goes into a hidden
//! temporary folder next to the output ([`Staging`]), which is renamed onto the output in
//! one step at the end; on any error (or a panic) the temporary folder is removed.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::pyjson::{PyJson, dumps_indent4};

/// One tensor to store.
#[derive(Debug, Clone, Copy)]
pub struct Tensor<'a> {
    /// Name in the header (`embeddings`, `weights`, `mapping`).
    pub name: &'a str,
    /// safetensors dtype name (`F16`, `F32`, `F64`, `I8`, `I32`, `I64`).
    pub dtype: &'a str,
    /// Shape.
    pub shape: &'a [usize],
    /// Little-endian row-major bytes; `len == product(shape) * size(dtype)`.
    pub bytes: &'a [u8],
}

/// The position of a dtype in the safetensors library's `Dtype` enum, whose derived order
/// decides the order of tensors in a file (descending).
fn dtype_rank(dtype: &str) -> Option<(u8, usize)> {
    Some(match dtype {
        "BOOL" => (0, 1),
        "U8" => (4, 1),
        "I8" => (5, 1),
        "I16" => (9, 2),
        "U16" => (10, 2),
        "F16" => (11, 2),
        "BF16" => (12, 2),
        "I32" => (13, 4),
        "U32" => (14, 4),
        "F32" => (15, 4),
        "F64" => (16, 8),
        "I64" => (17, 8),
        "U64" => (18, 8),
        _ => return None,
    })
}

/// The bytes of a safetensors file holding `tensors`.
pub fn safetensors_bytes(tensors: &[Tensor<'_>]) -> Result<Vec<u8>> {
    let mut order: Vec<(u8, &Tensor<'_>)> = Vec::with_capacity(tensors.len());
    for t in tensors {
        let (rank, size) = dtype_rank(t.dtype)
            .with_context(|| format!("tensor `{}`: unknown dtype {}", t.name, t.dtype))?;
        let n: usize = t.shape.iter().product();
        if n * size != t.bytes.len() {
            bail!(
                "tensor `{}`: shape {:?} of {} needs {} bytes, got {}",
                t.name,
                t.shape,
                t.dtype,
                n * size,
                t.bytes.len()
            );
        }
        order.push((rank, t));
    }
    order.sort_by(|(ra, a), (rb, b)| rb.cmp(ra).then_with(|| a.name.cmp(b.name)));
    let mut header = String::from("{");
    let mut offset = 0usize;
    for (k, (_, t)) in order.iter().enumerate() {
        if k > 0 {
            header.push(',');
        }
        m2v_tokenize::json::write_string(&mut header, t.name);
        let shape: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
        header.push_str(&format!(
            ":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
            t.dtype,
            shape.join(","),
            offset,
            offset + t.bytes.len()
        ));
        offset += t.bytes.len();
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for (_, t) in &order {
        out.extend_from_slice(t.bytes);
    }
    Ok(out)
}

/// What `config.json` records (the reference's `StaticModelConfig`, in its key order).
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// `tokenizer_name`: the teacher as the user named it (hub id or path).
    pub tokenizer_name: String,
    /// `apply_pca`: `Int`, `Float`, `Str("auto")` or `Null`, as given.
    pub apply_pca: PyJson,
    /// `sif_coefficient` (`None` without SIF).
    pub sif_coefficient: Option<f64>,
    /// `hidden_dim`: columns of the stored embeddings.
    pub hidden_dim: usize,
    /// `pooling`: `mean`, `first`, `last` or `pooler`.
    pub pooling: String,
    /// `max_length` (the reference's `StaticModel` default, 512).
    pub max_length: Option<usize>,
    /// `embedding_dtype`: numpy's name (`float16`, `float32`, `float64`, `int8`).
    pub embedding_dtype: String,
    /// `vocabulary_quantization`: the number of clusters, only with a `mapping` tensor.
    pub vocabulary_quantization: Option<usize>,
}

impl ModelConfig {
    /// `config.json` exactly as the reference writes it (`json.dump(cfg, f, indent=4)`).
    pub fn to_json(&self) -> String {
        let mut m: Vec<(String, PyJson)> = vec![
            ("model_type".into(), PyJson::str("model2vec")),
            (
                "architectures".into(),
                PyJson::List(vec![PyJson::str("StaticModel")]),
            ),
            ("tokenizer_name".into(), PyJson::str(&self.tokenizer_name)),
            ("apply_pca".into(), self.apply_pca.clone()),
            (
                "sif_coefficient".into(),
                self.sif_coefficient.map_or(PyJson::Null, PyJson::Float),
            ),
            ("hidden_dim".into(), PyJson::Int(self.hidden_dim as i64)),
            ("seq_length".into(), PyJson::Int(1_000_000)),
            ("normalize".into(), PyJson::Bool(true)),
            ("pooling".into(), PyJson::str(&self.pooling)),
            (
                "max_length".into(),
                self.max_length
                    .map_or(PyJson::Null, |n| PyJson::Int(n as i64)),
            ),
            ("embedding_dtype".into(), PyJson::str(&self.embedding_dtype)),
        ];
        if let Some(k) = self.vocabulary_quantization {
            m.push(("vocabulary_quantization".into(), PyJson::Int(k as i64)));
        }
        dumps_indent4(&PyJson::Dict(m))
    }
}

/// `modules.json` for sentence-transformers: a `StaticEmbedding` and, as our models are
/// always saved with `normalize: true`, a `Normalize` module.
pub fn modules_json() -> String {
    let module = |idx: i64, path: &str, ty: &str| {
        PyJson::Dict(vec![
            ("idx".into(), PyJson::Int(idx)),
            ("name".into(), PyJson::str(idx.to_string())),
            ("path".into(), PyJson::str(path)),
            ("type".into(), PyJson::str(ty)),
        ])
    };
    dumps_indent4(&PyJson::List(vec![
        module(0, ".", "sentence_transformers.models.StaticEmbedding"),
        module(1, "1_Normalize", "sentence_transformers.models.Normalize"),
    ]))
}

/// A hidden folder next to the output that becomes the output on [`Staging::commit`].
///
/// Dropping it without committing removes it, and any parent folders it created.
#[derive(Debug)]
pub struct Staging {
    tmp: PathBuf,
    output: PathBuf,
    force: bool,
    created_parents: Vec<PathBuf>,
    done: bool,
}

impl Staging {
    /// Checks the output (refuses a non-empty folder without `force`, or a file), creates
    /// missing parents and the temporary folder. Call it before the long work, so a bad
    /// output path fails in milliseconds.
    pub fn new(output: &Path, force: bool) -> Result<Staging> {
        if output.as_os_str().is_empty() {
            bail!("the output path is empty");
        }
        match fs::metadata(output) {
            Ok(m) if m.is_dir() => {
                let non_empty = fs::read_dir(output)
                    .with_context(|| format!("cannot read the output folder {}", output.display()))?
                    .next()
                    .is_some();
                if non_empty && !force {
                    bail!(
                        "the output folder {} is not empty (pass --force to replace it)",
                        output.display()
                    );
                }
            }
            Ok(_) => bail!(
                "the output path {} exists and is not a folder",
                output.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot access {}", output.display()));
            }
        }
        let name = output
            .file_name()
            .with_context(|| format!("the output path {} has no folder name", output.display()))?
            .to_string_lossy()
            .into_owned();
        let parent = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut created_parents = Vec::new();
        let mut p = parent.clone();
        while !p.exists() {
            created_parents.push(p.clone());
            match p.parent() {
                Some(q) if !q.as_os_str().is_empty() => p = q.to_path_buf(),
                _ => break,
            }
        }
        let mut staging = Staging {
            tmp: PathBuf::new(),
            output: output.to_path_buf(),
            force,
            created_parents,
            done: false,
        };
        fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let tmp = parent.join(format!(".{name}.m2v-tmp-{}-{stamp}", std::process::id()));
        fs::create_dir(&tmp)
            .with_context(|| format!("cannot write to the output location {}", parent.display()))?;
        staging.tmp = tmp;
        Ok(staging)
    }

    /// The temporary folder the files go into.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Writes one file into the temporary folder.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.tmp.join(name);
        let mut f =
            fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    /// Moves the finished folder onto the output path (replacing an empty folder, or with
    /// `force` a non-empty one, which is renamed aside first and deleted after).
    pub fn commit(mut self) -> Result<PathBuf> {
        let mut aside = None;
        if self.output.exists() {
            let old = self.tmp.with_extension("old");
            if self.force {
                fs::rename(&self.output, &old).with_context(|| {
                    format!("cannot move the old {} aside", self.output.display())
                })?;
                aside = Some(old);
            } else {
                // An empty folder (checked in `new`): rename(2) replaces it.
            }
        }
        if let Err(e) = fs::rename(&self.tmp, &self.output) {
            if let Some(old) = &aside {
                let _ = fs::rename(old, &self.output);
            }
            return Err(e).with_context(|| {
                format!(
                    "cannot move {} to {}",
                    self.tmp.display(),
                    self.output.display()
                )
            });
        }
        self.done = true;
        if let Some(old) = aside {
            fs::remove_dir_all(&old)
                .with_context(|| format!("cannot remove the old output {}", old.display()))?;
        }
        Ok(self.output.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.tmp);
        }
        for p in &self.created_parents {
            let _ = fs::remove_dir(p);
        }
    }
}

/// Total size in bytes of the files in a folder (not recursive).
pub fn folder_size(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(bytes: &[u8]) -> String {
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        String::from_utf8(bytes[8..8 + n].to_vec()).unwrap()
    }

    #[test]
    fn safetensors_like_python() {
        // Expected headers: `safetensors.numpy.save_file` (safetensors 0.7) on the same arrays.
        let e = [0u8; 12];
        let w = [0u8; 40];
        let m = [0u8; 20];
        let b = safetensors_bytes(&[
            Tensor {
                name: "embeddings",
                dtype: "F16",
                shape: &[3, 2],
                bytes: &e,
            },
            Tensor {
                name: "weights",
                dtype: "F64",
                shape: &[5],
                bytes: &w,
            },
            Tensor {
                name: "mapping",
                dtype: "I32",
                shape: &[5],
                bytes: &m,
            },
        ])
        .unwrap();
        assert_eq!(
            header(&b),
            "{\"weights\":{\"dtype\":\"F64\",\"shape\":[5],\"data_offsets\":[0,40]},\"mapping\":{\"dtype\":\"I32\",\"shape\":[5],\"data_offsets\":[40,60]},\"embeddings\":{\"dtype\":\"F16\",\"shape\":[3,2],\"data_offsets\":[60,72]}}    "
        );
        assert_eq!(b.len(), 272);
        let b = safetensors_bytes(&[Tensor {
            name: "embeddings",
            dtype: "F16",
            shape: &[3, 2],
            bytes: &e,
        }])
        .unwrap();
        assert_eq!(
            header(&b),
            "{\"embeddings\":{\"dtype\":\"F16\",\"shape\":[3,2],\"data_offsets\":[0,12]}}      "
        );
        assert_eq!(b.len(), 92);
        assert!(
            safetensors_bytes(&[Tensor {
                name: "x",
                dtype: "F16",
                shape: &[3],
                bytes: &e
            }])
            .is_err()
        );
    }

    #[test]
    fn staging_is_atomic() {
        let root = std::env::temp_dir().join(format!("m2v-staging-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let out = root.join("a").join("model");
        {
            let s = Staging::new(&out, false).unwrap();
            s.write("x.txt", b"x").unwrap();
            // Dropped without commit: nothing left, not even the parents it made.
        }
        assert!(!root.exists(), "staging left {}", root.display());
        let s = Staging::new(&out, false).unwrap();
        s.write("x.txt", b"1").unwrap();
        s.commit().unwrap();
        assert_eq!(fs::read(out.join("x.txt")).unwrap(), b"1");
        assert!(
            Staging::new(&out, false).is_err(),
            "non-empty output without force"
        );
        let s = Staging::new(&out, true).unwrap();
        s.write("y.txt", b"2").unwrap();
        s.commit().unwrap();
        assert!(!out.join("x.txt").exists());
        assert_eq!(fs::read(out.join("y.txt")).unwrap(), b"2");
        assert_eq!(
            fs::read_dir(root.join("a")).unwrap().count(),
            1,
            "no leftovers"
        );
        fs::remove_dir_all(&root).unwrap();
    }
}
