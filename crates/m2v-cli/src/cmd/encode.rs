//! `m2v-cli encode`: one embedding row per input line, streamed in chunks.
//!
//! Stable interface (scripts drive it): `--model <hub id|dir> --input <file|-> --output
//! <file|-> [--format npy|jsonl|safetensors] [--threads N] [--max-length N|none]
//! [--normalize true|false] [--lossy] [--chunk-lines N] [--quiet]`.
//!
//! Lines are split on `\n` (a trailing `\r` is dropped with it); an empty line is an
//! empty text (a zero vector, or a zero vector after normalization); a final line
//! without a newline counts. Files are written to a new temporary file (random name,
//! created exclusively) beside the output and renamed when complete, so a failure
//! leaves no partial file; npy and safetensors go to stdout (`--output -`) through an
//! anonymous temporary file, since their header needs the final row count.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use m2v_static::EncodeOptions;

use crate::input::{LineReader, MaxLength, load_model};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// numpy `.npy`, little-endian f32, shape `[lines, dim]`.
    Npy,
    /// One JSON array of floats per line.
    Jsonl,
    /// safetensors with one F32 tensor `embeddings` `[lines, dim]`.
    Safetensors,
}

/// Arguments of `m2v-cli encode`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The static model: a local folder, or a hub id `ORG/NAME[@REVISION]` taken from
    /// the Hugging Face cache (downloaded into it first when missing, unless
    /// HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub model: String,
    /// Input text file, one text per line; `-` for stdin.
    #[arg(long, default_value = "-")]
    pub input: String,
    /// Output file; `-` for stdout.
    #[arg(long, default_value = "-")]
    pub output: String,
    /// Output format; default from the output extension (`.npy`, `.safetensors`),
    /// else jsonl.
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

/// Where rows go: stdout directly (jsonl), or a temporary file that is renamed onto
/// the output, or, for npy/safetensors on stdout (whose header needs the row count,
/// known only at the end), copied to stdout when complete.
///
/// Temporary files are always created new: a file beside the output under a random
/// name opened with `O_EXCL` (a symlink planted at a guessed name cannot redirect the
/// write), removed on failure; for stdout an anonymous file (unlinked at once, or
/// `O_TMPFILE`), which nothing can reach and which vanishes with the process.
enum Dest {
    Stdout(BufWriter<io::Stdout>),
    File {
        w: BufWriter<tempfile::NamedTempFile>,
        dest: PathBuf,
    },
    Spool(BufWriter<File>),
}

struct Sink {
    format: Format,
    dim: usize,
    rows: usize,
    dest: Dest,
    line: String,
}

