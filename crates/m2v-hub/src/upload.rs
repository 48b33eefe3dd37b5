//! Uploads: create the repository, then commit a folder through the hub's commit API.
//!
//! The protocol is Python `huggingface_hub`'s `upload_folder` without Xet:
//! 1. `POST {endpoint}/api/repos/create` `{"name", "organization", "visibility", "type"}`
//!    (409 = it exists, fine);
//! 2. `POST {endpoint}/api/models/{repo}/preupload/{rev}` with each file's path, size and
//!    first 512 bytes (base64): the hub answers `uploadMode` `regular` or `lfs` (and
//!    `shouldIgnore`);
//! 3. LFS files: `POST {endpoint}/{repo}.git/info/lfs/objects/batch` (operation upload,
//!    transfer `basic`, sha256 oids); for each object with an `upload` action, `PUT` the
//!    file to its `href` with its headers, then `POST` `{oid, size}` to the `verify`
//!    action if there is one;
//! 4. `POST {endpoint}/api/models/{repo}/commit/{rev}` as NDJSON: a `header` line
//!    (summary, description), `file` lines (base64 content) for regular files and
//!    `lfsFile` lines (path, algo sha256, oid, size) for LFS files.
//!
//! Only the `basic` LFS transfer is offered; a server that insists on multipart or Xet
//! uploads gets a clear error. The commit request is not retried (a lost response
//! would otherwise create a duplicate commit), the other requests are.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::download::{hash_file, hex};
use crate::http::{Ctx, Payload, encode};
use crate::{Error, Hub, RepoId, Token};

/// Options of [`push_folder`].
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Create the repository as private (ignored when it exists).
    pub private: bool,
    /// The token; `None` uses `HF_TOKEN` (or the token file of `huggingface-cli login`).
    pub token: Option<Token>,
    /// The commit message; a default is used when `None`.
    pub message: Option<String>,
}

/// The commit a push created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The commit hash.
    pub oid: String,
    /// The commit's web page.
    pub commit_url: String,
    /// Files committed (repository paths), sorted.
    pub files: Vec<String>,
    /// How many of them went through LFS.
    pub lfs_files: usize,
}

/// Uploads every file under `dir` to the model repository `repo_id` (`ORG/NAME`, or
/// `ORG/NAME@BRANCH`) on the hub of [`Hub::from_env`], creating it if needed.
pub fn push_folder(dir: &Path, repo_id: &str, options: PushOptions) -> Result<CommitInfo, Error> {
    let mut hub = Hub::from_env();
    if options.token.is_some() {
        hub = hub.with_token(options.token.clone());
    }
    hub.push_folder(dir, repo_id, &options)
}

struct LocalFile {
    path: PathBuf,
    repo_path: String,
    size: u64,
    sha256: String,
    sample: Vec<u8>,
    lfs: bool,
}

/// Where a symlink in the pushed folder may point: inside the folder itself, or, for a
/// folder that is a snapshot of the Hugging Face cache (`models--X/snapshots/REV`),
/// into that repository's `blobs/` (the cache's own links).
struct Allowed {
    root: PathBuf,
    blobs: Option<PathBuf>,
}

impl Allowed {
    fn new(root: &Path) -> Result<Self, Error> {
        let root = std::fs::canonicalize(root).map_err(|e| Error::io(root, e))?;
        let blobs = root.ancestors().find_map(|a| {
            let repo = a.parent()?;
            let is_cache_repo = a.file_name() == Some("snapshots".as_ref())
                && repo
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("models--"));
            is_cache_repo.then(|| repo.join("blobs"))
        });
        Ok(Allowed { root, blobs })
    }

    fn contains(&self, target: &Path) -> bool {
        target.starts_with(&self.root) || self.blobs.as_ref().is_some_and(|b| target.starts_with(b))
    }
}

