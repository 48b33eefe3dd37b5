//! End-to-end tests of `m2v-cli push` and of hub downloads through a model argument
//! (`m2v-cli resolve ID`), against the local test hub of `m2v-hub` (127.0.0.1 only).
//! The hub settings reach the binary through its environment (`HF_ENDPOINT`,
//! `HF_HUB_CACHE`, `HF_TOKEN`, `HF_HUB_OFFLINE`), set per child process.

use std::path::Path;
use std::process::{Command, Output};

use m2v_hub::test_server::TestHub;

fn m2v(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_m2v-cli"));
    cmd.args(args);
    for k in [
        "HF_TOKEN",
        "HF_HOME",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HF_ENDPOINT",
        "HF_HUB_CACHE",
    ] {
        cmd.env_remove(k);
    }
    // No token file from a real login may leak in.
    cmd.env("HF_TOKEN_PATH", "/nonexistent/m2v-test-token");
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn push_then_resolve_downloads_byte_identical_files() {
    let server = TestHub::start().unwrap();
    server.set_token(Some("hf_cli_SECRET"));
    let endpoint = server.endpoint();
    let src = tempfile::tempdir().unwrap();
    let weights: Vec<u8> = (0..10_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(src.path().join("model.safetensors"), &weights).unwrap();
    std::fs::write(src.path().join("config.json"), b"{\"normalize\": true}").unwrap();
    std::fs::write(src.path().join("tokenizer.json"), b"{\"model\": {}}").unwrap();
    let dir = src.path().to_str().unwrap();

    // Without a token: a clear error, nothing sent.
    let o = m2v(
        &["push", dir, "me/cli-model"],
        &[("HF_ENDPOINT", &endpoint)],
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("needs a token"), "{}", text(&o));
    assert!(server.requests().is_empty());

    // A wrong token: 401, and the token is not echoed.
    let o = m2v(
        &["push", dir, "me/cli-model", "--token", "hf_wrong_SECRET"],
        &[("HF_ENDPOINT", &endpoint)],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("401") && !text(&o).contains("SECRET"),
        "{}",
        text(&o)
    );

    let o = m2v(
        &[
            "push",
            dir,
            "me/cli-model",
            "--private",
            "-m",
            "from the cli",
        ],
        &[("HF_ENDPOINT", &endpoint), ("HF_TOKEN", "hf_cli_SECRET")],
    );
    assert!(o.status.success(), "{}", text(&o));
    let url = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(
        url.starts_with(&format!("{endpoint}/me/cli-model/commit/")),
        "{url}"
    );
    assert!(!text(&o).contains("SECRET"));

    // A model argument that is not cached is downloaded (private: the token is needed).
    let cache = tempfile::tempdir().unwrap();
    let cache_s = cache.path().to_str().unwrap();
    let offline = m2v(
        &["resolve", "me/cli-model"],
        &[
            ("HF_ENDPOINT", &endpoint),
            ("HF_HUB_CACHE", cache_s),
            ("HF_HUB_OFFLINE", "1"),
        ],
    );
    assert!(!offline.status.success());
    assert!(
        text(&offline).contains("HF_HUB_OFFLINE"),
        "{}",
        text(&offline)
    );
    let o = m2v(
        &["resolve", "me/cli-model"],
        &[
            ("HF_ENDPOINT", &endpoint),
            ("HF_HUB_CACHE", cache_s),
            ("HF_TOKEN", "hf_cli_SECRET"),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let snap = String::from_utf8_lossy(&o.stdout).trim().to_string();
    for f in ["model.safetensors", "config.json", "tokenizer.json"] {
        assert_eq!(
            std::fs::read(Path::new(&snap).join(f)).unwrap(),
            std::fs::read(src.path().join(f)).unwrap(),
            "{f}"
        );
    }
    // Now cached: offline resolution works and gives the same folder.
    let o = m2v(
        &["resolve", "me/cli-model"],
        &[("HF_HUB_CACHE", cache_s), ("HF_HUB_OFFLINE", "1")],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), snap);
}

/// `--token` warns that the token is in the process list; `--token-file` reads it from
/// a file instead, with no warning.
#[test]
fn token_on_the_command_line_warns_and_a_token_file_works() {
    let server = TestHub::start().unwrap();
    server.set_token(Some("hf_cli_SECRET"));
    let endpoint = server.endpoint();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("config.json"), b"{}").unwrap();
    let dir = src.path().to_str().unwrap();
    let o = m2v(
        &["push", dir, "me/warned", "--token", "hf_cli_SECRET"],
        &[("HF_ENDPOINT", &endpoint)],
    );
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning: --token") && err.contains("process list"),
        "{}",
        text(&o)
    );
    assert!(!err.contains("SECRET"), "{}", text(&o));
    let tf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tf.path(), "hf_cli_SECRET\n").unwrap();
    let o = m2v(
        &[
            "push",
            dir,
            "me/from-file",
            "--token-file",
            tf.path().to_str().unwrap(),
        ],
        &[("HF_ENDPOINT", &endpoint)],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("warning"),
        "{}",
        text(&o)
    );
}

