//! The Hugging Face hub cache layout, shared with Python `huggingface_hub`.
//!
//! Layout (identical to `huggingface_hub` ≥ 0.14):
//! ```text
//! $HF_HUB_CACHE/models--ORG--NAME/
//!     blobs/<etag>                 file contents (sha256 for LFS files, git sha1 otherwise)
//!     refs/<revision>              a 40-hex commit hash, e.g. refs/main
//!     snapshots/<commit>/<path>    symlinks into blobs (copies where symlinks fail)
//! ```
//! Invariants:
//! - a blob is only ever created by renaming a complete, verified `<etag>.incomplete`
//!   file (or by `cargo xtask fetch`, which verifies before renaming), so a blob that
//!   exists can be trusted;
//! - a snapshot entry is a relative symlink into `blobs/` (a copy of the blob where
//!   symlinks fail), created under a temporary name and renamed into place;
//! - `refs/<revision>` is written (by rename) after every file of a download is in
//!   place, so a ref names a commit whose selected files are all present.
//!
//! Python `huggingface_hub` fills snapshots one file at a time, so a snapshot folder
//! may hold only some of a repository's files: [`HfCache::lookup`] checks the files a
//! task requires, not just the folder.

use std::path::{Path, PathBuf};

use crate::{Error, FileSelection};

/// `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
pub(crate) fn hf_home() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("HF_HOME")
        .or_else(|| var("XDG_CACHE_HOME").map(|x| x.join("huggingface")))
        .or_else(|| {
            var("HOME")
                .or_else(|| var("USERPROFILE"))
                .map(|h| h.join(".cache").join("huggingface"))
        })
}

/// A repository id with an optional revision, parsed from `ORG/NAME[@REVISION]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoId {
    /// `ORG/NAME` (or a bare `NAME`).
    pub repo_id: String,
    /// A branch, tag or commit hash; `main` when none was given.
    pub revision: String,
}

impl RepoId {
    /// Parses `ORG/NAME[@REVISION]`.
    ///
    /// The repository id follows the hub's rules (Python `huggingface_hub`'s
    /// `validate_repo_id`): letters, digits, `-`, `_` and `.`, no part starting or
    /// ending with `-` or `.`, and no `--` or `..` anywhere, so that two ids never share
    /// a cache folder (`a--b/c` and `a/b--c` would both be `models--a--b--c`). The
    /// revision is checked by [`valid_revision`], so that it never leaves the cache.
    pub fn parse(id: &str) -> Result<Self, Error> {
        let (repo, revision) = match id.split_once('@') {
            Some((r, rev)) if !rev.is_empty() => (r, rev),
            Some(_) => {
                return Err(Error::InvalidId {
                    id: id.into(),
                    why: "empty revision",
                });
            }
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
        if parts.is_empty() || parts.len() > 2 || !parts.iter().all(valid_part) {
            return Err(Error::InvalidId {
                id: id.into(),
                why: "expected ORG/NAME with letters, digits, '-', '_' or '.' (no part \
                      starting or ending with '-' or '.')",
            });
        }
        if repo.contains("--") || repo.contains("..") {
            return Err(Error::InvalidId {
                id: id.into(),
                why: "`--` and `..` are not allowed in a repository id (`a--b/c` and \
                      `a/b--c` would share one cache folder)",
            });
        }
        if repo.len() > 96 {
            return Err(Error::InvalidId {
                id: id.into(),
                why: "longer than the hub's 96 characters",
            });
        }
        if !valid_revision(revision) {
            return Err(Error::InvalidId {
                id: id.into(),
                why: "a revision is a branch, tag or commit: letters, digits, '-', '_', \
                      '.', '+' and '/' between non-empty parts that do not start with '.' \
                      (no `..`, `\\`, drive prefix or absolute path)",
            });
        }
        Ok(RepoId {
            repo_id: repo.to_string(),
            revision: revision.to_string(),
        })
    }

    /// The folder name inside the cache: `models--ORG--NAME`.
    pub fn folder_name(&self) -> String {
        format!("models--{}", self.repo_id.replace('/', "--"))
    }
}

/// The local Hugging Face hub cache.
#[derive(Debug, Clone)]
pub struct HfCache {
    root: PathBuf,
}

impl HfCache {
    /// A cache rooted at `root` (the folder holding `models--*` folders).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        HfCache { root: root.into() }
    }

