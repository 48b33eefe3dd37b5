//! Locating the real assets that `cargo xtask fetch` installs, for tests and benches.
//!
//! Tests that need a fetched model call [`model_or_skip`]. Under `cargo xtask ci`
//! (which sets `M2V_REQUIRE_ASSETS=1`) a missing asset is a loud failure naming the
//! command to run; under a plain `cargo test` it prints a skip message and returns
//! `None`. This module does no network I/O.

use std::path::PathBuf;

use crate::{HfCache, RepoId};

/// `true` when missing assets must fail tests (`M2V_REQUIRE_ASSETS=1`).
pub fn assets_required() -> bool {
    std::env::var("M2V_REQUIRE_ASSETS").is_ok_and(|v| v == "1")
}

/// m2v's own cache folder: `$M2V_HOME`, else `~/.cache/m2v` (wheels and data files).
pub fn m2v_home() -> PathBuf {
    if let Some(h) = std::env::var_os("M2V_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("m2v")
}

fn missing(what: &str, fetch_name: &str) -> Option<PathBuf> {
    let msg = format!("{what} is not installed; run `cargo xtask fetch {fetch_name}`");
    if assets_required() {
        panic!("{msg} (M2V_REQUIRE_ASSETS=1 makes this an error)");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// The snapshot folder of a fetched model, or `None` (after printing why) when the
/// model is not in the Hugging Face cache. `fetch_name` is the name `cargo xtask fetch`
/// knows it by. Panics with the fetch command when `M2V_REQUIRE_ASSETS=1`.
pub fn model_or_skip(hub_id: &str, fetch_name: &str) -> Option<PathBuf> {
    let id = RepoId::parse(hub_id).ok()?;
    match HfCache::from_env().snapshot(&id) {
        Ok(dir) => Some(dir),
        Err(_) => missing(&format!("model `{hub_id}`"), fetch_name),
    }
}

/// A fetched data file under `m2v_home()/data`, e.g. `wordfreq/large_en.msgpack.gz`.
pub fn data_or_skip(rel: &str, fetch_name: &str) -> Option<PathBuf> {
    let p = m2v_home().join("data").join(rel);
    if p.is_file() {
        Some(p)
    } else {
        missing(&format!("data file `{rel}`"), fetch_name)
    }
}

/// The read-only evaluation data shipped beside the repository (`../shared/data`),
/// or `$M2V_SHARED_DATA`. `None` (after printing why) when it is absent; panics when
/// `M2V_REQUIRE_ASSETS=1`.
pub fn shared_data() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("M2V_SHARED_DATA").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")),
        Some(PathBuf::from("/work/shared/data")),
    ];
    for c in candidates.into_iter().flatten() {
        if c.join("README.md").is_file() {
            return Some(c);
        }
    }
    let msg = "the evaluation data (../shared/data) was not found; set M2V_SHARED_DATA";
    if assets_required() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}
