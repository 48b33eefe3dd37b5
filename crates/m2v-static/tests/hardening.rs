//! Hostile and unlucky inputs (issue 19): model-controlled sizes, files that would
//! give silently wrong output, special files that would hang a load, and the rule for
//! memory-mapping. Each test failed before its fix.

use std::path::{Path, PathBuf};

use m2v_static::safetensors::{self, TensorSpec};
use m2v_static::{Dtype, Error, LoadOptions, MAX_DIM, StaticModel};

fn tiny(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tiny")
        .join(name)
}

fn tokenizer_json() -> Vec<u8> {
    std::fs::read(tiny("tiny_f32/tokenizer.json")).unwrap()
}

fn config_json() -> Vec<u8> {
    std::fs::read(tiny("tiny_f32/config.json")).unwrap()
}

fn vocab_size() -> usize {
    StaticModel::from_pretrained(tiny("tiny_f32"))
        .unwrap()
        .vocab_size()
}

fn err_of(r: Result<StaticModel, Error>) -> Error {
    match r {
        Err(e) => e,
        Ok(_) => panic!("loaded"),
    }
}

/// A model whose one embedding row is `dim` wide, every token mapped to it: a few
/// hundred KiB of file that declares a huge output per text.
#[test]
fn a_model_cannot_declare_a_huge_dimension() {
    let vocab = vocab_size();
    let ok_or_not = |dim: usize| {
        let row = vec![0u8; dim * 4];
        let mapping = vec![0u8; vocab * 4];
        let st = safetensors::serialize(
            &[
                (
                    TensorSpec {
                        name: "embeddings",
                        dtype: Dtype::F32,
                        shape: &[1, dim],
                    },
                    &row,
                ),
                (
                    TensorSpec {
                        name: "mapping",
                        dtype: Dtype::I32,
                        shape: &[vocab],
                    },
                    &mapping,
                ),
            ],
            &[],
        )
        .unwrap();
        StaticModel::from_bytes(&tokenizer_json(), st, &config_json(), &LoadOptions::new())
    };
    assert_eq!(ok_or_not(MAX_DIM).unwrap().dim(), MAX_DIM);
    let e = err_of(ok_or_not(65_536));
    let msg = e.to_string();
    assert!(matches!(e, Error::Shape { .. }), "{msg}");
    assert!(
        msg.contains("65536") && msg.contains(&MAX_DIM.to_string()),
        "{msg}"
    );
}

/// The tiny model's tokenizer with the id of its last vocabulary token moved far past
/// the end (a gap in the `{token: id}` map), and the f32 table it ships with.
fn gap_model(extra_rows: usize) -> Result<StaticModel, Error> {
    use m2v_tokenize::json::{self, Number, Value};
    let mut tok = json::parse_bytes(&tokenizer_json()).unwrap();
    let Value::Object(top) = &mut tok else {
        panic!()
    };
    let model = &mut top.iter_mut().find(|(k, _)| k == "model").unwrap().1;
    let Value::Object(fields) = model else {
        panic!()
    };
    let vocab = &mut fields.iter_mut().find(|(k, _)| k == "vocab").unwrap().1;
    let Value::Object(entries) = vocab else {
        panic!("the tiny tokenizer's vocab is a map")
    };
    let n = entries.len();
    let last = entries
        .iter_mut()
        .max_by_key(|(_, v)| v.as_u64().unwrap())
        .unwrap();
    let far = (n + 100) as i64;
    last.1 = Value::Number(Number {
        f: far as f64,
        i: Some(far),
    });
    let tok = json::to_string(&tok);
    let plain = StaticModel::from_pretrained(tiny("tiny_f32")).unwrap();
    let (rows, dim) = (plain.vocab_size() + extra_rows, plain.dim());
    let emb = vec![0u8; rows * dim * 4];
    let st = safetensors::serialize(
        &[(
            TensorSpec {
                name: "embeddings",
                dtype: Dtype::F32,
                shape: &[rows, dim],
            },
            &emb,
        )],
        &[],
    )
    .unwrap();
    StaticModel::from_bytes(tok.as_bytes(), st, &config_json(), &LoadOptions::new())
}

