//! `encode`'s table inputs (Parquet, JSONL, CSV, TSV) and its Parquet output.
//!
//! A reader thread cuts the input into batches of rows (a Parquet record batch, or a
//! chunk of JSONL lines or CSV records turned into Arrow arrays), this thread encodes
//! each batch's text column with the text path's options, and a writer thread writes
//! the rows: Parquet row groups as they fill, or the text path's [`Sink`] for npy,
//! jsonl and safetensors. Channels hold at most two batches each way, so memory stays
//! flat whatever the input size (docs/formats.md has the measured peak).
//!
//! The rules, documented for users in docs/formats.md:
//! - the text column must be a string column (Parquet `Utf8`, `LargeUtf8`, `Utf8View`
//!   or a dictionary of them;
//!   JSON strings; any CSV field); a null or missing text is an error naming the row
//!   (Parquet, CSV) or line (JSONL), unless `--null-as-empty` makes it an empty text;
//! - the id column is carried to a Parquet output unchanged: Parquet keeps its Arrow
//!   type (any non-nested type, nulls included); CSV and TSV ids are strings; JSONL ids
//!   are `Int64` when the first line's id is an integer literal that fits (every later
//!   id must then be one, or null), else strings (a JSON string as it is, any other
//!   scalar as its JSON text; objects and arrays are errors);
//! - the Parquet output has the id column (when given, under its own name) and
//!   `embedding: FixedSizeList<Float32 (non-null), dim>` (non-null), uncompressed
//!   (embeddings do not compress), row groups of at most 65,536 rows or 64 MiB.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, mpsc};

use anyhow::{Context, Result, anyhow, bail};
use arrow_array::builder::{Int64Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, FixedSizeListArray, Float32Array, RecordBatch};
use arrow_buffer::ScalarBuffer;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::{
    Args, Chunker, Format, InputFormat, Sink, is_regular_or_new, spawn_reader, temp_beside,
};

/// Rows of a Parquet output row group at most (and [`ROW_GROUP_BYTES`]).
const ROW_GROUP_ROWS: usize = 65_536;
/// Bytes of a Parquet output row group at most (the writer buffers one row group).
const ROW_GROUP_BYTES: usize = 64 << 20;

/// One batch of rows: the texts (a string array), the ids, where it sits in the input.
struct Batch {
    texts: ArrayRef,
    ids: Option<ArrayRef>,
    /// Rows before this batch (for error messages).
    rows_before: u64,
    /// The progress bar's position after this batch (rows or bytes).
    progress: u64,
}

/// A source of [`Batch`]es.
trait Reader: Send {
    /// The next batch; `None` at the end of the input.
    fn next_batch(&mut self) -> Result<Option<Batch>>;
}

/// What the progress bar counts.
enum Total {
    Rows(u64),
    Bytes(Option<u64>),
}

