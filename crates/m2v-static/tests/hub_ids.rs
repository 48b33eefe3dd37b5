//! Hub ids resolved through the Hugging Face cache (`m2v_static::hub`), checked against
//! `m2v-hub`, which owns the cache layout: the same ids are accepted, and a cached
//! model resolves to the folder `m2v_hub::HfCache::lookup` gives.

use std::path::{Path, PathBuf};

use m2v_static::{Error, StaticModel, hub};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

fn tiny(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tiny")
        .join(name)
}

/// A cache holding the tiny f32 model as `org/tiny` (branch `main` and tag `v1` at
/// [`COMMIT`]), written with `m2v-hub`'s own cache writer: blobs, snapshot symlinks,
/// refs.
fn cache_with_tiny() -> (tempfile::TempDir, m2v_hub::HfCache, m2v_hub::RepoId) {
    let d = tempfile::tempdir().unwrap();
    let cache = m2v_hub::HfCache::new(d.path());
    let id = m2v_hub::RepoId::parse("org/tiny").unwrap();
    for (i, file) in ["config.json", "tokenizer.json", "model.safetensors"]
        .iter()
        .enumerate()
    {
        let etag = format!("etag{i}");
        let blob = cache.blob_path(&id, &etag);
        std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
        std::fs::copy(tiny("tiny_f32").join(file), &blob).unwrap();
        cache.link_pointer(&id, COMMIT, file, &etag).unwrap();
    }
    cache.write_ref(&id, COMMIT).unwrap();
    let tag = m2v_hub::RepoId::parse("org/tiny@v1").unwrap();
    cache.write_ref(&tag, COMMIT).unwrap();
    (d, cache, id)
}

#[test]
fn a_cached_model_resolves_to_the_folder_m2v_hub_finds() {
    let (d, cache, _) = cache_with_tiny();
    for name in [
        "org/tiny",
        "org/tiny@main",
        "org/tiny@v1",
        &format!("org/tiny@{COMMIT}"),
    ] {
        let ours = hub::resolve_in(d.path(), name, None).unwrap();
        let theirs = cache
            .lookup(
                &m2v_hub::RepoId::parse(name).unwrap(),
                &m2v_hub::FileSelection::model(),
            )
            .unwrap();
        assert_eq!(ours, theirs, "{name}");
        assert!(ours.ends_with(format!("snapshots/{COMMIT}")), "{name}");
    }
    // And the model loads from there, with the same rows as from its own folder.
    let dir = hub::resolve_in(d.path(), "org/tiny", None).unwrap();
    let a = StaticModel::from_pretrained(&dir).unwrap();
    let b = StaticModel::from_pretrained(tiny("tiny_f32")).unwrap();
    let texts = ["hello world", "the quick brown fox"];
    assert_eq!(a.encode(&texts).as_slice(), b.encode(&texts).as_slice());
}

#[test]
fn an_existing_folder_wins_over_a_hub_id() {
    let d = tempfile::tempdir().unwrap();
    let dir = tiny("tiny_f32");
    assert_eq!(hub::resolve_in(d.path(), &dir, None).unwrap(), dir);
}

#[test]
fn ids_are_accepted_exactly_when_m2v_hub_accepts_them() {
    let empty = tempfile::tempdir().unwrap();
    let long = format!("org/{}", "a".repeat(93));
    let ids = [
        "org/name",
        "name",
        "org/name@main",
        "org/name@refs/pr/1",
        "org/na.me_x-1",
        "org/name@v1.0+build",
        "org/-name",
        "org/name-",
        "org/.name",
        "a--b/c",
        "a/b..c",
        "a/b/c",
        "org/name@",
        "org/name@../x",
        "org/name@a\\b",
        "org/na me",
        "org/",
        "org//name",
        long.as_str(),
        "org/naïve",
    ];
    for id in ids {
        let theirs = m2v_hub::RepoId::parse(id).is_ok();
        // With the `download` feature a valid id would go to the network (there is no
        // hub here): only the refusals are checked then.
        if cfg!(feature = "download") && theirs {
            continue;
        }
        match hub::resolve_in(empty.path(), id, None) {
            Err(Error::NotFound { .. }) => assert!(!theirs, "m2v-hub accepts {id:?}, we refuse it"),
            // Valid, and not cached: refused for that reason.
            Err(Error::NotCached { .. }) => assert!(theirs, "m2v-hub refuses {id:?}, we accept it"),
            other => panic!("{id:?}: unexpected {other:?}"),
        }
    }
}

#[test]
fn a_partial_snapshot_is_not_a_model() {
    let (d, cache, id) = cache_with_tiny();
    let missing = cache.pointer_path(&id, COMMIT, "tokenizer.json");
    std::fs::remove_file(missing).unwrap();
    assert!(
        cache
            .lookup(&id, &m2v_hub::FileSelection::model())
            .is_none(),
        "m2v-hub agrees the snapshot is incomplete"
    );
    #[cfg(not(feature = "download"))]
    {
        let e = hub::resolve_in(d.path(), "org/tiny", None).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::NotCached { .. }), "{e:?}");
        assert!(
            msg.contains("org/tiny") && msg.contains("download"),
            "{msg}"
        );
    }
    drop(d);
}

#[test]
fn loading_a_missing_name_says_what_was_tried() {
    let e = StaticModel::from_pretrained("no such/dir/at all").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("no such/dir/at all") && msg.contains("no such folder"),
        "{msg}"
    );
}