#[test]
fn a_token_id_beyond_the_rows_is_an_error_not_a_zero_vector() {
    let e = err_of(gap_model(0));
    let msg = e.to_string();
    assert!(matches!(e, Error::Shape { .. }), "{msg}");
    assert!(msg.contains("up to id") && msg.contains("gaps"), "{msg}");
}

#[test]
fn overlapping_tensors_and_trailing_bytes_are_errors() {
    let st = std::fs::read(tiny("tiny_f32/model.safetensors")).unwrap();
    let mut trailing = st.clone();
    trailing.extend_from_slice(b"appended payload");
    let e = err_of(StaticModel::from_bytes(
        &tokenizer_json(),
        trailing,
        &config_json(),
        &LoadOptions::new(),
    ));
    assert!(matches!(e, Error::Safetensors { .. }), "{e}");
    assert!(e.to_string().contains("16 trailing bytes"), "{e}");
    // A `weights` tensor laid over the embedding bytes.
    let h = safetensors::read_header(&st).unwrap();
    let emb = h.get("embeddings").unwrap();
    let vocab = vocab_size();
    let begin = emb.start - h.data_start;
    let header = format!(
        r#"{{"embeddings":{{"dtype":"F32","shape":{:?},"data_offsets":[{begin},{}]}},"weights":{{"dtype":"F32","shape":[{vocab}],"data_offsets":[{begin},{}]}}}}"#,
        emb.shape,
        emb.end - h.data_start,
        begin + vocab * 4
    );
    let mut f = (header.len() as u64).to_le_bytes().to_vec();
    f.extend_from_slice(header.as_bytes());
    f.extend_from_slice(&st[h.data_start..]);
    let e = err_of(StaticModel::from_bytes(
        &tokenizer_json(),
        f,
        &config_json(),
        &LoadOptions::new(),
    ));
    assert!(e.to_string().contains("overlaps tensor"), "{e}");
}

/// Loads `dir` on another thread; the error it gives (a hang fails the test after a
/// minute instead of blocking it forever).
fn load_error_within_a_minute(dir: &Path, opts: LoadOptions) -> Error {
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(StaticModel::load(&dir, &opts).err());
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("the load hung")
        .expect("the load succeeded")
}

fn copy_tiny(to: &Path) {
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(tiny("tiny_f32").join(f), to.join(f)).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn special_files_are_errors_not_hangs() {
    for name in ["config.json", "tokenizer.json", "model.safetensors"] {
        for map in [true, false] {
            let d = tempfile::tempdir().unwrap();
            copy_tiny(d.path());
            let p = d.path().join(name);
            std::fs::remove_file(&p).unwrap();
            let ok = std::process::Command::new("mkfifo")
                .arg(&p)
                .status()
                .unwrap();
            assert!(ok.success());
            let e = load_error_within_a_minute(d.path(), LoadOptions::new().memory_map(map));
            let msg = e.to_string();
            assert!(matches!(e, Error::File { .. }), "{msg}");
            assert!(msg.contains(name) && msg.contains("a FIFO"), "{msg}");
        }
    }
    // An endless device as tokenizer.json.
    if Path::new("/dev/zero").exists() {
        let d = tempfile::tempdir().unwrap();
        copy_tiny(d.path());
        let p = d.path().join("tokenizer.json");
        std::fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
        let e = load_error_within_a_minute(d.path(), LoadOptions::new());
        assert!(e.to_string().contains("a character device"), "{e}");
    }
}

#[test]
fn json_files_have_size_limits() {
    let d = tempfile::tempdir().unwrap();
    copy_tiny(d.path());
    // Sparse: costs no disk.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(d.path().join("config.json"))
        .unwrap();
    f.set_len(m2v_static::MAX_CONFIG_BYTES + 1).unwrap();
    drop(f);
    let e = load_error_within_a_minute(d.path(), LoadOptions::new());
    let msg = e.to_string();
    assert!(matches!(e, Error::File { .. }), "{msg}");
    assert!(
        msg.contains("config.json") && msg.contains("limit"),
        "{msg}"
    );
}

const TEXTS: &[&str] = &[
    "A girl is styling her hair.",
    "the quick brown fox jumps over the lazy dog",
    "hello world hello world",
];

/// A folder outside the HF cache is read, not mapped: truncating or rewriting its
/// `model.safetensors` after loading changes nothing (mapped, the truncation killed
/// the process with SIGBUS on the next encode, exit 135).
#[test]
fn a_file_that_may_change_is_read_not_mapped() {
    let d = tempfile::tempdir().unwrap();
    copy_tiny(d.path());
    let m = StaticModel::from_pretrained(d.path()).unwrap();
    assert!(!m.is_borrowed(), "mapped a file outside the HF cache");
    let want = m.encode(TEXTS);
    let st = d.path().join("model.safetensors");
    let len = std::fs::metadata(&st).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&st)
        .unwrap()
        .set_len(0)
        .unwrap();
    assert_eq!(m.encode(TEXTS), want);
    // Rewritten in place with other values.
    std::fs::write(&st, vec![0x7fu8; len as usize]).unwrap();
    assert_eq!(m.encode(TEXTS), want);
}

