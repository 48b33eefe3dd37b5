//! A small Hugging Face hub for tests: `127.0.0.1` only, one thread per connection,
//! started and stopped by the test that owns it.
//!
//! It implements what m2v and Python `huggingface_hub` (`hf_hub_download`,
//! `snapshot_download`, `upload_folder` without Xet) use: model info by revision, the
//! recursive file tree, `resolve` with `ETag`/`X-Repo-Commit` (LFS files answer a
//! 302 to `/lfs/<sha256>` with `X-Linked-Etag`/`X-Linked-Size`), `Range` requests,
//! repo creation, preupload, the LFS batch API with `PUT` and verify, and the NDJSON
//! commit endpoint. Faults are injected per request (`METHOD /path` substring):
//! error statuses, connections closed before answering or mid-body, corrupted bodies,
//! 401s.
//!
//! Not a production server: requests are parsed minimally, one per connection.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use base64::Engine as _;
use serde_json::{Value, json};
use sha1::Digest as _;

/// A fault to inject into matching requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and an empty body.
    Status(u16),
    /// Send the headers and half of the body, then close the connection.
    DropMidBody,
    /// Send a body of the right length with its bytes changed.
    CorruptBody,
    /// Answer 401 as for a bad token.
    Unauthorized,
    /// Close the connection without answering (a connection error for the client).
    Hangup,
}

#[derive(Debug, Default)]
struct Repo {
    private: bool,
    gated: bool,
    branches: HashMap<String, String>,
    /// commit → (path → content)
    commits: HashMap<String, BTreeMap<String, Vec<u8>>>,
}

#[derive(Debug, Default)]
struct State {
    repos: HashMap<String, Repo>,
    lfs: HashMap<String, Vec<u8>>,
    token: Option<String>,
    faults: Vec<(String, Fault, usize)>,
    log: Vec<String>,
    lfs_threshold: usize,
    counter: u64,
    /// Renamed repositories: old id → new id.
    renamed: HashMap<String, String>,
}

/// A running test hub. Dropping it stops it.
#[derive(Debug)]
pub struct TestHub {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn lock(s: &Mutex<State>) -> MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The git blob sha1 of `data` (the etag of a regular file).
pub fn git_sha1(data: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", data.len()).as_bytes());
    h.update(data);
    hex(&h.finalize())
}

/// The sha256 of `data` (the etag of an LFS file).
pub fn sha256(data: &[u8]) -> String {
    hex(&sha2::Sha256::digest(data))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl TestHub {
    /// Starts a hub on `127.0.0.1` at a free port. Files of at least 1024 bytes and
    /// `*.safetensors` files are LFS files.
    pub fn start() -> std::io::Result<TestHub> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let state = Arc::new(Mutex::new(State {
            lfs_threshold: 1024,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !sp.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let st = st.clone();
                        std::thread::spawn(move || {
                            let _ = handle(stream, &st, port);
                        });
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(2)),
                }
            }
        });
        Ok(TestHub {
            port,
            state,
            stop,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops accepting connections (the port is closed when this returns).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Requires `Bearer token` for writes and for private repositories.
    pub fn set_token(&self, token: Option<&str>) {
        lock(&self.state).token = token.map(str::to_string);
    }

    /// Files at least this large are LFS files.
    pub fn set_lfs_threshold(&self, bytes: usize) {
        lock(&self.state).lfs_threshold = bytes;
    }

    /// Marks a repository private (reads need the token) and/or gated (reads get 403).
    pub fn set_access(&self, repo: &str, private: bool, gated: bool) {
        let mut s = lock(&self.state);
        let r = s.repos.entry(repo.to_string()).or_default();
        r.private = private;
        r.gated = gated;
    }

    /// Commits `files` (replacing the branch's content) and moves `branch` to the new
    /// commit, whose hash is returned.
    pub fn commit(&self, repo: &str, branch: &str, files: &[(&str, &[u8])]) -> String {
        let mut s = lock(&self.state);
        let map: BTreeMap<String, Vec<u8>> = files
            .iter()
            .map(|(p, d)| (p.to_string(), d.to_vec()))
            .collect();
        new_commit(&mut s, repo, branch, map)
    }

    /// Makes `old` a renamed alias of `new`: its API and resolve URLs answer a 307 to
    /// the same URL under `new`, as the hub does after a rename.
    pub fn rename(&self, old: &str, new: &str) {
        lock(&self.state)
            .renamed
            .insert(old.to_string(), new.to_string());
    }

    /// Injects `fault` into the next `times` requests whose `METHOD /path?query`
    /// contains `matching`.
    pub fn inject(&self, matching: &str, fault: Fault, times: usize) {
        lock(&self.state)
            .faults
            .push((matching.to_string(), fault, times));
    }

    /// Every request so far, as `METHOD /path?query` (plus ` range=...` when the
    /// request had a `Range` header).
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).log.clone()
    }

