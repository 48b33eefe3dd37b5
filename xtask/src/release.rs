//! `cargo xtask release`: check, package and publish the workspace's crates and pack
//! the `m2v-cli` binary (the maintainer's guide is `docs/release.md`).
//!
//! Three modes, each doing everything the one before does:
//!
//! - `--ci` (what `cargo xtask ci` runs, about a minute cold): the metadata every
//!   published crate needs, one version everywhere, versioned path dependencies, the
//!   publish order, a `CHANGELOG.md` entry, the MSRV, the dependency policy of
//!   `deny.toml` (licenses and sources, from `cargo metadata`), `cargo package
//!   --no-verify` of every published crate, the contents of each `.crate` (no
//!   `../shared` paths), and `m2v-static`'s README example built and run in an empty
//!   project from the unpacked `m2v-tokenize` and `m2v-static` crates alone. A dirty
//!   tree is reported, not refused.
//! - `--dry-run`: a clean tree, `cargo deny check` when cargo-deny is installed,
//!   `cargo publish --dry-run` of every crate (each one built from its `.crate`), a
//!   release build of `m2v-cli` packed as a tarball with the bundled licenses and
//!   `SHA256SUMS`, under `<target>/dist/<version>/`.
//! - no flag: all of that, then `cargo publish` of each crate in [`PUBLISH_ORDER`];
//!   refused without cargo-deny (the advisory check) or with a dirty tree.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The published crates in the order `cargo publish` must upload them: each after every
/// workspace crate it depends on, dev-dependencies included (crates.io refuses a crate
/// whose versioned dev-dependency is not published yet, and most crates' tests use
/// `m2v-hub`'s test helpers, so `m2v-hub` goes first).
pub const PUBLISH_ORDER: &[&str] = &[
    "m2v-hub",
    "m2v-tokenize",
    "m2v-static",
    "m2v-reduce",
    "m2v-teacher",
    "m2v-train",
    "m2v-distill",
    "m2v-serve",
    "m2v-cli",
];

/// Workspace members that are never published to crates.io (`publish = false`);
/// `m2v-python` ships as a Python wheel (maturin), not as a crate.
pub const INTERNAL: &[&str] = &["xtask", "m2v-benches", "m2v-eval", "m2v-python"];

/// Files of a published crate allowed to mention the repository's `../shared` folder:
/// (crate, path in the package, why).
const SHARED_REFS: &[(&str, &str, &str)] = &[(
    "m2v-hub",
    "src/testing.rs",
    "the test helpers look for the evaluation data at run time (M2V_SHARED_DATA first) \
     and skip when it is missing; nothing is built from it",
)];

const HELP: &str = "\
cargo xtask release [--ci | --dry-run] [--version X.Y.Z] [--allow-dirty]

  --ci           the light check CI runs: metadata, versions, changelog, MSRV, licenses,
                 `cargo package --no-verify`, m2v-static's README example from its .crate
  --dry-run      everything but the upload: also `cargo deny check` (when installed),
                 `cargo publish --dry-run` of every crate, the m2v-cli tarball,
                 SHA256SUMS and bundled licenses under <target>/dist/<version>/
  (neither)      the dry run, then `cargo publish` of each crate in dependency order
  --version V    fail unless the workspace version is V
  --allow-dirty  (--dry-run only) accept uncommitted changes
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ci,
    DryRun,
    Publish,
}