/// Only a Hugging Face cache blob (reached through its snapshot symlink) is mapped by
/// default; `memory_map(true)` maps any file.
#[cfg(all(unix, target_pointer_width = "64"))]
#[test]
fn a_hub_cache_blob_is_mapped() {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("models--org--tiny");
    let blobs = repo.join("blobs");
    let snap = repo.join("snapshots").join("0123abcd");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::create_dir_all(&snap).unwrap();
    for (i, f) in ["config.json", "model.safetensors", "tokenizer.json"]
        .iter()
        .enumerate()
    {
        let blob = blobs.join(format!("blob{i}"));
        std::fs::copy(tiny("tiny_f32").join(f), &blob).unwrap();
        std::os::unix::fs::symlink(format!("../../blobs/blob{i}"), snap.join(f)).unwrap();
    }
    let m = StaticModel::from_pretrained(&snap).unwrap();
    assert!(m.is_borrowed(), "an HF cache blob is mapped");
    // A folder named like a cache but holding plain files is read.
    let fake = root
        .path()
        .join("models--org--fake")
        .join("snapshots")
        .join("x");
    std::fs::create_dir_all(&fake).unwrap();
    copy_tiny(&fake);
    assert!(!StaticModel::from_pretrained(&fake).unwrap().is_borrowed());
    let opted = StaticModel::load(&fake, &LoadOptions::new().memory_map(true)).unwrap();
    assert!(opted.is_borrowed());
    assert_eq!(opted.encode(TEXTS), m.encode(TEXTS));
}

/// One model shared by 16 threads, each encoding the same texts at once (with one
/// and with several inner threads, and small batches), gives exactly the
/// single-threaded rows: the scratch pool, the word caches and promotion never leak
/// state between callers.
#[test]
fn sixteen_threads_on_one_model_equal_one_thread() {
    use m2v_static::EncodeOptions;
    let texts: Vec<String> = (0..400)
        .map(|i| {
            format!(
                "text {i}: {} the quick brown fox {} ☃ 日本語",
                "hello world ".repeat(i % 7),
                "jumps over the lazy dog ".repeat(i % 5)
            )
        })
        .collect();
    for name in ["tiny_f32", "tiny_f16_weights64", "tiny_i8_vq", "tiny_st"] {
        let model = StaticModel::load(
            tiny(name),
            &LoadOptions::new().memory_map(true).promote(true),
        )
        .unwrap();
        let want = model.encode_with(&texts, &EncodeOptions::new().threads(1));
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|t| {
                    let (model, texts) = (&model, &texts);
                    s.spawn(move || {
                        let opts = EncodeOptions::new()
                            .threads(1 + t % 3)
                            .batch_size(1 + t * 7);
                        (0..3)
                            .map(|_| model.encode_with(texts, &opts))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                for got in h.join().unwrap() {
                    assert_eq!(got, want, "{name}");
                }
            }
        });
    }
}