    /// The cache Python `huggingface_hub` uses: `$HF_HUB_CACHE`, else
    /// `$HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else
    /// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
    pub fn from_env() -> Self {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let root = var("HF_HUB_CACHE")
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
            });
        HfCache { root }
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The repository folder `models--ORG--NAME` (which may not exist).
    pub fn repo_dir(&self, id: &RepoId) -> PathBuf {
        self.root.join(id.folder_name())
    }

    /// The blob file for an etag (`blobs/<etag>`).
    pub fn blob_path(&self, id: &RepoId, etag: &str) -> PathBuf {
        self.repo_dir(id).join("blobs").join(etag)
    }

    /// The lock file Python `huggingface_hub` also takes while downloading a blob:
    /// `.locks/models--ORG--NAME/<etag>.lock`.
    pub fn lock_path(&self, id: &RepoId, etag: &str) -> PathBuf {
        self.root
            .join(".locks")
            .join(id.folder_name())
            .join(format!("{etag}.lock"))
    }

    /// The snapshot entry of `path` at `commit`.
    pub fn pointer_path(&self, id: &RepoId, commit: &str, path: &str) -> PathBuf {
        let mut p = self.repo_dir(id).join("snapshots").join(commit);
        for part in path.split('/') {
            p.push(part);
        }
        p
    }

    /// Records that `id.revision` points to `commit` (`refs/<revision>`, written to a
    /// temporary file and renamed). Does nothing for a revision that is a commit hash.
    pub fn write_ref(&self, id: &RepoId, commit: &str) -> Result<(), Error> {
        if id.revision == commit {
            return Ok(());
        }
        if !valid_revision(&id.revision) {
            return Err(Error::InvalidId {
                id: format!("{}@{}", id.repo_id, id.revision),
                why: "the revision would leave the cache's refs folder",
            });
        }
        let path = self.repo_dir(id).join("refs").join(&id.revision);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let tmp = path.with_file_name(format!(".{}.{}", id.revision.replace('/', "_"), unique()));
        std::fs::write(&tmp, commit).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    }

    /// Puts the snapshot entry for `path` at `commit` in place, pointing at the blob
    /// `etag`: a relative symlink (`../../blobs/<etag>` with one more `..` per folder
    /// level of `path`), or a copy of the blob where symlinks are unavailable.
    pub fn link_pointer(
        &self,
        id: &RepoId,
        commit: &str,
        path: &str,
        etag: &str,
    ) -> Result<PathBuf, Error> {
        let pointer = self.pointer_path(id, commit, path);
        let parent = pointer
            .parent()
            .unwrap_or(self.root.as_path())
            .to_path_buf();
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let depth = path.split('/').count() + 1; // snapshots/<commit>/<dirs...>/file
        let mut target = PathBuf::new();
        for _ in 0..depth {
            target.push("..");
        }
        target.push("blobs");
        target.push(etag);
        let name = pointer
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = parent.join(format!(".{name}.{}", unique()));
        let _ = std::fs::remove_file(&tmp);
        if symlink(&target, &tmp).is_err() {
            let blob = self.blob_path(id, etag);
            std::fs::copy(&blob, &tmp).map_err(|e| Error::io(&blob, e))?;
        }
        std::fs::rename(&tmp, &pointer).map_err(|e| Error::io(&pointer, e))?;
        Ok(pointer)
    }

    /// The snapshot folder (or its `subfolder`) of `id` if the cache holds every file
    /// `files` requires (symlinks that resolve) and one of its alternatives completely,
    /// without using the network.
    pub fn lookup(&self, id: &RepoId, files: &FileSelection) -> Option<PathBuf> {
        let snap = self.snapshot(id).ok()?;
        let dir = match &files.subfolder {
            Some(s) => snap.join(s),
            None => snap,
        };
        let complete = dir.is_dir()
            && files.required.iter().all(|r| dir.join(r).is_file())
            && (files.alternatives.is_empty()
                || files.alternatives.iter().any(|a| a.complete_in(&dir)));
        complete.then_some(dir)
    }

    /// The commit hash a revision points to, if the cache knows it.
    pub fn commit_for(&self, id: &RepoId) -> Option<String> {
        if is_commit_hash(&id.revision) {
            return Some(id.revision.clone());
        }
        if !valid_revision(&id.revision) {
            return None;
        }
        let refs = self.repo_dir(id).join("refs").join(&id.revision);
        let text = std::fs::read_to_string(refs).ok()?;
        let commit = text.trim();
        is_commit_hash(commit).then(|| commit.to_string())
    }

    /// Resolves a repository to its snapshot folder without using the network.
    ///
    /// Fails with [`Error::NotCached`] (saying how to get the model) when the
    /// revision or its snapshot folder is missing.
    pub fn snapshot(&self, id: &RepoId) -> Result<PathBuf, Error> {
        let not_cached = || Error::NotCached {
            repo_id: id.repo_id.clone(),
            revision: id.revision.clone(),
            cache: self.root.clone(),
            hint: "download it with network access (m2v-cli fetches hub ids), or run \
                   `cargo xtask fetch` for the models m2v's tests and README use"
                .to_string(),
        };
        let commit = self.commit_for(id).ok_or_else(not_cached)?;
        let dir = self.repo_dir(id).join("snapshots").join(commit);
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(not_cached())
        }
    }
}

