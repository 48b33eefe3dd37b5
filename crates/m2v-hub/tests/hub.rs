//! Download and push against the local test hub (`m2v_hub::test_server`): fresh
//! download, cache hits without network, revision pinning, offline mode, every
//! injected fault (with a check that the cache holds nothing corrupt afterwards),
//! access errors, and a push → download round trip.
//!
//! Every test has its own server and temporary cache; nothing reads process
//! environment (endpoint, cache, token and retries are injected).

use std::path::{Path, PathBuf};

use m2v_hub::test_server::{Fault, TestHub, git_sha1, sha256};
use m2v_hub::{Error, FileSelection, HfCache, Hub, PushOptions, RepoId, Retry, Token};

const REPO: &str = "org/tiny";

/// A teacher-shaped repository: two small regular files, an LFS weight file, a
/// pooling config in a subfolder, and a file no selection asks for.
fn tiny_files(tag: u8) -> Vec<(&'static str, Vec<u8>)> {
    let weights: Vec<u8> = (0..5000u32).map(|i| (i * 31 + tag as u32) as u8).collect();
    vec![
        (
            "config.json",
            format!("{{\"hidden_size\": {tag}}}").into_bytes(),
        ),
        ("model.safetensors", weights),
        (
            "tokenizer.json",
            b"{\"model\": {\"type\": \"WordPiece\"}}".to_vec(),
        ),
        (
            "1_Pooling/config.json",
            b"{\"pooling_mode_mean_tokens\": true}".to_vec(),
        ),
        ("onnx/model.onnx", vec![7u8; 3000]),
    ]
}

