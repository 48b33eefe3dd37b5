//! Corpus pre-training (`distill_pretrained`) on a tiny seeded teacher: the feature
//! cache resumes to the same bytes and the same model, training lowers the validation
//! loss, and a bad corpus is a clear error.
//!
//! The teacher is m2v-teacher's seeded DistilBERT fixture with a 1000-token tokenizer
//! (as in `families.rs`); the corpus is generated here from a fixed word list.

mod common;

use std::path::{Path, PathBuf};

use m2v_distill::{CorpusOptions, DistillOptions, Error, PcaDims, Quiet, Stage, TrainProgress};

/// A fresh folder under the temp dir.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("m2v-pretrain-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The tiny DistilBERT teacher in a fresh folder (one per test: tests run in
/// parallel).
fn teacher(test: &str) -> PathBuf {
    family_teacher("distilbert", test)
}

/// A tiny seeded teacher of a family (`common::copy_tiny_teacher`) in a fresh folder.
fn family_teacher(name: &str, test: &str) -> PathBuf {
    let dir = scratch(&format!("teacher-{name}-{test}"));
    common::copy_tiny_teacher(name, &dir);
    dir
}

/// `n` texts of 3 to 14 words from a fixed list, from a seeded generator.
fn corpus(dir: &Path, n: usize) -> PathBuf {
    const WORDS: &[&str] = &[
        "the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "house", "in", "city",
        "of", "light", "water", "is", "cold", "warm", "red", "blue", "day", "night", "over",
        "under", "bridge", "river", "tree", "bird", "song", "book", "read", "write", "music",
        "plays", "loud", "quiet", "small", "large", "green",
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut text = String::new();
    for _ in 0..n {
        let len = 3 + (next() % 12) as usize;
        let words: Vec<&str> = (0..len)
            .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
            .collect();
        text.push_str(&words.join(" "));
        text.push('\n');
        if next() % 10 == 0 {
            text.push('\n'); // blank lines are skipped
        }
    }
    let path = dir.join("corpus.txt");
    std::fs::write(&path, text).unwrap();
    path
}

fn options(teacher: &Path) -> DistillOptions {
    let mut opts = DistillOptions::new(teacher, teacher.to_str().unwrap());
    opts.pca_dims = PcaDims::Int(16);
    opts
}

fn corpus_options(corpus: &Path, features: &Path) -> CorpusOptions {
    let mut c = CorpusOptions::new(corpus, features);
    c.chunk_texts = 50;
    c.batch_size = 8;
    c.train.max_epochs = Some(4);
    c.train.batch_size = Some(32);
    c
}

/// The chunk files of a feature cache, sorted.
fn chunks(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    v.sort();
    v
}

/// Runs a pre-training, saves the model, returns `model.safetensors`'s bytes, the
/// number of cached texts and the validation losses seen.
fn run(teacher: &Path, c: &CorpusOptions, out: &Path) -> (Vec<u8>, usize, Vec<f64>) {
    let mut losses = Vec::new();
    let (d, s) = m2v_distill::distill_pretrained(&options(teacher), c, &Quiet, &mut |st| {
        if let Stage::Train(TrainProgress::Validation { loss, .. }) = st {
            losses.push(*loss);
        }
    })
    .unwrap();
    assert_eq!(s.texts, 300, "every non-blank line is a text");
    d.save_pretrained(out).unwrap();
    (
        std::fs::read(out.join("model.safetensors")).unwrap(),
        s.cached,
        losses,
    )
}

#[test]
fn a_resumed_featurization_gives_the_same_model() {
    let t = teacher("resume");
    let dir = scratch("resume");
    let corpus = corpus(&dir, 300);
    let (full, cached, losses) = run(
        &t,
        &corpus_options(&corpus, &dir.join("features-a")),
        &dir.join("a"),
    );
    assert_eq!(cached, 0);
    let first = losses.first().copied().unwrap();
    let best = losses.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        best < first,
        "training lowers the validation loss: {losses:?}"
    );

    // A run killed during featurization leaves some finished chunks and perhaps a
    // temporary file; make that state from a finished cache: drop chunks 3 to 5,
    // truncate chunk 2, leave a stray temporary file.
    let (_, _, _) = run(
        &t,
        &corpus_options(&corpus, &dir.join("features-b")),
        &dir.join("b0"),
    );
    let b = dir.join("features-b");
    let files = chunks(&b);
    assert_eq!(files.len(), 6, "300 texts in chunks of 50");
    for f in &files[3..] {
        std::fs::remove_file(f).unwrap();
    }
    let bytes = std::fs::read(&files[2]).unwrap();
    std::fs::write(&files[2], &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(b.join("features-000003.tmp999"), b"partial").unwrap();

    let (resumed, cached, _) = run(&t, &corpus_options(&corpus, &b), &dir.join("b"));
    assert_eq!(
        cached, 100,
        "chunks 0 and 1 come from the cache, the rest is recomputed"
    );
    assert_eq!(resumed, full, "the resumed run saves the same model bytes");
    for (x, y) in chunks(&dir.join("features-a")).iter().zip(&chunks(&b)) {
        assert_eq!(
            std::fs::read(x).unwrap(),
            std::fs::read(y).unwrap(),
            "{y:?}"
        );
    }

    // Another teacher batching is another fingerprint: nothing is reused.
    let mut other = corpus_options(&corpus, &b);
    other.batch_size = 4;
    let (_, cached, _) = run(&t, &other, &dir.join("c"));
    assert_eq!(cached, 0, "a different batching does not reuse the cache");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&t);
}