    /// The files of a branch, for checking pushes.
    pub fn files(&self, repo: &str, branch: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        let s = lock(&self.state);
        let r = s.repos.get(repo)?;
        r.commits.get(r.branches.get(branch)?).cloned()
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        self.stop();
    }
}

fn new_commit(s: &mut State, repo: &str, branch: &str, files: BTreeMap<String, Vec<u8>>) -> String {
    s.counter += 1;
    let mut h = sha1::Sha1::new();
    h.update(format!("{repo}\n{branch}\n{}\n", s.counter).as_bytes());
    for (p, d) in &files {
        h.update(p.as_bytes());
        h.update(git_sha1(d).as_bytes());
    }
    let sha = hex(&h.finalize());
    let r = s.repos.entry(repo.to_string()).or_default();
    r.commits.insert(sha.clone(), files);
    r.branches.insert(branch.to_string(), sha.clone());
    sha
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

#[derive(Default)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn new(status: u16) -> Self {
        Response {
            status,
            ..Default::default()
        }
    }
    fn json(status: u16, v: Value) -> Self {
        let mut r = Response::new(status);
        r.body = v.to_string().into_bytes();
        r.headers
            .push(("Content-Type".into(), "application/json".into()));
        r
    }
    fn error(status: u16, code: &str, msg: &str) -> Self {
        let mut r = Response::json(status, json!({ "error": msg }));
        r.headers.push(("X-Error-Code".into(), code.into()));
        r.headers.push(("X-Error-Message".into(), msg.into()));
        r
    }
    fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_string(), v.into()));
        self
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_request(stream: &mut BufReader<TcpStream>) -> std::io::Result<Request> {
    let mut line = String::new();
    stream.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if stream.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            stream.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0u8; n + 2];
            stream.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = headers.get("content-length").and_then(|n| n.parse().ok()) {
        body = vec![0u8; n];
        stream.read_exact(&mut body)?;
    }
    Ok(Request {
        method,
        path,
        query,
        headers,
        body,
    })
}

fn handle(stream: TcpStream, state: &Mutex<State>, port: u16) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let req = read_request(&mut reader)?;
    let mut key = if req.query.is_empty() {
        format!("{} {}", req.method, req.path)
    } else {
        format!("{} {}?{}", req.method, req.path, req.query)
    };
    if let Some(r) = req.headers.get("range") {
        key.push_str(&format!(" range={r}"));
    }
    let fault = {
        let mut s = lock(state);
        s.log.push(key.clone());
        let mut found = None;
        for (m, f, n) in s.faults.iter_mut() {
            if *n > 0 && key.contains(m.as_str()) {
                *n -= 1;
                found = Some(f.clone());
                break;
            }
        }
        found
    };
    if fault == Some(Fault::Hangup) {
        return stream.shutdown(std::net::Shutdown::Both);
    }
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut resp = match &fault {
        Some(Fault::Status(s)) => Response::error(*s, "Injected", "injected fault"),
        Some(Fault::Unauthorized) => Response::error(401, "RepoNotFound", "invalid credentials"),
        _ => route(&req, state, &endpoint),
    };
    if fault == Some(Fault::CorruptBody) {
        for b in resp.body.iter_mut() {
            *b ^= 0x55;
        }
    }
    let mut out = stream;
    let reason = match resp.status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        _ => "Status",
    };
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", resp.status);
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !resp.headers.iter().any(|(k, _)| k == "Content-Length") {
        head.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    out.write_all(head.as_bytes())?;
    if req.method != "HEAD" {
        if fault == Some(Fault::DropMidBody) {
            out.write_all(&resp.body[..resp.body.len() / 2])?;
            out.flush()?;
            return out.shutdown(std::net::Shutdown::Both);
        }
        out.write_all(&resp.body)?;
    }
    out.flush()
}