fn serve(hub: &TestHub, branch: &str, files: &[(&'static str, Vec<u8>)]) -> String {
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (*p, d.as_slice())).collect();
    hub.commit(REPO, branch, &refs)
}

fn client(server: &TestHub, cache: &Path) -> Hub {
    Hub::new(&server.endpoint(), HfCache::new(cache)).with_retry(Retry::fast(3))
}

fn id(s: &str) -> RepoId {
    RepoId::parse(s).unwrap()
}

/// Every blob in the cache has the content its name promises, no `.incomplete` file
/// is left beside them, and every snapshot entry resolves.
fn assert_cache_sound(cache: &Path) {
    let repo = cache.join("models--org--tiny");
    if let Ok(rd) = std::fs::read_dir(repo.join("blobs")) {
        for e in rd {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert!(!name.ends_with(".incomplete"), "leftover {name}");
            let data = std::fs::read(&p).unwrap();
            let want = if name.len() == 64 {
                sha256(&data)
            } else {
                git_sha1(&data)
            };
            assert_eq!(want, name, "blob {name} does not match its content");
        }
    }
    let snaps = repo.join("snapshots");
    if snaps.is_dir() {
        for f in walk(&snaps) {
            assert!(f.is_file(), "dangling snapshot entry {}", f.display());
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() && !p.is_symlink() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn fresh_download_matches_python_layout() {
    let server = TestHub::start().unwrap();
    let files = tiny_files(1);
    let commit = serve(&server, "main", &files);
    let tmp = tempfile::tempdir().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let hub = client(&server, tmp.path()).with_progress(move |path, done, total| {
        log.lock().unwrap().push((path.to_string(), done, total));
    });
    let snap = hub.download(&id(REPO), &FileSelection::teacher()).unwrap();
    let seen = seen.lock().unwrap().clone();
    let last = ("model.safetensors".to_string(), 5000, Some(5000));
    assert!(seen.contains(&last), "progress reports: {seen:?}");
    assert_eq!(
        snap,
        tmp.path().join("models--org--tiny/snapshots").join(&commit)
    );
    for (path, data) in &files[..4] {
        assert_eq!(&std::fs::read(snap.join(path)).unwrap(), data, "{path}");
    }
    assert!(
        !snap.join("onnx").exists(),
        "unselected files must not be downloaded"
    );
    // Blobs by etag: sha256 for the LFS file, git sha1 for regular files.
    let repo = tmp.path().join("models--org--tiny");
    assert!(repo.join("blobs").join(sha256(&files[1].1)).is_file());
    assert!(repo.join("blobs").join(git_sha1(&files[0].1)).is_file());
    // Relative symlinks, one `..` per level, as Python writes them.
    let link = std::fs::read_link(snap.join("1_Pooling/config.json")).unwrap();
    assert_eq!(
        link,
        Path::new("../../../blobs").join(git_sha1(&files[3].1))
    );
    let link = std::fs::read_link(snap.join("model.safetensors")).unwrap();
    assert_eq!(link, Path::new("../../blobs").join(sha256(&files[1].1)));
    assert_eq!(
        std::fs::read_to_string(repo.join("refs/main")).unwrap(),
        commit
    );
    assert_eq!(HfCache::new(tmp.path()).snapshot(&id(REPO)).unwrap(), snap);
    assert_cache_sound(tmp.path());
    // The LFS file came through the redirect to the storage URL.
    assert!(server.requests().iter().any(|r| r.starts_with("GET /lfs/")));
}

#[test]
fn cache_hit_needs_no_network() {
    let mut server = TestHub::start().unwrap();
    let commit = serve(&server, "main", &tiny_files(2));
    let tmp = tempfile::tempdir().unwrap();
    let hub = client(&server, tmp.path());
    let first = hub.download(&id(REPO), &FileSelection::teacher()).unwrap();
    let n = server.requests().len();
    // Cache-first resolution does not even ask the server.
    let again = hub
        .snapshot_or_download(&id(REPO), &FileSelection::teacher())
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(
        server.requests().len(),
        n,
        "cache hit must not use the network"
    );
    // A commit-pinned revision that is complete needs no network either.
    let pinned = id(&format!("{REPO}@{commit}"));
    assert_eq!(
        hub.download(&pinned, &FileSelection::teacher()).unwrap(),
        first
    );
    assert_eq!(server.requests().len(), n);
    // With the server gone, a branch download falls back to the complete cache.
    server.stop();
    assert_eq!(
        hub.download(&id(REPO), &FileSelection::teacher()).unwrap(),
        first
    );
    // ... but not when the cache lacks required files.
    let wants_more = FileSelection::new(&["*"], &["onnx/model.onnx"]);
    let err = hub.download(&id(REPO), &wants_more).unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err}");
}

#[test]
fn revisions_are_pinned() {
    let server = TestHub::start().unwrap();
    let a = serve(&server, "main", &tiny_files(3));
    let b = serve(&server, "main", &tiny_files(4));
    serve(&server, "v1", &tiny_files(5));
    let tmp = tempfile::tempdir().unwrap();
    let hub = client(&server, tmp.path());
    let sel = FileSelection::static_model();
    let snap_a = hub.download(&id(&format!("{REPO}@{a}")), &sel).unwrap();
    assert!(snap_a.ends_with(&a));
    let cfg = |p: &Path| std::fs::read_to_string(p.join("config.json")).unwrap();
    assert_eq!(cfg(&snap_a), "{\"hidden_size\": 3}");
    let snap_main = hub.download(&id(REPO), &sel).unwrap();
    assert!(snap_main.ends_with(&b));
    assert_eq!(cfg(&snap_main), "{\"hidden_size\": 4}");
    let snap_v1 = hub.download(&id(&format!("{REPO}@v1")), &sel).unwrap();
    assert_eq!(cfg(&snap_v1), "{\"hidden_size\": 5}");
    let refs = tmp.path().join("models--org--tiny/refs");
    assert_eq!(std::fs::read_to_string(refs.join("main")).unwrap(), b);
    assert!(!refs.join(&a).exists(), "a commit hash gets no ref file");
    // A new commit with the same content as `a`: its blobs are already cached (same
    // etags), so only metadata requests are made and nothing is downloaded again.
    let c = serve(&server, "v2", &tiny_files(3));
    let gets_before = server
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /"))
        .count();
    let snap_c = hub.download(&id(&format!("{REPO}@v2")), &sel).unwrap();
    assert!(snap_c.ends_with(&c));
    let gets: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("GET /"))
        .collect();
    assert_eq!(gets.len(), gets_before + 1, "only the model info: {gets:?}");
    assert_eq!(cfg(&snap_c), cfg(&snap_a));
    assert_cache_sound(tmp.path());
}

#[test]
fn offline_mode_uses_only_the_cache() {
    let server = TestHub::start().unwrap();
    serve(&server, "main", &tiny_files(6));
    let tmp = tempfile::tempdir().unwrap();
    let offline = client(&server, tmp.path()).offline(true);
    let err = offline
        .download(&id(REPO), &FileSelection::teacher())
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::NotCached { .. }), "{msg}");
    assert!(
        msg.contains("HF_HUB_OFFLINE") && msg.contains("org/tiny"),
        "{msg}"
    );
    assert!(
        server.requests().is_empty(),
        "offline mode must not touch the network"
    );
    let snap = client(&server, tmp.path())
        .download(&id(REPO), &FileSelection::teacher())
        .unwrap();
    let n = server.requests().len();
    assert_eq!(
        offline
            .download(&id(REPO), &FileSelection::teacher())
            .unwrap(),
        snap
    );
    assert_eq!(server.requests().len(), n);
}