/// The reader for `a.input`, the id column's output field, and the progress total.
fn open(
    a: &Args,
    format: InputFormat,
    batch_rows: usize,
) -> Result<(Box<dyn Reader>, Option<Field>, Total)> {
    let column = a.column.as_deref();
    let id = a.id_column.as_deref();
    let stdin = a.input == "-";
    // Errors are wrapped in "reading FILE" by the caller: the open names no file.
    let input = || -> Result<(Box<dyn Read + Send>, Option<u64>)> {
        if stdin {
            return Ok((Box::new(io::stdin()), None));
        }
        let f = File::open(&a.input)?;
        let len = f.metadata().ok().map(|m| m.len());
        Ok((Box::new(f), len))
    };
    Ok(match format {
        InputFormat::Parquet => {
            if stdin {
                bail!(
                    "Parquet input must be a file (its footer is read first), not stdin; \
                     save it to a file and pass --input FILE"
                );
            }
            let column = column.context("--column is required for Parquet input")?;
            let (r, field, rows) = ParquetReader::open(&a.input, column, id, batch_rows)?;
            (Box::new(r), field, Total::Rows(rows))
        }
        InputFormat::Jsonl => {
            let column = column.context(
                "--column is required for JSONL input (or --input-format text to encode each \
                 line as it is)",
            )?;
            let (r, len) = input()?;
            let r = JsonlReader::open(r, column, id, batch_rows, a.null_as_empty, a.lossy)?;
            let field = r.id_field();
            (Box::new(r), field, Total::Bytes(len))
        }
        InputFormat::Csv | InputFormat::Tsv => {
            let what = if format == InputFormat::Csv {
                "CSV"
            } else {
                "TSV"
            };
            let column = column.with_context(|| {
                format!(
                    "--column is required for {what} input (or --input-format text to encode \
                     each line as it is)"
                )
            })?;
            let (r, len) = input()?;
            let r = CsvReader::open(
                r,
                format == InputFormat::Csv,
                column,
                id,
                batch_rows,
                a.lossy,
            )?;
            let field = id.map(|name| Field::new(name, DataType::Utf8, false));
            (Box::new(r), field, Total::Bytes(len))
        }
        InputFormat::Text => {
            if column.is_some() || id.is_some() {
                bail!(
                    "--column and --id-column are for Parquet, JSONL, CSV and TSV inputs; \
                     {} is read as text, one text per line (name the format with --input-format)",
                    a.input
                );
            }
            let (r, len) = input()?;
            let r = TextReader {
                chunks: Chunker::new(r, batch_rows, a.lossy),
                rows: 0,
            };
            (Box::new(r), None, Total::Bytes(len))
        }
    })
}

/// The `texts` of a batch as `&str`, each null an error naming its row, or an empty
/// text with `null_as_empty`.
fn texts_of<'a>(b: &'a Batch, column: &str, null_as_empty: bool) -> Result<Vec<&'a str>> {
    let texts = &b.texts;
    let check = |i: usize, t: Option<&'a str>| -> Result<&'a str> {
        match t {
            Some(t) => Ok(t),
            None if null_as_empty => Ok(""),
            None => bail!(
                "row {}: column `{column}` is null (pass --null-as-empty to encode it as an \
                 empty text)",
                b.rows_before + i as u64 + 1
            ),
        }
    };
    match texts.data_type() {
        DataType::Utf8 => texts
            .as_string::<i32>()
            .iter()
            .enumerate()
            .map(|(i, t)| check(i, t))
            .collect(),
        DataType::LargeUtf8 => texts
            .as_string::<i64>()
            .iter()
            .enumerate()
            .map(|(i, t)| check(i, t))
            .collect(),
        DataType::Utf8View => texts
            .as_string_view()
            .iter()
            .enumerate()
            .map(|(i, t)| check(i, t))
            .collect(),
        DataType::Dictionary(_, v) if is_string(v) => {
            // A categorical column (pandas' `category`): keys into string values.
            let dict = texts
                .as_any_dictionary_opt()
                .context("a dictionary column that is not a dictionary array")?;
            let values = dict.values();
            let value = |k: usize| -> Option<&'a str> {
                match values.data_type() {
                    DataType::Utf8 => Some(values.as_string::<i32>().value(k)),
                    DataType::LargeUtf8 => Some(values.as_string::<i64>().value(k)),
                    _ => Some(values.as_string_view().value(k)),
                }
            };
            let keys = dict.normalized_keys();
            keys.iter()
                .enumerate()
                .map(|(i, &k)| {
                    let t = if texts.is_null(i) || values.is_null(k) {
                        None
                    } else {
                        value(k)
                    };
                    check(i, t)
                })
                .collect()
        }
        t => Err(anyhow!(
            "column `{column}` is of type {t}, not a string column"
        )),
    }
}

/// Whether a column of this type holds the texts as they are.
fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Whether a column of this type can hold the texts: strings, or a dictionary of them.
fn is_text(t: &DataType) -> bool {
    match t {
        DataType::Dictionary(_, v) => is_string(v),
        t => is_string(t),
    }
}

/// The columns of a schema, for error messages: `a (Utf8), b (Int64)`.
fn list_columns(schema: &Schema) -> String {
    let cols: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("`{}` ({})", f.name(), f.data_type()))
        .collect();
    if cols.is_empty() {
        "none".into()
    } else {
        cols.join(", ")
    }
}

