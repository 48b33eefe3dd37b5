//! Hub ids (`minishlab/potion-base-8M`) resolved through the local Hugging Face cache.
//!
//! [`resolve`] turns the name given to [`crate::StaticModel::from_pretrained`] into a
//! folder: an existing folder is used as it is; otherwise the name is read as a hub id
//! `ORG/NAME[@REVISION]` and looked up in the cache that Python `huggingface_hub` and
//! `m2v-hub` fill, using the file system only (this crate stays dependency-free and
//! does no network I/O). With the `download` feature a model missing from the cache is
//! downloaded into it through `m2v-hub` (unless `HF_HUB_OFFLINE=1`).
//!
//! The cache layout read here is `m2v-hub`'s (`m2v_hub::HfCache`), which cannot be
//! called from here without a dependency cycle (`download` makes this crate depend on
//! `m2v-hub`). Invariant, checked by `tests/hub_ids.rs` against `m2v-hub` on the same
//! caches and ids: where the cache holds a static model, a name resolves here to the
//! folder `m2v_hub::HfCache::lookup` gives for `FileSelection::model()`, and a name is
//! refused as a hub id here exactly when `m2v_hub::RepoId::parse` refuses it.
//!
//! ```text
//! $HF_HUB_CACHE (else $HUGGINGFACE_HUB_CACHE, $HF_HOME/hub,
//!                $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub)
//!   models--ORG--NAME/refs/REVISION          the commit a branch or tag points to
//!   models--ORG--NAME/snapshots/COMMIT/...   the model's files
//! ```

use std::path::{Path, PathBuf};

use crate::Error;

/// The local folder of a model: `name` itself when it is a folder (a missing one when
/// `name` is written as a path: absolute, or starting with `.` or `~`), else the snapshot
/// of the hub id `name` in the Hugging Face cache when it holds a complete model
/// (`config.json` or `config_sentence_transformers.json`, `tokenizer.json` and
/// `model.safetensors`, at the root or under `0_StaticEmbedding/`).
///
/// Without the `download` feature, a hub id missing from the cache is
/// [`Error::NotCached`]; with it, the model is downloaded first (see
/// [`resolve_with_token`]).
pub fn resolve(name: impl AsRef<Path>) -> Result<PathBuf, Error> {
    resolve_with_token(name, None)
}

/// [`resolve`], with a Hugging Face token for private or gated models (else
/// `$HF_TOKEN` or the token file, as `m2v-hub` reads them). The token is only used
/// by the `download` feature.
pub fn resolve_with_token(name: impl AsRef<Path>, token: Option<&str>) -> Result<PathBuf, Error> {
    resolve_in(&cache_root(), name, token)
}

/// [`resolve_with_token`] with the cache at `cache` instead of the environment's.
pub fn resolve_in(
    cache: &Path,
    name: impl AsRef<Path>,
    token: Option<&str>,
) -> Result<PathBuf, Error> {
    let path = name.as_ref();
    if path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let text = path.to_str().unwrap_or_default();
    // Written as a path (absolute, `./`, `../`, `~`): a missing folder, not a hub id.
    if path.is_absolute() || text.is_empty() || text.starts_with(['.', '~']) {
        return Err(Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
        });
    }
    let id = HubId::parse(text).map_err(|why| Error::NotFound {
        name: path.to_path_buf(),
        message: format!("no such folder, and not a hub id ({why})"),
    })?;
    if let Some(dir) = lookup(cache, &id) {
        return Ok(dir);
    }
    download(text, cache, token)
}

#[cfg(not(feature = "download"))]
fn download(name: &str, cache: &Path, _token: Option<&str>) -> Result<PathBuf, Error> {
    Err(Error::NotCached {
        name: name.to_string(),
        cache: cache.to_path_buf(),
        hint: "download it first (`m2v-cli` and Python `huggingface_hub` fill this cache), \
               or build m2v-static with the `download` feature",
    })
}

