//! `m2v-cli encode`: one embedding row per input text, streamed in chunks.
//!
//! Stable interface (scripts drive it): `--model <hub id|dir> --input <file|-> --output
//! <file|-> [--format npy|jsonl|safetensors|parquet] [--input-format
//! text|parquet|jsonl|csv|tsv] [--column NAME] [--id-column NAME] [--null-as-empty]
//! [--threads N] [--max-length N|none] [--normalize true|false] [--lossy]
//! [--chunk-lines N] [--quiet]`.
//!
//! Plain text (the default): lines are split on `\n` (a trailing `\r` is dropped with
//! it); an empty line is an empty text (a zero vector, or a zero vector after
//! normalization); a final line without a newline counts. Files are written to a new
//! temporary file (random name, created exclusively) beside the output and renamed when
//! complete, so a failure leaves no partial file. npy and safetensors headers need the
//! row count: to a stream (stdout, a FIFO, a device) they are written first when the
//! input is a regular file, whose lines are counted before encoding (the rows then follow
//! as they are encoded); from stdin to a stream they go through an anonymous temporary
//! file.
//!
//! Tables (`table.rs`): `.parquet`, `.jsonl`/`.ndjson`, `.csv` and `.tsv` inputs (or
//! `--input-format`) are read in batches of rows; `--column` names the text column and
//! `--id-column` a column carried to a Parquet output (`--output FILE.parquet` or
//! `--format parquet`: the id column, then `embedding`, a `FixedSizeList<Float32, dim>`).
//! The rules for types, nulls and ids are in `table.rs` and docs/formats.md.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::{Context, Result, bail};
use m2v_static::EncodeOptions;

use crate::input::{MaxLength, load_model};

mod table;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// numpy `.npy`, little-endian f32, shape `[lines, dim]`.
    Npy,
    /// One JSON array of floats per line.
    Jsonl,
    /// safetensors with one F32 tensor `embeddings` `[lines, dim]`.
    Safetensors,
    /// Parquet: the `--id-column` (when given) and `embedding`, a
    /// `FixedSizeList<Float32, dim>`.
    Parquet,
}

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// One text per line.
    Text,
    /// Apache Parquet (any codec among uncompressed, snappy, gzip, lz4, zstd).
    Parquet,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header line (RFC 4180 quoting).
    Csv,
    /// Tab-separated values with a header line (no quoting).
    Tsv,
}

impl InputFormat {
    /// From the input's extension: `.parquet`, `.jsonl`/`.ndjson`, `.csv`, `.tsv`, else
    /// text.
    fn infer(input: &str) -> InputFormat {
        let ext = Path::new(input).extension().and_then(|e| e.to_str());
        match ext.map(str::to_ascii_lowercase).as_deref() {
            Some("parquet") => InputFormat::Parquet,
            Some("jsonl" | "ndjson") => InputFormat::Jsonl,
            Some("csv") => InputFormat::Csv,
            Some("tsv") => InputFormat::Tsv,
            _ => InputFormat::Text,
        }
    }
}

/// Arguments of `m2v-cli encode`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The static model: a local folder, or a hub id `ORG/NAME[@REVISION]` taken from
    /// the Hugging Face cache (downloaded into it first when missing, unless
    /// HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub model: String,
    /// Input file: text (one text per line), or a table (`.parquet`, `.jsonl`,
    /// `.ndjson`, `.csv`, `.tsv`, with --column); `-` for stdin.
    #[arg(long, default_value = "-")]
    pub input: String,
    /// Input format; default from the input's extension, else text.
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormat>,
    /// The text column of a table input (required for Parquet, JSONL, CSV and TSV).
    #[arg(long)]
    pub column: Option<String>,
    /// A column carried to the Parquet output unchanged (an id, a key), row for row.
    #[arg(long)]
    pub id_column: Option<String>,
    /// Encode a null or missing text as an empty text instead of failing.
    #[arg(long)]
    pub null_as_empty: bool,
    /// Output file; `-` for stdout.
    #[arg(long, default_value = "-")]
    pub output: String,
    /// Output format; default from the output extension (`.npy`, `.safetensors`,
    /// `.parquet`), else jsonl.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Maximum tokens per text, or `none` (default: the model's).
    #[arg(long)]
    pub max_length: Option<MaxLength>,
    /// Normalize the embeddings (default: the model's config).
    #[arg(long, action = clap::ArgAction::Set)]
    pub normalize: Option<bool>,
    /// Replace invalid UTF-8 with U+FFFD instead of failing.
    #[arg(long)]
    pub lossy: bool,
    /// Lines encoded per chunk (bounds memory).
    #[arg(long, default_value_t = 65_536)]
    pub chunk_lines: usize,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