pub fn run(args: &[String]) -> Result<()> {
    let mut mode = Mode::Publish;
    let mut version = None;
    let mut allow_dirty = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--ci" => mode = Mode::Ci,
            "--dry-run" => {
                if mode != Mode::Ci {
                    mode = Mode::DryRun;
                }
            }
            "--version" => version = Some(it.next().context("--version needs a value")?.clone()),
            "--allow-dirty" => allow_dirty = true,
            "--help" | "-h" => {
                print!("{HELP}");
                return Ok(());
            }
            other => bail!("unknown argument `{other}`\n\n{HELP}"),
        }
    }
    ensure!(
        !(allow_dirty && mode == Mode::Publish),
        "--allow-dirty is for --dry-run only: a release is cut from a committed tree"
    );
    let started = std::time::Instant::now();
    let meta = Metadata::load(&["--all-features"])?;
    let ws_version = step("metadata, versions, publish order", || {
        check_manifests(&meta, version.as_deref())
    })?;
    step("CHANGELOG.md", || {
        let path = meta.root.join("CHANGELOG.md");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        ensure!(
            changelog_has(&text, &ws_version),
            "CHANGELOG.md has no `## [{ws_version}]` entry"
        );
        println!("entry for {ws_version} found");
        Ok(())
    })?;
    let dirty = step("clean tree", || {
        let dirty = git_dirty(&meta.root)?;
        if dirty.is_empty() {
            println!("no uncommitted changes");
        } else if mode == Mode::Ci || allow_dirty {
            println!(
                "uncommitted changes (a release refuses them; {} goes on):\n{}",
                if mode == Mode::Ci {
                    "--ci"
                } else {
                    "--allow-dirty"
                },
                summary(&dirty)
            );
        } else {
            bail!(
                "uncommitted changes (commit them, or --dry-run --allow-dirty):\n{}",
                summary(&dirty)
            );
        }
        Ok(!dirty.is_empty())
    })?;
    step("minimum supported Rust version", || check_msrv(&meta, mode))?;
    step("dependency licenses and sources (deny.toml)", || {
        let policy = Policy::load(&meta.root.join("deny.toml"))?;
        let n = check_dependencies(&meta, &policy)?;
        println!("{n} third-party packages reached by the published crates: all allowed");
        Ok(())
    })?;
    step("advisories (cargo deny)", || cargo_deny(&meta.root, mode))?;
    let target = meta.target_dir.clone();
    let check_dir = target.join("release-check");
    let crates = step("cargo package", || {
        // Quiet: the warnings list every test and example left out on purpose.
        let mut args = vec!["package", "--quiet", "--workspace"];
        for i in INTERNAL {
            args.extend(["--exclude", i]);
        }
        // Not verified here: `--ci` builds two crates from their .crate below, the dry
        // run builds every crate in `cargo publish --dry-run`.
        args.push("--no-verify");
        if dirty {
            args.push("--allow-dirty");
        }
        cargo(&meta.root, &args, &[])?;
        inspect_packages(
            &target.join("package"),
            &check_dir.join("crates"),
            &ws_version,
        )
    })?;
    step(
        "m2v-static's README example, from the packaged crates",
        || readme_example(&check_dir, &crates),
    )?;
    if mode == Mode::Ci {
        println!(
            "\nrelease --ci: passed ({:.0}s); `cargo xtask release --dry-run` also verifies \
             every crate's build from its .crate and packs m2v-cli",
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    step(
        "cargo publish --dry-run (every crate built from its .crate)",
        || {
            let mut args = vec!["publish", "--dry-run", "--workspace"];
            for i in INTERNAL {
                args.extend(["--exclude", i]);
            }
            if dirty {
                args.push("--allow-dirty");
            }
            cargo(&meta.root, &args, &[])
        },
    )?;
    let dist = target.join("dist").join(&ws_version);
    step(
        "m2v-cli release tarball, SHA256SUMS, bundled licenses",
        || pack_cli(&meta, &dist, &ws_version, &crates),
    )?;
    step("Python wheel", || {
        match find_python_package(&meta.root) {
            None => println!("skipped: the workspace has no Python package yet"),
            Some(p) => println!(
                "skipped: {} exists but the release task does not build wheels yet",
                p.display()
            ),
        }
        Ok(())
    })?;
    if mode == Mode::DryRun {
        println!(
            "\nrelease --dry-run: passed ({:.0}s); artifacts in {}",
            started.elapsed().as_secs_f64(),
            dist.display()
        );
        return Ok(());
    }
    for name in PUBLISH_ORDER {
        step(&format!("cargo publish -p {name}"), || {
            cargo(&meta.root, &["publish", "--locked", "-p", name], &[])
        })?;
    }
    println!(
        "\nreleased {ws_version}: tag it (`git tag v{ws_version} && git push --tags`) and \
         attach the files in {} to the release",
        dist.display()
    );
    Ok(())
}

fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    println!("\n=== release: {name}");
    let t = std::time::Instant::now();
    let v = f().with_context(|| format!("release step `{name}` failed"))?;
    println!(
        "=== release: {name}: ok ({:.1}s)",
        t.elapsed().as_secs_f64()
    );
    Ok(v)
}

fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn cargo(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let status = Command::new(cargo_bin())
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    ensure!(
        status.success(),
        "`cargo {}` failed ({status})",
        args.join(" ")
    );
    Ok(())
}

fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `cargo metadata` with dependencies, indexed.
struct Metadata {
    root: PathBuf,
    target_dir: PathBuf,
    /// Package id -> package.
    packages: HashMap<String, Value>,
    /// Workspace member name -> package id.
    members: BTreeMap<String, String>,
    /// Package id -> (dependency id, kinds: `null`, `"build"` or `"dev"`).
    deps: HashMap<String, Vec<(String, Vec<Value>)>>,
}