struct ParquetReader {
    batches: ParquetRecordBatchReader,
    column: String,
    id: Option<String>,
    rows: u64,
}

impl ParquetReader {
    /// The reader (only the text and id columns are decoded), the id's output field,
    /// and the file's row count (from the footer).
    fn open(
        path: &str,
        column: &str,
        id: Option<&str>,
        batch_rows: usize,
    ) -> Result<(ParquetReader, Option<Field>, u64)> {
        let f = File::open(path)?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(f).context("not a readable Parquet file")?;
        let schema = builder.schema().clone();
        let rows = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
        let find = |name: &str, what: &str| -> Result<usize> {
            schema.index_of(name).map_err(|_| {
                anyhow!(
                    "no {what} column `{name}`; the columns are {}",
                    list_columns(&schema)
                )
            })
        };
        let t = find(column, "text")?;
        let tt = schema.field(t).data_type();
        if !is_text(tt) {
            bail!(
                "column `{column}` is of type {tt}, not a string column; the columns \
                 are {}",
                list_columns(&schema)
            );
        }
        let mut roots = vec![t];
        let mut field = None;
        if let Some(id) = id {
            let i = find(id, "id")?;
            let f = schema.field(i);
            if f.data_type().is_nested() {
                bail!(
                    "id column `{id}` is of type {}, not a scalar column",
                    f.data_type()
                );
            }
            roots.push(i);
            field = Some(Field::new(id, f.data_type().clone(), f.is_nullable()));
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let batches = builder
            .with_projection(mask)
            .with_batch_size(batch_rows)
            .build()?;
        let r = ParquetReader {
            batches,
            column: column.to_owned(),
            id: id.map(str::to_owned),
            rows: 0,
        };
        Ok((r, field, rows))
    }
}

impl Reader for ParquetReader {
    fn next_batch(&mut self) -> Result<Option<Batch>> {
        let Some(batch) = self.batches.next().transpose()? else {
            return Ok(None);
        };
        let get = |name: &str| {
            batch
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| anyhow!("a record batch lacks column `{name}`"))
        };
        let texts = get(&self.column)?;
        let ids = self.id.as_deref().map(get).transpose()?;
        let rows_before = self.rows;
        self.rows += batch.num_rows() as u64;
        Ok(Some(Batch {
            texts,
            ids,
            rows_before,
            progress: self.rows,
        }))
    }
}

/// JSONL ids: `Int64` or strings, fixed by the first line (module doc).
enum JsonIds {
    Int(Int64Builder),
    Str(StringBuilder),
}

struct JsonlReader {
    lines: BufReader<Box<dyn Read + Send>>,
    column: String,
    id: Option<String>,
    ids_int: bool,
    batch_rows: usize,
    null_as_empty: bool,
    lossy: bool,
    /// A line read ahead (the first one, to type the ids).
    peeked: Option<(u64, String)>,
    line: u64,
    bytes: u64,
    rows: u64,
    buf: Vec<u8>,
}

impl JsonlReader {
    fn open(
        r: Box<dyn Read + Send>,
        column: &str,
        id: Option<&str>,
        batch_rows: usize,
        null_as_empty: bool,
        lossy: bool,
    ) -> Result<JsonlReader> {
        let mut r = JsonlReader {
            lines: BufReader::with_capacity(1 << 20, r),
            column: column.to_owned(),
            id: id.map(str::to_owned),
            ids_int: false,
            batch_rows,
            null_as_empty,
            lossy,
            peeked: None,
            line: 0,
            bytes: 0,
            rows: 0,
            buf: Vec::new(),
        };
        if let Some(id) = id
            && let Some((n, line)) = r.next_line()?
        {
            let v = parse_object(&line, n)?;
            r.ids_int = v.get(id).is_some_and(|v| v.as_i64().is_some());
            r.peeked = Some((n, line));
        }
        Ok(r)
    }

    fn id_field(&self) -> Option<Field> {
        let t = if self.ids_int {
            DataType::Int64
        } else {
            DataType::Utf8
        };
        self.id.as_deref().map(|name| Field::new(name, t, true))
    }

