//! End-to-end tests of `m2v-cli distill` on bad input: a clear message, a non-zero
//! exit, no output folder left behind. The numbers (parity with Python `model2vec`
//! 0.10.0) are tested on the library, in `crates/m2v-distill/tests/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TEACHER: &str = "sentence-transformers/all-MiniLM-L6-v2";

fn teacher() -> Option<PathBuf> {
    m2v_hub::testing::model_or_skip(TEACHER, "all-MiniLM-L6-v2")
}

/// A fresh temporary folder for one test.
fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("m2v-cli-distill-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the binary.
fn m2v(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_m2v-cli"))
        .args(args)
        .output()
        .expect("cannot run m2v-cli")
}

fn fails(args: &[&str], out: &Path, needle: &str) {
    let o = m2v(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{args:?} succeeded");
    assert!(
        err.contains(needle),
        "{args:?}: expected {needle:?} in:\n{err}"
    );
    assert!(!out.exists(), "{args:?} left {}", out.display());
    if let Some(parent) = out.parent().filter(|p| p.exists()) {
        let left: Vec<_> = std::fs::read_dir(parent)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert!(
            left.iter()
                .all(|n| !n.to_string_lossy().contains("m2v-tmp")),
            "{args:?} left a temporary folder: {left:?}"
        );
    }
}

/// A copy of the teacher folder without some of its top-level files.
fn partial_teacher(root: &Path, teacher: &Path, skip: &[&str]) -> PathBuf {
    fn copy(from: &Path, to: &Path, skip: &[&str]) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            if skip.iter().any(|s| name.to_string_lossy() == *s) {
                continue;
            }
            if e.path().is_dir() {
                copy(&e.path(), &to.join(&name), &[]);
            } else {
                std::fs::copy(e.path(), to.join(&name)).unwrap();
            }
        }
    }
    let dir = root.join("teacher");
    copy(teacher, &dir, skip);
    dir
}