impl Metadata {
    fn load(extra: &[&str]) -> Result<Metadata> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("xtask has no parent folder")?
            .to_path_buf();
        let text = output(
            Command::new(cargo_bin())
                .args(["metadata", "--format-version", "1", "--locked"])
                .args(extra)
                .current_dir(&root),
        )?;
        let v: Value = serde_json::from_str(&text).context("parsing cargo metadata")?;
        let packages: HashMap<String, Value> = v["packages"]
            .as_array()
            .context("cargo metadata: no packages")?
            .iter()
            .map(|p| (str_of(&p["id"]).to_string(), p.clone()))
            .collect();
        let members = v["workspace_members"]
            .as_array()
            .context("cargo metadata: no workspace_members")?
            .iter()
            .map(|id| {
                let id = str_of(id).to_string();
                (str_of(&packages[&id]["name"]).to_string(), id)
            })
            .collect();
        let mut deps = HashMap::new();
        // `--no-deps` gives no resolve: the members' own fields only.
        let nodes = v["resolve"]["nodes"].as_array().map(Vec::as_slice);
        for n in nodes.unwrap_or_default() {
            let edges = n["deps"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|d| {
                    let kinds = d["dep_kinds"]
                        .as_array()
                        .map(|k| k.iter().map(|k| k["kind"].clone()).collect())
                        .unwrap_or_default();
                    (str_of(&d["pkg"]).to_string(), kinds)
                })
                .collect();
            deps.insert(str_of(&n["id"]).to_string(), edges);
        }
        Ok(Metadata {
            root: PathBuf::from(str_of(&v["workspace_root"])),
            target_dir: PathBuf::from(str_of(&v["target_directory"])),
            packages,
            members,
            deps,
        })
    }

    fn member(&self, name: &str) -> &Value {
        &self.packages[&self.members[name]]
    }

    /// Every package reached from `from` through normal and build dependencies.
    fn shipped_closure(&self, from: &[&str]) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = from.iter().map(|n| self.members[*n].clone()).collect();
        while let Some(id) = stack.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            for (dep, kinds) in self.deps.get(&id).map(Vec::as_slice).unwrap_or_default() {
                if kinds.iter().any(|k| k.is_null() || k == "build") {
                    stack.push(dep.clone());
                }
            }
        }
        seen
    }
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The registry's required metadata, one version, versioned path dependencies and a
/// publish order that respects them; returns the workspace version.
fn check_manifests(meta: &Metadata, want: Option<&str>) -> Result<String> {
    let mut problems = Vec::new();
    let published: BTreeSet<&str> = meta
        .members
        .keys()
        .map(String::as_str)
        .filter(|n| meta.member(n)["publish"] != serde_json::json!([]))
        .collect();
    let listed: BTreeSet<&str> = PUBLISH_ORDER.iter().copied().collect();
    if published != listed {
        problems.push(format!(
            "the published members {published:?} are not release.rs's PUBLISH_ORDER \
             {listed:?} (a new crate is published, or `publish = false`, on purpose?)"
        ));
    }
    for name in meta.members.keys() {
        if !listed.contains(name.as_str()) && !INTERNAL.contains(&name.as_str()) {
            problems.push(format!(
                "member `{name}` is neither in PUBLISH_ORDER nor INTERNAL (xtask/src/release.rs)"
            ));
        }
    }
    let version = str_of(&meta.member(PUBLISH_ORDER[0])["version"]).to_string();
    if let Some(want) = want
        && want != version
    {
        problems.push(format!(
            "the workspace version is {version}, not {want}: bump `[workspace.package] \
             version` and the internal `[workspace.dependencies]` first"
        ));
    }
    let msrv = str_of(&meta.member(PUBLISH_ORDER[0])["rust_version"]).to_string();
    for (i, name) in PUBLISH_ORDER.iter().enumerate() {
        let Some(id) = meta.members.get(*name) else {
            problems.push(format!(
                "PUBLISH_ORDER names `{name}`, not a workspace member"
            ));
            continue;
        };
        let p = &meta.packages[id];
        for field in [
            "description",
            "license",
            "repository",
            "readme",
            "rust_version",
        ] {
            if str_of(&p[field]).trim().is_empty() {
                problems.push(format!("{name}: no `{field}` in its Cargo.toml"));
            }
        }
        for field in ["keywords", "categories"] {
            let n = p[field].as_array().map_or(0, Vec::len);
            if !(1..=5).contains(&n) {
                problems.push(format!("{name}: {n} {field} (the registry takes 1 to 5)"));
            }
        }
        for k in p["keywords"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if !valid_keyword(str_of(k)) {
                problems.push(format!(
                    "{name}: keyword {k} is not what the registry accepts"
                ));
            }
        }
        let dir = Path::new(str_of(&p["manifest_path"]))
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        for file in [str_of(&p["readme"]), "LICENSE"] {
            if !file.is_empty() && !dir.join(file).is_file() {
                problems.push(format!("{name}: {} is missing", dir.join(file).display()));
            }
        }
        if str_of(&p["version"]) != version {
            problems.push(format!(
                "{name}: version {} but {} has {version}",
                p["version"], PUBLISH_ORDER[0]
            ));
        }
        if str_of(&p["rust_version"]) != msrv {
            problems.push(format!(
                "{name}: rust-version {} but {} has {msrv}",
                p["rust_version"], PUBLISH_ORDER[0]
            ));
        }
        for d in p["dependencies"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if d["path"].is_null() {
                continue;
            }
            let dep = str_of(&d["name"]);
            let req = str_of(&d["req"]);
            let dev = d["kind"] == "dev";
            if dev && req == "*" {
                continue; // cargo strips an unversioned dev-dependency from the package
            }
            if !listed.contains(dep) {
                problems.push(format!(
                    "{name} depends on `{dep}`, which is not published{}",
                    if dev {
                        " (drop the version of this dev-dependency so cargo strips it)"
                    } else {
                        ""
                    }
                ));
                continue;
            }
            if !req_pins(req, &version) {
                problems.push(format!(
                    "{name}: path dependency `{dep}` has version requirement `{req}`, \
                     not {version}"
                ));
            }
            if !PUBLISH_ORDER[..i].contains(&dep) {
                problems.push(format!(
                    "{name} depends on `{dep}`{} but comes before it in PUBLISH_ORDER",
                    if dev { " (dev)" } else { "" }
                ));
            }
        }
    }
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    println!(
        "{} crates at {version} with the registry's metadata, rust-version {msrv}; \
         publish order: {}; internal: {}",
        PUBLISH_ORDER.len(),
        PUBLISH_ORDER.join(", "),
        INTERNAL.join(", ")
    );
    Ok(version)
}

/// crates.io's keyword rule: ASCII, at most 20 characters, starting with a letter, then
/// letters, digits, `_`, `-` or `+`.
fn valid_keyword(k: &str) -> bool {
    let mut c = k.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && k.len() <= 20
        && c.all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
}

/// Whether a version requirement as `cargo metadata` reports it (`^0.1.0`, `=0.1.0`)
/// names exactly this version.
fn req_pins(req: &str, version: &str) -> bool {
    req.trim_start_matches(['^', '=']).trim() == version
}

/// A `## [X.Y.Z]` (or `## X.Y.Z`) heading, optionally followed by a date or words.
fn changelog_has(text: &str, version: &str) -> bool {
    text.lines().any(|l| {
        let Some(rest) = l.strip_prefix("## ") else {
            return false;
        };
        let rest = rest.trim_start();
        let head = rest
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .map_or_else(|| rest.split_whitespace().next().unwrap_or(""), |(v, _)| v);
        head.trim_start_matches('v') == version
    })
}