impl Format {
    fn infer(output: &str) -> Format {
        match Path::new(output).extension().and_then(|e| e.to_str()) {
            Some("npy") => Format::Npy,
            Some("safetensors") => Format::Safetensors,
            Some("parquet") => Format::Parquet,
            _ => Format::Jsonl,
        }
    }
}

/// Bytes reserved for the npy preamble (magic, version, length, padded dict), so that
/// the row count can be written once known.
const NPY_PREAMBLE: usize = 128;
/// Bytes reserved for the safetensors length + JSON header.
const ST_PREAMBLE: usize = 256;

fn npy_preamble(rows: usize, dim: usize) -> Vec<u8> {
    let mut dict =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    let total = NPY_PREAMBLE - 10;
    while dict.len() < total - 1 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

fn st_preamble(rows: usize, dim: usize) -> Result<Vec<u8>> {
    use m2v_static::safetensors::{TensorSpec, header_bytes};
    let h = header_bytes(
        &[TensorSpec {
            name: "embeddings",
            dtype: m2v_static::Dtype::F32,
            shape: &[rows, dim],
        }],
        &[],
    )?;
    let mut json = String::from_utf8_lossy(&h[8..]).trim_end().to_string();
    while json.len() < ST_PREAMBLE - 8 {
        json.push(' ');
    }
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(json.as_bytes());
    Ok(out)
}

/// Where rows go: a stream directly (jsonl), or a temporary file that is renamed onto
/// the output, or, for npy/safetensors on a stream (whose header needs the row count,
/// known only at the end), copied to the stream when complete. A stream is stdout
/// (`-`) or an existing output that is not a regular file (`/dev/null`, a FIFO): a
/// rename would replace the device or FIFO itself with a regular file.
///
/// Temporary files are always created new: a file beside the output under a random
/// name opened with `O_EXCL` (a symlink planted at a guessed name cannot redirect the
/// write), removed on failure; for stdout an anonymous file (unlinked at once, or
/// `O_TMPFILE`), which nothing can reach and which vanishes with the process.
enum Dest {
    /// Rows straight to the stream: jsonl, or npy/safetensors whose header was written
    /// first with the row count counted beforehand (`Sink::expected`).
    Stream(BufWriter<Box<dyn Write + Send>>),
    File {
        w: BufWriter<tempfile::NamedTempFile>,
        dest: PathBuf,
    },
    Spool(BufWriter<File>, Box<dyn Write + Send>),
}

struct Sink {
    format: Format,
    dim: usize,
    rows: usize,
    /// The row count written in a streamed header, which the run must then produce.
    expected: Option<usize>,
    dest: Dest,
    /// Threads formatting jsonl.
    threads: usize,
    /// The formatters' reused jsonl buffers.
    lines: Vec<Vec<u8>>,
    /// Reused for the little-endian conversion on big-endian targets.
    bytes: Vec<u8>,
}

impl Sink {
    /// `lines`: the input's line count when it is known before encoding (a regular
    /// file, counted), which lets npy/safetensors stream to a stream.
    fn new(
        format: Format,
        output: &str,
        dim: usize,
        lines: Option<usize>,
        threads: usize,
    ) -> Result<Sink> {
        // A stream: stdout, or an existing output that is not a regular file (a device
        // such as /dev/null, a FIFO), which is written to, never replaced by a rename.
        let stream: Option<Box<dyn Write + Send>> = if output == "-" {
            Some(Box::new(io::stdout()))
        } else if !is_regular_or_new(output) {
            Some(Box::new(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(output)
                    .with_context(|| format!("opening {output} for writing"))?,
            ))
        } else {
            None
        };
        let mut expected = None;
        let mut dest = if let Some(w) = stream {
            if format == Format::Jsonl {
                Dest::Stream(BufWriter::with_capacity(1 << 20, w))
            } else if let Some(n) = lines {
                let mut w = BufWriter::with_capacity(1 << 20, w);
                w.write_all(&match format {
                    Format::Safetensors => st_preamble(n, dim)?,
                    _ => npy_preamble(n, dim),
                })?;
                expected = Some(n);
                Dest::Stream(w)
            } else {
                let f = tempfile::tempfile().context("creating an anonymous temporary file")?;
                Dest::Spool(BufWriter::with_capacity(1 << 20, f), w)
            }
        } else {
            let dest = PathBuf::from(output);
            let tmp = temp_beside(&dest)?;
            Dest::File {
                w: BufWriter::with_capacity(1 << 20, tmp),
                dest,
            }
        };
        let preamble = match format {
            Format::Npy => NPY_PREAMBLE,
            Format::Safetensors => ST_PREAMBLE,
            Format::Jsonl | Format::Parquet => 0,
        };
        match &mut dest {
            Dest::File { w, .. } => w.write_all(&vec![b' '; preamble])?,
            Dest::Spool(w, _) => w.write_all(&vec![b' '; preamble])?,
            Dest::Stream(_) => {}
        }
        Ok(Sink {
            format,
            dim,
            rows: 0,
            expected,
            dest,
            threads: threads.max(1),
            lines: Vec::new(),
            bytes: Vec::new(),
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match &mut self.dest {
            Dest::Stream(s) => s,
            Dest::File { w, .. } => w,
            Dest::Spool(w, _) => w,
        }
    }

    fn write_rows(&mut self, data: &[f32]) -> Result<()> {
        self.rows += data.len() / self.dim.max(1);
        match self.format {
            Format::Jsonl => {
                // Formatting is the slow part of jsonl (about 10 bytes per value): the
                // rows are split over `threads` formatters, each into its own reused
                // buffer, and the buffers written in order.
                let dim = self.dim.max(1);
                let rows = data.len() / dim;
                let parts = self.threads.min(rows.div_ceil(256)).max(1);
                let per = rows.div_ceil(parts) * dim;
                let mut bufs = std::mem::take(&mut self.lines);
                bufs.resize_with(parts, Vec::new);
                if parts == 1 {
                    jsonl_rows(data, dim, &mut bufs[0]);
                } else {
                    std::thread::scope(|sc| {
                        for (part, buf) in data.chunks(per).zip(bufs.iter_mut()) {
                            sc.spawn(move || jsonl_rows(part, dim, buf));
                        }
                    });
                }
                let res = bufs[..parts]
                    .iter()
                    .try_for_each(|b| self.writer().write_all(b));
                self.lines = bufs;
                res?;
            }
            // Parquet goes through `table::ParquetSink`, never here.
            Format::Npy | Format::Safetensors | Format::Parquet => {
                if cfg!(target_endian = "little") {
                    // The rows' memory is the file's bytes: written as they are.
                    self.writer().write_all(bytemuck::cast_slice(data))?;
                } else {
                    let mut bytes = std::mem::take(&mut self.bytes);
                    bytes.clear();
                    bytes.extend(data.iter().flat_map(|x| x.to_le_bytes()));
                    self.writer().write_all(&bytes)?;
                    self.bytes = bytes;
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<usize> {
        let rows = self.rows;
        if let Some(n) = self.expected
            && n != rows
        {
            bail!(
                "the input changed while it was encoded: the header written first says \
                 {n} rows, {rows} were encoded"
            );
        }
        let preamble = match self.format {
            Format::Npy => Some(npy_preamble(rows, self.dim)),
            Format::Safetensors => Some(st_preamble(rows, self.dim)?),
            Format::Jsonl | Format::Parquet => None,
        };
        let put_preamble = |f: &mut dyn WriteSeek| -> Result<()> {
            if let Some(p) = &preamble {
                f.seek(SeekFrom::Start(0))?;
                f.write_all(p)?;
            }
            Ok(())
        };
        match self.dest {
            Dest::Stream(mut s) => s.flush().context("writing the output")?,
            Dest::File { w, dest } => {
                let mut tmp = w.into_inner().map_err(|e| e.into_error())?;
                put_preamble(tmp.as_file_mut())?;
                tmp.as_file().sync_all().ok();
                tmp.persist(&dest).map_err(|e| e.error).with_context(|| {
                    format!("renaming the temporary file to {}", dest.display())
                })?;
            }
            Dest::Spool(w, mut out) => {
                let mut f = w.into_inner().map_err(|e| e.into_error())?;
                put_preamble(&mut f)?;
                f.seek(SeekFrom::Start(0))?;
                io::copy(&mut f, &mut out).context("writing the output")?;
                out.flush().context("writing the output")?;
            }
        }
        Ok(rows)
    }
}

/// The reader thread of both encode pipelines: sends each item of `next` (and then
/// its first error) to `tx` until the input ends, an error, or the receiver is gone.
/// Not scoped: on an error the reader may sit in a read of a pipe that stays open; it
/// is left to finish on its own (its next send fails) instead of joined.
fn spawn_reader<T: Send + 'static>(
    tx: mpsc::SyncSender<Result<T>>,
    mut next: impl FnMut() -> Result<Option<T>> + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        loop {
            match next() {
                Ok(Some(item)) => {
                    if tx.send(Ok(item)).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    })
}

/// A new temporary file beside `dest` (random name, created exclusively), removed
/// when dropped unless persisted onto `dest`. On unix it is created with mode 0666
/// less the umask, as `File::create` would create `dest` (tempfile's default, 0600,
/// would make every output private to its owner once renamed).
fn temp_beside(dest: &Path) -> Result<tempfile::NamedTempFile> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder
        .tempfile_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))
}

/// `true` unless `output` exists and is not a regular file (a device, a FIFO), i.e.
/// when the output is a file written through a temporary file and renamed.
fn is_regular_or_new(output: &str) -> bool {
    std::fs::metadata(output).map_or(true, |m| m.is_file() || m.is_dir())
}

/// Rows of `dim` values as jsonl lines, replacing `out`'s contents: the shortest
/// decimal that round-trips each f32 (ryu), `null` for a non-finite value.
fn jsonl_rows(data: &[f32], dim: usize, out: &mut Vec<u8>) {
    out.clear();
    let mut num = ryu::Buffer::new();
    for row in data.chunks_exact(dim) {
        out.push(b'[');
        for (j, x) in row.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            if x.is_finite() {
                out.extend_from_slice(num.format_finite(*x).as_bytes());
            } else {
                out.extend_from_slice(b"null");
            }
        }
        out.extend_from_slice(b"]\n");
    }
}

/// A file the preamble is written back into.
trait WriteSeek: Write + Seek {}
impl<T: Write + Seek> WriteSeek for T {}

fn open_input(input: &str) -> Result<(Box<dyn Read + Send>, Option<u64>)> {
    if input == "-" {
        return Ok((Box::new(io::stdin()), None));
    }
    let f = File::open(input).with_context(|| format!("opening {input}"))?;
    let len = f.metadata().ok().map(|m| m.len());
    Ok((Box::new(f), len))
}

/// The lines of a regular file as the [`Chunker`] counts them (every `\n`, plus a
/// last line without one), read in large blocks; `None` for stdin or anything that is
/// not a regular file (a FIFO can be read only once).
fn count_lines(input: &str) -> Result<Option<usize>> {
    if input == "-" {
        return Ok(None);
    }
    let mut f = File::open(input).with_context(|| format!("opening {input}"))?;
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let mut buf = vec![0u8; READ_BLOCK];
    let (mut lines, mut last) = (0usize, b'\n');
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {input}")),
        };
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count();
        last = buf[n - 1];
    }
    Ok(Some(lines + usize::from(last != b'\n')))
}

fn progress(quiet: bool, total: Option<u64>) -> Option<indicatif::ProgressBar> {
    if quiet || !io::stderr().is_terminal() {
        return None;
    }
    let pb = match total {
        Some(n) => {
            let pb = indicatif::ProgressBar::new(n);
            pb.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {msg} ({elapsed}, eta {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            pb
        }
        None => indicatif::ProgressBar::new_spinner(),
    };
    Some(pb)
}

/// The most output bytes one chunk may hold: a chunk of `--chunk-lines` lines is cut
/// shorter for a wide model, so memory stays bounded by this budget (plus the texts),
/// whatever dimension the model declares. The few buffers in flight are reused, never
/// faulted in again. 16 MiB is 16,384 rows of a 256-column model, several batches for
/// the encoding threads to share; smaller chunks measured slower on 2 threads, for
/// less memory (docs/bench.md, "Tuning notes").
const CHUNK_BYTES: usize = 16 << 20;

/// Lines per chunk for a model of `dim` columns: `chunk_lines`, or fewer where
/// `chunk_lines × dim` f32 values would exceed [`CHUNK_BYTES`] (at least one).
fn lines_per_chunk(chunk_lines: usize, dim: usize) -> usize {
    let per_line = dim.max(1).saturating_mul(size_of::<f32>());
    chunk_lines.min((CHUNK_BYTES / per_line).max(1))
}

/// Output buffers (and input chunks) in flight: one being filled, one being written
/// (or read), one waiting.
const IN_FLIGHT: usize = 3;

/// The encoder's options, the same for every input format.
fn encode_options(a: &Args) -> EncodeOptions {
    // Batches of 1,024 texts: each chunk is shared by the encoding threads and joined,
    // and smaller batches leave less of one thread's work to wait for at every chunk
    // (measured faster than the library's 4,096 here: docs/bench.md, "Tuning notes").
    let mut opts = EncodeOptions::new()
        .threads(a.threads.unwrap_or(0))
        .batch_size(1024);
    if let Some(MaxLength(m)) = a.max_length {
        opts = opts.max_length(m);
    }
    if let Some(n) = a.normalize {
        opts = opts.normalize(n);
    }
    opts
}

/// `--threads`, or all cores.
fn threads(a: &Args) -> usize {
    match a.threads {
        Some(n) if n > 0 => n,
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

pub fn run(a: Args) -> Result<()> {
    if a.chunk_lines == 0 {
        bail!("--chunk-lines must be at least 1");
    }
    let format = a.format.unwrap_or_else(|| Format::infer(&a.output));
    let input_format = a
        .input_format
        .unwrap_or_else(|| InputFormat::infer(&a.input));
    if input_format != InputFormat::Text || format == Format::Parquet {
        return table::run(&a, input_format, format);
    }
    if a.column.is_some() || a.id_column.is_some() {
        bail!(
            "--column and --id-column are for Parquet, JSONL, CSV and TSV inputs; {} is read \
             as text, one text per line (name the format with --input-format)",
            a.input
        );
    }
    // npy/safetensors to a stream: their header (the row count) goes first when the
    // lines can be counted beforehand, so the rows need no temporary copy. Counted
    // while the model loads.
    let count = (format != Format::Jsonl && (a.output == "-" || !is_regular_or_new(&a.output)))
        .then(|| {
            let input = a.input.clone();
            std::thread::spawn(move || count_lines(&input))
        });
    let model = load_model(&a.model)?;
    let dim = model.dim();
    let lines = match count {
        Some(h) => h
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("counting the input's lines panicked")))?,
        None => None,
    };
    let opts = encode_options(&a);
    let (input, total) = open_input(&a.input)?;
    let pb = progress(a.quiet, total);
    let threads = threads(&a);
    let sink = Sink::new(format, &a.output, dim, lines, threads)?;
    let chunk_lines = lines_per_chunk(a.chunk_lines, dim);
    let input_name = a.input.as_str();
    // A three-stage pipeline: a reader thread cuts the input into chunks of lines, this
    // thread encodes them (on `--threads` threads), a writer thread writes the rows.
    // Buffers go round (reader -> encoder -> reader, encoder -> writer -> encoder), so
    // none is allocated or faulted in after the first few chunks.
    let rows = std::thread::scope(|sc| -> Result<usize> {
        let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Result<Chunk>>(IN_FLIGHT - 1);
        let (spent_tx, spent_rx) = mpsc::channel::<Chunk>();
        let (rows_tx, rows_rx) = mpsc::sync_channel::<(Vec<f32>, usize)>(IN_FLIGHT - 1);
        let (free_tx, free_rx) = mpsc::channel::<Vec<f32>>();
        let lossy = a.lossy;
        let mut chunks = Chunker::new(input, chunk_lines, lossy);
        let reader = spawn_reader(chunk_tx, move || {
            chunks.next_chunk(spent_rx.try_recv().unwrap_or_default())
        });
        // The writer gives the sink back unfinished: only a complete encoding finishes
        // it (header, rename); after an error it is dropped, which removes the
        // temporary file, so a failed run leaves no partial output.
        let writer = sc.spawn(move || -> Result<Sink> {
            let mut sink = sink;
            for (buf, n) in rows_rx {
                sink.write_rows(&buf[..n * dim])?;
                // The encoder may be gone (it failed); the buffer is then dropped.
                let _ = free_tx.send(buf);
            }
            Ok(sink)
        });
        let mut fresh = IN_FLIGHT;
        let encoded = (|| -> Result<()> {
            for chunk in chunk_rx {
                let chunk = chunk.with_context(|| format!("reading {input_name}"))?;
                // Recycled once `IN_FLIGHT` buffers are out (a writer that failed has
                // dropped its receiver: its error is reported below).
                let mut out = if fresh > 0 {
                    fresh -= 1;
                    vec![0.0f32; chunk_lines * dim]
                } else {
                    match free_rx.recv() {
                        Ok(b) => b,
                        Err(_) => return Ok(()),
                    }
                };
                let n = chunk.lines.len();
                let texts: Vec<&str> = chunk.texts().collect();
                model.encode_to_slice(&texts, &opts, &mut out[..n * dim]);
                drop(texts);
                if let Some(pb) = &pb {
                    pb.set_position(chunk.bytes_before + chunk.bytes.len() as u64);
                    pb.set_message(format!("{} lines", chunk.lines_before + n as u64));
                }
                let _ = spent_tx.send(chunk);
                if rows_tx.send((out, n)).is_err() {
                    return Ok(());
                }
            }
            Ok(())
        })();
        drop(rows_tx);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the writer thread panicked")));
        encoded?;
        let sink = written?;
        // All input was read (the reader has returned or is about to).
        let _ = reader.join();
        sink.finish()
    })?;
    if let Some(pb) = pb {
        pb.finish_with_message(format!("{rows} lines"));
    }
    Ok(())
}

/// Whole lines of the input: their bytes (`\n` and a `\r` before it dropped from each
/// line's range) and each line's range in `bytes`.
#[derive(Debug, Default)]
struct Chunk {
    bytes: Vec<u8>,
    lines: Vec<(usize, usize)>,
    /// Input bytes and lines before this chunk (for the progress bar).
    bytes_before: u64,
    lines_before: u64,
}

impl Chunk {
    /// The lines as text. The reader checked that every range is valid UTF-8 (or made
    /// it so with `--lossy`), so the fallback never shows.
    fn texts(&self) -> impl Iterator<Item = &str> {
        self.lines
            .iter()
            .map(|&(s, e)| std::str::from_utf8(&self.bytes[s..e]).unwrap_or("\u{fffd}"))
    }
}

/// Cuts a byte stream into [`Chunk`]s of at most `max_lines` lines, reading in large
/// blocks and finding line ends with `memchr`, with no allocation per line.
struct Chunker<R> {
    r: R,
    max_lines: usize,
    lossy: bool,
    /// Bytes read but not yet part of a chunk (the start of a line).
    pending: Vec<u8>,
    eof: bool,
    bytes: u64,
    lines: u64,
}

/// Bytes read from the input at a time.
const READ_BLOCK: usize = 1 << 20;

impl<R: Read> Chunker<R> {
    fn new(r: R, max_lines: usize, lossy: bool) -> Self {
        Chunker {
            r,
            max_lines: max_lines.max(1),
            lossy,
            pending: Vec::new(),
            eof: false,
            bytes: 0,
            lines: 0,
        }
    }

    /// Appends up to [`READ_BLOCK`] bytes to `buf`; `false` at the end of the input.
    fn fill(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        let at = buf.len();
        buf.resize(at + READ_BLOCK, 0);
        loop {
            match self.r.read(&mut buf[at..]) {
                Ok(n) => {
                    buf.truncate(at + n);
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    buf.truncate(at);
                    return Err(e);
                }
            }
        }
    }

    /// The next chunk, built in `spare`'s buffers; `None` at the end of the input.
    fn next_chunk(&mut self, spare: Chunk) -> Result<Option<Chunk>> {
        let mut c = spare;
        c.bytes.clear();
        c.lines.clear();
        c.bytes_before = self.bytes;
        c.lines_before = self.lines;
        std::mem::swap(&mut c.bytes, &mut self.pending);
        let mut scan = 0;
        while c.lines.len() < self.max_lines {
            if let Some(nl) = memchr::memchr(b'\n', &c.bytes[scan..]) {
                let end = scan + nl;
                let trimmed = if end > scan && c.bytes[end - 1] == b'\r' {
                    end - 1
                } else {
                    end
                };
                c.lines.push((scan, trimmed));
                scan = end + 1;
                continue;
            }
            if self.eof {
                if scan < c.bytes.len() {
                    // A last line without a newline (kept whole, as `tokenize` reads it).
                    c.lines.push((scan, c.bytes.len()));
                    scan = c.bytes.len();
                }
                break;
            }
            if !self.fill(&mut c.bytes)? {
                self.eof = true;
            }
        }
        self.pending.extend_from_slice(&c.bytes[scan..]);
        c.bytes.truncate(scan);
        if c.lines.is_empty() {
            return Ok(None);
        }
        self.bytes += scan as u64;
        self.check_utf8(&mut c)?;
        self.lines += c.lines.len() as u64;
        Ok(Some(c))
    }

    /// Every line valid UTF-8, or an error naming the first bad line (1-based); with
    /// `lossy`, a bad line is replaced by its lossy conversion, appended to the bytes.
    fn check_utf8(&self, c: &mut Chunk) -> Result<()> {
        if std::str::from_utf8(&c.bytes).is_ok() {
            // Lines end at `\n` or `\r\n`, both ASCII: valid as a whole, valid each.
            return Ok(());
        }
        for k in 0..c.lines.len() {
            let (s, e) = c.lines[k];
            if let Err(err) = std::str::from_utf8(&c.bytes[s..e]) {
                if !self.lossy {
                    bail!(
                        "line {}: invalid UTF-8 at byte {} (use --lossy to replace it)",
                        self.lines + k as u64 + 1,
                        err.valid_up_to() + 1
                    );
                }
                let fixed = String::from_utf8_lossy(&c.bytes[s..e]).into_owned();
                let at = c.bytes.len();
                c.bytes.extend_from_slice(fixed.as_bytes());
                c.lines[k] = (at, c.bytes.len());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_preamble_is_aligned_and_fixed_size() {
        for (r, d) in [(0, 1), (7, 256), (usize::MAX, usize::MAX)] {
            let p = npy_preamble(r, d);
            assert_eq!(p.len(), NPY_PREAMBLE);
            assert_eq!(p.len() % 64, 0);
            assert!(p.ends_with(b"\n"));
        }
    }

    #[test]
    fn st_preamble_parses() {
        let p = st_preamble(3, 2).unwrap();
        assert_eq!(p.len(), ST_PREAMBLE);
        let mut file = p.clone();
        file.extend_from_slice(&[0u8; 24]);
        let h = m2v_static::safetensors::read_header(&file).unwrap();
        assert_eq!(h.get("embeddings").unwrap().shape, [3, 2]);
    }

    #[test]
    fn chunks_are_bounded_by_bytes_not_by_the_model_dimension() {
        // The default 65,536 lines of a 65,536-column model once meant 16 GiB up front.
        for dim in [1, 8, 256, 1024, 16_384, 65_536, 1 << 20] {
            let lines = lines_per_chunk(65_536, dim);
            assert!(lines >= 1);
            assert!(
                lines * dim * 4 <= CHUNK_BYTES.max(dim * 4),
                "{dim}: {lines} lines"
            );
        }
        // A 256-column model: 16 MiB of rows; a smaller --chunk-lines is kept.
        assert_eq!(lines_per_chunk(65_536, 256), 16_384);
        assert_eq!(lines_per_chunk(100, 256), 100);
        assert_eq!(lines_per_chunk(10, 1 << 30), 1);
    }

    /// A reader that returns at most `step` bytes per call, so lines cross reads.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn all_lines(input: &[u8], step: usize, max_lines: usize, lossy: bool) -> Result<Vec<String>> {
        let mut c = Chunker::new(Trickle(input, step), max_lines, lossy);
        let mut lines = Vec::new();
        while let Some(chunk) = c.next_chunk(Chunk::default())? {
            assert!(chunk.lines.len() <= max_lines);
            assert_eq!(chunk.lines_before, lines.len() as u64);
            lines.extend(chunk.texts().map(str::to_owned));
        }
        Ok(lines)
    }

    #[test]
    fn chunker_splits_lines_like_the_documented_rule_across_reads_and_chunks() {
        let input = "a\r\n\nb c\n\r\n\rx\r\n\u{2603} \u{65e5}\nlast\r".as_bytes();
        // The rule, spelled out independently: split on `\n`, drop one `\r` before
        // each `\n`, a final empty piece is no line.
        let expected = ["a", "", "b c", "", "\rx", "\u{2603} \u{65e5}", "last\r"];
        for step in [1, 2, 3, 7, 1 << 20] {
            for max_lines in [1, 2, 3, 100] {
                let got = all_lines(input, step, max_lines, false).unwrap();
                assert_eq!(got, expected, "step {step}, max_lines {max_lines}");
            }
        }
        assert!(all_lines(b"", 1, 4, false).unwrap().is_empty());
        assert_eq!(all_lines(b"\n", 1, 4, false).unwrap(), [""]);
    }

    #[test]
    fn count_lines_counts_what_the_chunker_reads() {
        let dir = tempfile::tempdir().unwrap();
        for input in [
            &b""[..],
            b"\n",
            b"a",
            b"a\n",
            b"a\r\n\nb c\n\r\n\rx\r\nlast\r",
            b"\n\n\nx",
        ] {
            let path = dir.path().join("in.txt");
            std::fs::write(&path, input).unwrap();
            let want = all_lines(input, 3, 2, true).unwrap().len();
            let got = count_lines(path.to_str().unwrap()).unwrap();
            assert_eq!(got, Some(want), "{input:?}");
        }
        // A block boundary inside the input.
        let big = vec![b'x'; READ_BLOCK + 5];
        let path = dir.path().join("big.txt");
        std::fs::write(&path, &big).unwrap();
        assert_eq!(count_lines(path.to_str().unwrap()).unwrap(), Some(1));
        assert_eq!(count_lines("-").unwrap(), None);
    }

    #[test]
    fn chunker_names_the_bad_line_or_replaces_it() {
        let input = b"ok\nfine\nbad \xff byte\nafter\n";
        for max_lines in [1, 2, 10] {
            let err = all_lines(input, 3, max_lines, false)
                .unwrap_err()
                .to_string();
            assert!(err.contains("line 3: invalid UTF-8 at byte 5"), "{err}");
            let got = all_lines(input, 3, max_lines, true).unwrap();
            assert_eq!(got, ["ok", "fine", "bad \u{fffd} byte", "after"]);
        }
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(Format::infer("a.npy"), Format::Npy);
        assert_eq!(Format::infer("a.safetensors"), Format::Safetensors);
        assert_eq!(Format::infer("-"), Format::Jsonl);
        assert_eq!(Format::infer("a.jsonl"), Format::Jsonl);
        assert_eq!(Format::infer("dir/a.parquet"), Format::Parquet);
        for (input, want) in [
            ("a.parquet", InputFormat::Parquet),
            ("a.PARQUET", InputFormat::Parquet),
            ("a.jsonl", InputFormat::Jsonl),
            ("a.ndjson", InputFormat::Jsonl),
            ("a.csv", InputFormat::Csv),
            ("a.tsv", InputFormat::Tsv),
            ("a.txt", InputFormat::Text),
            ("a", InputFormat::Text),
            ("-", InputFormat::Text),
        ] {
            assert_eq!(InputFormat::infer(input), want, "{input}");
        }
    }
}
