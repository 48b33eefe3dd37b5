//! Repository invariants from ARCHITECTURE.md, checked on `cargo metadata` and the sources.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Workspace {
    root: PathBuf,
    /// Member name -> its package JSON.
    members: HashMap<String, Value>,
}

fn workspace() -> Workspace {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let root = PathBuf::from(meta["workspace_root"].as_str().unwrap());
    let members = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p.clone()))
        .collect();
    Workspace { root, members }
}

/// Non-optional normal dependencies of a member: (name, is a workspace member).
fn normal_deps<'a>(ws: &'a Workspace, name: &str) -> Vec<(&'a str, bool)> {
    ws.members[name]["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"].is_null() && !d["optional"].as_bool().unwrap_or(false))
        .map(|d| {
            let n = d["name"].as_str().unwrap();
            (n, ws.members.contains_key(n))
        })
        .collect()
}

const LIBRARIES: &[&str] = &[
    "m2v-tokenize",
    "m2v-static",
    "m2v-teacher",
    "m2v-reduce",
    "m2v-hub",
    "m2v-distill",
    "m2v-train",
    "m2v-serve",
];

#[test]
fn dependency_free_crates_have_no_third_party_dependencies() {
    let ws = workspace();
    for krate in ["m2v-static", "m2v-tokenize"] {
        // Walk the internal dependencies too: a workspace crate they use must itself be
        // dependency-free.
        let mut todo = vec![krate.to_string()];
        let mut seen = BTreeSet::new();
        while let Some(k) = todo.pop() {
            if !seen.insert(k.clone()) {
                continue;
            }
            for (dep, internal) in normal_deps(&ws, &k) {
                assert!(
                    internal,
                    "{krate} must have no third-party dependency, but {k} uses {dep}"
                );
                todo.push(dep.to_string());
            }
        }
    }
}

