//! Writing a model2vec folder: `model.safetensors`, `tokenizer.json`, `config.json`,
//! `modules.json` and `README.md`, atomically.
//!
//! The layout and bytes follow Python `model2vec` 0.10.0's `save_pretrained`
//! (`persistence.save_pretrained`): the safetensors file as `safetensors.numpy.save_file`
//! lays it out ([`crate::safetensors::serialize`]), `config.json` and `modules.json` as
//! `json.dump(..., indent=4)` writes them ([`m2v_tokenize::json::to_python_string`]),
//! the config updated as Python updates it before writing ([`config_for_save`]).
//!
//! **Invariant:** a folder is never visible half-written. Everything goes into a hidden
//! temporary folder next to the output ([`OutputFolder`]), which is renamed onto the
//! output in one step at the end; on any error (or a panic) the temporary folder is
//! removed, and an existing output is only replaced when the caller asked for it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use m2v_tokenize::json::{self, Value};

pub use crate::card::{Distillation, ModelCard, front_matter};
use crate::error::Error;
use crate::safetensors::{self, Dtype, TensorSpec};

/// How to save.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SaveOptions {
    /// Replace the output folder when it exists and is not empty (default: refuse).
    pub force: bool,
}

impl SaveOptions {
    /// The defaults: refuse a non-empty output folder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replace a non-empty output folder.
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }
}

/// A tensor to store: dtype, shape and little-endian row-major bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorData {
    /// Element type.
    pub dtype: Dtype,
    /// Shape.
    pub shape: Vec<usize>,
    /// `shape.product() * dtype.size()` bytes.
    pub bytes: Vec<u8>,
}