    /// The next non-blank line and its number (1-based).
    fn next_line(&mut self) -> Result<Option<(u64, String)>> {
        if let Some(p) = self.peeked.take() {
            return Ok(Some(p));
        }
        loop {
            self.buf.clear();
            let n = self.lines.read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.bytes += n as u64;
            self.line += 1;
            let line = match String::from_utf8(std::mem::take(&mut self.buf)) {
                Ok(s) => s,
                Err(e) if self.lossy => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                Err(e) => bail!(
                    "line {}: invalid UTF-8 at byte {} (use --lossy to replace it)",
                    self.line,
                    e.utf8_error().valid_up_to() + 1
                ),
            };
            if !line.trim().is_empty() {
                return Ok(Some((self.line, line)));
            }
        }
    }
}

/// A JSONL line as a JSON object, or an error naming the line.
fn parse_object(line: &str, n: u64) -> Result<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => bail!("line {n}: not a JSON object"),
        Err(e) => bail!("line {n}: invalid JSON: {e}"),
    }
}

/// A JSON value's kind, for error messages.
fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

impl Reader for JsonlReader {
    fn next_batch(&mut self) -> Result<Option<Batch>> {
        let mut texts = StringBuilder::new();
        let mut ids = self.id.as_ref().map(|_| {
            if self.ids_int {
                JsonIds::Int(Int64Builder::new())
            } else {
                JsonIds::Str(StringBuilder::new())
            }
        });
        let mut n = 0;
        while n < self.batch_rows {
            let Some((line, s)) = self.next_line()? else {
                break;
            };
            let mut obj = parse_object(&s, line)?;
            let column = &self.column;
            match obj.remove(column) {
                Some(serde_json::Value::String(t)) => texts.append_value(t),
                None | Some(serde_json::Value::Null) if self.null_as_empty => {
                    texts.append_value("")
                }
                None => bail!(
                    "line {line}: no field `{column}` (pass --null-as-empty to encode a missing \
                     text as an empty one); the fields are {}",
                    obj.keys()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some(serde_json::Value::Null) => bail!(
                    "line {line}: field `{column}` is null (pass --null-as-empty to encode it \
                     as an empty text)"
                ),
                Some(v) => bail!(
                    "line {line}: field `{column}` is {}, not a string",
                    kind(&v)
                ),
            }
            if let (Some(ids), Some(name)) = (&mut ids, &self.id) {
                let v = obj.get(name).unwrap_or(&serde_json::Value::Null);
                match (ids, v) {
                    (JsonIds::Int(b), serde_json::Value::Null) => b.append_null(),
                    (JsonIds::Str(b), serde_json::Value::Null) => b.append_null(),
                    (JsonIds::Int(b), v) => match v.as_i64() {
                        Some(x) => b.append_value(x),
                        None => bail!(
                            "line {line}: id `{name}` is {v}, not an integer that fits Int64 \
                             (the first line's id is an integer, so the id column is Int64)"
                        ),
                    },
                    (_, serde_json::Value::Array(_) | serde_json::Value::Object(_)) => {
                        bail!("line {line}: id `{name}` is {}, not a scalar", kind(v))
                    }
                    (JsonIds::Str(b), serde_json::Value::String(s)) => b.append_value(s),
                    (JsonIds::Str(b), v) => b.append_value(v.to_string()),
                }
            }
            n += 1;
        }
        if n == 0 {
            return Ok(None);
        }
        let ids = ids.map(|ids| -> ArrayRef {
            match ids {
                JsonIds::Int(mut b) => Arc::new(b.finish()),
                JsonIds::Str(mut b) => Arc::new(b.finish()),
            }
        });
        let rows_before = self.rows;
        self.rows += n as u64;
        Ok(Some(Batch {
            texts: Arc::new(texts.finish()),
            ids,
            rows_before,
            progress: self.bytes,
        }))
    }
}

struct CsvReader {
    rdr: csv::Reader<Box<dyn Read + Send>>,
    text: usize,
    id: Option<usize>,
    column: String,
    batch_rows: usize,
    lossy: bool,
    record: csv::ByteRecord,
    rows: u64,
}

impl CsvReader {
    fn open(
        r: Box<dyn Read + Send>,
        csv: bool,
        column: &str,
        id: Option<&str>,
        batch_rows: usize,
        lossy: bool,
    ) -> Result<CsvReader> {
        // TSV is unquoted, as `m2v-cli train` reads it: a tab or a newline cannot be in
        // a field, and a quote is an ordinary character.
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(if csv { b',' } else { b'\t' })
            .quoting(csv)
            .from_reader(r);
        let headers = rdr.headers().context("reading the header line")?.clone();
        let find = |name: &str, what: &str| -> Result<usize> {
            headers.iter().position(|h| h == name).ok_or_else(|| {
                anyhow!(
                    "no {what} column `{name}`; the columns are {}",
                    headers
                        .iter()
                        .map(|h| format!("`{h}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        };
        Ok(CsvReader {
            text: find(column, "text")?,
            id: id.map(|id| find(id, "id")).transpose()?,
            column: column.to_owned(),
            rdr,
            batch_rows,
            lossy,
            record: csv::ByteRecord::new(),
            rows: 0,
        })
    }

    /// Field `i` of the current record as text.
    fn field(&self, i: usize, what: &str) -> Result<std::borrow::Cow<'_, str>> {
        let line = self.record.position().map_or(0, |p| p.line());
        let Some(bytes) = self.record.get(i) else {
            bail!(
                "line {line}: the record has no {what} field (it has {} fields)",
                self.record.len()
            );
        };
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.into()),
            Err(_) if self.lossy => Ok(String::from_utf8_lossy(bytes)),
            Err(e) => bail!(
                "line {line}: {what} field: invalid UTF-8 at byte {} (use --lossy to replace it)",
                e.valid_up_to() + 1
            ),
        }
    }
}

impl Reader for CsvReader {
    fn next_batch(&mut self) -> Result<Option<Batch>> {
        let mut texts = StringBuilder::new();
        let mut ids = self.id.map(|_| StringBuilder::new());
        let mut n = 0;
        let mut record = std::mem::take(&mut self.record);
        while n < self.batch_rows {
            let more = self.rdr.read_byte_record(&mut record);
            self.record = std::mem::take(&mut record);
            if !more? {
                break;
            }
            let what = format!("text column `{}`", self.column);
            texts.append_value(self.field(self.text, &what)?);
            if let (Some(b), Some(i)) = (&mut ids, self.id) {
                b.append_value(self.field(i, "id")?);
            }
            record = std::mem::take(&mut self.record);
            n += 1;
        }
        self.record = record;
        if n == 0 {
            return Ok(None);
        }
        let rows_before = self.rows;
        self.rows += n as u64;
        Ok(Some(Batch {
            texts: Arc::new(texts.finish()),
            ids: ids.map(|mut b| -> ArrayRef { Arc::new(b.finish()) }),
            rows_before,
            progress: self.rdr.position().byte(),
        }))
    }
}

/// Plain text to a Parquet output: the text path's lines as batches.
struct TextReader {
    chunks: Chunker<Box<dyn Read + Send>>,
    rows: u64,
}

impl Reader for TextReader {
    fn next_batch(&mut self) -> Result<Option<Batch>> {
        let Some(c) = self.chunks.next_chunk(Default::default())? else {
            return Ok(None);
        };
        let mut texts = StringBuilder::with_capacity(c.lines.len(), c.bytes.len());
        for t in c.texts() {
            texts.append_value(t);
        }
        let rows_before = self.rows;
        self.rows += c.lines.len() as u64;
        Ok(Some(Batch {
            texts: Arc::new(texts.finish()),
            ids: None,
            rows_before,
            progress: c.bytes_before + c.bytes.len() as u64,
        }))
    }
}

/// A Parquet output: an [`ArrowWriter`] on a temporary file beside the destination
/// (renamed when complete) or on a stream.
struct ParquetSink {
    writer: ArrowWriter<Out>,
    schema: SchemaRef,
    dim: usize,
    dest: Option<PathBuf>,
    rows: usize,
}

/// Where Parquet bytes go.
enum Out {
    Tmp(tempfile::NamedTempFile),
    Stream(Box<dyn Write + Send>),
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Out::Tmp(f) => f.write(buf),
            Out::Stream(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Out::Tmp(f) => f.flush(),
            Out::Stream(s) => s.flush(),
        }
    }
}

/// The output schema: the id field (when any), then `embedding`.
pub(super) fn output_schema(id: Option<Field>, dim: usize) -> Result<SchemaRef> {
    let dim = i32::try_from(dim).context("the model's dimension does not fit a Parquet list")?;
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let emb = Field::new("embedding", DataType::FixedSizeList(item, dim), false);
    let mut fields = Vec::new();
    if let Some(id) = id {
        if id.name() == "embedding" {
            bail!("the id column cannot be named `embedding` (the output's embedding column)");
        }
        fields.push(id);
    }
    fields.push(emb);
    Ok(Arc::new(Schema::new(fields)))
}

impl ParquetSink {
    fn new(output: &str, schema: SchemaRef, dim: usize) -> Result<ParquetSink> {
        let (out, dest) = if output == "-" {
            (Out::Stream(Box::new(io::stdout())), None)
        } else if !is_regular_or_new(output) {
            let w = std::fs::OpenOptions::new()
                .write(true)
                .open(output)
                .with_context(|| format!("opening {output} for writing"))?;
            (Out::Stream(Box::new(w)), None)
        } else {
            let dest = PathBuf::from(output);
            (Out::Tmp(temp_beside(&dest)?), Some(dest))
        };
        let rows = (ROW_GROUP_BYTES / (dim.max(1) * 4)).clamp(1, ROW_GROUP_ROWS);
        // No statistics on the embedding values (min/max of 256 floats per row cost a
        // third of the writer's time and prune nothing); the id keeps them.
        let mut props = WriterProperties::builder()
            .set_compression(Compression::UNCOMPRESSED)
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::None);
        if let Some(id) = schema.fields().iter().find(|f| f.name() != "embedding") {
            props = props.set_column_statistics_enabled(
                ColumnPath::from(id.name().as_str()),
                EnabledStatistics::Page,
            );
        }
        let props = props
            .set_max_row_group_row_count(Some(rows))
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
            .build();
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(props))
            .context("creating the Parquet writer")?;
        Ok(ParquetSink {
            writer,
            schema,
            dim,
            dest,
            rows: 0,
        })
    }

