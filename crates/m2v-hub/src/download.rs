//! Downloads into the shared cache: [`Hub`] and its download methods.
//!
//! The protocol is Python `huggingface_hub`'s:
//! 1. `GET {endpoint}/api/models/{repo}/revision/{rev}`: the commit (`sha`) and the file
//!    list (`siblings[].rfilename`);
//! 2. per selected file not yet in the snapshot: `HEAD {endpoint}/{repo}/resolve/{commit}/{file}`
//!    without following redirects; the etag is `X-Linked-Etag` (LFS files, whose
//!    response is a redirect to the storage URL) or `ETag`, the size `X-Linked-Size` or
//!    `Content-Length`;
//! 3. unless `blobs/<etag>` exists: `GET` the redirect target (or the resolve URL) into
//!    `blobs/<etag>.incomplete` under the same lock file Python uses, resuming with
//!    `Range` after a broken connection, then check size and hash (sha256 for LFS
//!    etags, the git blob sha1 otherwise) and rename to `blobs/<etag>`;
//! 4. link `snapshots/<commit>/<file>` to the blob; write `refs/<rev>` last.
//!
//! Invariant: a partial or unverified download is never at a path a later run trusts;
//! a failed verification deletes the `.incomplete` file so the next attempt restarts.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha1::Digest as _;

use crate::http::{Ctx, Http, Payload, Resp, encode, header, join_url, origin};
use crate::{Error, FileSelection, HfCache, RepoId, Retry, Token, is_commit_hash};

/// The default hub endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// A connection to a hub (endpoint, token, retry policy) and the cache it fills.
///
/// Everything is injectable, so tests never depend on process environment:
/// [`Hub::new`] takes the endpoint and cache; [`Hub::from_env`] reads `HF_ENDPOINT`,
/// `HF_HUB_CACHE`/`HF_HOME`, `HF_TOKEN` and `HF_HUB_OFFLINE` like Python does.
#[derive(Clone)]
pub struct Hub {
    pub(crate) http: Http,
    pub(crate) cache: HfCache,
    offline: bool,
    progress: Option<Arc<ProgressFn>>,
}

/// A download progress callback: (repository path, bytes so far, total bytes if known).
/// Called after every chunk written, so it should be cheap.
pub type ProgressFn = dyn Fn(&str, u64, Option<u64>) + Send + Sync;

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("http", &self.http)
            .field("cache", &self.cache)
            .field("offline", &self.offline)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// A repository revision as the hub describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// The commit hash the revision resolved to.
    pub sha: String,
    /// Every file path in the repository at that commit.
    pub files: Vec<String>,
}

/// `true` when `HF_HUB_OFFLINE` asks for no network use; when it is unset or empty,
/// `TRANSFORMERS_OFFLINE` decides, as in Python. True values: `1`, `true`, `yes`, `on`
/// (any case).
pub fn offline_from_env() -> bool {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    get("HF_HUB_OFFLINE")
        .or_else(|| get("TRANSFORMERS_OFFLINE"))
        .is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
}

/// The local folder of the hub id `id` with the `files` a task needs, using the
/// environment's hub settings ([`Hub::from_env`]): the cache when it holds them,
/// else a download (unless `HF_HUB_OFFLINE=1`, which gives [`Error::NotCached`]).
pub fn snapshot_or_download(id: &RepoId, files: &FileSelection) -> Result<PathBuf, Error> {
    Hub::from_env().snapshot_or_download(id, files)
}

impl Hub {
    /// A hub at `endpoint` filling `cache`, without a token, online, default retries.
    pub fn new(endpoint: &str, cache: HfCache) -> Self {
        Hub {
            http: Http::new(endpoint, None, Retry::default()),
            cache,
            offline: false,
            progress: None,
        }
    }

    /// The hub Python would use: `$HF_ENDPOINT` (default [`DEFAULT_ENDPOINT`]), the
    /// cache of [`HfCache::from_env`], the token of [`Token::from_env`], and
    /// `HF_HUB_OFFLINE`.
    pub fn from_env() -> Self {
        let endpoint = std::env::var("HF_ENDPOINT")
            .ok()
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        Hub::new(&endpoint, HfCache::from_env())
            .with_token(Token::from_env())
            .offline(offline_from_env())
    }