/// The pre-signature of an LFS storage URL for `oid`.
fn signature(oid: &str) -> String {
    sha256(format!("m2v-test-hub:{oid}").as_bytes())[..16].to_string()
}

fn signed(req: &Request, oid: &str) -> bool {
    req.query
        .split('&')
        .any(|kv| kv.strip_prefix("sig=") == Some(signature(oid).as_str()))
}

fn authorized(req: &Request, s: &State) -> bool {
    match &s.token {
        None => true,
        Some(t) => req.headers.get("authorization") == Some(&format!("Bearer {t}")),
    }
}

/// Splits `/ORG/NAME/rest` into (`ORG/NAME`, `rest`).
fn split_repo<'a>(rest: &'a str, marker: &str) -> Option<(String, &'a str)> {
    let i = rest.find(marker)?;
    Some((
        rest[..i].trim_matches('/').to_string(),
        &rest[i + marker.len()..],
    ))
}

fn serve_bytes(req: &Request, data: &[u8], mut resp: Response) -> Response {
    let len = data.len();
    if let Some(start) = req
        .headers
        .get("range")
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.parse::<usize>().ok())
    {
        if start >= len {
            return Response::new(416).header("Content-Range", format!("bytes */{len}"));
        }
        resp.status = 206;
        resp.body = data[start..].to_vec();
        return resp.header("Content-Range", format!("bytes {start}-{}/{len}", len - 1));
    }
    resp.status = 200;
    resp.body = data.to_vec();
    resp
}