#[test]
fn server_errors_are_retried_then_reported() {
    let server = TestHub::start().unwrap();
    serve(&server, "main", &tiny_files(7));
    let tmp = tempfile::tempdir().unwrap();
    let hub = client(&server, tmp.path());
    // Two 500s then success (3 attempts).
    server.inject("/api/models/", Fault::Status(500), 2);
    server.inject("HEAD /org/tiny/resolve/", Fault::Status(503), 2);
    server.inject("GET /lfs/", Fault::Status(502), 2);
    // Connections closed before any answer are retried the same way.
    server.inject("GET /org/tiny/resolve/", Fault::Hangup, 2);
    server.inject("/tokenizer.json", Fault::Hangup, 1);
    hub.download(&id(REPO), &FileSelection::teacher()).unwrap();
    assert_cache_sound(tmp.path());
    let count = |pred: &dyn Fn(&str) -> bool| server.requests().iter().filter(|r| pred(r)).count();
    assert_eq!(
        count(&|r| r.starts_with("GET /api/models/")),
        3,
        "two 500s, then the answer"
    );
    assert_eq!(
        count(&|r| r.starts_with("HEAD") && r.ends_with("/tokenizer.json")),
        2
    );
    assert_eq!(
        count(&|r| r.starts_with("GET /org/tiny/resolve/") && r.contains("1_Pooling")),
        3
    );
    // A persistent 500 is reported after 3 attempts and nothing is cached.
    let tmp2 = tempfile::tempdir().unwrap();
    server.inject("GET /lfs/", Fault::Status(500), 100);
    let err = client(&server, tmp2.path())
        .download(&id(REPO), &FileSelection::teacher())
        .unwrap_err();
    assert!(matches!(err, Error::Http { status: 500, .. }), "{err}");
    assert!(!tmp2.path().join("models--org--tiny/refs/main").exists());
    assert_cache_sound(tmp2.path());
    let lfs_gets = server
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /lfs/"))
        .count();
    assert_eq!(lfs_gets, 3 + 3, "3 attempts in each download");
}

#[test]
fn dropped_connections_resume_with_range() {
    let server = TestHub::start().unwrap();
    let files = tiny_files(8);
    serve(&server, "main", &files);
    let tmp = tempfile::tempdir().unwrap();
    // Every attempt of the first run breaks mid-body: the run fails, the partial
    // bytes stay in `.incomplete` (not a blob), and no ref is written.
    server.inject("GET /lfs/", Fault::DropMidBody, 3);
    let err = client(&server, tmp.path())
        .download(&id(REPO), &FileSelection::teacher())
        .unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err}");
    let blob = tmp
        .path()
        .join("models--org--tiny/blobs")
        .join(sha256(&files[1].1));
    assert!(!blob.exists());
    let partial = std::fs::metadata(format!("{}.incomplete", blob.display()))
        .unwrap()
        .len();
    assert!(partial > 0 && partial < 5000, "{partial}");
    assert!(!tmp.path().join("models--org--tiny/refs/main").exists());
    // The next run resumes from the partial bytes and verifies the whole file; broken
    // bodies of the model info and of a regular file are retried too.
    server.inject("GET /org/tiny/resolve/", Fault::DropMidBody, 1);
    server.inject("GET /api/models/", Fault::DropMidBody, 1);
    let snap = client(&server, tmp.path())
        .download(&id(REPO), &FileSelection::teacher())
        .unwrap();
    assert_eq!(
        std::fs::read(snap.join("model.safetensors")).unwrap(),
        files[1].1
    );
    let resumed = format!("range=bytes={partial}-");
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /lfs/") && r.ends_with(&resumed)),
        "{:?}",
        server.requests()
    );
    assert_cache_sound(tmp.path());
}