#[test]
fn teacher_without_weights() {
    let Some(teacher) = teacher() else { return };
    let root = temp("noweights");
    let t = partial_teacher(&root, &teacher, &["model.safetensors"]);
    let out = root.join("out");
    fails(
        &[
            "distill",
            "--model",
            t.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
        &out,
        "error:",
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn unknown_architecture() {
    let Some(teacher) = teacher() else { return };
    let root = temp("arch");
    let t = partial_teacher(&root, &teacher, &[]);
    // The real config with another architecture, so only the architecture is wrong.
    let config = std::fs::read_to_string(teacher.join("config.json")).unwrap();
    let config = config
        .replace("\"bert\"", "\"llama\"")
        .replace("BertModel", "LlamaModel");
    assert!(config.contains("llama"));
    std::fs::write(t.join("config.json"), config).unwrap();
    let out = root.join("out");
    fails(
        &[
            "distill",
            "--model",
            t.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
        &out,
        "llama",
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn invalid_regex() {
    let Some(teacher) = teacher() else { return };
    let root = temp("regex");
    let out = root.join("out");
    fails(
        &[
            "distill",
            "--model",
            teacher.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--token-remove-pattern",
            "[unclosed",
        ],
        &out,
        "invalid token remove pattern `[unclosed`",
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn empty_vocabulary_after_filtering() {
    let Some(teacher) = teacher() else { return };
    let root = temp("empty");
    let out = root.join("out");
    // A WordPiece model keeps its unk token whatever the pattern says (as the reference),
    // so the teacher gets a Unigram tokenizer without unk whose every token matches.
    let t = partial_teacher(
        &root,
        &teacher,
        &[
            "tokenizer.json",
            "special_tokens_map.json",
            "tokenizer_config.json",
        ],
    );
    std::fs::write(
        t.join("tokenizer.json"),
        r#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],"normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,"model":{"type":"Unigram","unk_id":null,"vocab":[["a",-1.0],["b",-2.0]],"byte_fallback":false}}"#,
    )
    .unwrap();
    fails(
        &[
            "distill",
            "--model",
            t.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--token-remove-pattern",
            ".*",
        ],
        &out,
        "vocabulary is empty",
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn unwritable_output() {
    let Some(teacher) = teacher() else { return };
    let root = temp("unwritable");
    // A path below a regular file can never be created.
    let file = root.join("file");
    std::fs::write(&file, b"x").unwrap();
    let out = file.join("model");
    let o = m2v(&[
        "distill",
        "--model",
        teacher.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
    // A non-empty output folder without --force is refused before any work.
    let full = root.join("full");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("keep.txt"), b"keep").unwrap();
    let o = m2v(&[
        "distill",
        "--model",
        teacher.to_str().unwrap(),
        "--output",
        full.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    assert_eq!(std::fs::read(full.join("keep.txt")).unwrap(), b"keep");
    std::fs::remove_dir_all(&root).unwrap();
}

/// A tiny DistilBERT checkpoint (m2v-teacher's seeded fixture) with its cut 1,000-token
/// WordPiece tokenizer (m2v-distill's fixture), in `root/teacher`: a real teacher that
/// distills in a fraction of a second, so a test can kill many runs.
fn tiny_teacher(root: &Path) -> PathBuf {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("teacher");
    std::fs::create_dir_all(&dir).unwrap();
    let ckpt = crates.join("m2v-teacher/tests/fixtures/families/distilbert");
    let tok = crates.join("m2v-distill/tests/fixtures/families/distilbert");
    for (from, f) in [
        (&ckpt, "config.json"),
        (&ckpt, "model.safetensors"),
        (&tok, "tokenizer.json"),
        (&tok, "special_tokens_map.json"),
        (&tok, "tokenizer_config.json"),
    ] {
        std::fs::copy(from.join(f), dir.join(f)).unwrap();
    }
    dir
}

/// `kill -9` at any point of `distill --force` (loading the teacher, its forward pass,
/// PCA, writing, the swap) leaves the previous model whole at the output path, and the
/// next run replaces it and removes the temporary folders the killed runs left.
#[test]
fn kill_9_during_distill_leaves_a_complete_model() {
    use std::process::Stdio;
    let root = temp("kill");
    let teacher = tiny_teacher(&root);
    let out = root.join("out");
    let distill = |dtype: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_m2v-cli"));
        c.args(["distill", "--model", teacher.to_str().unwrap()])
            .args(["--output", out.to_str().unwrap(), "--force", "--quiet"])
            .args(["--pca-dims", "8", "--quantize-to", dtype])
            .env("HF_HUB_OFFLINE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    let loads = |when: &str| {
        let m = m2v_static::StaticModel::from_pretrained(&out)
            .unwrap_or_else(|e| panic!("{when}: the output does not load: {e}"));
        assert_eq!(m.dim(), 8, "{when}");
        assert_eq!(m.encode(&["a kill", "test"]).rows(), 2, "{when}");
        m.dtype()
    };
    // One whole run, timed only to spread the kills over a run's length.
    let start = std::time::Instant::now();
    assert!(distill("f32").status().unwrap().success());
    let run = start.elapsed();
    assert_eq!(loads("first run"), m2v_static::Dtype::F32);
    let kills = 20u32;
    for i in 0..kills {
        let dtype = if i % 2 == 0 { "i8" } else { "f32" };
        let mut child = distill(dtype).spawn().unwrap();
        std::thread::sleep(run * i / kills);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        loads(&format!("after a kill at {:?}", run * i / kills));
    }
    assert!(distill("i8").status().unwrap().success());
    assert_eq!(loads("the run after the kills"), m2v_static::Dtype::I8);
    let left: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("m2v-tmp"))
        .collect();
    assert!(left.is_empty(), "temporary folders left: {left:?}");
    std::fs::remove_dir_all(&root).unwrap();
}

/// `distill --corpus`: `kill -9` at points spread over a run never leaves a partial
/// model, and the run after the kills, resuming from the feature cache, saves the bytes
/// an uninterrupted run saves.
#[test]
fn kill_9_during_pretraining_resumes_to_the_same_model() {
    use std::process::Stdio;
    let root = temp("kill-corpus");
    let teacher = tiny_teacher(&root);
    // 10,000 short texts (three cache chunks) from a fixed word list.
    let words = [
        "the", "cat", "sat", "on", "a", "mat", "river", "light", "song", "book",
    ];
    let mut text = String::new();
    for i in 0..10_000usize {
        let n = 3 + i % 7;
        let line: Vec<&str> = (0..n)
            .map(|j| words[(i * 7 + j * 3 + i / 10) % 10])
            .collect();
        text.push_str(&line.join(" "));
        text.push('\n');
    }
    let corpus = root.join("corpus.txt");
    std::fs::write(&corpus, text).unwrap();
    let run = |out: &Path| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_m2v-cli"));
        c.args(["distill", "--model", teacher.to_str().unwrap()])
            .args(["--output", out.to_str().unwrap(), "--force", "--quiet"])
            .args(["--pca-dims", "8", "--corpus", corpus.to_str().unwrap()])
            .env("HF_HUB_OFFLINE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    let a = root.join("a");
    let start = std::time::Instant::now();
    assert!(run(&a).status().unwrap().success());
    let length = start.elapsed();
    assert!(
        root.join("a.features").is_dir(),
        "the default feature cache sits beside the output"
    );
    let b = root.join("b");
    for i in 1..8u32 {
        let mut child = run(&b).spawn().unwrap();
        std::thread::sleep(length * i / 8);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if b.exists() {
            // The kill came after the swap: the model is whole.
            m2v_static::StaticModel::from_pretrained(&b)
                .unwrap_or_else(|e| panic!("after a kill: a partial model: {e}"));
        }
    }
    assert!(run(&b).status().unwrap().success());
    assert_eq!(
        std::fs::read(a.join("model.safetensors")).unwrap(),
        std::fs::read(b.join("model.safetensors")).unwrap(),
        "the resumed run's model differs from the uninterrupted run's"
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["pretraining"]["texts"], 10_000);
    assert_eq!(config["pretraining"]["corpus"], "corpus.txt");
    let first: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        first["pretraining"]["cached_texts"], 0,
        "the first run featurized everything"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
