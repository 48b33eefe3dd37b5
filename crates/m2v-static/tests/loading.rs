//! Loading: layouts, bytes, zero-copy, load options, and typed errors (never panics) on
//! corrupted files and arbitrary text. Uses the committed tiny models.

use std::path::{Path, PathBuf};

use m2v_static::safetensors::{self, TensorSpec};
use m2v_static::{Buffer, Dtype, EncodeOptions, Error, Layout, LoadOptions, StaticModel};

fn tiny(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tiny")
        .join(name)
}

fn tokenizer_json() -> Vec<u8> {
    std::fs::read(tiny("tiny_f32/tokenizer.json")).unwrap()
}

/// A model folder built from the tiny f32 model: the shared tokenizer plus the given
/// config and safetensors bytes, in the model2vec layout.
fn folder(config: &[u8], st: &[u8]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("tokenizer.json"), tokenizer_json()).unwrap();
    std::fs::write(d.path().join("config.json"), config).unwrap();
    std::fs::write(d.path().join("model.safetensors"), st).unwrap();
    d
}

fn f32_model_bytes() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    (
        tokenizer_json(),
        std::fs::read(tiny("tiny_f32/model.safetensors")).unwrap(),
        std::fs::read(tiny("tiny_f32/config.json")).unwrap(),
    )
}

const TEXTS: &[&str] = &[
    "A girl is styling her hair.",
    "",
    "the quick brown fox jumps over the lazy dog",
    "☃ 日本語",
    "hello world hello world",
];

#[test]
fn every_layout_loads() {
    for (name, layout) in [
        ("tiny_f32", Layout::Model2Vec),
        ("tiny_st", Layout::SentenceTransformers),
    ] {
        let m = StaticModel::from_pretrained(tiny(name)).unwrap();
        assert_eq!(m.layout(), Some(layout), "{name}");
        assert_eq!(m.dim(), 8);
    }
    let m = StaticModel::from_pretrained(tiny("tiny_0static")).unwrap();
    assert_eq!(m.layout(), Some(Layout::StaticEmbeddingModule));
    assert!(!m.normalize(), "no `normalize` in the config means false");
}

#[test]
fn bytes_and_zero_copy_equal_the_folder() {
    let from_dir = StaticModel::from_pretrained(tiny("tiny_f32")).unwrap();
    let (tok, st, cfg) = f32_model_bytes();
    let owned = StaticModel::from_bytes(&tok, st.clone(), &cfg, &LoadOptions::new()).unwrap();
    assert!(!owned.is_borrowed());
    let leaked: &'static [u8] = Box::leak(st.clone().into_boxed_slice());
    let borrowed = StaticModel::from_bytes(&tok, leaked, &cfg, &LoadOptions::new()).unwrap();
    assert!(borrowed.is_borrowed());
    let shared = StaticModel::from_bytes(
        &tok,
        Buffer::shared(std::sync::Arc::new(st)),
        &cfg,
        &LoadOptions::new(),
    )
    .unwrap();
    // A folder outside the HF cache is read by default; memory-mapped (borrowed bytes)
    // when asked, where the platform allows.
    let read = StaticModel::load(tiny("tiny_f32"), &LoadOptions::new().memory_map(false)).unwrap();
    assert!(!read.is_borrowed());
    assert!(!from_dir.is_borrowed());
    let mapped = StaticModel::load(tiny("tiny_f32"), &LoadOptions::new().memory_map(true)).unwrap();
    assert_eq!(
        mapped.is_borrowed(),
        cfg!(all(unix, target_pointer_width = "64"))
    );
    let want = from_dir.encode(TEXTS);
    for m in [&owned, &borrowed, &shared, &read, &mapped] {
        assert_eq!(m.encode(TEXTS), want);
    }
    // An odd start address (unaligned f32 data) reads the same values.
    let (tok, st, cfg) = f32_model_bytes();
    let mut padded = vec![0u8; st.len() + 1];
    padded[1..].copy_from_slice(&st);
    let leaked: &'static [u8] = &Box::leak(padded.into_boxed_slice())[1..];
    let unaligned = StaticModel::from_bytes(&tok, leaked, &cfg, &LoadOptions::new()).unwrap();
    assert_eq!(unaligned.encode(TEXTS), want);
}