    /// Writes the rows, and gives their buffer back for reuse when the writer kept no
    /// reference to it (it copies what it buffers).
    fn write(&mut self, ids: Option<ArrayRef>, rows: Vec<f32>) -> Result<Option<Vec<f32>>> {
        let n = rows.len() / self.dim.max(1);
        let item = Arc::new(Field::new("item", DataType::Float32, false));
        let values = ScalarBuffer::from(rows);
        let array = Float32Array::new(values.clone(), None);
        let emb = FixedSizeListArray::try_new(item, self.dim as i32, Arc::new(array), None)?;
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(2);
        cols.extend(ids);
        cols.push(Arc::new(emb));
        let batch = RecordBatch::try_new(self.schema.clone(), cols)
            .context("building an output record batch")?;
        self.writer.write(&batch).context("writing the output")?;
        drop(batch);
        self.rows += n;
        Ok(values.into_inner().into_vec::<f32>().ok())
    }

    fn finish(self) -> Result<usize> {
        let out = self.writer.into_inner().context("writing the output")?;
        match (out, self.dest) {
            (Out::Tmp(tmp), Some(dest)) => {
                tmp.as_file().sync_all().ok();
                tmp.persist(&dest).map_err(|e| e.error).with_context(|| {
                    format!("renaming the temporary file to {}", dest.display())
                })?;
            }
            (mut out, _) => out.flush().context("writing the output")?,
        }
        Ok(self.rows)
    }
}

/// Either output.
enum TableSink {
    Parquet(Box<ParquetSink>),
    Rows(Sink),
}

/// `encode` from a table input, or to a Parquet output.
pub(super) fn run(a: &Args, input_format: InputFormat, output_format: Format) -> Result<()> {
    let model = crate::input::load_model(&a.model)?;
    let dim = model.dim();
    let opts = super::encode_options(a);
    let batch_rows = super::lines_per_chunk(a.chunk_lines, dim);
    let (reader, id_field, total) =
        open(a, input_format, batch_rows).with_context(|| format!("reading {}", a.input))?;
    let sink = if output_format == Format::Parquet {
        TableSink::Parquet(Box::new(ParquetSink::new(
            &a.output,
            output_schema(id_field, dim)?,
            dim,
        )?))
    } else {
        if a.id_column.is_some() {
            bail!(
                "--id-column needs a Parquet output (--output FILE.parquet or --format \
                 parquet): npy, jsonl and safetensors hold the embeddings only, in input order"
            );
        }
        let rows = match total {
            Total::Rows(n) => usize::try_from(n).ok(),
            Total::Bytes(_) => None,
        };
        TableSink::Rows(Sink::new(
            output_format,
            &a.output,
            dim,
            rows,
            super::threads(a),
        )?)
    };
    let pb = match total {
        Total::Rows(n) => super::progress(a.quiet, None).inspect(|pb| {
            pb.set_length(n);
            pb.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} rows ({elapsed}, eta {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
        }),
        Total::Bytes(len) => super::progress(a.quiet, len),
    };
    let input_name = a.input.as_str();
    let column = a.column.as_deref().unwrap_or("text");
    let rows = std::thread::scope(|sc| -> Result<usize> {
        let (batch_tx, batch_rx) = mpsc::sync_channel::<Result<Batch>>(1);
        let (rows_tx, rows_rx) = mpsc::sync_channel::<(Option<ArrayRef>, Vec<f32>)>(1);
        // Written buffers go back to the encoder: none is zeroed and faulted in again.
        let (free_tx, free_rx) = mpsc::channel::<Vec<f32>>();
        let mut reader = reader;
        let reader = spawn_reader(batch_tx, move || reader.next_batch());
        // Gives the sink back unfinished: a failed run drops it, which removes the
        // temporary file.
        let writer = sc.spawn(move || -> Result<TableSink> {
            let mut sink = sink;
            for (ids, rows) in rows_rx {
                let spent = match &mut sink {
                    TableSink::Parquet(p) => p.write(ids, rows)?,
                    TableSink::Rows(s) => {
                        s.write_rows(&rows)?;
                        Some(rows)
                    }
                };
                // The encoder may be gone (it failed); the buffer is then dropped.
                if let Some(b) = spent {
                    let _ = free_tx.send(b);
                }
            }
            Ok(sink)
        });
        let encoded = (|| -> Result<()> {
            for batch in batch_rx {
                let batch = batch?;
                let texts = texts_of(&batch, column, a.null_as_empty)?;
                let mut out = free_rx.try_recv().unwrap_or_default();
                out.resize(texts.len() * dim, 0.0);
                model.encode_to_slice(&texts, &opts, &mut out);
                drop(texts);
                if let Some(pb) = &pb {
                    pb.set_position(batch.progress);
                    if matches!(total, Total::Bytes(_)) {
                        pb.set_message(format!(
                            "{} rows",
                            batch.rows_before + batch.texts.len() as u64
                        ));
                    }
                }
                if rows_tx.send((batch.ids, out)).is_err() {
                    return Ok(());
                }
            }
            Ok(())
        })()
        .with_context(|| format!("reading {input_name}"));
        drop(rows_tx);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(anyhow!("the writer thread panicked")));
        encoded?;
        let sink = written?;
        let _ = reader.join();
        match sink {
            TableSink::Parquet(p) => p.finish(),
            TableSink::Rows(s) => s.finish(),
        }
    })?;
    if let Some(pb) = pb {
        pb.finish_with_message(format!("{rows} rows"));
    }
    Ok(())
}