impl Sink {
    fn new(format: Format, output: &str, dim: usize) -> Result<Sink> {
        let mut dest = if output == "-" && format == Format::Jsonl {
            Dest::Stdout(BufWriter::with_capacity(1 << 20, io::stdout()))
        } else if output == "-" {
            let f = tempfile::tempfile().context("creating an anonymous temporary file")?;
            Dest::Spool(BufWriter::with_capacity(1 << 20, f))
        } else {
            let dest = PathBuf::from(output);
            let name = dest
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "out".into());
            let dir = match dest.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let tmp = tempfile::Builder::new()
                .prefix(&format!(".{name}."))
                .suffix(".tmp")
                .tempfile_in(&dir)
                .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
            Dest::File {
                w: BufWriter::with_capacity(1 << 20, tmp),
                dest,
            }
        };
        let preamble = match format {
            Format::Npy => NPY_PREAMBLE,
            Format::Safetensors => ST_PREAMBLE,
            Format::Jsonl => 0,
        };
        match &mut dest {
            Dest::File { w, .. } => w.write_all(&vec![b' '; preamble])?,
            Dest::Spool(w) => w.write_all(&vec![b' '; preamble])?,
            Dest::Stdout(_) => {}
        }
        Ok(Sink {
            format,
            dim,
            rows: 0,
            dest,
            line: String::new(),
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match &mut self.dest {
            Dest::Stdout(s) => s,
            Dest::File { w, .. } => w,
            Dest::Spool(w) => w,
        }
    }

    fn write_rows(&mut self, data: &[f32]) -> Result<()> {
        self.rows += data.len() / self.dim.max(1);
        match self.format {
            Format::Jsonl => {
                for row in data.chunks_exact(self.dim.max(1)) {
                    let mut line = std::mem::take(&mut self.line);
                    line.clear();
                    line.push('[');
                    for (j, x) in row.iter().enumerate() {
                        if j > 0 {
                            line.push(',');
                        }
                        if x.is_finite() {
                            use std::fmt::Write as _;
                            let _ = write!(line, "{x}");
                        } else {
                            line.push_str("null");
                        }
                    }
                    line.push_str("]\n");
                    self.writer().write_all(line.as_bytes())?;
                    self.line = line;
                }
            }
            Format::Npy | Format::Safetensors => {
                let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
                self.writer().write_all(&bytes)?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<usize> {
        let rows = self.rows;
        let preamble = match self.format {
            Format::Npy => Some(npy_preamble(rows, self.dim)),
            Format::Safetensors => Some(st_preamble(rows, self.dim)?),
            Format::Jsonl => None,
        };
        let put_preamble = |f: &mut dyn WriteSeek| -> Result<()> {
            if let Some(p) = &preamble {
                f.seek(SeekFrom::Start(0))?;
                f.write_all(p)?;
            }
            Ok(())
        };
        match self.dest {
            Dest::Stdout(mut s) => s.flush()?,
            Dest::File { w, dest } => {
                let mut tmp = w.into_inner().map_err(|e| e.into_error())?;
                put_preamble(tmp.as_file_mut())?;
                tmp.as_file().sync_all().ok();
                tmp.persist(&dest).map_err(|e| e.error).with_context(|| {
                    format!("renaming the temporary file to {}", dest.display())
                })?;
            }
            Dest::Spool(w) => {
                let mut f = w.into_inner().map_err(|e| e.into_error())?;
                put_preamble(&mut f)?;
                f.seek(SeekFrom::Start(0))?;
                let mut out = io::stdout().lock();
                io::copy(&mut f, &mut out).context("writing to stdout")?;
                out.flush()?;
            }
        }
        Ok(rows)
    }
}

/// A file the preamble is written back into.
trait WriteSeek: Write + Seek {}
impl<T: Write + Seek> WriteSeek for T {}

fn open_input(input: &str) -> Result<(Box<dyn Read>, Option<u64>)> {
    if input == "-" {
        return Ok((Box::new(io::stdin().lock()), None));
    }
    let f = File::open(input).with_context(|| format!("opening {input}"))?;
    let len = f.metadata().ok().map(|m| m.len());
    Ok((Box::new(f), len))
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
/// whatever dimension the model declares.
const CHUNK_BYTES: usize = 64 << 20;

/// Lines per chunk for a model of `dim` columns: `chunk_lines`, or fewer where
/// `chunk_lines × dim` f32 values would exceed [`CHUNK_BYTES`] (at least one).
fn lines_per_chunk(chunk_lines: usize, dim: usize) -> usize {
    let per_line = dim.max(1).saturating_mul(size_of::<f32>());
    chunk_lines.min((CHUNK_BYTES / per_line).max(1))
}

pub fn run(a: Args) -> Result<()> {
    if a.chunk_lines == 0 {
        bail!("--chunk-lines must be at least 1");
    }
    let model = load_model(&a.model)?;
    let format = a.format.unwrap_or_else(|| Format::infer(&a.output));
    let mut opts = EncodeOptions::new().threads(a.threads.unwrap_or(0));
    if let Some(MaxLength(m)) = a.max_length {
        opts = opts.max_length(m);
    }
    if let Some(n) = a.normalize {
        opts = opts.normalize(n);
    }
    let (input, total) = open_input(&a.input)?;
    let pb = progress(a.quiet, total);
    let mut reader = LineReader::new(BufReader::with_capacity(1 << 20, input), a.lossy);
    let mut sink = Sink::new(format, &a.output, model.dim())?;
    let chunk_lines = lines_per_chunk(a.chunk_lines, model.dim());
    let mut texts: Vec<String> = Vec::with_capacity(chunk_lines.min(1 << 16));
    let mut out = Vec::new();
    loop {
        texts.clear();
        while texts.len() < chunk_lines {
            match reader
                .next_line()
                .with_context(|| format!("reading {}", a.input))?
            {
                Some(t) => texts.push(t),
                None => break,
            }
        }
        if texts.is_empty() {
            break;
        }
        out.clear();
        out.resize(texts.len() * model.dim(), 0.0);
        model.encode_to_slice(&texts, &opts, &mut out);
        sink.write_rows(&out)?;
        if let Some(pb) = &pb {
            pb.set_position(reader.bytes_read());
            pb.set_message(format!("{} lines", reader.lines_read()));
        }
    }
    let rows = sink.finish()?;
    if let Some(pb) = pb {
        pb.finish_with_message(format!("{rows} lines"));
    }
    Ok(())
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
        assert_eq!(lines_per_chunk(65_536, 256), 65_536);
        assert_eq!(lines_per_chunk(10, 1 << 30), 1);
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(Format::infer("a.npy"), Format::Npy);
        assert_eq!(Format::infer("a.safetensors"), Format::Safetensors);
        assert_eq!(Format::infer("-"), Format::Jsonl);
        assert_eq!(Format::infer("a.jsonl"), Format::Jsonl);
    }
}