fn route(req: &Request, state: &Mutex<State>, endpoint: &str) -> Response {
    let path = percent_decode(&req.path);
    let mut s = lock(state);
    for (old, new) in &s.renamed {
        for prefix in ["/api/models/", "/"] {
            if let Some(rest) = req.path.strip_prefix(&format!("{prefix}{old}/")) {
                return Response::new(307).header("Location", format!("{prefix}{new}/{rest}"));
            }
        }
    }
    let auth = authorized(req, &s);
    let m = req.method.as_str();
    let read_access = |s: &State, repo: &str| -> Result<(), Response> {
        match s.repos.get(repo) {
            None => Err(Response::error(404, "RepoNotFound", "Repository not found")),
            Some(r) if r.private && !auth => {
                Err(Response::error(401, "RepoNotFound", "Repository not found"))
            }
            Some(r) if r.gated => Err(Response::error(
                403,
                "GatedRepo",
                "Access to this model is restricted",
            )),
            Some(_) => Ok(()),
        }
    };
    let resolve_rev = |s: &State, repo: &str, rev: &str| -> Option<String> {
        let r = s.repos.get(repo)?;
        if r.commits.contains_key(rev) {
            return Some(rev.to_string());
        }
        r.branches.get(rev).cloned()
    };
    // Python's `upload_folder` validates a README's YAML front matter first.
    if m == "POST" && path == "/api/validate-yaml" {
        return Response::json(200, json!({ "errors": [], "warnings": [] }));
    }
    // Model info.
    if m == "GET"
        && let Some(rest) = path.strip_prefix("/api/models/")
        && let Some((repo, rev)) = split_repo(rest, "/revision/")
    {
        if let Err(e) = read_access(&s, &repo) {
            return e;
        }
        let Some(sha) = resolve_rev(&s, &repo, rev) else {
            return Response::error(404, "RevisionNotFound", "Invalid rev id");
        };
        let files = &s.repos[&repo].commits[&sha];
        let siblings: Vec<Value> = files.keys().map(|f| json!({ "rfilename": f })).collect();
        return Response::json(
            200,
            json!({ "id": repo, "modelId": repo, "sha": sha, "siblings": siblings, "private": false }),
        );
    }
    // File tree (Python's `snapshot_download` lists files this way), recursive.
    if m == "GET"
        && let Some(rest) = path.strip_prefix("/api/models/")
        && let Some((repo, rev)) = split_repo(rest, "/tree/")
    {
        if let Err(e) = read_access(&s, &repo) {
            return e;
        }
        let (rev, prefix) = rev.split_once('/').unwrap_or((rev, ""));
        let Some(sha) = resolve_rev(&s, &repo, rev) else {
            return Response::error(404, "RevisionNotFound", "Invalid rev id");
        };
        let threshold = s.lfs_threshold;
        let entries: Vec<Value> = s.repos[&repo].commits[&sha]
            .iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .map(|(p, d)| {
                let mut e =
                    json!({ "type": "file", "path": p, "size": d.len(), "oid": git_sha1(d) });
                if d.len() >= threshold || p.ends_with(".safetensors") {
                    e["lfs"] = json!({ "oid": sha256(d), "size": d.len(), "pointerSize": 134 });
                }
                e
            })
            .collect();
        return Response::json(200, Value::Array(entries));
    }
    // Stored LFS objects (the redirect target of resolve).
    if (m == "GET" || m == "HEAD")
        && let Some(oid) = path.strip_prefix("/lfs/")
    {
        let Some(data) = s.lfs.get(oid) else {
            return Response::error(404, "EntryNotFound", "no such object");
        };
        let mut r = Response::new(200).header("ETag", format!("\"{oid}\""));
        if let Some(c) = req.query.strip_prefix("commit=") {
            r = r.header("X-Repo-Commit", c);
        }
        if m == "HEAD" {
            return r.header("Content-Length", data.len().to_string());
        }
        return serve_bytes(req, &data.clone(), r);
    }
    // Resolve.
    if (m == "GET" || m == "HEAD")
        && let Some((repo, rest)) = split_repo(&path, "/resolve/")
    {
        if let Err(e) = read_access(&s, &repo) {
            return e;
        }
        let (rev, file) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(sha) = resolve_rev(&s, &repo, rev) else {
            return Response::error(404, "RevisionNotFound", "Invalid rev id");
        };
        let Some(data) = s.repos[&repo].commits[&sha].get(file).cloned() else {
            return Response::error(404, "EntryNotFound", "Entry not found")
                .header("X-Repo-Commit", sha.clone());
        };
        let lfs = data.len() >= s.lfs_threshold || file.ends_with(".safetensors");
        if lfs {
            let oid = sha256(&data);
            s.lfs.entry(oid.clone()).or_insert(data.clone());
            return Response::new(302)
                .header("Location", format!("{endpoint}/lfs/{oid}?commit={sha}"))
                .header("X-Repo-Commit", sha)
                .header("X-Linked-Etag", format!("\"{oid}\""))
                .header("X-Linked-Size", data.len().to_string())
                .header("ETag", format!("\"{}\"", git_sha1(b"pointer")));
        }
        let r = Response::new(200)
            .header("X-Repo-Commit", sha)
            .header("ETag", format!("\"{}\"", git_sha1(&data)));
        if m == "HEAD" {
            return r.header("Content-Length", data.len().to_string());
        }
        return serve_bytes(req, &data, r);
    }
    // Storage URLs handed out by the LFS batch call are pre-signed (`?sig=`), as on the
    // real hub: they need no token (Python sends none to them).
    if m == "PUT"
        && let Some(oid) = path.strip_prefix("/lfs-upload/")
    {
        if !signed(req, oid) {
            return Response::error(403, "Forbidden", "bad or missing signature");
        }
        if sha256(&req.body) != oid {
            return Response::error(400, "BadRequest", "sha256 mismatch");
        }
        s.lfs.insert(oid.to_string(), req.body.clone());
        return Response::new(200);
    }
    if m == "POST" && path == "/lfs-verify" {
        let v: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let oid = v.get("oid").and_then(|x| x.as_str()).unwrap_or_default();
        let size = v.get("size").and_then(|x| x.as_u64());
        if !signed(req, oid) {
            return Response::error(403, "Forbidden", "bad or missing signature");
        }
        return match s.lfs.get(oid) {
            Some(d) if Some(d.len() as u64) == size => Response::json(200, json!({})),
            _ => Response::error(404, "NotFound", "object not uploaded"),
        };
    }
    // Everything below writes: the token is required.
    if !auth || (s.token.is_none() && !req.headers.contains_key("authorization")) {
        return Response::error(401, "Unauthorized", "Invalid username or password.");
    }
    if m == "POST" && path == "/api/repos/create" {
        let v: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let name = v.get("name").and_then(|n| n.as_str()).unwrap_or_default();
        let repo = match v.get("organization").and_then(|o| o.as_str()) {
            Some(o) => format!("{o}/{name}"),
            None => name.to_string(),
        };
        if s.repos.contains_key(&repo) {
            return Response::error(409, "Conflict", "You already created this model repo");
        }
        let private = v.get("visibility").and_then(|p| p.as_str()) == Some("private");
        s.repos.insert(
            repo.clone(),
            Repo {
                private,
                ..Repo::default()
            },
        );
        return Response::json(200, json!({ "url": format!("{endpoint}/{repo}") }));
    }
    if m == "POST"
        && let Some(rest) = path.strip_prefix("/api/models/")
        && let Some((repo, _rev)) = split_repo(rest, "/preupload/")
    {
        let v: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let files: Vec<Value> = v
            .get("files")
            .and_then(|f| f.as_array())
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|f| {
                let size = f.get("size").and_then(|x| x.as_u64()).unwrap_or(0) as usize;
                let p = f.get("path").and_then(|x| x.as_str()).unwrap_or_default();
                let mode = if size >= s.lfs_threshold || p.ends_with(".safetensors") {
                    "lfs"
                } else {
                    "regular"
                };
                json!({ "path": p, "uploadMode": mode, "shouldIgnore": false })
            })
            .collect();
        if !s.repos.contains_key(&repo) {
            return Response::error(404, "RepoNotFound", "Repository not found");
        }
        return Response::json(200, json!({ "files": files }));
    }
    if m == "POST"
        && let Some((_repo, _)) = split_repo(&path, ".git/info/lfs/objects/batch")
    {
        let v: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let objects: Vec<Value> = v
            .get("objects")
            .and_then(|o| o.as_array())
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|o| {
                let oid = o.get("oid").and_then(|x| x.as_str()).unwrap_or_default();
                let size = o.get("size").cloned().unwrap_or(Value::Null);
                if s.lfs.contains_key(oid) {
                    json!({ "oid": oid, "size": size })
                } else {
                    json!({ "oid": oid, "size": size, "actions": {
                        "upload": { "href": format!("{endpoint}/lfs-upload/{oid}?sig={}", signature(oid)), "header": {} },
                        "verify": { "href": format!("{endpoint}/lfs-verify?sig={}", signature(oid)), "header": {} },
                    }})
                }
            })
            .collect();
        return Response::json(200, json!({ "transfer": "basic", "objects": objects }));
    }
    if m == "POST"
        && let Some(rest) = path.strip_prefix("/api/models/")
        && let Some((repo, rev)) = split_repo(rest, "/commit/")
    {
        let Some(r) = s.repos.get(&repo) else {
            return Response::error(404, "RepoNotFound", "Repository not found");
        };
        let mut files = r
            .branches
            .get(rev)
            .and_then(|c| r.commits.get(c))
            .cloned()
            .unwrap_or_default();
        let b64 = base64::engine::general_purpose::STANDARD;
        let text = String::from_utf8_lossy(&req.body).into_owned();
        let mut has_header = false;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                return Response::error(400, "BadRequest", "invalid ndjson line");
            };
            let val = &v["value"];
            let p = val["path"].as_str().unwrap_or_default().to_string();
            match v["key"].as_str() {
                Some("header") => has_header = val["summary"].is_string(),
                Some("file") => {
                    let Ok(d) = b64.decode(val["content"].as_str().unwrap_or_default()) else {
                        return Response::error(400, "BadRequest", "invalid base64");
                    };
                    files.insert(p, d);
                }
                Some("lfsFile") => {
                    let oid = val["oid"].as_str().unwrap_or_default();
                    let Some(d) = s.lfs.get(oid) else {
                        return Response::error(400, "BadRequest", "lfs object not uploaded");
                    };
                    if val["size"].as_u64() != Some(d.len() as u64) {
                        return Response::error(400, "BadRequest", "lfs size mismatch");
                    }
                    files.insert(p, d.clone());
                }
                _ => return Response::error(400, "BadRequest", "unknown key"),
            }
        }
        if !has_header {
            return Response::error(400, "BadRequest", "missing header line");
        }
        let sha = new_commit(&mut s, &repo, rev, files);
        return Response::json(
            200,
            json!({ "commitUrl": format!("{endpoint}/{repo}/commit/{sha}"), "commitOid": sha, "success": true }),
        );
    }
    Response::error(404, "NotFound", "no such endpoint")
}