impl TensorData {
    /// A 1-d F64 tensor (SIF weights as the reference stores them).
    pub fn from_f64(values: &[f64]) -> Self {
        TensorData {
            dtype: Dtype::F64,
            shape: vec![values.len()],
            bytes: values.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// A 1-d F32 tensor.
    pub fn from_f32(values: &[f32]) -> Self {
        TensorData {
            dtype: Dtype::F32,
            shape: vec![values.len()],
            bytes: values.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// The values as `f32` (exact for F16, BF16, I8 and F32; F64 rounded), `None` for
    /// a dtype an embedding matrix cannot have.
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        let b = &self.bytes;
        Some(match self.dtype {
            Dtype::F32 => b
                .as_chunks::<4>()
                .0
                .iter()
                .map(|c| f32::from_le_bytes(*c))
                .collect(),
            Dtype::F64 => b
                .as_chunks::<8>()
                .0
                .iter()
                .map(|c| f64::from_le_bytes(*c) as f32)
                .collect(),
            Dtype::F16 => b
                .as_chunks::<2>()
                .0
                .iter()
                .map(|c| crate::half::f16_to_f32(u16::from_le_bytes(*c)))
                .collect(),
            Dtype::BF16 => b
                .as_chunks::<2>()
                .0
                .iter()
                .map(|c| crate::half::bf16_to_f32(u16::from_le_bytes(*c)))
                .collect(),
            Dtype::I8 => b.iter().map(|&x| f32::from(x as i8)).collect(),
            _ => return None,
        })
    }

    /// A 1-d I32 tensor (a token → row `mapping`, as k-means' `predict` returns it).
    pub fn from_i32(values: &[i32]) -> Self {
        TensorData {
            dtype: Dtype::I32,
            shape: vec![values.len()],
            bytes: values.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

/// Everything a model2vec folder holds.
#[derive(Debug, Clone)]
pub struct ModelParts<'a> {
    /// `embeddings`, `[rows, dim]`.
    pub embeddings: TensorData,
    /// Optional per-token `weights`, `[vocab]`.
    pub weights: Option<TensorData>,
    /// Optional token → row `mapping`, `[vocab]` (vocabulary quantization).
    pub mapping: Option<TensorData>,
    /// The `tokenizer.json` bytes, written as they are.
    pub tokenizer_json: std::borrow::Cow<'a, [u8]>,
    /// The config as Python holds it before saving; [`config_for_save`] is applied.
    pub config: Value,
    /// The model card.
    pub card: ModelCard,
}

/// The config Python writes for a model: `config` with `embedding_dtype` set to the
/// stored dtype's numpy name, and `vocabulary_quantization` set to the number of rows
/// when there is a mapping, removed otherwise (keys keep their order; new keys go last).
pub fn config_for_save(mut config: Value, dtype: Dtype, mapping_rows: Option<usize>) -> Value {
    if !matches!(config, Value::Object(_)) {
        config = Value::Object(Vec::new());
    }
    config.set("embedding_dtype", Value::string(dtype.numpy_name()));
    match mapping_rows {
        Some(rows) => config.set("vocabulary_quantization", Value::int(rows as i64)),
        None => {
            config.remove("vocabulary_quantization");
        }
    }
    config
}

/// `modules.json` for sentence-transformers: a `StaticEmbedding` and, when the config
/// says `normalize: true`, a `Normalize` module (as Python writes it).
pub fn modules_json(normalize: bool) -> String {
    let module = |idx: i64, path: &str, ty: &str| {
        Value::Object(vec![
            ("idx".into(), Value::int(idx)),
            ("name".into(), Value::string(idx.to_string())),
            ("path".into(), Value::string(path)),
            ("type".into(), Value::string(ty)),
        ])
    };
    let mut modules = vec![module(
        0,
        ".",
        "sentence_transformers.models.StaticEmbedding",
    )];
    if normalize {
        modules.push(module(
            1,
            "1_Normalize",
            "sentence_transformers.models.Normalize",
        ));
    }
    json::to_python_string(&Value::Array(modules))
}

/// The bytes of `model.safetensors` for `parts`.
pub fn safetensors_bytes(parts: &ModelParts<'_>) -> Result<Vec<u8>, Error> {
    let named = [
        ("embeddings", Some(&parts.embeddings)),
        ("weights", parts.weights.as_ref()),
        ("mapping", parts.mapping.as_ref()),
    ];
    let tensors: Vec<(TensorSpec<'_>, &[u8])> = named
        .iter()
        .filter_map(|(name, t)| {
            t.map(|t| {
                (
                    TensorSpec {
                        name,
                        dtype: t.dtype,
                        shape: &t.shape,
                    },
                    t.bytes.as_slice(),
                )
            })
        })
        .collect();
    safetensors::serialize(&tensors, &[])
}

/// Writes a whole model into `folder` (not yet committed).
pub fn write_model(folder: &OutputFolder, parts: &ModelParts<'_>) -> Result<(), Error> {
    if parts.embeddings.shape.len() != 2 {
        return Err(Error::Shape {
            path: None,
            tensor: "embeddings".into(),
            shape: parts.embeddings.shape.clone(),
            expected: "[rows, dim]".into(),
        });
    }
    folder.write("model.safetensors", &safetensors_bytes(parts)?)?;
    folder.write("tokenizer.json", &parts.tokenizer_json)?;
    let mut card = parts.card.clone();
    if card.model_name.is_empty() {
        // Python names the card after the output folder unless told otherwise.
        card.model_name = folder
            .output()
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    let rows = parts.embeddings.shape[0];
    let config = config_for_save(
        parts.config.clone(),
        parts.embeddings.dtype,
        parts.mapping.as_ref().map(|_| rows),
    );
    let normalize = config.get("normalize").and_then(Value::as_bool) == Some(true);
    folder.write("config.json", json::to_python_string(&config).as_bytes())?;
    folder.write("modules.json", modules_json(normalize).as_bytes())?;
    folder.write("README.md", card.render().as_bytes())?;
    Ok(())
}

/// Writes a whole model to `output` atomically; returns the output path.
pub fn save_model(
    output: &Path,
    parts: &ModelParts<'_>,
    opts: &SaveOptions,
) -> Result<PathBuf, Error> {
    let folder = OutputFolder::new(output, opts.force)?;
    write_model(&folder, parts)?;
    folder.commit()
}

/// Total size in bytes of the files in a saved model folder (not recursive; 0 when it
/// cannot be read).
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

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A hidden folder next to the output that becomes the output on
/// [`OutputFolder::commit`].
///
/// Dropping it without committing removes it, and any parent folders it created.
#[derive(Debug)]
pub struct OutputFolder {
    tmp: PathBuf,
    output: PathBuf,
    force: bool,
    created_parents: Vec<PathBuf>,
    done: bool,
}

/// Whether `force` may replace (and so delete) the non-empty folder `dir`: only a
/// model folder, i.e. one where a model layout's files are present (`config.json` or
/// `config_sentence_transformers.json`, with `model.safetensors` at the root or under
/// `0_StaticEmbedding/`), holding nothing but files and sentence-transformers module
/// folders (`0_StaticEmbedding`, `1_Normalize`, ...). `--force` pointed at a home or
/// project folder by mistake is refused instead of deleting it.
fn replaceable(dir: &Path) -> Result<(), String> {
    let looks_like_model = crate::Layout::ALL.iter().any(|l| {
        let f = l.files(dir);
        f.config.is_file() && f.safetensors.is_file()
    });
    if !looks_like_model {
        return Err(
            "the output folder is not empty and holds no model (no config.json and \
             model.safetensors); refusing to replace it, even with --force"
                .into(),
        );
    }
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list the folder: {e}"))?;
    for e in entries {
        let e = e.map_err(|e| format!("cannot list the folder: {e}"))?;
        let kind = e
            .file_type()
            .map_err(|err| format!("{}: {err}", e.path().display()))?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        let module = name.split_once('_').is_some_and(|(n, rest)| {
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty()
        });
        if kind.is_dir() && !module {
            return Err(format!(
                "the output folder holds a model but also the folder `{name}`, which no model \
                 writes; refusing to replace it, even with --force"
            ));
        }
    }
    Ok(())
}

impl OutputFolder {
    /// Checks the output (refuses a non-empty folder without `force`, or a file), creates
    /// missing parents and the temporary folder. Call it before long work, so that a
    /// bad output path fails in milliseconds.
    pub fn new(output: &Path, force: bool) -> Result<OutputFolder, Error> {
        let refuse = |message: String| Error::Output {
            path: output.to_path_buf(),
            message,
        };
        if output.as_os_str().is_empty() {
            return Err(refuse("the output path is empty".into()));
        }
        match fs::metadata(output) {
            Ok(m) if m.is_dir() => {
                let non_empty = fs::read_dir(output).map_err(io(output))?.next().is_some();
                if non_empty && !force {
                    return Err(refuse(
                        "the output folder is not empty (pass --force to replace it)".into(),
                    ));
                }
                if non_empty {
                    replaceable(output).map_err(refuse)?;
                }
            }
            Ok(_) => return Err(refuse("the output path exists and is not a folder".into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(refuse(format!("cannot access the output path: {e}"))),
        }
        let name = output
            .file_name()
            .ok_or_else(|| refuse("the output path has no folder name".into()))?
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
        let mut folder = OutputFolder {
            tmp: PathBuf::new(),
            output: output.to_path_buf(),
            force,
            created_parents,
            done: false,
        };
        fs::create_dir_all(&parent).map_err(|e| {
            refuse(format!(
                "cannot create the folder {}: {e}",
                parent.display()
            ))
        })?;
        remove_stale_temporaries(&parent, &name);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let tmp = parent.join(format!(".{name}.m2v-tmp-{}-{stamp}", std::process::id()));
        fs::create_dir(&tmp).map_err(|e| {
            refuse(format!(
                "cannot write to the output location {}: {e}",
                parent.display()
            ))
        })?;
        folder.tmp = tmp;
        Ok(folder)
    }

    /// The temporary folder the files go into.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// The final output path.
    pub fn output(&self) -> &Path {
        &self.output
    }

    /// Writes one file into the temporary folder (and syncs it).
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let path = self.tmp.join(name);
        let mut f = fs::File::create(&path).map_err(io(&path))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(io(&path))
    }

    /// Moves the finished folder onto the output path (replacing an empty folder, or
    /// with `force` a non-empty one).
    ///
    /// With `force`, on Linux (glibc) the two folders are swapped in one atomic
    /// `renameat2(RENAME_EXCHANGE)`: at every instant the output path holds either the
    /// old model or the new one, so a crash or `kill -9` never leaves it missing. Where
    /// the exchange is unavailable (other systems, file systems without it), the old
    /// folder is first renamed aside under the temporary folder's unique name plus
    /// `.old`, and a crash between the two renames leaves it there.
    pub fn commit(mut self) -> Result<PathBuf, Error> {
        let mut aside = None;
        if self.output.exists() && self.force {
            // Beside the temporary folder, under its unique name (not `.NAME.old`,
            // which another process could have planted or could be using).
            let mut old = self.tmp.clone().into_os_string();
            old.push(".old");
            let old = PathBuf::from(old);
            if exchange(&self.tmp, &self.output) {
                // The old model is now at `tmp`.
                self.done = true;
                fs::remove_dir_all(&self.tmp).map_err(io(&self.tmp))?;
                return Ok(self.output.clone());
            }
            fs::rename(&self.output, &old).map_err(io(&self.output))?;
            aside = Some(old);
        }
        // Without `force` the output is missing or an empty folder (checked in `new`):
        // rename(2) replaces an empty folder.
        if let Err(e) = fs::rename(&self.tmp, &self.output) {
            if let Some(old) = &aside {
                let _ = fs::rename(old, &self.output);
            }
            return Err(io(&self.output)(e));
        }
        self.done = true;
        if let Some(old) = aside {
            fs::remove_dir_all(&old).map_err(io(&old))?;
        }
        Ok(self.output.clone())
    }
}

/// Removes the temporary folders that killed runs left beside the output `name` in
/// `parent`: `.NAME.m2v-tmp-PID-STAMP` (and its `.old` form) whose process `PID` no
/// longer runs. Only on Linux, where `/proc/PID` says whether a process runs; a PID
/// reused since by another process keeps its folder (the safe mistake), and so does a
/// folder whose name does not parse. Best effort: a folder that cannot be removed
/// stays, and never stops the run.
fn remove_stale_temporaries(parent: &Path, name: &str) {
    if !cfg!(target_os = "linux") || !Path::new("/proc/self").exists() {
        return;
    }
    let prefix = format!(".{name}.m2v-tmp-");
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let rest = rest.strip_suffix(".old").unwrap_or(rest);
        let Some((pid, stamp)) = rest.split_once('-') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if stamp.is_empty() || !stamp.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let alive = pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
        // Only real folders (not a symlink someone planted under that name).
        if !alive && e.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// Atomically swaps two existing paths (Linux `renameat2` with `RENAME_EXCHANGE`,
/// declared here so the crate keeps zero dependencies); `false` where that is not
/// available, and nothing was changed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn exchange(a: &Path, b: &Path) -> bool {
    use std::ffi::{CString, c_char, c_int, c_uint};
    use std::os::unix::ffi::OsStrExt;
    unsafe extern "C" {
        fn renameat2(
            olddirfd: c_int,
            oldpath: *const c_char,
            newdirfd: c_int,
            newpath: *const c_char,
            flags: c_uint,
        ) -> c_int;
    }
    const AT_FDCWD: c_int = -100;
    const RENAME_EXCHANGE: c_uint = 2;
    let (Ok(a), Ok(b)) = (
        CString::new(a.as_os_str().as_bytes()),
        CString::new(b.as_os_str().as_bytes()),
    ) else {
        return false;
    };
    // SAFETY: both pointers are NUL-terminated strings that live until the call
    // returns; renameat2 only reads them, and reports failure through its result.
    unsafe { renameat2(AT_FDCWD, a.as_ptr(), AT_FDCWD, b.as_ptr(), RENAME_EXCHANGE) == 0 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn exchange(_a: &Path, _b: &Path) -> bool {
    false
}

impl Drop for OutputFolder {
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

impl crate::StaticModel {
    /// Saves the model as a model2vec folder, as Python's `StaticModel.save_pretrained`
    /// does: the embedding matrix as used (after any load-time `dtype` conversion and
    /// `dimensionality` truncation, so those become permanent), the weights and mapping,
    /// the tokenizer file as loaded, the config with this model's `normalize` and
    /// `max_length`, `modules.json` and a model card (its `base_model` and `language`
    /// read from the source folder's card, when there is one). A non-empty output
    /// folder is refused; see [`StaticModel::save_pretrained_with`].
    ///
    /// F16 weights are stored as F32 (the same values). The saved folder loads in
    /// Python `model2vec` 0.10 and encodes to the same numbers.
    ///
    /// [`StaticModel::save_pretrained_with`]: crate::StaticModel::save_pretrained_with
    pub fn save_pretrained(&self, output: impl AsRef<Path>) -> Result<PathBuf, Error> {
        self.save_pretrained_with(output, &SaveOptions::default())
    }

    /// [`save_pretrained`](crate::StaticModel::save_pretrained) with options.
    pub fn save_pretrained_with(
        &self,
        output: impl AsRef<Path>,
        opts: &SaveOptions,
    ) -> Result<PathBuf, Error> {
        let output = output.as_ref();
        let folder = OutputFolder::new(output, opts.force)?;
        write_model(&folder, &self.to_parts()?)?;
        folder.commit()
    }

    /// The embedding matrix as the model uses it (after a load-time `dtype` or
    /// `dimensionality`), `[rows, dim]` in its dtype: Python's `StaticModel.embedding`.
    pub fn embedding_tensor(&self) -> TensorData {
        let t = &self.lookup().table;
        let mut bytes = Vec::with_capacity(t.rows * t.dim * t.dtype.size());
        for r in 0..t.rows {
            bytes.extend_from_slice(t.row(r).unwrap_or(&[]));
        }
        TensorData {
            dtype: t.dtype,
            shape: vec![t.rows, t.dim],
            bytes,
        }
    }

    /// What [`save_pretrained`](crate::StaticModel::save_pretrained) writes, in memory:
    /// the matrix as used, the weights and mapping, the tokenizer file (re-read when the
    /// model came from a folder), the config as Python would save it, and a card (named
    /// after the output folder when saved).
    pub fn to_parts(&self) -> Result<ModelParts<'_>, Error> {
        let tokenizer_json: std::borrow::Cow<'_, [u8]> = match self.tokenizer_source() {
            crate::model::TokenizerSource::File(p) => std::borrow::Cow::Owned(
                crate::files::read_regular(p, Some(crate::files::MAX_TOKENIZER_BYTES))?,
            ),
            crate::model::TokenizerSource::Bytes(b) => std::borrow::Cow::Borrowed(&b[..]),
        };
        let lookup = self.lookup();
        let t = &lookup.table;
        let embeddings = self.embedding_tensor();
        let weights = lookup.weights.as_ref().map(|w| match w {
            crate::table::Weights::F32(v) => TensorData::from_f32(v),
            crate::table::Weights::F64(v) => TensorData::from_f64(v),
        });
        let mapping = lookup.mapping.as_ref().map(|m| {
            let v: Vec<i32> = m.iter().map(|&r| r as i32).collect();
            TensorData::from_i32(&v)
        });
        // Python's `StaticModel.__init__` sets `max_length`, then `normalize`, in the
        // config it keeps (keys already there keep their place).
        let mut config = self.config().clone();
        if !matches!(config, Value::Object(_)) {
            config = Value::Object(Vec::new());
        }
        config.set(
            "max_length",
            self.max_length()
                .map_or(Value::Null, |n| Value::int(n as i64)),
        );
        config.set("normalize", Value::Bool(self.normalize()));
        let (base, language) = self
            .dir()
            .and_then(|d| fs::read_to_string(d.join("README.md")).ok())
            .map(|text| front_matter(&text))
            .unwrap_or_default();
        let card = ModelCard::new(
            base.unwrap_or_else(|| "unknown".into()),
            String::new(),
            self.vocab_size(),
            t.dim,
            t.dtype.numpy_name(),
        )
        .with_language(language);
        Ok(ModelParts {
            embeddings,
            weights,
            mapping,
            tokenizer_json,
            config,
            card,
        })
    }
}

/// What `config.json` of a distilled model records (Python's `StaticModelConfig`, in
/// the order `distill_from_model` builds it, `max_length` added as `StaticModel` adds
/// it).
#[derive(Debug, Clone)]
pub struct DistilledConfig {
    /// `tokenizer_name`: the teacher as the user named it (hub id or path).
    pub tokenizer_name: String,
    /// `apply_pca`: an integer, a float, `"auto"` or null, as given.
    pub apply_pca: Value,
    /// `sif_coefficient` (`None` without SIF).
    pub sif_coefficient: Option<f64>,
    /// `hidden_dim`: columns of the stored embeddings.
    pub hidden_dim: usize,
    /// `pooling`: `mean`, `first`, `last` or `pooler`.
    pub pooling: String,
    /// `max_length` (the reference's `StaticModel` default, 512).
    pub max_length: Option<usize>,
}

impl DistilledConfig {
    /// The config as a JSON object (`embedding_dtype` and `vocabulary_quantization` are
    /// added by [`config_for_save`] when saving).
    pub fn to_value(&self) -> Value {
        Value::Object(vec![
            ("model_type".into(), Value::string("model2vec")),
            (
                "architectures".into(),
                Value::Array(vec![Value::string("StaticModel")]),
            ),
            ("tokenizer_name".into(), Value::string(&self.tokenizer_name)),
            ("apply_pca".into(), self.apply_pca.clone()),
            (
                "sif_coefficient".into(),
                self.sif_coefficient.map_or(Value::Null, Value::float),
            ),
            ("hidden_dim".into(), Value::int(self.hidden_dim as i64)),
            ("seq_length".into(), Value::int(1_000_000)),
            ("normalize".into(), Value::Bool(true)),
            ("pooling".into(), Value::string(&self.pooling)),
            (
                "max_length".into(),
                self.max_length
                    .map_or(Value::Null, |n| Value::int(n as i64)),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_and_modules_like_python() {
        let cfg = DistilledConfig {
            tokenizer_name: "sentence-transformers/all-MiniLM-L6-v2".into(),
            apply_pca: Value::int(256),
            sif_coefficient: Some(1e-4),
            hidden_dim: 256,
            pooling: "mean".into(),
            max_length: Some(512),
        };
        let v = config_for_save(cfg.to_value(), Dtype::F16, None);
        // Expected: Python model2vec 0.10.0's config.json for `distill(..., pca_dims=256)`
        // (crates/m2v-distill/tests/fixtures/distill/default/expected.json, but for the
        // teacher path).
        assert_eq!(
            json::to_python_string(&v),
            "{\n    \"model_type\": \"model2vec\",\n    \"architectures\": [\n        \"StaticModel\"\n    ],\n    \"tokenizer_name\": \"sentence-transformers/all-MiniLM-L6-v2\",\n    \"apply_pca\": 256,\n    \"sif_coefficient\": 0.0001,\n    \"hidden_dim\": 256,\n    \"seq_length\": 1000000,\n    \"normalize\": true,\n    \"pooling\": \"mean\",\n    \"max_length\": 512,\n    \"embedding_dtype\": \"float16\"\n}"
        );
        let v = config_for_save(v, Dtype::I8, Some(10));
        let keys: Vec<&str> = v
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys.last(), Some(&"vocabulary_quantization"));
        assert_eq!(
            v.get("embedding_dtype").and_then(Value::as_str),
            Some("int8")
        );
        let v = config_for_save(v, Dtype::F32, None);
        assert!(v.get("vocabulary_quantization").is_none());
        // Python: `json.dumps(modules, indent=4)` of save_pretrained's list.
        assert_eq!(
            modules_json(false),
            "[\n    {\n        \"idx\": 0,\n        \"name\": \"0\",\n        \"path\": \".\",\n        \"type\": \"sentence_transformers.models.StaticEmbedding\"\n    }\n]"
        );
        assert!(modules_json(true).contains("\"path\": \"1_Normalize\""));
    }

    #[test]
    fn output_folder_is_atomic() {
        let root = std::env::temp_dir().join(format!("m2v-static-save-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let out = root.join("a").join("model");
        {
            let s = OutputFolder::new(&out, false).unwrap();
            s.write("x.txt", b"x").unwrap();
            // Dropped without commit: nothing left, not even the parents it made.
        }
        assert!(!root.exists(), "staging left {}", root.display());
        let s = OutputFolder::new(&out, false).unwrap();
        s.write("x.txt", b"1").unwrap();
        // A model folder: `force` may replace it.
        s.write("config.json", b"{}").unwrap();
        s.write("model.safetensors", b"").unwrap();
        s.commit().unwrap();
        assert_eq!(fs::read(out.join("x.txt")).unwrap(), b"1");
        let err = OutputFolder::new(&out, false).unwrap_err().to_string();
        assert!(err.contains("not empty") && err.contains("model"), "{err}");
        let s = OutputFolder::new(&out, true).unwrap();
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

    #[test]
    fn force_replaces_only_a_model_folder() {
        let root = tempdir_for("force");
        // A folder of someone's work: refused even with force, and left intact.
        let work = root.join("work");
        fs::create_dir_all(work.join("src")).unwrap();
        fs::write(work.join("notes.txt"), b"mine").unwrap();
        let err = OutputFolder::new(&work, true).unwrap_err().to_string();
        assert!(
            err.contains("holds no model") && err.contains("work"),
            "{err}"
        );
        assert_eq!(fs::read(work.join("notes.txt")).unwrap(), b"mine");
        // A model folder with a foreign subfolder: refused too.
        fs::write(work.join("config.json"), b"{}").unwrap();
        fs::write(work.join("model.safetensors"), b"").unwrap();
        let err = OutputFolder::new(&work, true).unwrap_err().to_string();
        assert!(err.contains("the folder `src`"), "{err}");
        // A model folder (with module folders) is replaced.
        fs::remove_dir_all(work.join("src")).unwrap();
        fs::create_dir(work.join("1_Normalize")).unwrap();
        let s = OutputFolder::new(&work, true).unwrap();
        s.write("config.json", b"{\"new\": 1}").unwrap();
        // A planted `.work.old` is neither used nor touched.
        fs::create_dir(root.join(".work.old")).unwrap();
        fs::write(root.join(".work.old/keep"), b"k").unwrap();
        s.commit().unwrap();
        assert_eq!(fs::read(work.join("config.json")).unwrap(), b"{\"new\": 1}");
        assert!(!work.join("notes.txt").exists());
        assert_eq!(fs::read(root.join(".work.old/keep")).unwrap(), b"k");
        let left: Vec<_> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
        fs::remove_dir_all(&root).unwrap();
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn exchange_swaps_two_folders_atomically() {
        let root = tempdir_for("exchange");
        let (a, b) = (root.join("a"), root.join("b"));
        fs::create_dir(&a).unwrap();
        fs::create_dir(&b).unwrap();
        fs::write(a.join("f"), b"a").unwrap();
        fs::write(b.join("f"), b"b").unwrap();
        assert!(exchange(&a, &b));
        assert_eq!(fs::read(a.join("f")).unwrap(), b"b");
        assert_eq!(fs::read(b.join("f")).unwrap(), b"a");
        assert!(!exchange(&a, &root.join("missing")));
        assert_eq!(fs::read(a.join("f")).unwrap(), b"b");
        fs::remove_dir_all(&root).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn temporaries_of_killed_runs_are_removed_by_the_next_run() {
        let root = tempdir_for("stale");
        // PIDs above the kernel's maximum (4,194,304) never run.
        let dead = root.join(".out.m2v-tmp-99999999-123");
        let dead_old = root.join(".out.m2v-tmp-99999998-123.old");
        let live = root.join(format!(".out.m2v-tmp-{}-5", std::process::id()));
        let other = root.join(".other.m2v-tmp-99999999-123");
        let odd = root.join(".out.m2v-tmp-99999999-x");
        for d in [&dead, &dead_old, &live, &other, &odd] {
            fs::create_dir(d).unwrap();
            fs::write(d.join("model.safetensors"), b"partial").unwrap();
        }
        // A symlink under a stale name is not followed or removed.
        let target = root.join("target");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), b"k").unwrap();
        let link = root.join(".out.m2v-tmp-99999997-1");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let s = OutputFolder::new(&root.join("out"), false).unwrap();
        assert!(!dead.exists() && !dead_old.exists());
        for kept in [&live, &other, &odd] {
            assert!(
                kept.join("model.safetensors").exists(),
                "{}",
                kept.display()
            );
        }
        assert!(fs::symlink_metadata(&link).is_ok());
        assert_eq!(fs::read(target.join("keep")).unwrap(), b"k");
        drop(s);
        fs::remove_dir_all(&root).unwrap();
    }

    fn tempdir_for(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("m2v-static-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        root
    }
}