#[test]
fn layering_is_respected() {
    let ws = workspace();
    let deps = |k: &str| -> Vec<String> {
        ws.members[k]["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect()
    };
    for lib in LIBRARIES {
        for d in deps(lib) {
            assert!(
                d != "anyhow" && d != "clap",
                "library crate {lib} depends on {d}"
            );
        }
    }
    // Only m2v-hub (and the binaries) may carry an HTTP client; only m2v-serve an HTTP
    // server.
    const HTTP: &[&str] = &["hf-hub", "ureq", "reqwest", "hyper", "curl"];
    const SERVER: &[&str] = &["axum", "hyper", "hyper-util", "tokio", "tower"];
    for lib in LIBRARIES.iter().filter(|l| **l != "m2v-serve") {
        for d in deps(lib) {
            assert!(
                !SERVER.contains(&d.as_str()),
                "{lib} must not carry a server or an async runtime ({d})"
            );
        }
    }
    for lib in LIBRARIES.iter().filter(|l| **l != "m2v-hub") {
        for d in deps(lib) {
            // The server's own HTTP stack is hyper; it makes no outgoing requests.
            let server_side = *lib == "m2v-serve" && SERVER.contains(&d.as_str());
            assert!(
                server_side || !HTTP.contains(&d.as_str()),
                "{lib} must not touch the network ({d})"
            );
        }
    }
    // PCA knows nothing of Burn or tokenizers; it takes the dtype and the f16
    // conversion from the format owner.
    for d in deps("m2v-reduce") {
        assert!(
            !d.starts_with("burn") && (!d.starts_with("m2v-") || d == "m2v-static"),
            "m2v-reduce depends on {d}"
        );
    }
    // The arrows: cli -> distill -> teacher/reduce/tokenize/static. The CLI reaches the
    // teacher and the reductions only through the distillation library.
    let internal = |k: &str| -> BTreeSet<String> {
        deps(k)
            .into_iter()
            .filter(|d| ws.members.contains_key(d))
            .collect()
    };
    let set = |v: &[&str]| -> BTreeSet<String> { v.iter().map(|s| s.to_string()).collect() };
    assert_eq!(
        internal("m2v-distill"),
        set(&[
            "m2v-reduce",
            "m2v-static",
            "m2v-teacher",
            "m2v-tokenize",
            "m2v-train"
        ]),
        "m2v-distill's internal dependencies"
    );
    assert_eq!(
        internal("m2v-cli"),
        set(&[
            "m2v-distill",
            "m2v-hub",
            "m2v-serve",
            "m2v-static",
            "m2v-tokenize",
            "m2v-train"
        ]),
        "m2v-cli's internal dependencies"
    );
    // The server is a front end over the inference library: no teacher, no Burn, no
    // training, no hub.
    assert_eq!(
        internal("m2v-serve"),
        set(&["m2v-static"]),
        "m2v-serve's internal dependencies"
    );
    assert!(!deps("m2v-serve").iter().any(|d| d.starts_with("burn")));
    // Training works on static models only: no teacher, no Burn, no driver; the
    // pipeline format and its inference belong to m2v-static.
    assert_eq!(
        internal("m2v-train"),
        set(&["m2v-static", "m2v-tokenize"]),
        "m2v-train's internal dependencies"
    );
    assert!(!deps("m2v-train").iter().any(|d| d.starts_with("burn")));
    // Nothing but the binaries depends on the driver.
    for lib in LIBRARIES.iter().filter(|l| **l != "m2v-distill") {
        assert!(
            !deps(lib)
                .iter()
                .any(|d| d == "m2v-distill" || d == "m2v-cli"),
            "{lib} depends on the driver or the CLI"
        );
    }
    // The teacher depends on the tokenizer (and the format owner's dtype conversions),
    // never on the driver, the CLI or the network.
    let teacher = deps("m2v-teacher");
    assert!(teacher.iter().any(|d| d == "m2v-tokenize"));
    assert!(
        !teacher
            .iter()
            .any(|d| d == "m2v-distill" || d == "m2v-cli" || d == "m2v-hub")
    );
    // The static crate depends on nothing of ours but the tokenizer, and on the hub
    // client only behind its opt-in `download` feature.
    for d in ws.members["m2v-static"]["dependencies"].as_array().unwrap() {
        if !d["kind"].is_null() {
            continue;
        }
        let (name, optional) = (d["name"].as_str().unwrap(), d["optional"] == true);
        assert!(
            (name == "m2v-tokenize" && !optional) || (name == "m2v-hub" && optional),
            "m2v-static depends on {name} (optional: {optional})"
        );
    }
    // Arrow and Parquet (heavy) are the CLI's input and output formats, nothing else's.
    for (name, _) in ws.members.iter() {
        for d in deps(name) {
            assert!(
                name == "m2v-cli" || !d.starts_with("arrow") && d != "parquet",
                "{name} depends on {d}: Arrow/Parquet live in m2v-cli only"
            );
        }
    }
    // The Python binding is a thin front end over m2v-static, and the only crate that
    // links pyo3.
    for (name, _) in ws.members.iter() {
        for d in deps(name) {
            assert!(
                name == "m2v-python" || !d.starts_with("pyo3") && d != "numpy",
                "{name} depends on {d}: Python bindings live in m2v-python only"
            );
        }
    }
    let python: Vec<String> = deps("m2v-python")
        .into_iter()
        .filter(|d| d.starts_with("m2v-"))
        .collect();
    assert_eq!(python, ["m2v-static"], "m2v-python calls m2v-static only");
    assert_eq!(
        ws.members["m2v-static"]["features"]["default"],
        serde_json::json!([]),
        "m2v-static downloads only when asked to"
    );
}

#[test]
fn every_crate_root_starts_with_a_doc_comment() {
    let ws = workspace();
    for (name, pkg) in &ws.members {
        for t in pkg["targets"].as_array().unwrap() {
            let kinds: Vec<&str> = t["kind"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap())
                .collect();
            if !kinds.iter().any(|k| *k == "lib" || *k == "bin") {
                continue;
            }
            let src = Path::new(t["src_path"].as_str().unwrap());
            let text = std::fs::read_to_string(src).unwrap();
            assert!(
                text.trim_start().starts_with("//!"),
                "{name}: {} must start with a `//!` crate doc",
                src.strip_prefix(&ws.root).unwrap_or(src).display()
            );
        }
    }
}

#[test]
fn library_roots_use_explicit_reexports() {
    let ws = workspace();
    for lib in LIBRARIES {
        let src = ws.root.join("crates").join(lib).join("src/lib.rs");
        let text = std::fs::read_to_string(&src).unwrap();
        assert!(
            !text.contains("pub use") || !text.contains("::*;"),
            "{lib}: no glob re-exports"
        );
        assert!(
            text.contains("pub use crate::error::Error"),
            "{lib}: one error type, `Error`"
        );
    }
}

/// Files of a crate's `src/` (recursively).
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Lints: a crate with no `unsafe` forbids it; library crates document every public
/// item; an `unsafe fn` says when it is safe to call.
#[test]
fn lint_levels_and_safety_sections() {
    let ws = workspace();
    for (name, pkg) in &ws.members {
        let manifest = Path::new(pkg["manifest_path"].as_str().unwrap());
        let dir = manifest.parent().unwrap();
        let mut files = Vec::new();
        if dir.join("src").is_dir() {
            sources(&dir.join("src"), &mut files);
        }
        let mut uses_unsafe = false;
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, l) in lines.iter().enumerate() {
                let code = l.split("//").next().unwrap_or("");
                if [
                    "unsafe {",
                    "unsafe{",
                    "unsafe fn",
                    "unsafe impl",
                    "unsafe extern",
                ]
                .iter()
                .any(|u| code.contains(u))
                {
                    uses_unsafe = true;
                }
                if code.contains("unsafe fn ") {
                    // The doc block above (attributes skipped) must have `# Safety`.
                    let mut j = i;
                    let mut doc = String::new();
                    while j > 0 {
                        j -= 1;
                        let t = lines[j].trim_start();
                        if t.starts_with("#[") {
                            continue;
                        }
                        if !t.starts_with("///") {
                            break;
                        }
                        doc.push_str(t);
                    }
                    assert!(
                        doc.contains("# Safety"),
                        "{}:{}: an `unsafe fn` needs a `# Safety` doc section",
                        f.strip_prefix(&ws.root).unwrap_or(f).display(),
                        i + 1
                    );
                }
            }
        }
        for t in pkg["targets"].as_array().unwrap() {
            let kinds: Vec<&str> = t["kind"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap())
                .collect();
            if !kinds.iter().any(|k| *k == "lib" || *k == "bin") {
                continue;
            }
            let src = Path::new(t["src_path"].as_str().unwrap());
            let text = std::fs::read_to_string(src).unwrap();
            if !uses_unsafe {
                assert!(
                    text.contains("#![forbid(unsafe_code)]"),
                    "{name}: {} has no unsafe code, so it must `#![forbid(unsafe_code)]`",
                    src.display()
                );
            }
            if kinds.contains(&"lib") && LIBRARIES.contains(&name.as_str()) {
                assert!(
                    text.contains("#![warn(missing_docs)]")
                        || text.contains("#![deny(missing_docs)]"),
                    "{name}: library crates document every public item (`missing_docs`)"
                );
            }
        }
    }
}
