//! Hub ids against the cache layout: two ids (the input split at its first NUL) that
//! parse never share a cache folder unless they are the same repository, and the
//! cache paths built from a parsed id (repository folder, `refs/REVISION`, the
//! snapshot entry of a file) stay inside the cache, whatever the bytes. Printed
//! forms (`printable`) hold no control character.
//!
//! Shared by the libFuzzer target (`fuzz_targets/cache_paths.rs`) and the crate's
//! replay test (`tests/fuzz_replay.rs`, run by `cargo test`): both check the same
//! promises.

use std::path::{Component, Path};

use m2v_hub::{HfCache, RepoId, printable, valid_revision};

/// Lexically inside `root`: only normal components after it.
fn inside(p: &Path, root: &Path) -> bool {
    p.strip_prefix(root).is_ok_and(|rest| {
        rest.components().all(|c| matches!(c, Component::Normal(_)))
            && rest
                .to_str()
                .is_none_or(|s| !s.contains('\\') && !s.contains(':'))
    })
}

/// The check, on one input; panics on a broken promise. `true` when an id in
/// the input parsed (so the promises about parsed ids were checked).
pub fn check(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    assert!(!printable(&text).chars().any(char::is_control));
    let (a, b) = text.split_once('\0').unwrap_or((&text, ""));
    let root = Path::new("/cache");
    let cache = HfCache::new(root);
    let ids: Vec<RepoId> = [a, b]
        .iter()
        .filter_map(|s| RepoId::parse(s).ok())
        .collect();
    for id in &ids {
        assert!(valid_revision(&id.revision));
        let repo = cache.repo_dir(id);
        assert!(inside(&repo, root), "{repo:?}");
        assert_eq!(repo.parent(), Some(root), "{repo:?}");
        let refs = repo.join("refs").join(&id.revision);
        assert!(inside(&refs, &repo.join("refs")), "{refs:?}");
        let commit = "0123456789abcdef0123456789abcdef01234567";
        let p = cache.pointer_path(id, commit, "config.json");
        assert!(inside(&p, &repo.join("snapshots").join(commit)), "{p:?}");
    }
    if let [x, y] = ids.as_slice()
        && x.folder_name() == y.folder_name()
    {
        assert_eq!(
            x.repo_id, y.repo_id,
            "two repositories share a cache folder"
        );
    }
    !ids.is_empty()
}