#[test]
fn a_bad_corpus_is_a_clear_error() {
    let dir = scratch("bad");
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "\n  \n").unwrap();
    let e = m2v_distill::read_corpus(&empty, None).unwrap_err();
    assert!(
        matches!(&e, Error::Corpus { path, .. } if path == &empty),
        "{e}"
    );
    assert!(e.to_string().contains("no text"), "{e}");

    let bad = dir.join("bad.txt");
    std::fs::write(&bad, b"one\ntwo\nth\xffree\n").unwrap();
    let e = m2v_distill::read_corpus(&bad, None).unwrap_err();
    assert!(e.to_string().contains("line 3: invalid UTF-8"), "{e}");
    // A limit that stops before the bad line reads fine.
    assert_eq!(
        m2v_distill::read_corpus(&bad, Some(2)).unwrap(),
        ["one", "two"]
    );

    let e = m2v_distill::read_corpus(&dir, None).unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
    let e = m2v_distill::read_corpus(&dir.join("missing.txt"), None).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");

    // The corpus is read before the teacher runs: a bad one fails at once, and
    // vocabulary quantization is refused.
    let t = teacher("bad");
    let c = corpus_options(&empty, &dir.join("f"));
    let e = m2v_distill::distill_pretrained(&options(&t), &c, &Quiet, &mut |_| {}).unwrap_err();
    assert!(matches!(e, Error::Corpus { .. }), "{e}");
    let mut vq = options(&t);
    vq.vocabulary_quantization = Some(8);
    let e = m2v_distill::distill_pretrained(&vq, &c, &Quiet, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("vocabulary_quantization"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&t);
}

#[test]
fn every_family_pretrains() {
    // The encoders with other tokenizers (BPE, Unigram) and a decoder (Qwen3: no
    // `[CLS]`/`[SEP]`, the inner-token mean drops what its template puts first and
    // last): the whole pipeline runs, the validation loss falls, the model loads.
    for name in ["modernbert", "xlm-roberta", "roberta", "qwen3"] {
        let t = family_teacher(name, "families");
        let dir = scratch(&format!("family-{name}"));
        let corpus = corpus(&dir, 300);
        let mut losses = Vec::new();
        let c = corpus_options(&corpus, &dir.join("features"));
        let (d, s) = m2v_distill::distill_pretrained(&options(&t), &c, &Quiet, &mut |st| {
            if let Stage::Train(TrainProgress::Validation { loss, .. }) = st {
                losses.push(*loss);
            }
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.texts, 300, "{name}");
        let best = losses.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(
            best < losses[0],
            "{name}: the validation loss falls: {losses:?}"
        );
        let out = d.save_pretrained(dir.join("model")).unwrap();
        let m = m2v_static::StaticModel::from_pretrained(&out).unwrap();
        let e = m.encode(&["the cat sat on a mat"]);
        assert!(
            e.row(0).iter().any(|&x| x != 0.0),
            "{name}: a zero embedding"
        );
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&t);
    }
}