/// The first lines of a list, and how many more there are.
fn summary(lines: &[String]) -> String {
    let mut s = lines
        .iter()
        .take(12)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > 12 {
        let _ = write!(s, "\n... and {} more", lines.len() - 12);
    }
    s
}

fn git_dirty(root: &Path) -> Result<Vec<String>> {
    let out = output(
        Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=normal"])
            .current_dir(root),
    )
    .context("the release task runs in a git checkout")?;
    Ok(out.lines().map(str::to_string).collect())
}

/// (major, minor) of a version such as `1.95`, `1.95.0` or `rustc 1.95.0 (...)`.
fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.trim().split('.');
    let major = it.next()?.trim().parse().ok()?;
    let minor = it.next()?.trim().parse().ok()?;
    Some((major, minor))
}

/// The declared MSRV is the toolchain that builds the crates: equal to the one in use
/// (then every build of this task is an MSRV build), or installed through rustup and
/// checked with it (not in `--ci`, where it would build Burn once more).
fn check_msrv(meta: &Metadata, mode: Mode) -> Result<()> {
    let msrv = str_of(&meta.member(PUBLISH_ORDER[0])["rust_version"]).to_string();
    let want = major_minor(&msrv).with_context(|| format!("rust-version `{msrv}`"))?;
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let vv = output(Command::new(&rustc).arg("-vV"))?;
    let release = vv
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .context("rustc -vV printed no release")?
        .to_string();
    let have = major_minor(&release).with_context(|| format!("rustc release `{release}`"))?;
    ensure!(
        have >= want,
        "rustc {release} is older than the declared rust-version {msrv}"
    );
    if have == want {
        println!(
            "rust-version {msrv} is the toolchain in use (rustc {release}): the builds below \
             are MSRV builds"
        );
        return Ok(());
    }
    let toolchain = format!("{}.{}", want.0, want.1);
    let installed = Command::new("rustup")
        .args(["run", &toolchain, "rustc", "-V"])
        .output()
        .is_ok_and(|o| o.status.success());
    if mode == Mode::Ci || !installed {
        let why = if installed {
            "not built in --ci".to_string()
        } else {
            format!("that toolchain is not installed (rustup toolchain install {toolchain})")
        };
        ensure!(
            mode != Mode::Publish,
            "rust-version {msrv} cannot be checked: {why}"
        );
        println!("rust-version {msrv} declared; rustc {release} in use; not checked: {why}");
        return Ok(());
    }
    let mut args = vec!["run", toolchain.as_str(), "cargo", "check", "--locked"];
    for p in PUBLISH_ORDER {
        args.extend(["-p", p]);
    }
    let status = Command::new("rustup")
        .args(&args)
        .current_dir(&meta.root)
        .status()
        .context("running rustup")?;
    ensure!(
        status.success(),
        "the crates do not build with Rust {toolchain}"
    );
    println!("the published crates build with Rust {toolchain}");
    Ok(())
}

/// The part of `deny.toml` this task applies itself (cargo-deny, when installed, applies
/// all of it): the allowed licenses, per-crate exceptions, allowed sources.
#[derive(Debug, Default)]
struct Policy {
    allow: BTreeSet<String>,
    /// Crate name -> licenses allowed for it alone (and its license when its manifest
    /// declares none).
    exceptions: BTreeMap<String, Vec<String>>,
    allow_registry: Vec<String>,
}

const CRATES_IO: &str = "https://github.com/rust-lang/crates.io-index";