#[test]
fn load_options() {
    let dir = tiny("tiny_f32");
    let base = StaticModel::load(&dir, &LoadOptions::new().normalize(false)).unwrap();
    let full = base.encode(TEXTS);

    // Dimensionality: the first k columns, exactly (before normalization).
    let m = StaticModel::load(&dir, &LoadOptions::new().dimensionality(3)).unwrap();
    assert_eq!(m.dim(), 3);
    let e = m.encode(TEXTS);
    for i in 0..TEXTS.len() {
        assert_eq!(e.row(i), &full.row(i)[..3]);
    }
    assert!(matches!(
        StaticModel::load(&dir, &LoadOptions::new().dimensionality(9)),
        Err(Error::InvalidOption { .. })
    ));

    // Normalize override and max_length override.
    let m = StaticModel::load(
        &dir,
        &LoadOptions::new().normalize(true).max_length(Some(2)),
    )
    .unwrap();
    assert!(m.normalize());
    assert_eq!(m.max_length(), Some(2));
    let e = m.encode(&["the quick brown fox"]);
    let norm: f32 = e.row(0).iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
    assert!(m.tokenize("the quick brown fox", Some(2)).len() <= 2);

    // dtype conversion: F16 within f16 rounding of F32, F64 to the last f32 bit (F64
    // tables sum in f64, as numpy does), I8 close after normalization.
    let m =
        StaticModel::load(&dir, &LoadOptions::new().dtype(Dtype::F16).normalize(false)).unwrap();
    assert_eq!(m.dtype(), Dtype::F16);
    assert_eq!(m.stored(), (Dtype::F32, 8));
    for (a, b) in m.encode(TEXTS).as_slice().iter().zip(full.as_slice()) {
        assert!((a - b).abs() <= 2e-3 * b.abs().max(1.0), "{a} vs {b}");
    }
    let m =
        StaticModel::load(&dir, &LoadOptions::new().dtype(Dtype::F64).normalize(false)).unwrap();
    for (a, b) in m.encode(TEXTS).as_slice().iter().zip(full.as_slice()) {
        assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
    }
    let m = StaticModel::load(&dir, &LoadOptions::new().dtype(Dtype::I8).normalize(true)).unwrap();
    let want = StaticModel::load(&dir, &LoadOptions::new().normalize(true))
        .unwrap()
        .encode(TEXTS);
    for (a, b) in m.encode(TEXTS).as_slice().iter().zip(want.as_slice()) {
        // int8 with a global scale keeps directions to about 1/127.
        assert!((a - b).abs() < 0.05, "{a} vs {b}");
    }
    assert!(matches!(
        StaticModel::load(&dir, &LoadOptions::new().dtype(Dtype::U8)),
        Err(Error::InvalidOption { .. })
    ));
}

#[test]
fn encode_variants_agree() {
    let m = StaticModel::from_pretrained(tiny("tiny_i8_vq")).unwrap();
    let e = m.encode(TEXTS);
    for (i, t) in TEXTS.iter().enumerate() {
        assert_eq!(m.encode_single(t), e.row(i));
        let ids = m.tokenize(t, m.max_length());
        assert_eq!(m.pool_ids(&ids, m.normalize()), e.row(i));
    }
    assert_eq!(e.row(1), &[0.0; 8], "an empty text is a zero vector");
    for threads in [1, 2, 5] {
        for batch in [1, 2, 1000] {
            let p = m.encode_with(
                TEXTS,
                &EncodeOptions::new().threads(threads).batch_size(batch),
            );
            assert_eq!(p, e);
        }
    }
    // Enough ids that one call tokenizes and pools several groups of texts, ending
    // mid-batch; every row still equals the text encoded alone.
    let many: Vec<&str> = TEXTS.iter().copied().cycle().take(40_000).collect();
    let tokens: usize = many
        .iter()
        .map(|t| m.tokenize(t, m.max_length()).len())
        .sum();
    assert!(tokens > 1 << 17, "{tokens} ids");
    for threads in [1, 3] {
        let p = m.encode_with(&many, &EncodeOptions::new().threads(threads));
        for (i, t) in many.iter().enumerate() {
            assert_eq!(p.row(i), e.row(i % TEXTS.len()), "text {i}: {t:?}");
        }
        // The counting encode: the same rows, and each text's count is the length of
        // what `tokenize` returns for it (several groups and batches, ending mid-batch).
        let opts = EncodeOptions::new().threads(threads).batch_size(999);
        let (c, counts) = m.encode_counting(&many, &opts);
        assert_eq!(c, p);
        for (i, t) in many.iter().enumerate() {
            assert_eq!(
                counts[i] as usize,
                m.tokenize(t, m.max_length()).len(),
                "{t:?}"
            );
        }
    }
    let empty: [&str; 0] = [];
    assert_eq!(m.encode(&empty).rows(), 0);
    let owned: Vec<String> = TEXTS.iter().map(|s| s.to_string()).collect();
    assert_eq!(m.encode(&owned), e);
}