fn collect(
    root: &Path,
    dir: &Path,
    allowed: &Allowed,
    out: &mut Vec<(PathBuf, String)>,
) -> Result<(), Error> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| Error::io(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name == ".git" || name == ".cache" {
            continue;
        }
        let link = std::fs::symlink_metadata(&p)
            .map_err(|err| Error::io(&p, err))?
            .file_type()
            .is_symlink();
        let meta = std::fs::metadata(&p).map_err(|err| Error::io(&p, err))?;
        if link {
            // A link out of the folder would publish a file the user never put there
            // (`~/.ssh/id_rsa`); a linked folder could loop.
            let target = std::fs::canonicalize(&p).map_err(|err| Error::io(&p, err))?;
            if meta.is_dir() {
                return Err(Error::Upload {
                    path: p.clone(),
                    why: "a symlink to a folder; refusing to follow it (copy the folder in)".into(),
                });
            }
            if !allowed.contains(&target) {
                return Err(Error::Upload {
                    path: p.clone(),
                    why: format!(
                        "a symlink to {}, outside the folder; refusing to upload it",
                        target.display()
                    ),
                });
            }
        }
        if meta.is_dir() {
            collect(root, &p, allowed, out)?;
        } else if meta.is_file() {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            let parts: Option<Vec<&str>> = rel.iter().map(|c| c.to_str()).collect();
            let repo_path = parts.map(|v| v.join("/")).ok_or_else(|| Error::Upload {
                path: p.clone(),
                why: "the file name is not valid UTF-8".into(),
            })?;
            out.push((p, repo_path));
        }
    }
    Ok(())
}

impl Hub {
    /// See [`push_folder`]; uses this hub's endpoint and token.
    pub fn push_folder(
        &self,
        dir: &Path,
        repo_id: &str,
        options: &PushOptions,
    ) -> Result<CommitInfo, Error> {
        let id = RepoId::parse(repo_id)?;
        if !self.http.has_token() {
            return Err(Error::TokenRequired {
                repo_id: id.repo_id.clone(),
            });
        }
        if !dir.is_dir() {
            return Err(Error::Upload {
                path: dir.to_path_buf(),
                why: "not a folder".into(),
            });
        }
        let mut found = Vec::new();
        let allowed = Allowed::new(dir)?;
        collect(dir, dir, &allowed, &mut found)?;
        if found.is_empty() {
            return Err(Error::Upload {
                path: dir.to_path_buf(),
                why: "the folder holds no files".into(),
            });
        }
        let mut files = Vec::with_capacity(found.len());
        for (path, repo_path) in found {
            let mut h = sha2::Sha256::new();
            let mut sample = Vec::new();
            let mut size = 0u64;
            hash_file(&path, |b| {
                if sample.len() < 512 {
                    let take = (512 - sample.len()).min(b.len());
                    sample.extend_from_slice(&b[..take]);
                }
                size += b.len() as u64;
                h.update(b);
            })?;
            files.push(LocalFile {
                path,
                repo_path,
                size,
                sha256: hex(&h.finalize()),
                sample,
                lfs: false,
            });
        }
        self.create_repo(&id, options.private)?;
        let ignored = self.preupload(&id, &mut files)?;
        files.retain(|f| !ignored.contains(&f.repo_path));
        let lfs: Vec<&LocalFile> = files.iter().filter(|f| f.lfs).collect();
        if !lfs.is_empty() {
            self.upload_lfs(&id, &lfs)?;
        }
        self.commit(&id, &files, options)
    }

