//! End-to-end tests of `m2v-cli encode`'s table formats (Parquet, JSONL, CSV, TSV in;
//! Parquet out). The oracle is the plain-text path (itself checked against Python
//! model2vec): the same texts must give the same bits whatever the container.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, DictionaryArray, Float64Array, Int64Array, LargeStringArray, RecordBatch,
    StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;

fn model() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../m2v-static/tests/fixtures/tiny/tiny_f16_norm")
        .to_string_lossy()
        .into_owned()
}

/// A temporary folder removed on drop.
struct Tmp(tempfile::TempDir);
impl Tmp {
    fn new() -> Tmp {
        Tmp(tempfile::tempdir().unwrap())
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.path().join(f)
    }
    fn s(&self, f: &str) -> String {
        self.path(f).to_string_lossy().into_owned()
    }
    /// The file names in the folder, sorted.
    fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.0.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// `m2v-cli encode --model <tiny> args...`.
fn encode(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_m2v-cli"))
        .args(["encode", "--model", &model(), "--quiet"])
        .args(args)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The error message of a run that must fail.
fn err(out: &Output) -> String {
    assert!(!out.status.success(), "succeeded");
    let e = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!e.contains("panicked"), "{e}");
    e
}

/// Texts with no newline (so the text path reads them as they are): ASCII, Unicode,
/// an empty one, quotes and commas for CSV.
fn texts() -> Vec<String> {
    let base = [
        "A girl is styling her hair.",
        "",
        "the quick brown fox",
        "☃ 日本語 and ünïcödé",
        "a \"quoted\", comma, text",
        "last line",
    ];
    (0..40)
        .map(|i| format!("{} {}", base[i % base.len()], i / base.len()))
        .chain(std::iter::once(String::new()))
        .collect()
}

/// The text path's npy for `texts`: the oracle.
fn text_path_npy(tmp: &Tmp, texts: &[String]) -> Vec<u8> {
    std::fs::write(tmp.path("in.txt"), texts.join("\n") + "\n").unwrap();
    ok(&encode(&[
        "--input",
        &tmp.s("in.txt"),
        "--output",
        &tmp.s("text.npy"),
    ]));
    std::fs::read(tmp.path("text.npy")).unwrap()
}

/// The f32 rows of an npy file the CLI wrote (128-byte preamble).
fn npy_rows(bytes: &[u8]) -> Vec<f32> {
    bytes[128..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

fn write_parquet(path: &Path, batch: &RecordBatch, props: WriterProperties) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(f, batch.schema(), Some(props)).unwrap();
    // Several writes, so row groups and batches do not line up.
    for start in (0..batch.num_rows()).step_by(5) {
        let n = 5.min(batch.num_rows() - start);
        w.write(&batch.slice(start, n)).unwrap();
    }
    w.close().unwrap();
}

fn table(texts: &[String]) -> RecordBatch {
    let ids: Int64Array = (0..texts.len() as i64).map(|i| i * 10 - 7).collect();
    let score: Float64Array = (0..texts.len()).map(|i| i as f64 / 2.0).collect();
    let text: StringArray = texts.iter().map(|t| Some(t.as_str())).collect();
    RecordBatch::try_from_iter([
        ("id", Arc::new(ids) as ArrayRef),
        ("text", Arc::new(text) as ArrayRef),
        ("score", Arc::new(score) as ArrayRef),
    ])
    .unwrap()
}

/// A Parquet output: its schema and batches.
fn read_parquet(path: &Path) -> (Arc<Schema>, Vec<RecordBatch>) {
    let f = std::fs::File::open(path).unwrap();
    let b = ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
    let schema = b.schema().clone();
    let batches = b.build().unwrap().collect::<Result<Vec<_>, _>>().unwrap();
    (schema, batches)
}

/// The `embedding` column's values, row after row.
fn embeddings(batches: &[RecordBatch]) -> Vec<f32> {
    let mut out = Vec::new();
    for b in batches {
        let col = b.column_by_name("embedding").unwrap().as_fixed_size_list();
        assert_eq!(col.null_count(), 0);
        out.extend(col.values().as_primitive::<Float32Type>().values().iter());
    }
    out
}

#[test]
fn every_input_format_gives_the_text_paths_bits() {
    let tmp = Tmp::new();
    let texts = texts();
    let want = text_path_npy(&tmp, &texts);
    // Parquet, in each codec files in the wild use, with row groups of 7 rows.
    let codecs = [
        ("none", Compression::UNCOMPRESSED),
        ("snappy", Compression::SNAPPY),
        ("zstd", Compression::ZSTD(ZstdLevel::default())),
        ("gzip", Compression::GZIP(GzipLevel::default())),
        ("lz4", Compression::LZ4_RAW),
        ("lz4-hadoop", Compression::LZ4),
    ];
    for (name, codec) in codecs {
        let path = tmp.path(&format!("{name}.parquet"));
        let props = WriterProperties::builder()
            .set_compression(codec)
            .set_max_row_group_row_count(Some(7))
            .build();
        write_parquet(&path, &table(&texts), props);
        let out = tmp.s(&format!("{name}.npy"));
        ok(&encode(&[
            "--input",
            path.to_str().unwrap(),
            "--column",
            "text",
            "--output",
            &out,
        ]));
        assert!(std::fs::read(&out).unwrap() == want, "{name}");
    }
    // A dictionary-encoded text column (pandas' `category`), and a large-string one.
    let dict: DictionaryArray<Int32Type> = texts.iter().map(String::as_str).collect();
    let large: LargeStringArray = texts.iter().map(|t| Some(t.as_str())).collect();
    for (name, col) in [
        ("dict", Arc::new(dict) as ArrayRef),
        ("large", Arc::new(large) as ArrayRef),
    ] {
        let batch = RecordBatch::try_from_iter([("text", col)]).unwrap();
        let path = tmp.path(&format!("{name}.parquet"));
        write_parquet(&path, &batch, WriterProperties::default());
        let out = tmp.s(&format!("{name}.npy"));
        ok(&encode(&[
            "--input",
            path.to_str().unwrap(),
            "--column",
            "text",
            "--output",
            &out,
        ]));
        assert!(std::fs::read(&out).unwrap() == want, "{name}");
    }
    // JSONL (extra fields, a blank line, key order), CSV (quoting), TSV.
    let mut jsonl = String::new();
    for (i, t) in texts.iter().enumerate() {
        let t = serde_json::to_string(t).unwrap();
        jsonl += &format!("{{\"id\": {i}, \"text\": {t}, \"n\": [1, 2]}}\n");
        if i == 3 {
            jsonl += "\n";
        }
    }
    std::fs::write(tmp.path("in.jsonl"), jsonl).unwrap();
    let mut csv = "id,text,n\n".to_string();
    let mut tsv = "id\ttext\n".to_string();
    for (i, t) in texts.iter().enumerate() {
        csv += &format!("{i},\"{}\",1\n", t.replace('"', "\"\""));
        tsv += &format!("{i}\t{t}\n");
    }
    std::fs::write(tmp.path("in.csv"), csv).unwrap();
    std::fs::write(tmp.path("in.tsv"), &tsv).unwrap();
    // A TSV under another name, with the format named.
    std::fs::write(tmp.path("tsv.data"), &tsv).unwrap();
    for (input, extra) in [
        ("in.jsonl", None),
        ("in.csv", None),
        ("in.tsv", None),
        ("tsv.data", Some("tsv")),
    ] {
        let out = tmp.s(&format!("{input}.npy"));
        let mut args = vec![
            "--input",
            &*tmp.s(input),
            "--column",
            "text",
            "--output",
            &out,
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
        if let Some(f) = extra {
            args.extend(["--input-format".into(), f.into()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&encode(&args));
        assert!(std::fs::read(&out).unwrap() == want, "{input}");
    }
    // And each other output format from a table input: jsonl and safetensors rows equal
    // the text path's same format.
    for fmt in ["jsonl", "safetensors"] {
        let a = tmp.s(&format!("t.{fmt}"));
        let b = tmp.s(&format!("p.{fmt}"));
        ok(&encode(&["--input", &tmp.s("in.txt"), "--output", &a]));
        ok(&encode(&[
            "--input",
            &tmp.s("snappy.parquet"),
            "--column",
            "text",
            "--output",
            &b,
        ]));
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "{fmt}"
        );
    }
}

#[test]
fn parquet_output_has_the_documented_schema_and_the_text_paths_rows() {
    let tmp = Tmp::new();
    let texts = texts();
    let want = npy_rows(&text_path_npy(&tmp, &texts));
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(4))
        .build();
    write_parquet(&tmp.path("in.parquet"), &table(&texts), props);
    // Several row groups in, batches of 3 rows.
    ok(&encode(&[
        "--input",
        &tmp.s("in.parquet"),
        "--column",
        "text",
        "--id-column",
        "id",
        "--chunk-lines",
        "3",
        "--output",
        &tmp.s("out.parquet"),
    ]));
    let (schema, batches) = read_parquet(&tmp.path("out.parquet"));
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    // The id field as the input declares it (non-nullable here), then `embedding`.
    let want_schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("embedding", DataType::FixedSizeList(item, 8), false),
    ]);
    assert_eq!(schema.fields(), want_schema.fields());
    assert!(embeddings(&batches) == want);
    let ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    assert_eq!(
        ids,
        (0..texts.len() as i64)
            .map(|i| i * 10 - 7)
            .collect::<Vec<_>>()
    );
    // Text in, Parquet out (no id): the same rows.
    ok(&encode(&[
        "--input",
        &tmp.s("in.txt"),
        "--output",
        &tmp.s("text.parquet"),
    ]));
    let (schema, batches) = read_parquet(&tmp.path("text.parquet"));
    assert_eq!(schema.fields().len(), 1);
    assert!(embeddings(&batches) == want);
    // Nothing left behind but the inputs and outputs.
    assert_eq!(
        tmp.files(),
        [
            "in.parquet",
            "in.txt",
            "out.parquet",
            "text.npy",
            "text.parquet"
        ]
    );
}

/// The id column of a small Parquet output (one batch).
fn output_ids(path: &Path) -> ArrayRef {
    let (_, batches) = read_parquet(path);
    assert_eq!(batches.len(), 1, "expected one output batch");
    batches[0].column(0).clone()
}

#[test]
fn ids_round_trip_with_the_documented_types() {
    let tmp = Tmp::new();
    // Parquet: a nullable string id keeps its type and its nulls.
    let ids = StringArray::from(vec![Some("a"), None, Some("c")]);
    let text = StringArray::from(vec!["x", "y", "z"]);
    let batch = RecordBatch::try_from_iter([
        ("key", Arc::new(ids.clone()) as ArrayRef),
        ("text", Arc::new(text) as ArrayRef),
    ])
    .unwrap();
    write_parquet(&tmp.path("s.parquet"), &batch, WriterProperties::default());
    ok(&encode(&[
        "--input",
        &tmp.s("s.parquet"),
        "--column",
        "text",
        "--id-column",
        "key",
        "--output",
        &tmp.s("s.out.parquet"),
    ]));
    let got = output_ids(&tmp.path("s.out.parquet"));
    assert_eq!(got.as_string::<i32>(), &ids);
    // JSONL: integer ids (first line's id an integer) -> Int64, nulls kept; otherwise
    // strings, with numbers as their JSON text.
    let check_jsonl = |lines: &str, want: ArrayRef| {
        std::fs::write(tmp.path("in.jsonl"), lines).unwrap();
        ok(&encode(&[
            "--input",
            &tmp.s("in.jsonl"),
            "--column",
            "t",
            "--id-column",
            "id",
            "--output",
            &tmp.s("j.parquet"),
        ]));
        assert_eq!(output_ids(&tmp.path("j.parquet")).to_data(), want.to_data());
    };
    check_jsonl(
        "{\"id\": 5, \"t\": \"a\"}\n{\"t\": \"b\"}\n{\"id\": -9007199254740993, \"t\": \"c\"}\n",
        Arc::new(Int64Array::from(vec![
            Some(5),
            None,
            Some(-9007199254740993),
        ])),
    );
    check_jsonl(
        "{\"id\": \"x1\", \"t\": \"a\"}\n{\"id\": 2.5, \"t\": \"b\"}\n{\"id\": true, \"t\": \"c\"}\n{\"id\": null, \"t\": \"d\"}\n",
        Arc::new(StringArray::from(vec![
            Some("x1"),
            Some("2.5"),
            Some("true"),
            None,
        ])),
    );
    // CSV: strings, as written.
    std::fs::write(tmp.path("in.csv"), "text,id\nx,007\ny,8\n").unwrap();
    ok(&encode(&[
        "--input",
        &tmp.s("in.csv"),
        "--column",
        "text",
        "--id-column",
        "id",
        "--output",
        &tmp.s("c.parquet"),
    ]));
    let got = output_ids(&tmp.path("c.parquet"));
    assert_eq!(got.as_string::<i32>(), &StringArray::from(vec!["007", "8"]));
}

#[test]
fn bad_inputs_are_errors_naming_the_file_and_the_problem() {
    let tmp = Tmp::new();
    let batch = table(&texts());
    write_parquet(&tmp.path("in.parquet"), &batch, WriterProperties::default());
    std::fs::write(
        tmp.path("in.jsonl"),
        "{\"text\": \"a\"}\n{\"text\": \"b\"\n{\"text\": \"c\"}\n",
    )
    .unwrap();
    std::fs::write(tmp.path("in.csv"), "id,text\n1,a\n2,b,extra\n").unwrap();
    std::fs::write(tmp.path("n.jsonl"), "{\"text\": \"a\"}\n{\"text\": null}\n").unwrap();
    std::fs::write(tmp.path("num.jsonl"), "{\"text\": 3}\n").unwrap();
    std::fs::write(
        tmp.path("ids.jsonl"),
        "{\"id\": 1, \"text\": \"a\"}\n{\"id\": \"b\", \"text\": \"b\"}\n",
    )
    .unwrap();
    std::fs::write(tmp.path("not.parquet"), "id,text\n").unwrap();
    let nulls = RecordBatch::try_from_iter([(
        "text",
        Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])) as ArrayRef,
    )])
    .unwrap();
    write_parquet(
        &tmp.path("nulls.parquet"),
        &nulls,
        WriterProperties::default(),
    );
    let before = tmp.files();
    let out = tmp.s("out.parquet");
    let check = |args: &[&str], want: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--output", &out]);
        let e = err(&encode(&all));
        for w in want {
            assert!(e.contains(w), "{args:?}: `{w}` not in: {e}");
        }
        // A failed run leaves no output, no temporary file.
        assert_eq!(tmp.files(), before, "{args:?}");
    };
    let p = tmp.s("in.parquet");
    check(
        &["--input", &p, "--column", "body"],
        &[
            "in.parquet",
            "no text column `body`",
            "`id` (Int64), `text` (Utf8), `score` (Float64)",
        ],
    );
    check(
        &["--input", &p],
        &["--column is required for Parquet input"],
    );
    check(
        &["--input", &p, "--column", "score"],
        &[
            "in.parquet",
            "column `score` is of type Float64, not a string column",
        ],
    );
    check(
        &["--input", &p, "--column", "text", "--id-column", "nope"],
        &["no id column `nope`"],
    );
    check(
        &["--input", &tmp.s("nulls.parquet"), "--column", "text"],
        &[
            "nulls.parquet",
            "row 3: column `text` is null",
            "--null-as-empty",
        ],
    );
    check(
        &["--input", &tmp.s("not.parquet"), "--column", "text"],
        &["not.parquet", "not a readable Parquet file"],
    );
    check(
        &["--input", &tmp.s("missing.parquet"), "--column", "text"],
        &["missing.parquet", "No such file"],
    );
    check(
        &["--input", &tmp.s("missing.jsonl"), "--column", "text"],
        &["missing.jsonl", "No such file"],
    );
    check(
        &["--input", &tmp.s("in.jsonl"), "--column", "text"],
        &["in.jsonl", "line 2: invalid JSON"],
    );
    check(
        &["--input", &tmp.s("n.jsonl"), "--column", "text"],
        &["n.jsonl", "line 2: field `text` is null"],
    );
    check(
        &["--input", &tmp.s("n.jsonl"), "--column", "body"],
        &["line 1: no field `body`", "the fields are `text`"],
    );
    check(
        &["--input", &tmp.s("num.jsonl"), "--column", "text"],
        &["line 1: field `text` is a number, not a string"],
    );
    check(
        &[
            "--input",
            &tmp.s("ids.jsonl"),
            "--column",
            "text",
            "--id-column",
            "id",
        ],
        &["line 2: id `id` is \"b\", not an integer"],
    );
    check(
        &["--input", &tmp.s("in.csv"), "--column", "body"],
        &[
            "in.csv",
            "no text column `body`; the columns are `id`, `text`",
        ],
    );
    check(
        &["--input", &tmp.s("in.csv"), "--column", "text"],
        &["in.csv", "line: 3"],
    );
    check(
        &["--input", &tmp.s("in.txt"), "--column", "text"],
        &["--column and --id-column are for Parquet, JSONL, CSV and TSV inputs"],
    );
    // --id-column needs a Parquet output.
    let e = err(&encode(&[
        "--input",
        &p,
        "--column",
        "text",
        "--id-column",
        "id",
        "--output",
        &tmp.s("out.npy"),
    ]));
    assert!(e.contains("--id-column needs a Parquet output"), "{e}");
    // --null-as-empty: a null (Parquet) or missing (JSONL) text is an empty one.
    ok(&encode(&[
        "--input",
        &tmp.s("nulls.parquet"),
        "--column",
        "text",
        "--null-as-empty",
        "--output",
        &out,
    ]));
    let (_, batches) = read_parquet(Path::new(&out));
    let rows = embeddings(&batches);
    assert_eq!(rows.len(), 3 * 8);
    assert!(rows[16..].iter().all(|&x| x == 0.0));
    assert!(rows[..8].iter().any(|&x| x != 0.0));
}