impl Policy {
    fn load(path: &Path) -> Result<Policy> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Policy::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    fn parse(text: &str) -> Result<Policy> {
        let t: toml::Table = text.parse()?;
        let strings = |v: Option<&toml::Value>| -> Vec<String> {
            v.and_then(toml::Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        let lic = t.get("licenses").context("no [licenses] table")?;
        let allow: BTreeSet<String> = strings(lic.get("allow")).into_iter().collect();
        ensure!(!allow.is_empty(), "[licenses] allow is empty");
        let mut exceptions = BTreeMap::new();
        for e in lic
            .get("exceptions")
            .and_then(toml::Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let name = e
                .get("crate")
                .or_else(|| e.get("name"))
                .and_then(toml::Value::as_str)
                .context("a [[licenses.exceptions]] entry without `crate`")?;
            exceptions.insert(name.to_string(), strings(e.get("allow")));
        }
        let mut allow_registry = strings(t.get("sources").and_then(|s| s.get("allow-registry")));
        if allow_registry.is_empty() {
            allow_registry.push(CRATES_IO.to_string());
        }
        Ok(Policy {
            allow,
            exceptions,
            allow_registry,
        })
    }
}

/// Every third-party package the published crates ship with (normal and build
/// dependencies, all features, all platforms) comes from an allowed registry under an
/// allowed license; returns how many there are.
fn check_dependencies(meta: &Metadata, policy: &Policy) -> Result<usize> {
    let mut problems = Vec::new();
    let member_ids: BTreeSet<&String> = meta.members.values().collect();
    let mut n = 0;
    for id in meta.shipped_closure(PUBLISH_ORDER) {
        let p = &meta.packages[&id];
        let name = str_of(&p["name"]);
        let what = format!("{name} {}", str_of(&p["version"]));
        if member_ids.contains(&id) {
            if str_of(&p["license"]).is_empty() {
                problems.push(format!("{what}: no license"));
            }
            continue;
        }
        n += 1;
        let source = str_of(&p["source"]);
        let registry = source
            .strip_prefix("registry+")
            .or(source.strip_prefix("sparse+"));
        if !registry.is_some_and(|r| policy.allow_registry.iter().any(|a| a == r)) {
            problems.push(format!(
                "{what}: source `{source}` is not an allowed registry (sources.allow-registry)"
            ));
        }
        let extra = policy.exceptions.get(name);
        let allowed =
            |l: &str| policy.allow.contains(l) || extra.is_some_and(|e| e.iter().any(|x| x == l));
        let license = str_of(&p["license"]);
        if license.is_empty() {
            if extra.is_none_or(Vec::is_empty) {
                problems.push(format!(
                    "{what}: its manifest declares no license (license file: {}); read it \
                     and add a [[licenses.exceptions]] entry naming it",
                    p["license_file"]
                ));
            }
            continue;
        }
        match license_allowed(license, &allowed) {
            Ok(true) => {}
            Ok(false) => problems.push(format!("{what}: license `{license}` is not allowed")),
            Err(e) => problems.push(format!("{what}: license `{license}`: {e}")),
        }
    }
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(n)
}

/// Evaluates an SPDX expression (`AND`, `OR`, `WITH`, parentheses; the old `/` means
/// `OR`) against an allow predicate. `X WITH exception` is allowed when `X` is: an
/// exception only adds permissions.
fn license_allowed(expr: &str, allowed: &dyn Fn(&str) -> bool) -> Result<bool> {
    let spaced = expr
        .replace('/', " OR ")
        .replace('(', " ( ")
        .replace(')', " ) ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut pos = 0;
    let v = spdx_or(&tokens, &mut pos, allowed)?;
    ensure!(pos == tokens.len(), "unexpected `{}`", tokens[pos]);
    Ok(v)
}

fn spdx_or(t: &[&str], pos: &mut usize, ok: &dyn Fn(&str) -> bool) -> Result<bool> {
    let mut v = spdx_and(t, pos, ok)?;
    while t.get(*pos).is_some_and(|w| w.eq_ignore_ascii_case("OR")) {
        *pos += 1;
        v |= spdx_and(t, pos, ok)?;
    }
    Ok(v)
}

fn spdx_and(t: &[&str], pos: &mut usize, ok: &dyn Fn(&str) -> bool) -> Result<bool> {
    let mut v = spdx_atom(t, pos, ok)?;
    while t.get(*pos).is_some_and(|w| w.eq_ignore_ascii_case("AND")) {
        *pos += 1;
        v &= spdx_atom(t, pos, ok)?;
    }
    Ok(v)
}

fn spdx_atom(t: &[&str], pos: &mut usize, ok: &dyn Fn(&str) -> bool) -> Result<bool> {
    let tok = *t.get(*pos).context("the expression ends too early")?;
    *pos += 1;
    if tok == "(" {
        let v = spdx_or(t, pos, ok)?;
        ensure!(t.get(*pos) == Some(&")"), "unbalanced parentheses");
        *pos += 1;
        return Ok(v);
    }
    ensure!(
        !["AND", "OR", "WITH", ")"].contains(&tok.to_ascii_uppercase().as_str()),
        "unexpected `{tok}`"
    );
    if t.get(*pos).is_some_and(|w| w.eq_ignore_ascii_case("WITH")) {
        t.get(*pos + 1).context("`WITH` without an exception")?;
        *pos += 2;
    }
    Ok(ok(tok))
}

/// `cargo deny check` (licenses, bans, sources, advisories) when cargo-deny is
/// installed; CI does not install it (it takes minutes to build) and the advisory
/// database needs GitHub.
fn cargo_deny(root: &Path, mode: Mode) -> Result<()> {
    let installed = Command::new(cargo_bin())
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        ensure!(
            mode != Mode::Publish,
            "cargo-deny is not installed, so the RustSec advisories are not checked: \
             `cargo install --locked cargo-deny`, then run the release again"
        );
        println!(
            "skipped: cargo-deny is not installed (`cargo install --locked cargo-deny`), so \
             the RustSec advisories were NOT checked; licenses and sources were checked above"
        );
        return Ok(());
    }
    if mode == Mode::Ci {
        println!(
            "skipped in --ci (the advisory database is fetched from GitHub): run \
             `cargo deny check` or `cargo xtask release --dry-run`"
        );
        return Ok(());
    }
    cargo(root, &["deny", "--all-features", "check"], &[])
}

/// A packaged crate: its `.crate`, where it was unpacked, its size.
#[derive(Debug)]
struct Packaged {
    name: String,
    file: PathBuf,
    dir: PathBuf,
    bytes: u64,
}

/// Unpacks each published `.crate` into `into` and checks its contents: no path out of
/// the package, nothing that points at the repository's `../shared` folder.
fn inspect_packages(package_dir: &Path, into: &Path, version: &str) -> Result<Vec<Packaged>> {
    if into.exists() {
        std::fs::remove_dir_all(into).with_context(|| format!("removing {}", into.display()))?;
    }
    std::fs::create_dir_all(into)?;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    println!(
        "{:<14} {:>10} {:>12} {:>6}",
        "crate", ".crate", "unpacked", "files"
    );
    for name in PUBLISH_ORDER {
        let file = package_dir.join(format!("{name}-{version}.crate"));
        ensure!(file.is_file(), "{} was not written", file.display());
        output(
            Command::new("tar")
                .arg("-xzf")
                .arg(&file)
                .arg("-C")
                .arg(into),
        )?;
        let dir = into.join(format!("{name}-{version}"));
        let mut files = Vec::new();
        walk(&dir, &mut files)?;
        let mut unpacked_bytes = 0;
        for f in &files {
            unpacked_bytes += std::fs::metadata(f)?.len();
            let rel = f.strip_prefix(&dir).unwrap_or(f);
            let rel_s = rel.to_string_lossy().replace('\\', "/");
            let text_like = ["rs", "md", "toml", "txt", "json"]
                .iter()
                .any(|e| rel_s.ends_with(&format!(".{e}")));
            if !text_like {
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(f)?).into_owned();
            if (text.contains("../shared") || text.contains("/work/shared"))
                && !SHARED_REFS.iter().any(|(c, p, _)| c == name && *p == rel_s)
            {
                problems.push(format!(
                    "{name}: {rel_s} refers to the repository's ../shared folder, which a \
                     .crate does not have (exclude it, or list it in SHARED_REFS with why)"
                ));
            }
        }
        let bytes = std::fs::metadata(&file)?.len();
        println!(
            "{name:<14} {:>8.1} KiB {:>8.1} KiB {:>6}",
            bytes as f64 / 1024.0,
            unpacked_bytes as f64 / 1024.0,
            files.len()
        );
        out.push(Packaged {
            name: name.to_string(),
            file,
            dir,
            bytes,
        });
    }
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    let total: u64 = out.iter().map(|p| p.bytes).sum();
    println!(
        "total {:.1} KiB in {} .crate files",
        total as f64 / 1024.0,
        out.len()
    );
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    out.sort();
    Ok(())
}

/// The first fenced ```rust block of a README (without its fence).
fn first_rust_block(readme: &str) -> Option<String> {
    let mut lines = readme.lines();
    lines.find(|l| {
        let l = l.trim_start();
        l.strip_prefix("```")
            .is_some_and(|info| info.trim().split(',').next() == Some("rust"))
    })?;
    let mut code = String::new();
    for l in lines {
        if l.trim_start().starts_with("```") {
            return Some(code);
        }
        code.push_str(l);
        code.push('\n');
    }
    None
}

/// Builds and runs `m2v-static`'s README example as a user would: an empty project
/// outside the workspace that depends on the unpacked `m2v-static` (and, through a
/// patch, the unpacked `m2v-tokenize`, since it is not on the registry yet), with the
/// tiny model the package ships for its unit tests copied to `my-model/`. Offline: the
/// two crates have no dependencies.
fn readme_example(check_dir: &Path, crates: &[Packaged]) -> Result<()> {
    let dir_of = |n: &str| -> Result<&Path> {
        Ok(crates
            .iter()
            .find(|p| p.name == n)
            .with_context(|| format!("{n} was not packaged"))?
            .dir
            .as_path())
    };
    let st = dir_of("m2v-static")?;
    let tok = dir_of("m2v-tokenize")?;
    let readme = std::fs::read_to_string(st.join("README.md")).context("m2v-static's README")?;
    let code = first_rust_block(&readme).context("m2v-static's README has no ```rust block")?;
    ensure!(
        code.contains("fn main"),
        "m2v-static's README example is not a whole program (no `fn main`)"
    );
    let proj = check_dir.join("readme-project");
    if proj.exists() {
        std::fs::remove_dir_all(&proj)?;
    }
    std::fs::create_dir_all(proj.join("src"))?;
    let path = |p: &Path| p.to_string_lossy().replace('\\', "/");
    std::fs::write(
        proj.join("Cargo.toml"),
        format!(
            "[package]\nname = \"readme-example\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
             publish = false\n\n[dependencies]\nm2v-static = {{ path = \"{}\" }}\n\n\
             [patch.crates-io]\nm2v-tokenize = {{ path = \"{}\" }}\n\n\
             # Not part of any enclosing workspace.\n[workspace]\n",
            path(st),
            path(tok)
        ),
    )?;
    std::fs::write(proj.join("src/main.rs"), &code)?;
    let fixture = st.join("tests/fixtures/tiny/tiny_f32");
    ensure!(
        fixture.is_dir(),
        "the m2v-static package does not ship {}",
        fixture.display()
    );
    std::fs::create_dir_all(proj.join("my-model"))?;
    for e in std::fs::read_dir(&fixture)? {
        let e = e?;
        std::fs::copy(e.path(), proj.join("my-model").join(e.file_name()))?;
    }
    let target = check_dir.join("readme-target");
    let out = Command::new(cargo_bin())
        .args(["run", "--offline", "--quiet"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&proj)
        .output()
        .context("running cargo run in the README project")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "the README example failed ({}):\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        !stdout.trim().is_empty(),
        "the README example printed nothing"
    );
    println!(
        "built from the .crate files alone in {}; it printed: {}",
        proj.display(),
        stdout.trim()
    );
    Ok(())
}

fn find_python_package(root: &Path) -> Option<PathBuf> {
    [
        "pyproject.toml",
        "python/pyproject.toml",
        "crates/m2v-py/pyproject.toml",
    ]
    .iter()
    .map(|p| root.join(p))
    .find(|p| p.is_file())
}

fn host_triple() -> Result<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let vv = output(Command::new(rustc).arg("-vV"))?;
    vv.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .context("rustc -vV printed no host")
}

fn sha256_hex(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        }))
}