#[test]
fn corrupt_downloads_never_enter_the_cache() {
    let server = TestHub::start().unwrap();
    let files = tiny_files(9);
    serve(&server, "main", &files);
    // A corrupted body once (LFS and regular): verified, discarded, downloaded again.
    let tmp = tempfile::tempdir().unwrap();
    server.inject("GET /lfs/", Fault::CorruptBody, 1);
    server.inject("config.json", Fault::CorruptBody, 1);
    client(&server, tmp.path())
        .download(&id(REPO), &FileSelection::teacher())
        .unwrap();
    assert_cache_sound(tmp.path());
    // Always corrupted: a sha256 error, and neither a blob nor a partial file remains.
    let tmp2 = tempfile::tempdir().unwrap();
    server.inject("GET /lfs/", Fault::CorruptBody, 100);
    let err = client(&server, tmp2.path())
        .download(&id(REPO), &FileSelection::teacher())
        .unwrap_err();
    match &err {
        Error::Verify { what, expected, .. } => {
            assert_eq!(
                (*what, expected.as_str()),
                ("sha256", sha256(&files[1].1).as_str())
            );
        }
        other => panic!("expected a verification error, got {other}"),
    }
    let blob = tmp2
        .path()
        .join("models--org--tiny/blobs")
        .join(sha256(&files[1].1));
    assert!(!blob.exists() && !Path::new(&format!("{}.incomplete", blob.display())).exists());
    assert_cache_sound(tmp2.path());
    // A regular file corrupted every time fails its git sha1 check.
    let tmp3 = tempfile::tempdir().unwrap();
    server.inject("GET /org/tiny/resolve/", Fault::CorruptBody, 100);
    let err = client(&server, tmp3.path())
        .download(&id(REPO), &FileSelection::teacher())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Verify {
                what: "git sha1",
                ..
            }
        ),
        "{err}"
    );
    assert_cache_sound(tmp3.path());
}

#[test]
fn concurrent_downloads_share_the_cache_safely() {
    let server = TestHub::start().unwrap();
    let files = tiny_files(14);
    serve(&server, "main", &files);
    let tmp = tempfile::tempdir().unwrap();
    let snaps: Vec<PathBuf> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    client(&server, tmp.path())
                        .download(&id(REPO), &FileSelection::teacher())
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(snaps.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(
        std::fs::read(snaps[0].join("model.safetensors")).unwrap(),
        files[1].1
    );
    assert_cache_sound(tmp.path());
    // No temporary names left in the snapshot or refs.
    let repo = tmp.path().join("models--org--tiny");
    for f in walk(&repo.join("snapshots"))
        .into_iter()
        .chain(walk(&repo.join("refs")))
    {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "leftover {}", f.display());
    }
}