/// Every blob in `cache` has the content its name promises (sha256 for LFS files,
/// git blob sha1 otherwise); `.incomplete` files (a killed download's, resumed by the
/// next) are not blobs.
fn assert_blobs_verified(cache: &Path) {
    use m2v_hub::test_server::{git_sha1, sha256};
    for repo in std::fs::read_dir(cache).unwrap() {
        let blobs = repo.unwrap().path().join("blobs");
        let Ok(rd) = std::fs::read_dir(&blobs) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".incomplete") {
                continue;
            }
            let data = std::fs::read(&p).unwrap();
            let want = if name.len() == 64 {
                sha256(&data)
            } else {
                git_sha1(&data)
            };
            assert_eq!(want, name, "blob {name} holds other bytes");
        }
    }
}

/// Two kinds of process faults on downloads (issue 19): four `m2v-cli` processes
/// downloading one model into one cache at once all get the same, verified snapshot
/// (one blob per file); and `kill -9` at any moment of a download leaves no
/// unverified blob, while the next run completes it.
#[test]
fn concurrent_and_killed_downloads_leave_one_verified_copy() {
    let server = TestHub::start().unwrap();
    let endpoint = server.endpoint();
    let weights: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("config.json", b"{\"normalize\": true}".to_vec()),
        ("model.safetensors", weights),
        ("tokenizer.json", b"{\"model\": {}}".to_vec()),
    ];
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (*p, d.as_slice())).collect();
    server.commit("org/shared", "main", &refs);
    let resolve = |cache: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_m2v-cli"));
        c.args(["resolve", "org/shared"])
            .env_remove("HF_TOKEN")
            .env_remove("HF_HOME")
            .env_remove("HF_HUB_OFFLINE")
            .env("HF_TOKEN_PATH", "/nonexistent/m2v-test-token")
            .env("HF_ENDPOINT", &endpoint)
            .env("HF_HUB_CACHE", cache);
        c
    };
    let check_snapshot = |snap: &str| {
        for (f, data) in &files {
            assert_eq!(
                &std::fs::read(Path::new(snap).join(f)).unwrap(),
                data,
                "{f}"
            );
        }
    };

    let cache = tempfile::tempdir().unwrap();
    let cache_s = cache.path().to_str().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            resolve(cache_s)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut snaps = Vec::new();
    for o in &outs {
        assert!(o.status.success(), "{}", text(o));
        snaps.push(String::from_utf8_lossy(&o.stdout).trim().to_string());
    }
    snaps.dedup();
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    check_snapshot(&snaps[0]);
    assert_blobs_verified(cache.path());
    let blobs = cache.path().join("models--org--shared/blobs");
    let n = std::fs::read_dir(&blobs)
        .unwrap()
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".incomplete")
        })
        .count();
    assert_eq!(n, files.len(), "one blob per file");

    for i in 0..12u64 {
        let cache = tempfile::tempdir().unwrap();
        let cache_s = cache.path().to_str().unwrap();
        let mut child = resolve(cache_s)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(i * 4));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        assert_blobs_verified(cache.path());
        let o = resolve(cache_s).output().unwrap();
        assert!(
            o.status.success(),
            "after a kill at {} ms: {}",
            i * 4,
            text(&o)
        );
        check_snapshot(String::from_utf8_lossy(&o.stdout).trim());
        assert_blobs_verified(cache.path());
    }
}

#[test]
fn train_push_to_uploads_the_whole_pipeline() {
    let server = TestHub::start().unwrap();
    server.set_token(Some("hf_cli_SECRET"));
    let endpoint = server.endpoint();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = root.join("crates/m2v-static/tests/fixtures/tiny/tiny_f32");
    let data = root.join("crates/m2v-train/tests/fixtures/synthetic/train.jsonl");
    let out = tempfile::tempdir().unwrap();
    let pipe = out.path().join("pipe");
    let o = m2v(
        &[
            "train",
            "classify",
            "--model",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--output",
            pipe.to_str().unwrap(),
            "--max-epochs",
            "1",
            "--quiet",
            "--push-to",
            "me/clf",
        ],
        &[("HF_ENDPOINT", &endpoint), ("HF_TOKEN", "hf_cli_SECRET")],
    );
    assert!(o.status.success(), "{}", text(&o));
    let files = server.files("me/clf", "main").expect("nothing pushed");
    for f in [
        "head.safetensors",
        "model.safetensors",
        "config.json",
        "tokenizer.json",
    ] {
        assert_eq!(
            files.get(f),
            Some(&std::fs::read(pipe.join(f)).unwrap()),
            "{f} not pushed as saved"
        );
    }
}
