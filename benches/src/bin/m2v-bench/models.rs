//! Resolving `--models` names to embedders: static models through `m2v-static`,
//! sentence-transformers teachers through `m2v-teacher`, and the hashing baseline.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use m2v_eval::{Embedder, Error, HashingEmbedder};

/// A model as named on the command line, resolved to a folder.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Display name.
    pub name: String,
    /// The folder (absent for the hashing baseline).
    pub dir: Option<PathBuf>,
    /// Whether it is a sentence-transformers teacher.
    pub teacher: bool,
}

/// Short names for the fetched models.
const ALIASES: [(&str, &str); 4] = [
    ("potion-base-8M", "minishlab/potion-base-8M"),
    ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"),
    (
        "all-mpnet-base-v2",
        "sentence-transformers/all-mpnet-base-v2",
    ),
    ("tokenlearn-static-model", "pypi/tokenlearn-static-model"),
];

/// Resolves `hashing`, `dir:PATH`, an existing folder, a short alias or a hub id
/// (`ORG/NAME[@REV]`, from the local Hugging Face cache only).
pub fn resolve(given: &str) -> Result<Spec> {
    if given == "hashing" {
        return Ok(Spec {
            name: "hashing-bow-256".into(),
            dir: None,
            teacher: false,
        });
    }
    let (dir, name) = if let Some(p) = given.strip_prefix("dir:") {
        let p = PathBuf::from(p);
        let name = p
            .file_name()
            .map_or_else(|| given.to_string(), |n| n.to_string_lossy().into_owned());
        (p, name)
    } else if Path::new(given).is_dir() {
        (PathBuf::from(given), given.to_string())
    } else {
        let hub = ALIASES
            .iter()
            .find(|(a, _)| *a == given)
            .map_or(given, |(_, h)| *h);
        let id = m2v_hub::RepoId::parse(hub)
            .with_context(|| format!("`{given}` is not a folder, alias or hub id"))?;
        let dir = m2v_hub::HfCache::from_env()
            .snapshot(&id)
            .with_context(|| {
                format!("`{hub}` is not in the Hugging Face cache (run `cargo xtask fetch`)")
            })?;
        let name = hub.rsplit('/').next().unwrap_or(hub).to_string();
        (dir, name)
    };
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    Ok(Spec {
        name,
        teacher: is_teacher(&dir),
        dir: Some(dir),
    })
}

/// What a model pre-trained by `m2v-cli distill --corpus` records in its
/// `config.json` (`pretraining`), in words: the corpus, its size and the time.
pub fn pretraining_note(dir: &Path) -> Option<String> {
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).ok()?).ok()?;
    let p = config.get("pretraining")?;
    let cached = p.get("cached_texts").and_then(|c| c.as_u64()).unwrap_or(0);
    let cache = if cached > 0 {
        format!(", {cached} of them featurized by an earlier run (feature cache)")
    } else {
        String::new()
    };
    Some(format!(
        "distilled and pre-trained on {} texts of `{}`{cache}, {} epochs, in {:.0} s (distillation, featurization, training) on the machine that made it",
        p.get("texts")?.as_u64()?,
        p.get("corpus")?.as_str()?,
        p.get("epochs").and_then(|e| e.as_u64()).unwrap_or(0),
        p.get("seconds")?.as_f64()?,
    ))
}

/// A folder is a teacher when its `config.json` names a transformer architecture
/// (`model_type` bert or mpnet); model2vec folders say `model2vec` or nothing.
fn is_teacher(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("config.json")) else {
        return false;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    matches!(
        v.get("model_type").and_then(|t| t.as_str()),
        Some("bert" | "mpnet")
    )
}

/// Loads the embedder of a spec.
pub fn load(spec: &Spec) -> Result<Box<dyn Embedder>> {
    let Some(dir) = &spec.dir else {
        return Ok(Box::new(HashingEmbedder::new(256)));
    };
    if spec.teacher {
        let t = m2v_teacher::Teacher::load(dir, m2v_teacher::DeviceChoice::Cpu)
            .with_context(|| format!("loading teacher {}", dir.display()))?;
        let params = safetensors_params(&dir.join("model.safetensors"))?;
        Ok(Box::new(TeacherEmbedder {
            name: spec.name.clone(),
            teacher: t,
            params,
        }))
    } else {
        let m = m2v_static::StaticModel::from_pretrained(dir)
            .with_context(|| format!("loading static model {}", dir.display()))?;
        Ok(Box::new(StaticEmbedder {
            name: spec.name.clone(),
            model: m,
        }))
    }
}