/// `m2v-cli` in release, packed with its README, LICENSE and the third-party licenses
/// into `m2v-cli-VERSION-HOST.tar.gz`; the `.crate` files beside it; `SHA256SUMS` of
/// all of them.
fn pack_cli(meta: &Metadata, dist: &Path, version: &str, crates: &[Packaged]) -> Result<()> {
    cargo(
        &meta.root,
        &["build", "--release", "--locked", "-p", "m2v-cli"],
        &[],
    )?;
    let host = host_triple()?;
    let exe = if host.contains("windows") {
        "m2v-cli.exe"
    } else {
        "m2v-cli"
    };
    let bin = meta.target_dir.join("release").join(exe);
    ensure!(bin.is_file(), "{} was not built", bin.display());
    if dist.exists() {
        std::fs::remove_dir_all(dist)?;
    }
    let stem = format!("m2v-cli-{version}-{host}");
    let stage = dist.join("stage").join(&stem);
    std::fs::create_dir_all(&stage)?;
    std::fs::copy(&bin, stage.join(exe))?;
    let cli_dir = Path::new(str_of(&meta.member("m2v-cli")["manifest_path"]))
        .parent()
        .context("m2v-cli's folder")?
        .to_path_buf();
    std::fs::copy(cli_dir.join("README.md"), stage.join("README.md"))?;
    std::fs::copy(meta.root.join("LICENSE"), stage.join("LICENSE"))?;
    // The binary's own dependency graph: default features, this host only.
    let (licenses, n) = third_party_licenses(meta, "m2v-cli", &host)?;
    std::fs::write(stage.join("THIRD-PARTY-LICENSES.txt"), &licenses)?;
    std::fs::write(dist.join("THIRD-PARTY-LICENSES.txt"), &licenses)?;
    let tarball = dist.join(format!("{stem}.tar.gz"));
    output(
        Command::new("tar")
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(dist.join("stage"))
            .arg(&stem),
    )?;
    std::fs::remove_dir_all(dist.join("stage"))?;
    let mut names = vec![tarball.clone(), dist.join("THIRD-PARTY-LICENSES.txt")];
    for c in crates {
        let to = dist.join(c.file.file_name().context("a .crate file name")?);
        std::fs::copy(&c.file, &to)?;
        names.push(to);
    }
    let mut sums = String::new();
    for p in &names {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        let _ = writeln!(sums, "{}  {name}", sha256_hex(p)?);
    }
    std::fs::write(dist.join("SHA256SUMS"), &sums)?;
    println!("{}:", dist.display());
    for p in names.iter().chain([&dist.join("SHA256SUMS")]) {
        let len = std::fs::metadata(p)?.len();
        println!(
            "  {:<48} {:>10.1} KiB",
            p.file_name().unwrap_or_default().to_string_lossy(),
            len as f64 / 1024.0
        );
    }
    println!(
        "m2v-cli binary {:.1} MiB; {n} third-party packages in THIRD-PARTY-LICENSES.txt",
        std::fs::metadata(&bin)?.len() as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}

/// The license list bundled with a binary: a table of every third-party package it is
/// built from, then each package's license files (texts shared by several packages
/// written once).
fn third_party_licenses(meta: &Metadata, root: &str, host: &str) -> Result<(String, usize)> {
    // `cargo tree -p` resolves the features of this one package (`cargo metadata`
    // unifies them across the workspace, which would list the bench's and xtask's
    // extras too); normal edges only, as build-script helpers are not in the binary.
    let tree = output(
        Command::new(cargo_bin())
            .args([
                "tree", "--locked", "-p", root, "-e", "normal", "--target", host,
            ])
            .args(["--prefix", "none", "--no-dedupe", "-f", "{p}"])
            .current_dir(&meta.root),
    )?;
    let in_tree: BTreeSet<(String, String)> = tree
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next()?.to_string();
            let version = w.next()?.strip_prefix('v')?.to_string();
            Some((name, version))
        })
        .collect();
    let member_ids: BTreeSet<&String> = meta.members.values().collect();
    let mut pkgs: Vec<&Value> = meta
        .packages
        .iter()
        .filter(|(id, p)| {
            !member_ids.contains(id)
                && in_tree.contains(&(
                    str_of(&p["name"]).to_string(),
                    str_of(&p["version"]).to_string(),
                ))
        })
        .map(|(_, p)| p)
        .collect();
    ensure!(
        !pkgs.is_empty() && pkgs.len() + meta.members.len() >= in_tree.len(),
        "cargo tree -p {root} listed {} packages, of which {} are in cargo metadata",
        in_tree.len(),
        pkgs.len()
    );
    pkgs.sort_by_key(|p| {
        (
            str_of(&p["name"]).to_string(),
            str_of(&p["version"]).to_string(),
        )
    });
    let mut s = format!(
        "Third-party software in {root} ({} packages, from `cargo metadata` of its \
         release build).\n\n",
        pkgs.len()
    );
    for p in &pkgs {
        let license = match str_of(&p["license"]) {
            "" => "(see its license file)",
            l => l,
        };
        let _ = writeln!(
            s,
            "{} {}\t{license}\t{}",
            str_of(&p["name"]),
            str_of(&p["version"]),
            str_of(&p["repository"])
        );
    }
    let mut seen: HashMap<String, String> = HashMap::new();
    for p in &pkgs {
        let what = format!("{} {}", str_of(&p["name"]), str_of(&p["version"]));
        let _ = write!(s, "\n\n==== {what} ({})\n", str_of(&p["license"]));
        let dir = Path::new(str_of(&p["manifest_path"]))
            .parent()
            .unwrap_or(Path::new("."));
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| {
                        let n = f
                            .file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .to_ascii_uppercase();
                        f.is_file()
                            && [
                                "LICENSE",
                                "LICENCE",
                                "COPYING",
                                "NOTICE",
                                "UNLICENSE",
                                "COPYRIGHT",
                            ]
                            .iter()
                            .any(|k| n.starts_with(k))
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        if files.is_empty() {
            s.push_str("(the package ships no license file; its license is named above)\n");
        }
        for f in files {
            let text = String::from_utf8_lossy(&std::fs::read(&f)?).into_owned();
            let fname = f
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            match seen.get(&text) {
                Some(first) => {
                    let _ = writeln!(s, "-- {fname}: the same text as {first} above");
                }
                None => {
                    let _ = write!(s, "-- {fname}\n{}\n", text.trim_end());
                    seen.insert(text, format!("{what}'s {fname}"));
                }
            }
        }
    }
    Ok((s, pkgs.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(expr: &str) -> bool {
        let allow = ["MIT", "Apache-2.0", "Unicode-3.0"];
        license_allowed(expr, &|l| allow.contains(&l)).unwrap()
    }

    #[test]
    fn spdx_expressions() {
        for ok in [
            "MIT",
            "MIT OR Apache-2.0",
            "MIT/Apache-2.0",
            "Apache-2.0 / MIT",
            "(MIT OR Apache-2.0) AND Unicode-3.0",
            "Apache-2.0 WITH LLVM-exception OR GPL-3.0",
            "GPL-3.0 OR MIT",
            "mit or Apache-2.0 and Unicode-3.0",
        ] {
            assert!(allowed(ok), "{ok}");
        }
        for bad in [
            "GPL-3.0",
            "MIT AND GPL-3.0",
            "(MIT OR Apache-2.0) AND MPL-2.0",
            "LGPL-2.1 WITH Classpath-exception-2.0",
        ] {
            assert!(!allowed(bad), "{bad}");
        }
        for malformed in ["MIT OR", "(MIT", "MIT)", "AND MIT", "MIT WITH"] {
            assert!(
                license_allowed(malformed, &|_| true).is_err(),
                "{malformed}"
            );
        }
    }

    #[test]
    fn policy_reads_deny_toml() {
        let p = Policy::parse(
            "[licenses]\nallow = [\"MIT\"]\n[[licenses.exceptions]]\ncrate = \"x\"\n\
             allow = [\"Apache-2.0\"]\n",
        )
        .unwrap();
        assert!(p.allow.contains("MIT"));
        assert_eq!(p.exceptions["x"], ["Apache-2.0"]);
        assert_eq!(p.allow_registry, [CRATES_IO]);
        assert!(Policy::parse("[licenses]\nallow = []\n").is_err());
        assert!(Policy::parse("[advisories]\n").is_err());
    }

    #[test]
    fn the_committed_policy_parses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let p = Policy::load(&root.join("deny.toml")).unwrap();
        assert!(p.allow.contains("MIT") && p.allow.contains("Apache-2.0"));
    }

    #[test]
    fn changelog_headings() {
        let text = "# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - 2027-01-01\n\n## 0.1.0\n";
        assert!(changelog_has(text, "0.2.0"));
        assert!(changelog_has(text, "0.1.0"));
        assert!(!changelog_has(text, "0.3.0"));
        assert!(!changelog_has("### [0.3.0]\n- 0.3.0\n", "0.3.0"));
    }

    #[test]
    fn version_requirements_and_keywords() {
        assert!(req_pins("^0.1.0", "0.1.0"));
        assert!(req_pins("=0.1.0", "0.1.0"));
        assert!(!req_pins("^0.1", "0.1.0"));
        assert!(!req_pins("*", "0.1.0"));
        assert!(valid_keyword("model2vec") && valid_keyword("static-embeddings"));
        assert!(!valid_keyword("2vec") && !valid_keyword("a very long keyword here"));
        assert!(!valid_keyword("") && !valid_keyword("émbeddings"));
        assert_eq!(major_minor("1.95"), Some((1, 95)));
        assert_eq!(major_minor("1.95.0"), Some((1, 95)));
        assert_eq!(major_minor("one"), None);
    }

    #[test]
    fn readme_rust_block() {
        let md = "# x\n```sh\nls\n```\n```rust,no_run\nfn main() {}\n```\n```rust\nlater\n```\n";
        assert_eq!(first_rust_block(md).as_deref(), Some("fn main() {}\n"));
        assert_eq!(first_rust_block("```rust\nunterminated\n"), None);
        assert_eq!(first_rust_block("```rusty\nx\n```\n"), None);
    }

    /// The license list of the binary has its dependencies and not the workspace's
    /// others (the bench's criterion, xtask's zip) or dev-dependencies (linfa).
    #[test]
    fn cli_license_list_is_its_own_graph() {
        let meta = Metadata::load(&[]).unwrap();
        let (text, n) = third_party_licenses(&meta, "m2v-cli", &host_triple().unwrap()).unwrap();
        let names: Vec<&str> = text
            .lines()
            .skip(2)
            .take(n)
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        for want in ["clap", "burn", "ureq", "regex"] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        for not in ["criterion", "zip", "linfa", "tokenizers", "m2v-static"] {
            assert!(!names.contains(&not), "{not} listed");
        }
        assert!(text.contains("Permission is hereby granted"));
    }

    /// The publish order respects every versioned dependency between workspace crates,
    /// every member is classified, and the published crates carry the registry's
    /// metadata (`check_manifests` on the real workspace; no network).
    #[test]
    fn the_workspace_is_releasable() {
        let meta = Metadata::load(&["--no-deps", "--offline"]).unwrap();
        let v = check_manifests(&meta, None).unwrap();
        assert!(check_manifests(&meta, Some("99.0.0")).is_err());
        assert!(!v.is_empty());
    }
}