#[test]
fn stale_partial_file_is_verified_not_trusted() {
    let server = TestHub::start().unwrap();
    let files = tiny_files(10);
    serve(&server, "main", &files);
    let tmp = tempfile::tempdir().unwrap();
    // A left-over `.incomplete` of the right length but wrong content (e.g. written by
    // a crashed run against another server) fails verification and is replaced.
    let blobs = tmp.path().join("models--org--tiny/blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    let inc = blobs.join(format!("{}.incomplete", sha256(&files[1].1)));
    std::fs::write(&inc, vec![0u8; 5000]).unwrap();
    let snap = client(&server, tmp.path())
        .download(&id(REPO), &FileSelection::teacher())
        .unwrap();
    assert_eq!(
        std::fs::read(snap.join("model.safetensors")).unwrap(),
        files[1].1
    );
    assert_cache_sound(tmp.path());
}

#[test]
fn access_errors_are_clear_and_never_show_the_token() {
    let server = TestHub::start().unwrap();
    serve(&server, "main", &tiny_files(11));
    server.set_token(Some("hf_right"));
    let tmp = tempfile::tempdir().unwrap();
    let sel = FileSelection::teacher();
    // Private repository, no token.
    server.set_access(REPO, true, false);
    let err = client(&server, tmp.path())
        .download(&id(REPO), &sel)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unauthorized {
                token_sent: false,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("HF_TOKEN"), "{err}");
    // Wrong token: says so, and the secret appears nowhere.
    let wrong = client(&server, tmp.path()).with_token(Token::new("hf_wrong_SECRET"));
    let err = wrong.download(&id(REPO), &sel).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unauthorized {
                token_sent: true,
                ..
            }
        ),
        "{err}"
    );
    let shown = format!("{err} {err:?} {wrong:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    // Right token works.
    let right = client(&server, tmp.path()).with_token(Token::new("hf_right"));
    right.download(&id(REPO), &sel).unwrap();
    assert!(!format!("{right:?}").contains("hf_right"));
    // An injected 401 on a file.
    let tmp2 = tempfile::tempdir().unwrap();
    server.inject("HEAD /org/tiny/resolve/", Fault::Unauthorized, 1);
    let right2 = client(&server, tmp2.path()).with_token(Token::new("hf_right"));
    let err = right2.download(&id(REPO), &sel).unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    assert_cache_sound(tmp2.path());
    // Gated repository.
    server.set_access(REPO, false, true);
    let err = right2.download(&id(REPO), &sel).unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err}");
    assert!(err.to_string().contains("gated"), "{err}");
}

#[test]
fn not_found_errors_name_what_is_missing() {
    let server = TestHub::start().unwrap();
    serve(&server, "main", &tiny_files(12));
    let tmp = tempfile::tempdir().unwrap();
    let hub = client(&server, tmp.path());
    let sel = FileSelection::teacher();
    let err = hub.download(&id("org/missing"), &sel).unwrap_err();
    assert!(matches!(err, Error::RepoNotFound { .. }), "{err}");
    let err = hub
        .download(&id(&format!("{REPO}@nope")), &sel)
        .unwrap_err();
    assert!(matches!(err, Error::RevisionNotFound { .. }), "{err}");
    let needs = FileSelection::new(&[], &["vocab.txt"]);
    let err = hub.download(&id(REPO), &needs).unwrap_err();
    assert!(
        matches!(&err, Error::FileNotFound { path, .. } if path == "vocab.txt"),
        "{err}"
    );
    let err = hub
        .download_file(&id(REPO), "main", "nothere.json")
        .unwrap_err();
    assert!(matches!(err, Error::FileNotFound { .. }), "{err}");
}

#[test]
fn renamed_repositories_are_followed() {
    let server = TestHub::start().unwrap();
    let files = tiny_files(13);
    let commit = serve(&server, "main", &files);
    server.rename("org/old-name", REPO);
    let tmp = tempfile::tempdir().unwrap();
    // The cache keeps the id the user asked for, as Python does.
    let snap = client(&server, tmp.path())
        .download(&id("org/old-name"), &FileSelection::teacher())
        .unwrap();
    assert_eq!(
        snap,
        tmp.path()
            .join("models--org--old-name/snapshots")
            .join(&commit)
    );
    assert_eq!(std::fs::read(snap.join("config.json")).unwrap(), files[0].1);
    assert_eq!(
        std::fs::read(snap.join("model.safetensors")).unwrap(),
        files[1].1
    );
    let log = server.requests();
    assert!(
        log.iter()
            .any(|r| r.starts_with("HEAD /org/old-name/resolve/")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|r| r.starts_with("HEAD /org/tiny/resolve/")),
        "{log:?}"
    );
}