/// Total element count of the tensors in a safetensors file (its header only).
pub fn safetensors_params(path: &Path) -> Result<usize> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len)?;
    let len = usize::try_from(u64::from_le_bytes(len))?;
    if len > 100 << 20 {
        bail!("{}: implausible header length {len}", path.display());
    }
    let mut header = vec![0u8; len];
    f.read_exact(&mut header)?;
    let v: serde_json::Value = serde_json::from_slice(&header)?;
    let mut total = 0usize;
    for (k, t) in v.as_object().into_iter().flatten() {
        if k == "__metadata__" {
            continue;
        }
        let shape = t.get("shape").and_then(|s| s.as_array());
        total += shape.map_or(0, |s| {
            s.iter().filter_map(|d| d.as_u64()).product::<u64>() as usize
        });
    }
    Ok(total)
}

/// A model2vec model through `m2v_static::StaticModel` (its own threading).
struct StaticEmbedder {
    name: String,
    model: m2v_static::StaticModel,
}

impl Embedder for StaticEmbedder {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn implementation(&self) -> String {
        "m2v (static)".into()
    }
    fn params(&self) -> usize {
        let weights = if self.model.has_weights() {
            self.model.vocab_size()
        } else {
            0
        };
        self.model.rows() * self.model.dim() + weights
    }
    fn dim(&self) -> usize {
        self.model.dim()
    }
    fn encode(&self, texts: &[&str], threads: usize) -> Result<Vec<f32>, Error> {
        let opts = m2v_static::EncodeOptions::new().threads(threads.max(1));
        Ok(self.model.encode_with(texts, &opts).into_vec())
    }
}

/// A sentence-transformers model through `m2v_teacher::Teacher` (Burn flex backend,
/// rayon). `threads` below the machine's count runs it in a rayon pool of that size.
struct TeacherEmbedder {
    name: String,
    teacher: m2v_teacher::Teacher,
    params: usize,
}

/// A rayon pool of `threads` (at least 1) threads; errors name the model.
fn rayon_pool(model: &str, threads: usize) -> Result<rayon::ThreadPool, Error> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| Error::Model {
            model: model.to_string(),
            what: format!("cannot build a thread pool: {e}"),
        })
}

/// Sentences per forward pass (sorted by length inside each call, so little padding).
const TEACHER_BATCH: usize = 64;

impl Embedder for TeacherEmbedder {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn implementation(&self) -> String {
        "m2v-teacher (burn flex)".into()
    }
    fn params(&self) -> usize {
        self.params
    }
    fn dim(&self) -> usize {
        // The sentence width after the pipeline's Dense modules; a module that cannot
        // load fails `encode` with its error, so the hidden size stands in here.
        self.teacher
            .sentence_dim()
            .unwrap_or_else(|_| self.teacher.hidden_size())
    }
    fn encode(&self, texts: &[&str], threads: usize) -> Result<Vec<f32>, Error> {
        let run = || {
            self.teacher
                .encode_sentences(texts, TEACHER_BATCH)
                .map_err(|e| Error::Model {
                    model: self.name.clone(),
                    what: e.to_string(),
                })
        };
        if threads >= rayon::current_num_threads() {
            return run();
        }
        let pool = rayon_pool(&self.name, threads)?;
        pool.install(run)
    }
}

/// The same folder through `model2vec-rs` (feature `peers`), for the speed columns.
#[cfg(feature = "peers")]
pub fn load_model2vec_rs(spec: &Spec) -> Result<Box<dyn Embedder>> {
    let Some(dir) = &spec.dir else {
        bail!("model2vec-rs needs a model folder");
    };
    let m = model2vec_rs::model::StaticModel::from_pretrained(dir, None, None, None)
        .map_err(|e| anyhow::anyhow!("model2vec-rs cannot load {}: {e:#}", dir.display()))?;
    let params = safetensors_params(&dir.join("model.safetensors")).unwrap_or(0);
    Ok(Box::new(Model2VecRs {
        name: spec.name.clone(),
        model: m,
        params,
    }))
}

/// `model2vec_rs::model::StaticModel`, parallel through rayon (a pool of `threads`).
#[cfg(feature = "peers")]
struct Model2VecRs {
    name: String,
    model: model2vec_rs::model::StaticModel,
    params: usize,
}

#[cfg(feature = "peers")]
impl Embedder for Model2VecRs {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn implementation(&self) -> String {
        "model2vec-rs 0.4".into()
    }
    fn params(&self) -> usize {
        self.params
    }
    fn dim(&self) -> usize {
        self.model.dim()
    }
    fn encode(&self, texts: &[&str], threads: usize) -> Result<Vec<f32>, Error> {
        let owned: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
        let pool = rayon_pool(&self.name, threads)?;
        let rows = pool.install(|| self.model.encode_with_args(&owned, Some(512), 1024));
        Ok(rows.into_iter().flatten().collect())
    }
}