fn err_of(r: Result<StaticModel, Error>) -> Error {
    match r {
        Err(e) => e,
        Ok(_) => panic!("loaded"),
    }
}

#[test]
fn errors_name_the_file_and_the_problem() {
    let (_, st, cfg) = f32_model_bytes();

    let d = tempfile::tempdir().unwrap();
    let e = err_of(StaticModel::from_pretrained(d.path()));
    assert!(matches!(e, Error::NoLayout { .. }), "{e}");
    let e = err_of(StaticModel::from_pretrained(d.path().join("missing")));
    assert!(matches!(e, Error::Io { .. }), "{e}");

    let d = folder(&cfg, &st[..st.len() - 5]);
    let e = err_of(StaticModel::from_pretrained(d.path()));
    let msg = e.to_string();
    assert!(matches!(e, Error::Safetensors { .. }), "{msg}");
    assert!(
        msg.contains("model.safetensors") && msg.contains("outside"),
        "{msg}"
    );

    // Read instead of mapped (the aligned copy): short, empty and corrupt files give
    // the same typed errors, and a good file the same model.
    let unmapped = LoadOptions::new().memory_map(false);
    let huge_header = [u64::MAX.to_le_bytes().as_slice(), b"{}"].concat();
    for bytes in [&st[..3], &st[..0], &st[..st.len() - 5], &huge_header[..]] {
        let d = folder(&cfg, bytes);
        let e = err_of(StaticModel::load(d.path(), &unmapped));
        let msg = e.to_string();
        assert!(matches!(e, Error::Safetensors { .. }), "{msg}");
        assert!(msg.contains("model.safetensors"), "{msg}");
    }
    let d = folder(&cfg, &st);
    let read = StaticModel::load(d.path(), &unmapped).unwrap();
    assert!(!read.is_borrowed());
    assert_eq!(
        read.encode(TEXTS),
        StaticModel::from_pretrained(d.path())
            .unwrap()
            .encode(TEXTS)
    );

    // Rows that do not match the vocabulary.
    let rows: Vec<u8> = vec![0; 10 * 8 * 4];
    let bad = safetensors::serialize(
        &[(
            TensorSpec {
                name: "embeddings",
                dtype: Dtype::F32,
                shape: &[10, 8],
            },
            &rows,
        )],
        &[],
    )
    .unwrap();
    let d = folder(&cfg, &bad);
    let e = err_of(StaticModel::from_pretrained(d.path()));
    let msg = e.to_string();
    assert!(matches!(e, Error::Shape { .. }), "{msg}");
    assert!(
        msg.contains("model.safetensors") && msg.contains("[10, 8]"),
        "{msg}"
    );

    // A dtype embeddings cannot have.
    let n = StaticModel::from_pretrained(tiny("tiny_f32"))
        .unwrap()
        .vocab_size();
    let ints = vec![0u8; n * 8 * 4];
    let bad = safetensors::serialize(
        &[(
            TensorSpec {
                name: "embeddings",
                dtype: Dtype::I32,
                shape: &[n, 8],
            },
            &ints,
        )],
        &[],
    )
    .unwrap();
    let e = err_of(StaticModel::from_pretrained(folder(&cfg, &bad).path()));
    assert!(matches!(e, Error::Dtype { .. }), "{e}");

    // The wrong tensor name for the layout.
    let bad = safetensors::serialize(
        &[(
            TensorSpec {
                name: "embedding.weight",
                dtype: Dtype::I32,
                shape: &[n, 8],
            },
            &ints,
        )],
        &[],
    )
    .unwrap();
    let e = err_of(StaticModel::from_pretrained(folder(&cfg, &bad).path()));
    assert!(matches!(e, Error::MissingTensor { .. }), "{e}");

    // A mapping pointing outside the matrix.
    let emb = vec![0u8; 4 * 8];
    let mut map = vec![0u8; n * 4];
    map[4..8].copy_from_slice(&7i32.to_le_bytes());
    let bad = safetensors::serialize(
        &[
            (
                TensorSpec {
                    name: "embeddings",
                    dtype: Dtype::I8,
                    shape: &[4, 8],
                },
                &emb,
            ),
            (
                TensorSpec {
                    name: "mapping",
                    dtype: Dtype::I32,
                    shape: &[n],
                },
                &map,
            ),
        ],
        &[],
    )
    .unwrap();
    let e = err_of(StaticModel::from_pretrained(folder(&cfg, &bad).path()));
    assert!(
        matches!(
            e,
            Error::BadMapping {
                token: 1,
                value: 7,
                ..
            }
        ),
        "{e}"
    );

    // A broken config names the config file.
    let e = err_of(StaticModel::from_pretrained(
        folder(b"{\"normalize\": 3}", &st).path(),
    ));
    assert!(e.to_string().contains("config.json"), "{e}");
    // A broken tokenizer names the tokenizer file.
    let d = folder(&cfg, &st);
    std::fs::write(d.path().join("tokenizer.json"), b"{\"model\": 1").unwrap();
    let e = err_of(StaticModel::from_pretrained(d.path()));
    assert!(matches!(e, Error::Tokenizer { .. }), "{e}");
    assert!(e.to_string().contains("tokenizer.json"), "{e}");
}