#[test]
fn subfolders_resolve_inside_the_snapshot() {
    let server = TestHub::start().unwrap();
    server.commit(
        REPO,
        "main",
        &[
            ("student/config.json", b"{}"),
            ("student/model.safetensors", b"weights"),
            ("student/tokenizer.json", b"{}"),
            ("config.json", b"{\"root\": true}"),
        ],
    );
    let tmp = tempfile::tempdir().unwrap();
    let sel = FileSelection::static_model().in_subfolder("student");
    let dir = client(&server, tmp.path())
        .download(&id(REPO), &sel)
        .unwrap();
    assert!(dir.ends_with("student"));
    assert_eq!(
        std::fs::read(dir.join("model.safetensors")).unwrap(),
        b"weights"
    );
    assert!(!dir.parent().unwrap().join("config.json").exists());
    assert_eq!(HfCache::new(tmp.path()).lookup(&id(REPO), &sel), Some(dir));
}

#[test]
fn push_then_download_is_byte_identical() {
    let server = TestHub::start().unwrap();
    server.set_token(Some("hf_push_SECRET"));
    let src = tempfile::tempdir().unwrap();
    let weights: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(src.path().join("model.safetensors"), &weights).unwrap();
    std::fs::write(src.path().join("config.json"), b"{\"normalize\": true}").unwrap();
    std::fs::create_dir(src.path().join("0_StaticEmbedding")).unwrap();
    std::fs::write(src.path().join("0_StaticEmbedding/tokenizer.json"), b"{}").unwrap();
    std::fs::write(src.path().join("tokenizer.json"), b"{\"model\": {}}").unwrap();
    let opts = PushOptions {
        private: true,
        token: Token::new("hf_push_SECRET"),
        message: Some("first".into()),
    };
    let hub = client(&server, src.path()).with_token(opts.token.clone());
    let info = hub.push_folder(src.path(), "me/static", &opts).unwrap();
    assert_eq!(info.lfs_files, 1);
    assert_eq!(
        info.files,
        [
            "0_StaticEmbedding/tokenizer.json",
            "config.json",
            "model.safetensors",
            "tokenizer.json"
        ]
    );
    assert!(info.commit_url.ends_with(&info.oid));
    let log = server.requests();
    for step in [
        "POST /api/repos/create",
        "/preupload/main",
        "/info/lfs/objects/batch",
        "PUT /lfs-upload/",
        "POST /lfs-verify",
        "/commit/main",
    ] {
        assert!(
            log.iter().any(|r| r.contains(step)),
            "missing {step}: {log:?}"
        );
    }
    // Private: a download without the token is refused; with it, byte-identical.
    let cache = tempfile::tempdir().unwrap();
    let anon = client(&server, cache.path());
    assert!(matches!(
        anon.download(&id("me/static"), &FileSelection::all())
            .unwrap_err(),
        Error::Unauthorized { .. }
    ));
    let snap = anon
        .with_token(Token::new("hf_push_SECRET"))
        .download(&id("me/static"), &FileSelection::all())
        .unwrap();
    assert!(snap.ends_with(&info.oid));
    for f in &info.files {
        assert_eq!(
            std::fs::read(snap.join(f)).unwrap(),
            std::fs::read(src.path().join(f)).unwrap(),
            "{f}"
        );
    }
    // Pushing again: the repository exists (409 is fine) and the LFS object is
    // already stored, so it is not uploaded twice.
    std::fs::write(src.path().join("config.json"), b"{\"normalize\": false}").unwrap();
    let puts_before = server
        .requests()
        .iter()
        .filter(|r| r.starts_with("PUT"))
        .count();
    let info2 = hub.push_folder(src.path(), "me/static", &opts).unwrap();
    assert_ne!(info2.oid, info.oid);
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.starts_with("PUT"))
            .count(),
        puts_before
    );
    let files = server.files("me/static", "main").unwrap();
    assert_eq!(files["config.json"], b"{\"normalize\": false}");
    assert_eq!(files["model.safetensors"], weights);
}