    fn ctx<'a>(id: &'a RepoId) -> Ctx<'a> {
        Ctx {
            repo_id: &id.repo_id,
            revision: &id.revision,
            path: None,
        }
    }

    fn post_json(
        &self,
        id: &RepoId,
        url: &str,
        body: &Value,
        content_type: &str,
        retry: bool,
    ) -> Result<Value, Error> {
        let bytes = body.to_string().into_bytes();
        let accept = [("accept", content_type)];
        let mut resp = self.http.send(
            "POST",
            url,
            &accept,
            Payload::Bytes(&bytes, content_type),
            retry,
        )?;
        if !resp.status().is_success() {
            return Err(self.http.status_error("POST", url, &mut resp, Hub::ctx(id)));
        }
        self.http.json(url, &mut resp)
    }

    /// Creates the model repository; an existing one (409) is fine.
    pub fn create_repo(&self, id: &RepoId, private: bool) -> Result<(), Error> {
        let url = format!("{}/api/repos/create", self.endpoint());
        let (org, name) = match id.repo_id.split_once('/') {
            Some((o, n)) => (Some(o), n),
            None => (None, id.repo_id.as_str()),
        };
        let body = json!({
            "name": name,
            "organization": org,
            "visibility": if private { "private" } else { "public" },
            "type": "model",
        })
        .to_string()
        .into_bytes();
        let mut resp = self.http.send(
            "POST",
            &url,
            &[],
            Payload::Bytes(&body, "application/json"),
            true,
        )?;
        let s = resp.status().as_u16();
        if resp.status().is_success() || s == 409 {
            return Ok(());
        }
        Err(self
            .http
            .status_error("POST", &url, &mut resp, Hub::ctx(id)))
    }

    /// Asks the hub which files go through LFS; returns the files it ignores.
    fn preupload(&self, id: &RepoId, files: &mut [LocalFile]) -> Result<Vec<String>, Error> {
        let url = format!(
            "{}/api/models/{}/preupload/{}",
            self.endpoint(),
            id.repo_id,
            encode(&id.revision, false)
        );
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut ignored = Vec::new();
        for chunk in files.chunks_mut(256) {
            let body = json!({
                "files": chunk.iter().map(|f| json!({
                    "path": f.repo_path,
                    "sample": b64.encode(&f.sample),
                    "size": f.size,
                })).collect::<Vec<_>>(),
            });
            let v = self.post_json(id, &url, &body, "application/json", true)?;
            let answers =
                v.get("files")
                    .and_then(|f| f.as_array())
                    .ok_or_else(|| Error::Protocol {
                        url: url.clone(),
                        what: "preupload answer has no `files` list".into(),
                    })?;
            for f in chunk.iter_mut() {
                let a = answers
                    .iter()
                    .find(|a| a.get("path").and_then(|p| p.as_str()) == Some(&f.repo_path))
                    .ok_or_else(|| Error::Protocol {
                        url: url.clone(),
                        what: format!("preupload answer lacks `{}`", f.repo_path),
                    })?;
                f.lfs = match a.get("uploadMode").and_then(|m| m.as_str()) {
                    Some("lfs") => true,
                    Some("regular") => false,
                    other => {
                        return Err(Error::Protocol {
                            url: url.clone(),
                            what: format!(
                                "unsupported upload mode {other:?} for `{}`",
                                f.repo_path
                            ),
                        });
                    }
                };
                if a.get("shouldIgnore").and_then(|i| i.as_bool()) == Some(true) {
                    ignored.push(f.repo_path.clone());
                }
            }
        }
        Ok(ignored)
    }

    /// The LFS batch request, then a `PUT` (and `verify`) per object the hub lacks.
    fn upload_lfs(&self, id: &RepoId, files: &[&LocalFile]) -> Result<(), Error> {
        let url = format!(
            "{}/{}.git/info/lfs/objects/batch",
            self.endpoint(),
            id.repo_id
        );
        let body = json!({
            "operation": "upload",
            "transfers": ["basic"],
            "objects": files.iter().map(|f| json!({"oid": f.sha256, "size": f.size})).collect::<Vec<_>>(),
            "hash_algo": "sha256",
            "ref": {"name": id.revision},
        });
        let v = self.post_json(id, &url, &body, "application/vnd.git-lfs+json", true)?;
        let bad = |what: String| Error::Protocol {
            url: url.clone(),
            what,
        };
        let objects = v
            .get("objects")
            .and_then(|o| o.as_array())
            .ok_or_else(|| bad("LFS batch answer has no `objects`".into()))?;
        for obj in objects {
            let oid = obj.get("oid").and_then(|o| o.as_str()).unwrap_or_default();
            let file = files
                .iter()
                .find(|f| f.sha256 == oid)
                .ok_or_else(|| bad(format!("LFS batch answer names unknown oid `{oid}`")))?;
            if let Some(err) = obj.get("error") {
                return Err(Error::Upload {
                    path: file.path.clone(),
                    why: format!("LFS batch refused it: {err}"),
                });
            }
            let Some(actions) = obj.get("actions") else {
                continue; // already stored upstream
            };
            let Some(upload) = actions.get("upload") else {
                continue;
            };
            let (href, headers) =
                action(upload).ok_or_else(|| bad("LFS upload action without `href`".into()))?;
            if headers.iter().any(|(k, _)| k == "chunk_size") {
                return Err(Error::Upload {
                    path: file.path.clone(),
                    why: "the hub asks for a multipart LFS upload, which m2v does not support"
                        .into(),
                });
            }
            let hdrs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let mut resp = self
                .http
                .send("PUT", &href, &hdrs, Payload::File(&file.path), true)?;
            if !resp.status().is_success() {
                return Err(self
                    .http
                    .status_error("PUT", &href, &mut resp, Hub::ctx(id)));
            }
            if let Some(verify) = actions.get("verify") {
                let (vhref, vheaders) =
                    action(verify).ok_or_else(|| bad("LFS verify action without `href`".into()))?;
                let mut hdrs: Vec<(&str, &str)> = vheaders
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                hdrs.push(("accept", "application/vnd.git-lfs+json"));
                let vbody = json!({"oid": file.sha256, "size": file.size}).to_string();
                let mut resp = self.http.send(
                    "POST",
                    &vhref,
                    &hdrs,
                    Payload::Bytes(vbody.as_bytes(), "application/vnd.git-lfs+json"),
                    true,
                )?;
                if !resp.status().is_success() {
                    return Err(self
                        .http
                        .status_error("POST", &vhref, &mut resp, Hub::ctx(id)));
                }
            }
        }
        Ok(())
    }

    fn commit(
        &self,
        id: &RepoId,
        files: &[LocalFile],
        options: &PushOptions,
    ) -> Result<CommitInfo, Error> {
        let url = format!(
            "{}/api/models/{}/commit/{}",
            self.endpoint(),
            id.repo_id,
            encode(&id.revision, false)
        );
        let summary = options
            .message
            .clone()
            .unwrap_or_else(|| "Upload model with m2v".to_string());
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut ndjson =
            json!({"key": "header", "value": {"summary": summary, "description": ""}}).to_string();
        ndjson.push('\n');
        for f in files {
            let line = if f.lfs {
                json!({"key": "lfsFile", "value": {
                    "path": f.repo_path, "algo": "sha256", "oid": f.sha256, "size": f.size,
                }})
            } else {
                let bytes = std::fs::read(&f.path).map_err(|e| Error::io(&f.path, e))?;
                json!({"key": "file", "value": {
                    "content": b64.encode(&bytes), "path": f.repo_path, "encoding": "base64",
                }})
            };
            ndjson.push_str(&line.to_string());
            ndjson.push('\n');
        }
        let mut resp = self.http.send(
            "POST",
            &url,
            &[],
            Payload::Bytes(ndjson.as_bytes(), "application/x-ndjson"),
            false,
        )?;
        if !resp.status().is_success() {
            return Err(self
                .http
                .status_error("POST", &url, &mut resp, Hub::ctx(id)));
        }
        let v = self.http.json(&url, &mut resp)?;
        let get = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .map(str::to_string)
                .ok_or_else(|| Error::Protocol {
                    url: url.clone(),
                    what: format!("commit answer has no `{k}`"),
                })
        };
        let mut names: Vec<String> = files.iter().map(|f| f.repo_path.clone()).collect();
        names.sort();
        Ok(CommitInfo {
            oid: get("commitOid")?,
            commit_url: get("commitUrl")?,
            files: names,
            lfs_files: files.iter().filter(|f| f.lfs).count(),
        })
    }
}

/// `href` and headers of an LFS action object.
fn action(a: &Value) -> Option<(String, Vec<(String, String)>)> {
    let href = a.get("href")?.as_str()?.to_string();
    let headers = a
        .get("header")
        .and_then(|h| h.as_object())
        .map(|h| {
            h.iter()
                .map(|(k, v)| {
                    let v = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default();
    Some((href, headers))
}