/// Downloads with the environment's hub settings (`HF_ENDPOINT`, `HF_TOKEN`,
/// `HF_HUB_OFFLINE`) into `cache`.
#[cfg(feature = "download")]
fn download(name: &str, cache: &Path, token: Option<&str>) -> Result<PathBuf, Error> {
    let fail = |e: m2v_hub::Error| Error::Download {
        name: name.to_string(),
        message: e.to_string(),
    };
    let id = m2v_hub::RepoId::parse(name).map_err(fail)?;
    let env = m2v_hub::Hub::from_env();
    let token = match token {
        Some(t) => m2v_hub::Token::new(t),
        None => m2v_hub::Token::from_env(),
    };
    let hub = m2v_hub::Hub::new(env.endpoint(), m2v_hub::HfCache::new(cache))
        .with_token(token)
        .offline(m2v_hub::offline_from_env());
    hub.snapshot_or_download(&id, &m2v_hub::FileSelection::model())
        .map_err(fail)
}

/// A parsed `ORG/NAME[@REVISION]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HubId {
    pub(crate) repo: String,
    pub(crate) revision: String,
}

impl HubId {
    /// The hub's rules for repository ids (Python `huggingface_hub`'s
    /// `validate_repo_id`, as `m2v_hub::RepoId::parse` applies them) and a revision
    /// that cannot leave the cache's `refs/` folder.
    pub(crate) fn parse(id: &str) -> Result<HubId, &'static str> {
        let (repo, revision) = match id.split_once('@') {
            Some((_, "")) => return Err("empty revision"),
            Some((r, rev)) => (r, rev),
            None => (id, "main"),
        };
        let parts: Vec<&str> = repo.split('/').collect();
        let valid_part = |p: &&str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                && !p.starts_with(['-', '.'])
                && !p.ends_with(['-', '.'])
        };
        if parts.len() > 2 || !parts.iter().all(valid_part) {
            return Err("expected ORG/NAME with letters, digits, '-', '_' or '.'");
        }
        if repo.contains("--") || repo.contains("..") {
            return Err("`--` and `..` are not allowed in a repository id");
        }
        if repo.len() > 96 {
            return Err("longer than the hub's 96 characters");
        }
        let valid_revision = revision.len() <= 255
            && revision.split('/').all(|p| {
                !p.is_empty()
                    && !p.starts_with('.')
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
            });
        if !valid_revision {
            return Err("invalid revision");
        }
        Ok(HubId {
            repo: repo.to_string(),
            revision: revision.to_string(),
        })
    }
}

/// The cache Python `huggingface_hub` uses (see the module doc for the order).
pub fn cache_root() -> PathBuf {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("HF_HUB_CACHE")
        .or_else(|| var("HUGGINGFACE_HUB_CACHE"))
        .or_else(|| var("HF_HOME").map(|h| h.join("hub")))
        .or_else(|| var("XDG_CACHE_HOME").map(|x| x.join("huggingface").join("hub")))
        .unwrap_or_else(|| {
            var("HOME")
                .or_else(|| var("USERPROFILE"))
                .unwrap_or_else(|| PathBuf::from("."))
                .join(".cache")
                .join("huggingface")
                .join("hub")
        })
}

/// The snapshot folder of `id` in `cache` when it holds a complete model.
pub(crate) fn lookup(cache: &Path, id: &HubId) -> Option<PathBuf> {
    let repo = cache.join(format!("models--{}", id.repo.replace('/', "--")));
    let is_commit = |s: &str| {
        s.len() == 40
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let commit = if is_commit(&id.revision) {
        id.revision.clone()
    } else {
        let text = std::fs::read_to_string(repo.join("refs").join(&id.revision)).ok()?;
        let c = text.trim();
        if !is_commit(c) {
            return None;
        }
        c.to_string()
    };
    let dir = repo.join("snapshots").join(commit);
    crate::Layout::detect(&dir).is_ok().then_some(dir)
}