#[test]
fn push_needs_a_valid_token() {
    let server = TestHub::start().unwrap();
    server.set_token(Some("hf_good"));
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("config.json"), b"{}").unwrap();
    let opts = PushOptions::default();
    let err = client(&server, src.path())
        .push_folder(src.path(), "me/m", &opts)
        .unwrap_err();
    assert!(matches!(err, Error::TokenRequired { .. }), "{err}");
    assert!(server.requests().is_empty());
    let bad = client(&server, src.path()).with_token(Token::new("hf_bad_SECRET"));
    let err = bad.push_folder(src.path(), "me/m", &opts).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unauthorized {
                token_sent: true,
                ..
            }
        ),
        "{err}"
    );
    assert!(!format!("{err} {err:?}").contains("SECRET"));
    // A transient 500 on the LFS batch call is retried.
    std::fs::write(src.path().join("model.safetensors"), vec![1u8; 2048]).unwrap();
    server.inject("/info/lfs/objects/batch", Fault::Status(500), 1);
    let good = client(&server, src.path()).with_token(Token::new("hf_good"));
    let info = good.push_folder(src.path(), "me/m", &opts).unwrap();
    assert_eq!(info.lfs_files, 1);
}

/// A cache folder written by Python `huggingface_hub` (`hf_hub_download` against the
/// test hub, see `scripts/hub_python_check.py`) resolves offline, with the contents
/// whose sha256 Python recorded in `manifest.json`.
#[test]
fn python_written_cache_resolves_offline() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("manifest.json")).unwrap())
            .unwrap();
    let repo_id = manifest["repo_id"].as_str().unwrap();
    let commit = manifest["commit"].as_str().unwrap();
    let files = manifest["files"].as_object().unwrap();
    let cache = HfCache::new(fixtures.join("python_cache"));
    // Offline, and also online against an endpoint that does not exist: the
    // commit-pinned revision is complete in the cache, so no request is made.
    let required: Vec<&str> = files.keys().map(String::as_str).collect();
    let sel = FileSelection::new(&["*"], &required);
    let offline = Hub::new("http://127.0.0.1:9", cache.clone()).offline(true);
    let snap = offline.download(&id(repo_id), &sel).unwrap();
    assert!(snap.ends_with(commit));
    let pinned = Hub::new("http://127.0.0.1:9", cache.clone()).with_retry(Retry::fast(1));
    assert_eq!(
        pinned
            .download(&id(&format!("{repo_id}@{commit}")), &sel)
            .unwrap(),
        snap
    );
    for (path, want) in files {
        let data = std::fs::read(snap.join(path)).unwrap();
        assert_eq!(sha256(&data), want.as_str().unwrap(), "{path}");
    }
}

/// A teacher's weights come in one of four ways; the first present in the repository is
/// downloaded and the others are not, and a cached snapshot with missing shards is not
/// complete.
#[test]
fn teacher_weights_alternatives() {
    let server = TestHub::start().unwrap();
    let base = |extra: Vec<(&'static str, Vec<u8>)>| {
        let mut f = vec![
            ("config.json", b"{}".to_vec()),
            ("tokenizer.json", b"{}".to_vec()),
        ];
        f.extend(extra);
        f
    };
    // Sharded safetensors beside an old pytorch_model.bin: only the shards.
    let files = base(vec![
        (
            "model.safetensors.index.json",
            b"{\"weight_map\": {}}".to_vec(),
        ),
        ("model-00001-of-00002.safetensors", vec![1u8; 3000]),
        ("model-00002-of-00002.safetensors", vec![2u8; 3000]),
        ("pytorch_model.bin", vec![3u8; 3000]),
    ]);
    serve(&server, "main", &files);
    let tmp = tempfile::tempdir().unwrap();
    let hub = client(&server, tmp.path());
    let sel = FileSelection::teacher();
    let snap = hub.download(&id(REPO), &sel).unwrap();
    assert!(snap.join("model-00002-of-00002.safetensors").is_file());
    assert!(!snap.join("pytorch_model.bin").exists());
    assert_eq!(
        HfCache::new(tmp.path()).lookup(&id(REPO), &sel),
        Some(snap.clone())
    );
    // A shard gone from the cache: not complete any more.
    std::fs::remove_file(snap.join("model-00001-of-00002.safetensors")).unwrap();
    assert_eq!(HfCache::new(tmp.path()).lookup(&id(REPO), &sel), None);

    // Only pytorch_model.bin: it is downloaded.
    serve(
        &server,
        "main",
        &base(vec![("pytorch_model.bin", vec![3u8; 3000])]),
    );
    let tmp = tempfile::tempdir().unwrap();
    let snap = client(&server, tmp.path())
        .download(&id(REPO), &sel)
        .unwrap();
    assert!(snap.join("pytorch_model.bin").is_file());

    // No weights at all: the error names what was looked for.
    serve(&server, "main", &base(vec![]));
    let tmp = tempfile::tempdir().unwrap();
    let e = client(&server, tmp.path())
        .download(&id(REPO), &sel)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("model.safetensors") && e.contains("pytorch_model.bin"),
        "{e}"
    );
}