/// A small deterministic generator (xorshift64*), so the test needs no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn corrupted_safetensors_never_panic() {
    let (tok, st, cfg) = f32_model_bytes();
    let load = |bytes: Vec<u8>| StaticModel::from_bytes(&tok, bytes, &cfg, &LoadOptions::new());
    // Every truncation of the header and a sample of the data.
    let header_end = 8 + u64::from_le_bytes(st[..8].try_into().unwrap()) as usize;
    for len in (0..header_end + 16).chain((header_end..st.len()).step_by(97)) {
        assert!(
            load(st[..len].to_vec()).is_err(),
            "truncated to {len} loaded"
        );
    }
    // Random byte flips (in the header they must be rejected or load a valid model).
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let mut b = st.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(header_end.min(b.len()));
            b[i] = rng.next() as u8;
        }
        if let Ok(m) = load(b) {
            let _ = m.encode(TEXTS);
        }
    }
    // Pure garbage, with and without a plausible length prefix.
    for n in [0, 1, 7, 8, 9, 64, 1000, 100_000] {
        let mut g: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        assert!(load(g.clone()).is_err());
        if n >= 8 {
            g[..8].copy_from_slice(&((n as u64 - 8) / 2).to_le_bytes());
            assert!(load(g).is_err());
        }
    }
    // Data bytes may be anything (NaN, inf): encoding must still not panic.
    let mut b = st.clone();
    for x in &mut b[header_end..] {
        *x = 0xff;
    }
    let m = load(b).unwrap();
    let _ = m.encode(TEXTS);
}

#[test]
fn arbitrary_text_never_panics() {
    let m = StaticModel::from_pretrained(tiny("tiny_f16_norm")).unwrap();
    let mut rng = Rng(42);
    let mut texts = Vec::new();
    for _ in 0..2000 {
        let n = rng.below(200);
        let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        texts.push(String::from_utf8_lossy(&bytes).into_owned());
        let chars: String = (0..n)
            .filter_map(|_| char::from_u32(rng.below(0x11_0000) as u32))
            .collect();
        texts.push(chars);
    }
    let e = m.encode_with(&texts, &EncodeOptions::new().max_length(Some(3)));
    assert_eq!(e.rows(), texts.len());
    assert!(e.as_slice().iter().all(|x| x.is_finite()));
    let e = m.encode_with(&texts, &EncodeOptions::new().max_length(None));
    assert!(e.as_slice().iter().all(|x| x.is_finite()));
}
