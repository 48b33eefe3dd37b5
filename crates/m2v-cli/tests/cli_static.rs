//! End-to-end tests of `m2v-cli encode`, `tokenize` and `inspect`, through one helper
//! that makes a temporary folder and runs the binary. Numbers are compared with the
//! library's own output (the parity with Python is m2v-static's tests).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use m2v_static::{EncodeOptions, StaticModel};
use m2v_tokenize::json::{self, Value};

fn tiny(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../m2v-static/tests/fixtures/tiny")
        .join(name)
}

/// A temporary folder removed on drop (no tempfile dependency needed).
struct Tmp(PathBuf);
impl Tmp {
    fn new(tag: &str) -> Tmp {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "m2v-cli-static-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Tmp(p)
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `m2v-cli args...` in a fresh temp folder holding `files`, with `stdin`,
/// returning the folder (for output files) and the process output.
fn run_with(args: &[&str], stdin: &[u8], files: &[(&str, &[u8])]) -> (Tmp, Output) {
    let tmp = Tmp::new(args.first().copied().unwrap_or("x"));
    for (name, data) in files {
        std::fs::write(tmp.path(name), data).unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_m2v-cli"))
        .args(args)
        .current_dir(&tmp.0)
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that fails before reading its input (e.g. a model that does not load)
    // may exit before the write: a closed pipe is then expected, not a test failure.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let out = child.wait_with_output().unwrap();
    (tmp, out)
}

fn run(args: &[&str], stdin: &[u8]) -> (Tmp, Output) {
    run_with(args, stdin, &[])
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

const INPUT: &str =
    "A girl is styling her hair.\n\nthe quick brown fox\r\n☃ 日本語\nlast line without newline";
const LINES: [&str; 5] = [
    "A girl is styling her hair.",
    "",
    "the quick brown fox",
    "☃ 日本語",
    "last line without newline",
];

fn parse_jsonl(s: &str) -> Vec<Vec<f64>> {
    s.lines()
        .map(|l| {
            json::parse(l)
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn encode_jsonl_from_stdin_matches_the_library() {
    let model_dir = tiny("tiny_f16_norm");
    let (_t, out) = run(
        &["encode", "--model", model_dir.to_str().unwrap()],
        INPUT.as_bytes(),
    );
    let rows = parse_jsonl(&ok(&out));
    let want = StaticModel::from_pretrained(&model_dir)
        .unwrap()
        .encode(&LINES);
    assert_eq!(rows.len(), 5);
    for (i, r) in rows.iter().enumerate() {
        let w: Vec<f64> = want.row(i).iter().map(|&x| f64::from(x)).collect();
        // jsonl prints the shortest decimal that round-trips the f32.
        let got: Vec<f64> = r.iter().map(|&x| f64::from(x as f32)).collect();
        assert_eq!(got, w, "row {i}");
    }
    assert!(
        rows[1].iter().all(|&x| x == 0.0),
        "empty line is a zero vector"
    );
}

#[test]
fn encode_npy_and_safetensors_files() {
    let model_dir = tiny("tiny_i8_vq");
    let model = StaticModel::from_pretrained(&model_dir).unwrap();
    let want = model.encode_with(
        &LINES,
        &EncodeOptions::new().normalize(false).max_length(Some(3)),
    );
    for (file, fmt) in [("out.npy", None), ("out.bin", Some("safetensors"))] {
        let mut args = vec![
            "encode",
            "--model",
            model_dir.to_str().unwrap(),
            "--input",
            "in.txt",
            "--output",
            file,
            "--normalize",
            "false",
            "--max-length",
            "3",
            "--threads",
            "2",
            "--chunk-lines",
            "2",
        ];
        if let Some(f) = fmt {
            args.extend(["--format", f]);
        }
        let (tmp, out) = run_with(&args, b"", &[("in.txt", INPUT.as_bytes())]);
        ok(&out);
        let bytes = std::fs::read(tmp.path(file)).unwrap();
        let got = matrix_rows(&bytes, file.ends_with(".npy"));
        assert_eq!(got, want.as_slice(), "{file}");
        // Only the input and the output remain: the temporary file was renamed.
        let names: Vec<_> = std::fs::read_dir(&tmp.0).unwrap().collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // The output gets the mode any new file gets (0666 less the umask, as the
        // input written by this test), not the temporary file's private 0600.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |f: &str| std::fs::metadata(tmp.path(f)).unwrap().permissions().mode();
            assert_eq!(mode(file) & 0o777, mode("in.txt") & 0o777, "{file}");
        }
    }
}

#[test]
fn invalid_utf8_names_the_line_unless_lossy() {
    let model_dir = tiny("tiny_f32");
    let m = model_dir.to_str().unwrap();
    let input = b"fine\nbad \xff byte\n";
    let (_t, out) = run(&["encode", "--model", m], input);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("--lossy"), "{err}");
    let (_t, out) = run(&["encode", "--model", m, "--lossy"], input);
    assert_eq!(parse_jsonl(&ok(&out)).len(), 2);
    // A bad line after rows were already written (one line a chunk) to a file: no
    // output and no temporary file are left, in every format.
    for fmt in ["npy", "safetensors", "jsonl"] {
        let work = Tmp::new("badutf8");
        std::fs::write(work.path("in.txt"), b"a\nb\nc\nd\nbad \xff\ne\n").unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_m2v-cli"))
            .args([
                "encode", "--model", m, "--input", "in.txt", "--output", "out",
            ])
            .args(["--format", fmt, "--chunk-lines", "1"])
            .current_dir(&work.0)
            .env("HF_HUB_OFFLINE", "1")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{fmt}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("line 5"),
            "{fmt}"
        );
        let left: Vec<_> = std::fs::read_dir(&work.0)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["in.txt"], "{fmt}: left {left:?}");
    }
}

#[test]
fn tokenize_prints_the_ids_encode_averages() {
    let model_dir = tiny("tiny_f32");
    let model = StaticModel::from_pretrained(&model_dir).unwrap();
    let (_t, out) = run(
        &[
            "tokenize",
            "--model",
            model_dir.to_str().unwrap(),
            "--max-length",
            "4",
        ],
        INPUT.as_bytes(),
    );
    let text = ok(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    for (l, t) in lines.iter().zip(LINES) {
        let ids: Vec<u32> = json::parse(l)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(ids, model.tokenize(t, Some(4)));
        assert!(ids.len() <= 4);
    }
}

#[test]
fn inspect_text_and_json() {
    let model_dir = tiny("tiny_i8_vq");
    let m = model_dir.to_str().unwrap();
    let (_t, out) = run(&["inspect", m], b"");
    let text = ok(&out);
    for want in [
        "layout: model2vec",
        "dtype: I8",
        "dim: 8",
        "tokenizer: WordPiece",
        "normalize: true",
        "mapping: true",
        "weights: true",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
    let (_t, out) = run(&["inspect", m, "--json"], b"");
    let v = json::parse(ok(&out).trim()).unwrap();
    assert_eq!(v.get("rows").and_then(Value::as_u64), Some(40));
    assert_eq!(
        v.get("config")
            .and_then(|c| c.get("embedding_dtype"))
            .and_then(Value::as_str),
        Some("int8")
    );
}

#[test]
fn hub_ids_resolve_through_the_cache() {
    let Some(_) = m2v_hub::testing::model_or_skip("minishlab/potion-base-8M", "potion-base-8M")
    else {
        return;
    };
    let (_t, out) = run(&["inspect", "minishlab/potion-base-8M"], b"");
    let text = ok(&out);
    assert!(
        text.contains("vocab_size: 29528") && text.contains("dim: 256"),
        "{text}"
    );
}

#[test]
fn errors_are_reported_not_panicked() {
    let (_t, out) = run(&["encode", "--model", "/nonexistent/folder"], b"x\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error:") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn inspect_takes_the_model_as_a_flag_or_positionally() {
    let m = tiny("tiny_f32");
    let m = m.to_str().unwrap();
    let (_t, a) = run(&["inspect", "--model", m], b"");
    let (_t, b) = run(&["inspect", m], b"");
    assert_eq!(ok(&a), ok(&b));
    let (_t, both) = run(&["inspect", "--model", m, m], b"");
    assert!(!both.status.success(), "a model given twice is refused");
}

/// `convert` writes a folder that loads and encodes as `LoadOptions` with the same
/// options does in memory (parity with Python is m2v-distill's `tests/convert.rs`);
/// bad options fail cleanly and leave nothing behind.
#[test]
fn convert_makes_load_options_permanent() {
    let src = tiny("tiny_f32");
    let (t, out) = run(
        &[
            "convert",
            "--model",
            src.to_str().unwrap(),
            "--output",
            "out",
            "--quantize-to",
            "i8",
            "--dimensionality",
            "4",
        ],
        b"",
    );
    ok(&out);
    let saved = StaticModel::from_pretrained(t.path("out")).unwrap();
    let live = StaticModel::load(
        &src,
        &m2v_static::LoadOptions::new()
            .dtype(m2v_static::Dtype::I8)
            .dimensionality(4),
    )
    .unwrap();
    assert_eq!(saved.dtype(), m2v_static::Dtype::I8);
    assert_eq!(
        saved.encode(&LINES).as_slice(),
        live.encode(&LINES).as_slice()
    );
    for (args, needle) in [
        (
            vec!["--quantize-to", "bf16"],
            "float16, float32, float64 or int8",
        ),
        (vec!["--dimensionality", "1000"], "dimensionality"),
        (vec!["--unquantize-vocabulary"], "not vocabulary-quantized"),
    ] {
        let mut all = vec![
            "convert",
            "--model",
            src.to_str().unwrap(),
            "--output",
            "bad",
        ];
        all.extend(args);
        let (t, out) = run(&all, b"");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(needle),
            "{all:?}: {err}"
        );
        assert!(!t.path("bad").exists(), "{all:?} left an output");
        let left: Vec<_> = std::fs::read_dir(&t.0).unwrap().collect();
        assert!(left.is_empty(), "{all:?} left {left:?}");
    }
}

/// `encode --output - --format npy|safetensors` writes the file to stdout (it failed
/// with "Bad file descriptor" and left `m2v-encode-PID.tmp` in the temp folder); the
/// spool file is anonymous, so the temp folder stays empty.
#[test]
fn encode_npy_and_safetensors_to_stdout() {
    let model_dir = tiny("tiny_f32");
    let model = StaticModel::from_pretrained(&model_dir).unwrap();
    let want = model.encode_with(&LINES, &EncodeOptions::new());
    for fmt in ["npy", "safetensors"] {
        let tmpdir = Tmp::new("tmpdir");
        let work = Tmp::new("stdout");
        std::fs::write(work.path("in.txt"), INPUT).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_m2v-cli"))
            .args([
                "encode",
                "--model",
                model_dir.to_str().unwrap(),
                "--input",
                "in.txt",
                "--output",
                "-",
                "--format",
                fmt,
                "--chunk-lines",
                "2",
            ])
            .current_dir(&work.0)
            .env("HF_HUB_OFFLINE", "1")
            .env("TMPDIR", &tmpdir.0)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{fmt}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = out.stdout;
        let got = matrix_rows(&bytes, fmt == "npy");
        assert_eq!(got, want.as_slice(), "{fmt}");
        let left: Vec<_> = std::fs::read_dir(&tmpdir.0).unwrap().collect();
        assert!(left.is_empty(), "{fmt}: left {left:?}");
        let left: Vec<_> = std::fs::read_dir(&work.0).unwrap().collect();
        assert_eq!(left.len(), 1, "{fmt}: left {left:?}");
        // From a regular file the lines are counted first and the header streamed
        // ahead of the rows; from stdin the rows go through the anonymous spool file.
        // Both give the bytes of the same output written to a file.
        let m = model_dir.to_str().unwrap();
        let (t, file) = run_with(
            &[
                "encode", "--model", m, "--input", "in.txt", "--output", "out", "--format", fmt,
            ],
            b"",
            &[("in.txt", INPUT.as_bytes())],
        );
        assert!(
            file.status.success(),
            "{fmt}: {}",
            String::from_utf8_lossy(&file.stderr)
        );
        let file = std::fs::read(t.path("out")).unwrap();
        assert_eq!(bytes, file, "{fmt}: stdout from a file");
        let (_t, piped) = run(&["encode", "--model", m, "--format", fmt], INPUT.as_bytes());
        assert!(
            piped.status.success(),
            "{fmt}: {}",
            String::from_utf8_lossy(&piped.stderr)
        );
        assert_eq!(piped.stdout, file, "{fmt}: stdout from stdin");
    }
}

/// jsonl is formatted on `--threads` threads for chunks of more than 256 rows: the
/// lines come out in input order and equal the one-thread output and the library's
/// values (shortest round-tripping decimals).
#[test]
fn jsonl_formatted_on_several_threads_keeps_the_order() {
    let model_dir = tiny("tiny_f32");
    let m = model_dir.to_str().unwrap();
    let model = StaticModel::from_pretrained(&model_dir).unwrap();
    let lines: Vec<String> = (0..1500)
        .map(|i| format!("{} {i}", LINES[i % LINES.len()]))
        .collect();
    let input = lines.join("\n");
    let want = model.encode(&lines);
    let mut outs = Vec::new();
    for threads in ["1", "3"] {
        let (_t, out) = run(
            &[
                "encode",
                "--model",
                m,
                "--threads",
                threads,
                "--chunk-lines",
                "700",
            ],
            input.as_bytes(),
        );
        let text = ok(&out);
        let rows = parse_jsonl(&text);
        assert_eq!(rows.len(), lines.len());
        for (i, r) in rows.iter().enumerate() {
            let got: Vec<f32> = r.iter().map(|&x| x as f32).collect();
            assert_eq!(got, want.row(i), "threads {threads}, row {i}");
        }
        outs.push(text);
    }
    assert_eq!(outs[0], outs[1]);
}

/// An output that exists and is not a regular file is written to, never replaced: a
/// FIFO gets the rows (npy and jsonl), and `--output /dev/null` leaves `/dev/null` a
/// device (it used to get a temporary file renamed over it, which as root replaced
/// the device with a regular file).
#[cfg(unix)]
#[test]
fn encode_writes_into_a_fifo_or_device_and_never_replaces_it() {
    use std::os::unix::fs::FileTypeExt;
    let model_dir = tiny("tiny_f32");
    let model = StaticModel::from_pretrained(&model_dir).unwrap();
    let want = model.encode_with(&LINES, &EncodeOptions::new());
    let work = Tmp::new("fifo");
    std::fs::write(work.path("in.txt"), INPUT).unwrap();
    let encode = |output: &str, fmt: &str| {
        Command::new(env!("CARGO_BIN_EXE_m2v-cli"))
            .args(["encode", "--model", model_dir.to_str().unwrap()])
            .args(["--input", "in.txt", "--output", output, "--format", fmt])
            .current_dir(&work.0)
            .env("HF_HUB_OFFLINE", "1")
            .output()
            .unwrap()
    };
    let fifo = work.path("rows.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        for fmt in ["npy", "jsonl"] {
            let reader = {
                let fifo = fifo.clone();
                std::thread::spawn(move || std::fs::read(fifo).unwrap())
            };
            let out = encode(fifo.to_str().unwrap(), fmt);
            assert!(
                out.status.success(),
                "{fmt}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let bytes = reader.join().unwrap();
            if fmt == "npy" {
                assert_eq!(matrix_rows(&bytes, true), want.as_slice());
            } else {
                assert_eq!(
                    String::from_utf8(bytes).unwrap().lines().count(),
                    LINES.len()
                );
            }
            let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
            assert!(kind.is_fifo(), "{fmt}: the FIFO was replaced");
        }
    }
    let null = Path::new("/dev/null");
    if std::fs::metadata(null).is_ok_and(|m| m.file_type().is_char_device()) {
        for fmt in ["npy", "safetensors", "jsonl"] {
            let out = encode("/dev/null", fmt);
            assert!(
                out.status.success(),
                "{fmt}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let kind = std::fs::symlink_metadata(null).unwrap().file_type();
            assert!(kind.is_char_device(), "{fmt}: /dev/null was replaced");
        }
    }
}

/// `convert --force` (and `distill --force`, the same output folder) replaces a model
/// folder but refuses a folder that holds no model, deleting nothing.
#[test]
fn force_does_not_delete_a_folder_that_is_not_a_model() {
    let src = tiny("tiny_f32");
    let args = |out: &'static str| {
        vec![
            "convert",
            "--model",
            src.to_str().unwrap().to_owned().leak(),
            "--output",
            out,
            "--force",
        ]
    };
    let (t, out) = run_with(
        &args("work/project"),
        b"",
        &[("keep.txt", b"mine".as_slice())],
    );
    // `work/project` did not exist: created.
    ok(&out);
    std::fs::create_dir_all(t.path("mine/src")).unwrap();
    std::fs::write(t.path("mine/notes.txt"), b"precious").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_m2v-cli"))
        .args(args("mine"))
        .current_dir(&t.0)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("holds no model"), "{err}");
    assert_eq!(
        std::fs::read(t.path("mine/notes.txt")).unwrap(),
        b"precious"
    );
    assert!(t.path("mine/src").is_dir());
    // The model folder written first is replaced.
    let o = Command::new(env!("CARGO_BIN_EXE_m2v-cli"))
        .args(args("work/project"))
        .current_dir(&t.0)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    ok(&o);
    let names: Vec<_> = std::fs::read_dir(t.path("work")).unwrap().collect();
    assert_eq!(names.len(), 1, "no leftovers: {names:?}");
}

/// An error names its cause once ("loading model DIR: DIR: no model found" before).
#[test]
fn errors_do_not_repeat_their_cause() {
    let (t, _) = run(&["inspect", "--model", "."], b"");
    let dir = t.0.to_str().unwrap().to_owned();
    let o = Command::new(env!("CARGO_BIN_EXE_m2v-cli"))
        .args(["encode", "--model", &dir, "--input", "/dev/null"])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no model found"), "{err}");
    assert_eq!(err.matches(&dir).count(), 1, "{err}");
}

/// `kill -9` at any moment of `convert --force` over an existing model leaves a
/// complete model at the output (the old one or the new one, never none or a mix),
/// and the next run works.
#[cfg(unix)]
#[test]
fn kill_9_during_convert_leaves_a_complete_model() {
    let src = tiny("tiny_f32");
    let t = Tmp::new("kill");
    let convert = |dtype: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_m2v-cli"));
        c.args([
            "convert",
            "--model",
            src.to_str().unwrap(),
            "--output",
            "out",
            "--quantize-to",
            dtype,
            "--force",
        ])
        .current_dir(&t.0)
        .env("HF_HUB_OFFLINE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        c
    };
    assert!(convert("f32").status().unwrap().success());
    let dtypes = [m2v_static::Dtype::F32, m2v_static::Dtype::I8];
    for i in 0..40u64 {
        let dtype = if i % 2 == 0 { "i8" } else { "f32" };
        let mut child = convert(dtype).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_micros(i * 250));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let m = StaticModel::from_pretrained(t.path("out"))
            .unwrap_or_else(|e| panic!("after a kill at {}us: {e}", i * 250));
        assert!(dtypes.contains(&m.dtype()), "{:?}", m.dtype());
        assert_eq!(m.encode(&LINES).rows(), LINES.len());
    }
    assert!(convert("i8").status().unwrap().success());
    let m = StaticModel::from_pretrained(t.path("out")).unwrap();
    assert_eq!(m.dtype(), m2v_static::Dtype::I8);
}

/// The 5 x 8 f32 rows of an `encode` output (npy or safetensors), after checking its
/// header.
fn matrix_rows(bytes: &[u8], npy: bool) -> Vec<f32> {
    let data_start = if npy {
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
        assert!(header.contains("'shape': (5, 8)"), "{header}");
        assert!(header.contains("'<f4'"), "{header}");
        10 + hlen
    } else {
        let h = m2v_static::safetensors::read_header(bytes).unwrap();
        let t = h.get("embeddings").unwrap();
        assert_eq!(t.shape, [5, 8]);
        t.start
    };
    bytes[data_start..]
        .as_chunks::<4>()
        .0
        .iter()
        .map(|b| f32::from_le_bytes(*b))
        .collect()
}