/// `push` uploads what is in the folder, never a file a symlink reaches outside it
/// (before, `ln -s ~/.ssh/id_rsa model/notes.txt` published the key); a snapshot of
/// the cache, whose entries link into its repository's `blobs/`, still pushes.
#[cfg(unix)]
#[test]
fn push_never_follows_symlinks_out_of_the_folder() {
    let server = TestHub::start().unwrap();
    server.set_token(Some("hf_good"));
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), b"PRIVATE KEY").unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("config.json"), b"{}").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), src.path().join("notes.txt"))
        .unwrap();
    let opts = PushOptions {
        token: Token::new("hf_good"),
        ..PushOptions::default()
    };
    let hub = client(&server, src.path()).with_token(opts.token.clone());
    let err = hub.push_folder(src.path(), "me/m", &opts).unwrap_err();
    assert!(matches!(err, Error::Upload { .. }), "{err}");
    assert!(err.to_string().contains("outside the folder"), "{err}");
    assert!(server.requests().is_empty(), "nothing was sent");
    // A linked folder is refused too (it could loop, or leave the folder).
    std::fs::remove_file(src.path().join("notes.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), src.path().join("sub")).unwrap();
    let err = hub.push_folder(src.path(), "me/m", &opts).unwrap_err();
    assert!(err.to_string().contains("symlink to a folder"), "{err}");
    std::fs::remove_file(src.path().join("sub")).unwrap();
    // A link inside the folder is fine.
    std::os::unix::fs::symlink("config.json", src.path().join("copy.json")).unwrap();
    let info = hub.push_folder(src.path(), "me/m", &opts).unwrap();
    assert_eq!(info.files, ["config.json", "copy.json"]);
    // A cache snapshot (links into ../../blobs) pushes as its files.
    serve(&server, "main", &tiny_files(3));
    let cache = tempfile::tempdir().unwrap();
    let snap = client(&server, cache.path())
        .download(&id(REPO), &FileSelection::static_model())
        .unwrap();
    let info = hub.push_folder(&snap, "me/copy", &opts).unwrap();
    assert!(info.files.contains(&"model.safetensors".to_string()));
}

/// A remote file name is data from the network: one with a terminal escape is
/// refused, and the error prints it escaped.
#[test]
fn remote_names_are_checked_and_printed_escaped() {
    let server = TestHub::start().unwrap();
    let mut files = tiny_files(1);
    files.push(("evil\u{1b}]0;pwned\u{7}.json", b"{}".to_vec()));
    files.push(("..\\..\\x.json", b"{}".to_vec()));
    serve(&server, "main", &files);
    let cache = tempfile::tempdir().unwrap();
    let err = client(&server, cache.path())
        .download(&id(REPO), &FileSelection::all())
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Protocol { .. }), "{msg}");
    assert!(msg.contains("unsafe file path"), "{msg}");
    assert!(!msg.chars().any(char::is_control), "{msg:?}");
}