    /// Uses `token` (replacing any token read from the environment).
    pub fn with_token(self, token: Option<Token>) -> Self {
        let retry = self.http.retry;
        Hub {
            http: Http::new(self.http.endpoint(), token, retry),
            ..self
        }
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.http.retry = retry;
        self
    }

    /// Reports download progress to `f` (e.g. a progress bar).
    pub fn with_progress(
        mut self,
        f: impl Fn(&str, u64, Option<u64>) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Offline mode: only the cache is used.
    pub fn offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// The cache this hub fills.
    pub fn cache(&self) -> &HfCache {
        &self.cache
    }

    /// The endpoint, without a trailing `/`.
    pub fn endpoint(&self) -> &str {
        self.http.endpoint()
    }

    fn not_cached(&self, id: &RepoId, hint: &str) -> Error {
        Error::NotCached {
            repo_id: id.repo_id.clone(),
            revision: id.revision.clone(),
            cache: self.cache.root().to_path_buf(),
            hint: hint.to_string(),
        }
    }

    /// The local folder for `id` with the `files` a task needs: from the cache when it
    /// already holds them (no network use at all), else downloaded (unless offline).
    pub fn snapshot_or_download(
        &self,
        id: &RepoId,
        files: &FileSelection,
    ) -> Result<PathBuf, Error> {
        if let Some(dir) = self.cache.lookup(id, files) {
            return Ok(dir);
        }
        self.download(id, files)
    }

    /// Resolves `id` on the hub and downloads the selected files that the cache lacks;
    /// returns the snapshot folder (or its subfolder).
    ///
    /// A revision that is a commit hash and is complete in the cache is returned without
    /// network use. When the hub cannot be reached (connection errors or 5xx after
    /// retries) a complete cached snapshot of the revision is used instead, as Python
    /// does. Offline (`HF_HUB_OFFLINE`), only the cache is consulted.
    pub fn download(&self, id: &RepoId, files: &FileSelection) -> Result<PathBuf, Error> {
        if self.offline {
            return self.cache.lookup(id, files).ok_or_else(|| {
                self.not_cached(
                    id,
                    "offline mode (HF_HUB_OFFLINE=1) is on and the files are not cached: \
                     unset HF_HUB_OFFLINE to download them",
                )
            });
        }
        if is_commit_hash(&id.revision)
            && let Some(dir) = self.cache.lookup(id, files)
        {
            return Ok(dir);
        }
        let info = match self.model_info(id) {
            Ok(info) => info,
            Err(e) if e.is_unreachable() => {
                return self.cache.lookup(id, files).ok_or(e);
            }
            Err(e) => return Err(e),
        };
        for r in &files.required {
            let p = files.repo_path(r);
            if !info.files.contains(&p) {
                return Err(Error::FileNotFound {
                    repo_id: id.repo_id.clone(),
                    revision: id.revision.clone(),
                    path: p,
                });
            }
        }
        let alternative = files.chosen_alternative(&info.files);
        if alternative.is_none()
            && let Some(first) = files.alternatives.first()
        {
            return Err(Error::FileNotFound {
                repo_id: id.repo_id.clone(),
                revision: id.revision.clone(),
                path: format!(
                    "{} (or any of: {})",
                    files.repo_path(&first.marker),
                    files.alternatives[1..]
                        .iter()
                        .map(|a| a.marker.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        let wanted = |f: &str| {
            files.matches(f)
                || alternative.is_some_and(|a| files.relative(f).is_some_and(|r| a.matches(r)))
        };
        for f in info.files.iter().filter(|f| wanted(f)) {
            self.download_file(id, &info.sha, f)?;
        }
        let snap = self.cache.repo_dir(id).join("snapshots").join(&info.sha);
        std::fs::create_dir_all(&snap).map_err(|e| Error::io(&snap, e))?;
        self.cache.write_ref(id, &info.sha)?;
        Ok(match &files.subfolder {
            Some(s) => snap.join(s),
            None => snap,
        })
    }

    /// `GET {endpoint}/api/models/{repo}/revision/{rev}`.
    pub fn model_info(&self, id: &RepoId) -> Result<ModelInfo, Error> {
        let url = format!(
            "{}/api/models/{}/revision/{}",
            self.endpoint(),
            id.repo_id,
            encode(&id.revision, false)
        );
        let ctx = Ctx {
            repo_id: &id.repo_id,
            revision: &id.revision,
            path: None,
        };
        let v = self.get_json(url.clone(), ctx)?;
        let bad = |what: &str| Error::Protocol {
            url: url.clone(),
            what: what.to_string(),
        };
        let sha = v
            .get("sha")
            .and_then(|s| s.as_str())
            .filter(|s| is_commit_hash(s))
            .ok_or_else(|| bad("no commit hash in `sha`"))?
            .to_string();
        let files = v
            .get("siblings")
            .and_then(|s| s.as_array())
            .ok_or_else(|| bad("no `siblings` list"))?
            .iter()
            .filter_map(|s| s.get("rfilename").and_then(|f| f.as_str()))
            .map(str::to_string)
            .collect();
        Ok(ModelInfo { sha, files })
    }

    /// `GET` a JSON document, following same-host redirects (a renamed repository) and
    /// retrying when the connection breaks while the body is read.
    fn get_json(&self, url: String, ctx: Ctx<'_>) -> Result<serde_json::Value, Error> {
        let attempts = self.http.retry.attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut url = url.clone();
            let mut resp = self.http.send("GET", &url, &[], Payload::Empty, true)?;
            for _ in 0..5 {
                let Some(loc) =
                    header(&resp, "location").filter(|_| resp.status().is_redirection())
                else {
                    break;
                };
                let target = join_url(&url, &loc);
                if origin(&target) != origin(&url) {
                    break;
                }
                url = target;
                resp = self.http.send("GET", &url, &[], Payload::Empty, true)?;
            }
            if !resp.status().is_success() {
                return Err(self.http.status_error("GET", &url, &mut resp, ctx));
            }
            match self.http.json(&url, &mut resp) {
                Err(Error::Network { .. }) if attempt < attempts => {
                    std::thread::sleep(self.http.retry.delay(attempt));
                }
                other => return other,
            }
        }
    }

    /// Downloads one file of `commit` into the cache (if its snapshot entry is missing)
    /// and returns the snapshot entry.
    pub fn download_file(&self, id: &RepoId, commit: &str, path: &str) -> Result<PathBuf, Error> {
        if path.split('/').any(|p| {
            p.is_empty()
                || p == "."
                || p == ".."
                || p.contains(['\\', ':'])
                || p.chars().any(char::is_control)
        }) {
            return Err(Error::Protocol {
                url: self.endpoint().to_string(),
                what: format!(
                    "unsafe file path `{}` in the file list",
                    crate::printable(path)
                ),
            });
        }
        let pointer = self.cache.pointer_path(id, commit, path);
        if pointer.is_file() {
            return Ok(pointer);
        }
        let url = format!(
            "{}/{}/resolve/{}/{}",
            self.endpoint(),
            id.repo_id,
            commit,
            encode(path, true)
        );
        let ctx = Ctx {
            repo_id: &id.repo_id,
            revision: commit,
            path: Some(path),
        };
        let ident = [("accept-encoding", "identity")];
        let mut url = url;
        let mut hops = 0;
        let meta = loop {
            let mut head = self.http.send("HEAD", &url, &ident, Payload::Empty, true)?;
            let status = head.status();
            if !(status.is_success() || status.is_redirection()) {
                return Err(self.http.status_error("HEAD", &url, &mut head, ctx));
            }
            // A redirect that carries no file metadata (a renamed repository) is
            // followed on the hub's own host, as Python does; an LFS redirect to storage
            // is not: its `X-Linked-*` headers are the metadata.
            if status.is_redirection()
                && hops < 5
                && header(&head, "x-linked-etag").is_none()
                && let Some(loc) = header(&head, "location")
            {
                let target = join_url(&url, &loc);
                if origin(&target) == origin(&url) {
                    url = target;
                    hops += 1;
                    continue;
                }
            }
            break FileMeta::from_head(&url, &head)?;
        };
        let blob = self.cache.blob_path(id, &meta.etag);
        if !blob.is_file() {
            let blobs = blob.parent().unwrap_or(self.cache.root()).to_path_buf();
            std::fs::create_dir_all(&blobs).map_err(|e| Error::io(&blobs, e))?;
            let lock_path = self.cache.lock_path(id, &meta.etag);
            if let Some(d) = lock_path.parent() {
                std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
            }
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| Error::io(&lock_path, e))?;
            lock.lock().map_err(|e| Error::io(&lock_path, e))?;
            // Another process may have finished it while we waited for the lock.
            if !blob.is_file() {
                self.fetch_blob(&meta, &blob, ctx)?;
            }
            drop(lock);
        }
        self.cache.link_pointer(id, commit, path, &meta.etag)
    }

    /// Downloads `meta.location` into `<blob>.incomplete`, verifies it, renames it.
    fn fetch_blob(&self, meta: &FileMeta, blob: &Path, ctx: Ctx<'_>) -> Result<(), Error> {
        let tmp = PathBuf::from(format!("{}.incomplete", blob.display()));
        let attempts = self.http.retry.attempts.max(1);
        let mut last_err = None;
        for attempt in 1..=attempts {
            if attempt > 1 {
                std::thread::sleep(self.http.retry.delay(attempt - 1));
            }
            match self.fetch_once(meta, &tmp, ctx) {
                Ok(()) => {}
                Err(Fetch::Retry(e)) => {
                    last_err = Some(e);
                    continue;
                }
                Err(Fetch::Fatal(e)) => return Err(e),
            }
            match verify(meta, &tmp) {
                Ok(()) => {
                    return std::fs::rename(&tmp, blob).map_err(|e| Error::io(blob, e));
                }
                Err(e) => {
                    // Never keep bytes that failed verification: restart from zero.
                    let _ = std::fs::remove_file(&tmp);
                    last_err = Some(e);
                }
            }
        }
        Err(match last_err {
            Some(Error::Network {
                method,
                url,
                reason,
                ..
            }) => Error::Network {
                method,
                url,
                reason,
                attempts,
            },
            Some(e) => e,
            None => Error::Protocol {
                url: meta.location.clone(),
                what: "download did not complete".into(),
            },
        })
    }

    /// One GET: resumes from the bytes already in `tmp` when the server honours
    /// `Range`, else starts over.
    fn fetch_once(&self, meta: &FileMeta, tmp: &Path, ctx: Ctx<'_>) -> Result<(), Fetch> {
        let io = |e| Fetch::Fatal(Error::io(tmp, e));
        let mut have = std::fs::metadata(tmp).map(|m| m.len()).unwrap_or(0);
        if meta.size.is_some_and(|s| have > s) {
            have = 0;
        }
        if meta.size == Some(have) && have > 0 {
            return Ok(());
        }
        let range = format!("bytes={have}-");
        let mut headers = vec![("accept-encoding", "identity")];
        if have > 0 {
            headers.push(("range", range.as_str()));
        }
        let mut url = meta.location.clone();
        let mut resp = None;
        for _ in 0..5 {
            // One attempt: `fetch_blob` retries (and resumes) around this.
            let r = self
                .http
                .send_single("GET", &url, &headers, Payload::Empty)
                .map_err(Fetch::Retry)?;
            if r.status().is_redirection()
                && let Some(loc) = header(&r, "location")
            {
                url = join_url(&url, &loc);
                continue;
            }
            resp = Some(r);
            break;
        }
        let mut resp: Resp = resp.ok_or_else(|| {
            Fetch::Fatal(Error::Protocol {
                url: url.clone(),
                what: "too many redirects".into(),
            })
        })?;
        let status = resp.status().as_u16();
        let append = match status {
            206 => {
                let start = header(&resp, "content-range")
                    .and_then(|c| {
                        c.strip_prefix("bytes ")
                            .and_then(|r| r.split('-').next())
                            .and_then(|s| s.trim().parse::<u64>().ok())
                    })
                    .unwrap_or(u64::MAX);
                if start != have {
                    // Not the range asked for: restart cleanly next time.
                    let _ = std::fs::remove_file(tmp);
                    return Err(Fetch::Retry(Error::Protocol {
                        url,
                        what: format!("range response starts at {start}, asked for {have}"),
                    }));
                }
                true
            }
            200 => false,
            416 => {
                let _ = std::fs::remove_file(tmp);
                return Err(Fetch::Retry(Error::Protocol {
                    url,
                    what: "range not satisfiable; restarting".into(),
                }));
            }
            s if s >= 500 || s == 429 => {
                return Err(Fetch::Retry(
                    self.http.status_error("GET", &url, &mut resp, ctx),
                ));
            }
            _ => {
                return Err(Fetch::Fatal(
                    self.http.status_error("GET", &url, &mut resp, ctx),
                ));
            }
        };
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(!append)
            .open(tmp)
            .map_err(io)?;
        if append {
            file.seek(SeekFrom::End(0)).map_err(io)?;
        }
        let mut done = if append { have } else { 0 };
        let mut reader = resp.body_mut().with_config().reader();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    file.write_all(&buf[..n]).map_err(io)?;
                    done += n as u64;
                    if let Some(p) = &self.progress {
                        p(ctx.path.unwrap_or_default(), done, meta.size);
                    }
                }
                Err(e) => {
                    // Keep what arrived: the next attempt resumes from there.
                    let _ = file.flush();
                    return Err(Fetch::Retry(Error::Network {
                        method: "GET",
                        url,
                        reason: format!("connection broke mid-body: {e}"),
                        attempts: 1,
                    }));
                }
            }
        }
        file.sync_all().map_err(io)?;
        Ok(())
    }
}

enum Fetch {
    Retry(Error),
    Fatal(Error),
}

/// What `HEAD .../resolve/...` says about a file.
#[derive(Debug)]
struct FileMeta {
    etag: String,
    size: Option<u64>,
    location: String,
}

impl FileMeta {
    fn from_head(url: &str, head: &Resp) -> Result<Self, Error> {
        let bad = |what: &str| Error::Protocol {
            url: url.to_string(),
            what: what.to_string(),
        };
        if header(head, "x-repo-commit").is_none() {
            return Err(bad(
                "no X-Repo-Commit header: this does not look like a Hugging Face hub \
                 (check HF_ENDPOINT)",
            ));
        }
        let etag = header(head, "x-linked-etag")
            .or_else(|| header(head, "etag"))
            .map(|e| normalize_etag(&e))
            .filter(|e| !e.is_empty())
            .ok_or_else(|| bad("no ETag header"))?;
        if !etag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        {
            return Err(bad("the ETag is not usable as a file name"));
        }
        let redirect = head.status().is_redirection();
        let size = header(head, "x-linked-size")
            .or_else(|| {
                if redirect {
                    None
                } else {
                    header(head, "content-length")
                }
            })
            .and_then(|s| s.trim().parse().ok());
        let location = match header(head, "location") {
            Some(l) if redirect => join_url(url, &l),
            _ => url.to_string(),
        };
        Ok(FileMeta {
            etag,
            size,
            location,
        })
    }
}

/// `W/"abc"` or `"abc"` → `abc` (as Python's `_normalize_etag`).
fn normalize_etag(e: &str) -> String {
    e.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_string()
}

/// Checks size and, when the etag is a hash, the content: a 64-hex etag is the
/// sha256 of an LFS file, a 40-hex etag the git blob sha1 of a regular file.
fn verify(meta: &FileMeta, tmp: &Path) -> Result<(), Error> {
    let len = std::fs::metadata(tmp).map_err(|e| Error::io(tmp, e))?.len();
    if let Some(size) = meta.size
        && size != len
    {
        return Err(Error::Verify {
            url: meta.location.clone(),
            what: "size",
            expected: size.to_string(),
            actual: len.to_string(),
        });
    }
    let is_hex = |n| meta.etag.len() == n && meta.etag.bytes().all(|b| b.is_ascii_hexdigit());
    let (what, actual) = if is_hex(64) {
        let mut h = sha2::Sha256::new();
        hash_file(tmp, |b| h.update(b))?;
        ("sha256", hex(&h.finalize()))
    } else if is_hex(40) {
        let mut h = sha1::Sha1::new();
        h.update(format!("blob {len}\0").as_bytes());
        hash_file(tmp, |b| h.update(b))?;
        ("git sha1", hex(&h.finalize()))
    } else {
        return Ok(());
    };
    if actual != meta.etag.to_ascii_lowercase() {
        return Err(Error::Verify {
            url: meta.location.clone(),
            what,
            expected: meta.etag.clone(),
            actual,
        });
    }
    Ok(())
}

pub(crate) fn hash_file(path: &Path, mut f: impl FnMut(&[u8])) -> Result<(), Error> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(());
        }
        f(&buf[..n]);
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_normalize() {
        assert_eq!(normalize_etag("W/\"abc\""), "abc");
        assert_eq!(normalize_etag("\"abc\""), "abc");
        assert_eq!(normalize_etag("abc"), "abc");
    }
}