/// `true` when `revision` can name a file under `refs/` without leaving it: parts
/// separated by `/`, each non-empty, not starting with `.` (so no `.` or `..`), of
/// letters, digits, `-`, `_`, `.` and `+` (so no `\\`, no `:` of a drive prefix, no
/// control character), at most 255 bytes. Branch names with `/` (`feature/x`,
/// `refs/pr/1`) stay valid.
pub fn valid_revision(revision: &str) -> bool {
    !revision.is_empty()
        && revision.len() <= 255
        && revision.split('/').all(|p| {
            !p.is_empty()
                && !p.starts_with('.')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
        })
}

/// A string from the network or the user made safe to print: control characters
/// (terminal escapes, carriage returns, newlines) and other invisible characters are
/// written as Rust escapes (`\u{1b}`), everything else as it is.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A name suffix no other writer (process or thread) uses at the same time.
fn unique() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}.tmp", std::process::id())
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_file(target, link)
}

#[cfg(not(any(unix, windows)))]
fn symlink(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("symlinks unsupported"))
}

/// `true` for a 40-character lowercase hex string (a git commit hash).
pub fn is_commit_hash(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids() {
        let r = RepoId::parse("minishlab/potion-base-8M").unwrap();
        assert_eq!(
            (r.repo_id.as_str(), r.revision.as_str()),
            ("minishlab/potion-base-8M", "main")
        );
        assert_eq!(r.folder_name(), "models--minishlab--potion-base-8M");
        let r = RepoId::parse("a/b@v1.0").unwrap();
        assert_eq!(r.revision, "v1.0");
        for bad in ["", "a/b/c", "a/", "../x", "a/b@", "a b/c"] {
            assert!(RepoId::parse(bad).is_err(), "{bad}");
        }
        let r = RepoId::parse("a/b@refs/pr/1").unwrap();
        assert_eq!(r.revision, "refs/pr/1");
    }

    #[test]
    fn revisions_never_leave_the_cache() {
        for bad in [
            "org/model@../../x",
            "org/model@..",
            "org/model@.",
            "org/model@main/../../x",
            "org/model@/etc/passwd",
            "org/model@a//b",
            "org/model@..\\..\\x",
            "org/model@C:x",
            "org/model@c:\\windows",
            "org/model@\\\\server\\share",
            "org/model@main\u{1b}[2J",
            "org/model@.hidden",
        ] {
            let e = RepoId::parse(bad).unwrap_err();
            assert!(matches!(e, Error::InvalidId { .. }), "{bad}: {e}");
        }
        // Built by hand, past `parse`: the cache still refuses it.
        let cache = HfCache::new(std::env::temp_dir().join("m2v-hub-never-written"));
        let id = RepoId {
            repo_id: "org/model".into(),
            revision: "../../x".into(),
        };
        assert!(cache.write_ref(&id, &"0".repeat(40)).is_err());
        assert!(cache.commit_for(&id).is_none());
        assert!(!cache.root().exists());
    }

    #[test]
    fn ids_that_would_share_a_cache_folder_are_refused() {
        assert_eq!(
            RepoId::parse("a-b/c").unwrap().folder_name(),
            "models--a-b--c"
        );
        for bad in ["a--b/c", "a/b--c", "a/b..c", "-a/b", "a/b-", "a./b", ".a/b"] {
            let e = RepoId::parse(bad).unwrap_err();
            assert!(matches!(e, Error::InvalidId { .. }), "{bad}: {e}");
        }
    }

    #[test]
    fn printable_escapes_terminal_controls() {
        assert_eq!(printable("model.safetensors"), "model.safetensors");
        assert_eq!(printable("a\u{1b}[2Jb\r\n"), "a\\u{1b}[2Jb\\r\\n");
        assert_eq!(printable("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(printable("日本"), "日本");
    }

    #[test]
    fn resolves_refs_and_reports_missing() {
        let tmp = std::env::temp_dir().join(format!("m2v-hub-cache-test-{}", std::process::id()));
        let cache = HfCache::new(&tmp);
        let id = RepoId::parse("org/model").unwrap();
        let commit = "0123456789abcdef0123456789abcdef01234567";
        let err = cache.snapshot(&id).unwrap_err().to_string();
        assert!(
            err.contains("org/model") && err.contains("cargo xtask fetch"),
            "{err}"
        );
        std::fs::create_dir_all(cache.repo_dir(&id).join("refs")).unwrap();
        std::fs::write(cache.repo_dir(&id).join("refs/main"), commit).unwrap();
        assert!(
            cache.snapshot(&id).is_err(),
            "ref without snapshot folder must not resolve"
        );
        let snap = cache.repo_dir(&id).join("snapshots").join(commit);
        std::fs::create_dir_all(&snap).unwrap();
        assert_eq!(cache.snapshot(&id).unwrap(), snap);
        let pinned = RepoId::parse(&format!("org/model@{commit}")).unwrap();
        assert_eq!(cache.snapshot(&pinned).unwrap(), snap);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
