//! [`StaticModel`]: loading (folders, bytes, options) and encoding.

use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use m2v_tokenize::json::Value;

use crate::buffer::Buffer;
use crate::config::Config;
use crate::convert::convert;
use crate::embeddings::Embeddings;
use crate::error::Error;
use crate::kernels::AHEAD;
use crate::layout::{Files, Layout};
use crate::promote::Promotion;
use crate::safetensors::{self, Dtype, Header, TensorInfo};
use crate::scratch::{Scratch, ScratchPool};
use crate::table::{self, Lookup, TABLE_DTYPES, Table, Weights};
use crate::tokenizer::TextTokenizer;
use m2v_tokenize::TokenizerScratch;

pub use crate::scratch::EncodeScratch;

/// The largest embedding dimension a model may declare. Every encoded text costs
/// `dim` floats of output, so a hostile file with a huge `dim` and a single row would
/// otherwise make `encode` allocate gigabytes for a handful of texts. Real models use
/// 64 to 4096 columns.
pub const MAX_DIM: usize = 16_384;

/// The most embedding rows (and so distinct token ids) a model may declare: token ids
/// are `u32`, and real vocabularies stay below a million tokens.
pub const MAX_ROWS: usize = 1 << 26;

/// Options applied while loading a model (Python's `from_pretrained` arguments).
///
/// ```
/// use m2v_static::{Dtype, LoadOptions};
/// let opts = LoadOptions::new().normalize(false).dimensionality(128).dtype(Dtype::F16);
/// # let _ = opts;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    normalize: Option<bool>,
    max_length: Option<Option<usize>>,
    pub(crate) dimensionality: Option<usize>,
    dtype: Option<Dtype>,
    /// `None`: map only an immutable Hugging Face cache blob (see [`crate::mmap`]).
    memory_map: Option<bool>,
    no_promote: bool,
    /// Promotes after this many tokens, whatever the table size (tests promote the
    /// tiny models).
    #[cfg(test)]
    promote_after: Option<usize>,
}

impl LoadOptions {
    /// The defaults: everything from the model's config.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether [`StaticModel::load`] memory-maps `model.safetensors` instead of reading
    /// it. By default (this option not called) the file is mapped only where it cannot
    /// change under the model: when its resolved path (symlinks followed) is a blob of
    /// the Hugging Face cache (`.../models--ORG--NAME/blobs/HASH`, written once under a
    /// temporary name and renamed, never rewritten); any other file is read into
    /// memory. Mapping is only available on 64-bit unix, where loading then takes the
    /// same time for any table size.
    ///
    /// `true` maps any file: the caller promises it is neither truncated nor rewritten
    /// while the model lives (a truncated mapped file kills the process with SIGBUS
    /// when a row is read; a file rewritten in place changes the model's rows).
    /// `false` always reads.
    ///
    /// Reading also suits long encoding jobs: the file is then read into memory
    /// backed by huge pages where the OS allows it (Linux transparent huge pages), with
    /// the rows aligned to cache lines, and pooling runs faster on a table larger than
    /// the CPU caches, for a slower load (measurements in `docs/bench.md`, "Tuning
    /// notes"). A mapped table gets most of that speed anyway once the model has encoded
    /// enough text to repay copying it (see [`LoadOptions::promote`]).
    pub fn memory_map(mut self, map: bool) -> Self {
        self.memory_map = Some(map);
        self
    }

    /// Whether a memory-mapped table of 8 MiB or more is copied into the model's own
    /// memory (dense, cache-line aligned, on huge pages where the OS allows) once the
    /// model has pooled 32 tokens per table row (default: true). The copy replaces the
    /// mapped pages, so the table stays resident once; results are bit-identical before
    /// and after. The copy is made once it has paid for itself, and encoding runs faster
    /// from then on (measurements in `docs/bench.md`, "Tuning notes"). Pass `false` to
    /// keep the table mapped for the model's whole life (e.g. many processes sharing one
    /// page cache copy).
    pub fn promote(mut self, promote: bool) -> Self {
        self.no_promote = !promote;
        self
    }

    /// Overrides the config's `normalize` (default: the config's value, else false).
    pub fn normalize(mut self, normalize: bool) -> Self {
        self.normalize = Some(normalize);
        self
    }

    /// Overrides the config's `max_length` (default: the config's value, else 512);
    /// `None` disables truncation.
    pub fn max_length(mut self, max_length: Option<usize>) -> Self {
        self.max_length = Some(max_length);
        self
    }

    /// Keeps only the first `dim` columns of the embeddings (Matryoshka/PCA-ordered
    /// models). Free: rows are read with a stride, nothing is copied.
    pub fn dimensionality(mut self, dim: usize) -> Self {
        self.dimensionality = Some(dim);
        self
    }

    /// Converts the embeddings to F32, F16, F64 or I8 at load time (copies the matrix),
    /// like Python's `quantize_to`.
    pub fn dtype(mut self, dtype: Dtype) -> Self {
        self.dtype = Some(dtype);
        self
    }
}

/// Options for one encode call (Python's `encode` arguments). Results never depend on
/// `batch_size` or `threads`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeOptions {
    max_length: Option<Option<usize>>,
    normalize: Option<bool>,
    batch_size: usize,
    threads: usize,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            max_length: None,
            normalize: None,
            batch_size: 4096,
            threads: 0,
        }
    }
}

impl EncodeOptions {
    /// The defaults: the model's `max_length` and `normalize`, batches of 4096 texts,
    /// all available cores when there is more than one batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maximum tokens per text (`None`: no truncation). Default: the model's.
    pub fn max_length(mut self, max_length: Option<usize>) -> Self {
        self.max_length = Some(max_length);
        self
    }

    /// Whether to L2-normalize. Default: the model's.
    pub fn normalize(mut self, normalize: bool) -> Self {
        self.normalize = Some(normalize);
        self
    }

    /// Texts per unit of work handed to a thread (at least 1; at most, since a call
    /// with fewer than `threads × batch_size` texts is split so that every thread gets
    /// work). Larger batches are faster per text (measurements in `docs/bench.md`,
    /// "Tuning notes").
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Number of threads; 0 (the default) means all available cores.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }
}

/// A loaded model2vec static embedding model: a tokenizer, an embedding matrix (with
/// optional vocabulary-quantization `mapping` and `weights`) and the inference settings.
///
/// `StaticModel` is `Send + Sync`: share it between threads by reference or `Arc`.
#[derive(Debug)]
pub struct StaticModel {
    tokenizer: TextTokenizer,
    lookup: Lookup,
    /// Set when `lookup`'s table is memory-mapped and large (see [`crate::promote`]).
    promotion: Option<Promotion>,
    /// Working memory of the encoding threads, kept between calls.
    scratch: ScratchPool,
    unk_id: Option<u32>,
    vocab_size: usize,
    median_token_length: usize,
    normalize: bool,
    max_length: Option<usize>,
    config: Config,
    layout: Option<Layout>,
    stored_dtype: Dtype,
    stored_dim: usize,
    dir: Option<PathBuf>,
    /// Where `tokenizer.json` came from, for [`StaticModel::save_pretrained`].
    tokenizer_source: TokenizerSource,
}

/// Where a model's `tokenizer.json` came from: the file is re-read when the model is
/// saved (a folder's files are not kept in memory), bytes given to
/// [`StaticModel::from_bytes`] are kept.
#[derive(Debug, Clone)]
pub(crate) enum TokenizerSource {
    File(PathBuf),
    Bytes(std::sync::Arc<[u8]>),
}

/// Where the parts came from, for error messages.
struct Sources<'a> {
    safetensors: Option<&'a Path>,
    tokenizer: Option<&'a Path>,
}

fn read(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    crate::files::read_regular(path, Some(limit))
}

/// Reads the safetensors file into memory backed by transparent huge pages where the
/// OS offers them: the rows of a text are scattered over the whole table, and with
/// 4 KiB pages most of them also miss the TLB (pooling measured slower), and with its
/// rows aligned to cache lines (see below). Slower to load than a memory map, which is
/// why mapping stays the default (measurements in `docs/bench.md`, "Tuning notes").
fn read_huge(path: &Path) -> Result<Buffer, Error> {
    use std::io::Read;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let (mut f, len) = crate::files::open_regular(path, None)?;
    let len = usize::try_from(len).map_err(|e| io(std::io::Error::other(e)))?;
    if len < 8 {
        // Too short for a header: read it as it is, the parser names the problem.
        let mut v = vec![0u8; len];
        f.read_exact(&mut v).map_err(io)?;
        return Ok(Buffer::from(v));
    }
    let mut head = [0u8; 8];
    f.read_exact(&mut head).map_err(io)?;
    // The tensor data starts after the 8-byte length and the header: place the file
    // so that this start is 64-byte aligned, and rows of a multiple of 64 bytes (256
    // f32 or 512 f16 columns) each span whole cache lines (with potion-base-8M's
    // header, every 1 KiB row otherwise touches 17 lines and every 64-byte load is
    // split between two: pooling measured slower; see docs/bench.md).
    let data = (8 + u64::from_le_bytes(head) % 64) as usize;
    let (mut v, off) = crate::mmap::huge_aligned(len, data);
    v[off..off + 8].copy_from_slice(&head);
    f.read_exact(&mut v[off + 8..off + len]).map_err(io)?;
    Ok(Buffer::owned_at(v, off, len))
}

fn at(e: Error, p: Option<&Path>) -> Error {
    match p {
        Some(p) => e.with_path(p),
        None => e,
    }
}

impl StaticModel {
    /// Loads a model from a folder in any of the three layouts (see [`Layout`]), or
    /// from a hub id (`minishlab/potion-base-8M`, `ORG/NAME@REVISION`) in the local
    /// Hugging Face cache (see [`crate::hub`]; downloaded first with the `download`
    /// feature), with the config's settings.
    pub fn from_pretrained(name: impl AsRef<Path>) -> Result<Self, Error> {
        Self::load(name, &LoadOptions::default())
    }

    /// Loads a model from a folder or a cached hub id (as [`StaticModel::from_pretrained`])
    /// with options.
    pub fn load(name: impl AsRef<Path>, opts: &LoadOptions) -> Result<Self, Error> {
        let dir = &crate::hub::resolve(name)?;
        let files: Files = Layout::detect(dir)?;
        let config = Config::parse(&read(&files.config, crate::files::MAX_CONFIG_BYTES)?)
            .map_err(|e| e.with_path(&files.config))?;
        // The tokenizer first, so that its JSON is freed before the (larger) safetensors
        // file is read: peak memory stays near the size of the files.
        let tokenizer =
            TextTokenizer::from_bytes(&read(&files.tokenizer, crate::files::MAX_TOKENIZER_BYTES)?)
                .map_err(|source| Error::Tokenizer {
                    path: Some(files.tokenizer.clone()),
                    source,
                })?;
        let map = opts
            .memory_map
            .unwrap_or_else(|| crate::mmap::is_immutable_blob(&files.safetensors));
        let mapped = if !map {
            None
        } else {
            let (file, _) = crate::files::open_regular(&files.safetensors, None)?;
            crate::mmap::map(&file).map_err(|source| Error::Io {
                path: files.safetensors.clone(),
                source,
            })?
        };
        let mapped = mapped.map(std::sync::Arc::new);
        let st = match &mapped {
            Some(m) => Buffer::shared(m.clone()),
            None => read_huge(&files.safetensors)?,
        };
        let mut m = Self::build(
            tokenizer,
            st,
            config,
            &[files.layout.tensor_name()],
            opts,
            &Sources {
                safetensors: Some(&files.safetensors),
                tokenizer: Some(&files.tokenizer),
            },
        )?;
        m.layout = Some(files.layout);
        if let Some(mapped) = mapped
            && !opts.no_promote
            && m.lookup.table.buf.is_borrowed()
        {
            #[cfg(test)]
            let forced = opts
                .promote_after
                .map(|n| Promotion::after(n, mapped.clone()));
            #[cfg(not(test))]
            let forced = None;
            m.promotion = forced.or_else(|| Promotion::new(&m.lookup, mapped));
        }
        m.dir = Some(dir.to_path_buf());
        m.tokenizer_source = TokenizerSource::File(files.tokenizer.clone());
        Ok(m)
    }

    /// Loads a model from the contents of its three files, without any I/O.
    ///
    /// `safetensors` is kept, not copied: pass a `Vec<u8>`, a `&'static [u8]` (e.g.
    /// `include_bytes!`) or a [`Buffer::shared`] owner (e.g. a memory map). The
    /// embedding tensor is `embeddings` (model2vec layout), else `embedding.weight`
    /// (sentence-transformers layouts).
    pub fn from_bytes(
        tokenizer_json: &[u8],
        safetensors: impl Into<Buffer>,
        config_json: &[u8],
        opts: &LoadOptions,
    ) -> Result<Self, Error> {
        let config = Config::parse(config_json)?;
        let tokenizer = TextTokenizer::from_bytes(tokenizer_json)
            .map_err(|source| Error::Tokenizer { path: None, source })?;
        let mut m = Self::build(
            tokenizer,
            safetensors.into(),
            config,
            &["embeddings", "embedding.weight"],
            opts,
            &Sources {
                safetensors: None,
                tokenizer: None,
            },
        )?;
        m.tokenizer_source = TokenizerSource::Bytes(std::sync::Arc::from(tokenizer_json));
        Ok(m)
    }

    fn build(
        tokenizer: TextTokenizer,
        st: Buffer,
        config: Config,
        tensor_names: &[&str],
        opts: &LoadOptions,
        src: &Sources<'_>,
    ) -> Result<Self, Error> {
        let header = safetensors::read_header(st.as_slice()).map_err(|e| at(e, src.safetensors))?;
        let tokens = tokenizer.tokens();
        let vocab_size = tokens.len();
        let median_token_length = median_len(&tokens).ok_or_else(|| Error::Tokenizer {
            path: src.tokenizer.map(Path::to_path_buf),
            source: m2v_tokenize::Error::Format {
                path: None,
                field: "model.vocab".into(),
                message: "the vocabulary is empty".into(),
            },
        })?;
        let ids = tokenizer.id_bound(&tokens);
        let lookup = lookup(&header, st, tensor_names, vocab_size, ids)
            .map_err(|e| at(e, src.safetensors))?;
        drop(tokens);
        let stored_dtype = lookup.table.dtype;
        let stored_dim = lookup.table.dim;
        let mut lookup = lookup;
        if let Some(to) = opts.dtype {
            lookup.table = convert(&lookup.table, to)?;
        }
        if let Some(k) = opts.dimensionality {
            if k == 0 || k > lookup.table.dim {
                return Err(Error::InvalidOption {
                    option: "dimensionality",
                    message: format!(
                        "{k} must be between 1 and the model's dimension {}",
                        lookup.table.dim
                    ),
                });
            }
            lookup.table.dim = k;
        }
        let unk_id = tokenizer.unk_id();
        Ok(StaticModel {
            unk_id,
            vocab_size,
            median_token_length,
            normalize: opts
                .normalize
                .unwrap_or_else(|| config.normalize().unwrap_or(false)),
            max_length: opts.max_length.unwrap_or_else(|| config.max_length()),
            tokenizer,
            lookup,
            promotion: None,
            scratch: ScratchPool::default(),
            config,
            layout: None,
            stored_dtype,
            stored_dim,
            dir: None,
            tokenizer_source: TokenizerSource::Bytes(std::sync::Arc::from(&[][..])),
        })
    }

    /// The output dimension (after any dimensionality truncation).
    pub fn dim(&self) -> usize {
        self.lookup.table.dim
    }

    /// Number of tokens in the vocabulary (added tokens included).
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// Number of rows of the embedding matrix (smaller than the vocabulary for
    /// vocabulary-quantized models).
    pub fn rows(&self) -> usize {
        self.lookup.table.rows
    }

    /// The tokens in id order, added tokens included.
    pub fn tokens(&self) -> Vec<&str> {
        self.tokenizer.tokens()
    }

    /// The dtype the embeddings are held in (after any load-time conversion).
    pub fn dtype(&self) -> Dtype {
        self.lookup.table.dtype
    }

    /// The dtype and number of columns of the embedding tensor in the file.
    pub fn stored(&self) -> (Dtype, usize) {
        (self.stored_dtype, self.stored_dim)
    }

    /// The default `normalize` of [`StaticModel::encode`].
    pub fn normalize(&self) -> bool {
        self.normalize
    }

    /// The default `max_length` of [`StaticModel::encode`] (`None`: no truncation).
    pub fn max_length(&self) -> Option<usize> {
        self.max_length
    }

    /// `floor(median)` of the vocabulary's token lengths in code points, added tokens
    /// included: texts are cut to `max_length ×` this many characters before tokenizing.
    pub fn median_token_length(&self) -> usize {
        self.median_token_length
    }

    /// The unknown-token id that is removed before pooling.
    pub fn unk_id(&self) -> Option<u32> {
        self.unk_id
    }

    /// The tokenizer's model type (`WordPiece`, `Unigram`, `BPE`, `WordLevel`).
    pub fn tokenizer_type(&self) -> &str {
        self.tokenizer.model_type()
    }

    /// The whole config JSON.
    pub fn config(&self) -> &Value {
        self.config.raw()
    }

    /// The token-to-row lookup (for [`crate::save`]).
    pub(crate) fn lookup(&self) -> &Lookup {
        &self.lookup
    }

    /// Where `tokenizer.json` came from (for [`crate::save`]).
    pub(crate) fn tokenizer_source(&self) -> &TokenizerSource {
        &self.tokenizer_source
    }

    /// The folder layout, when loaded from a folder.
    pub fn layout(&self) -> Option<Layout> {
        self.layout
    }

    /// The folder, when loaded from one.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// `true` when the model has per-token `weights`.
    pub fn has_weights(&self) -> bool {
        self.lookup.weights.is_some()
    }

    /// `true` when the model has a token → row `mapping` (vocabulary quantization).
    pub fn has_mapping(&self) -> bool {
        self.lookup.mapping.is_some()
    }

    /// `true` when the embedding bytes are borrowed from the caller.
    pub fn is_borrowed(&self) -> bool {
        self.lookup.table.buf.is_borrowed()
    }

    /// Encodes texts with the model's defaults.
    pub fn encode<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Embeddings {
        self.encode_with(texts, &EncodeOptions::default())
    }

    /// Encodes one text with the model's defaults.
    pub fn encode_single(&self, text: &str) -> Vec<f32> {
        let mut out = vec![0.0; self.dim()];
        self.encode_into(
            text,
            &EncodeOptions::default(),
            &mut out,
            &mut EncodeScratch::default(),
        );
        out
    }

    /// Encodes texts: one row per text, in order.
    pub fn encode_with<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        opts: &EncodeOptions,
    ) -> Embeddings {
        Embeddings::filled_by(texts.len(), self.dim(), |out| {
            self.encode_uninit(texts, opts, out, &mut []);
        })
    }

    /// [`StaticModel::encode_with`] that also returns, per text, the number of tokens
    /// it pooled (after truncation, unknown tokens removed): what a server reports as
    /// usage, counted in the same pass, not by tokenizing twice.
    pub fn encode_counting<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        opts: &EncodeOptions,
    ) -> (Embeddings, Vec<u32>) {
        let mut counts = vec![0u32; texts.len()];
        let e = Embeddings::filled_by(texts.len(), self.dim(), |out| {
            self.encode_uninit(texts, opts, out, &mut counts);
        });
        (e, counts)
    }

    /// Encodes texts into `out` (`texts.len() × dim` values, row-major), reusing the
    /// caller's buffer. Rows beyond `out`'s length are not computed.
    pub fn encode_to_slice<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        opts: &EncodeOptions,
        out: &mut [f32],
    ) {
        // SAFETY: `MaybeUninit<f32>` has the layout of `f32`, and `encode_uninit` only
        // writes initialized values, so `out` stays initialized.
        let out = unsafe { &mut *(out as *mut [f32] as *mut [MaybeUninit<f32>]) };
        self.encode_uninit(texts, opts, out, &mut []);
    }

    /// [`StaticModel::encode_to_slice`] into memory that may be uninitialized: every
    /// row it computes (`min(texts.len(), out.len() / dim)` rows) is written in full,
    /// so a `texts.len() × dim` buffer comes back initialized. When `counts` is not
    /// empty (it then has `texts.len()` entries), each text's pooled token count is
    /// written to it.
    fn encode_uninit<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        opts: &EncodeOptions,
        out: &mut [MaybeUninit<f32>],
        counts: &mut [u32],
    ) {
        let dim = self.dim();
        let max_length = opts.max_length.unwrap_or(self.max_length);
        let normalize = opts.normalize.unwrap_or(self.normalize);
        let wanted = match opts.threads {
            0 => available_cores(),
            t => t,
        }
        .max(1);
        // Smaller batches than asked when that lets every thread take one (but not below
        // 256 texts, where handing out work would cost more than it saves).
        let batch = opts
            .batch_size
            .min(texts.len().div_ceil(wanted).max(256))
            .max(1);
        let n_batches = texts.len().div_ceil(batch);
        let threads = wanted.min(n_batches).max(1);
        let run = |texts: &[S],
                   out: &mut [MaybeUninit<f32>],
                   counts: &mut [u32],
                   s: &mut EncodeScratch| {
            let EncodeScratch(s, tok) = s;
            let mut ids = std::mem::take(&mut s.group_ids);
            let mut ends = std::mem::take(&mut s.group_ends);
            let texts = &texts[..texts.len().min(out.len() / dim.max(1))];
            let mut next = 0;
            let mut rows = out.chunks_exact_mut(dim);
            let mut counted = 0;
            loop {
                // Tokenize a group of texts, then pool them.
                ids.clear();
                ends.clear();
                while let Some(t) = texts.get(next) {
                    // The caller's strings may lie anywhere in memory (e.g. a shuffled
                    // `Vec<String>`): start loading the text after next.
                    if let Some(a) = texts.get(next + 2) {
                        prefetch_text(a.as_ref());
                    }
                    next += 1;
                    self.tokenize_append(t.as_ref(), max_length, &mut ids, Some(&mut *tok));
                    ends.push(ids.len());
                    if ids.len() >= GROUP_IDS {
                        break;
                    }
                }
                if ends.is_empty() {
                    break;
                }
                if !counts.is_empty() {
                    let mut from = 0;
                    for (c, &end) in counts[counted..].iter_mut().zip(&ends) {
                        *c = u32::try_from(end - from).unwrap_or(u32::MAX);
                        from = end;
                    }
                    counted += ends.len();
                }
                let lookup = self.lookup_for(ids.len());
                let mut from = 0;
                for (k, (&end, row)) in ends.iter().zip(rows.by_ref()).enumerate() {
                    // The first rows of the next text load while this one is summed
                    // (the rows further into a text are prefetched by the summing,
                    // `AHEAD` rows ahead; as many here measured faster than fewer, see
                    // docs/bench.md).
                    let ahead = ends.get(k + 1).map_or(end, |&e| e.min(end + AHEAD));
                    lookup.prefetch(&ids[end..ahead]);
                    lookup.pool_uninit(&ids[from..end], row, s, normalize);
                    from = end;
                }
            }
            s.group_ids = ids;
            s.group_ends = ends;
        };
        if threads == 1 {
            let mut s = self.scratch.take();
            run(texts, out, counts, &mut s);
            self.scratch.give(s);
            return;
        }
        // Empty `counts` stays empty for every batch.
        let count_chunks = counts
            .chunks_mut(batch)
            .map(Some)
            .chain(std::iter::repeat_with(|| None));
        let work = Mutex::new(
            texts
                .chunks(batch)
                .zip(out.chunks_mut(batch * dim))
                .zip(count_chunks),
        );
        let worker = || {
            let mut s = self.scratch.take();
            loop {
                let next = work.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some(((t, o), c)) = next else { break };
                run(t, o, c.unwrap_or(&mut []), &mut s);
            }
            self.scratch.give(s);
        };
        std::thread::scope(|sc| {
            for _ in 1..threads {
                // When a thread cannot be spawned (e.g. wasm32), the others take its share.
                let _ = std::thread::Builder::new().spawn_scoped(sc, worker);
            }
            worker();
        });
    }

    /// The table to pool from: the promoted copy once it exists (see
    /// [`crate::promote`]), else the loaded one. Both give the same bits.
    #[inline]
    fn active(&self) -> &Lookup {
        self.promotion
            .as_ref()
            .and_then(Promotion::get)
            .unwrap_or(&self.lookup)
    }

    /// [`StaticModel::active`], first counting `tokens` about to be pooled (which may
    /// make the promoted copy).
    #[inline]
    fn lookup_for(&self, tokens: usize) -> &Lookup {
        match &self.promotion {
            Some(p) => p.note(tokens, &self.lookup).unwrap_or(&self.lookup),
            None => &self.lookup,
        }
    }

    /// Encodes one text into `out` (`dim` values) with reusable scratch space: the
    /// allocation-free single-text entry point for streaming callers.
    pub fn encode_into(
        &self,
        text: &str,
        opts: &EncodeOptions,
        out: &mut [f32],
        scratch: &mut EncodeScratch,
    ) {
        let max_length = opts.max_length.unwrap_or(self.max_length);
        let normalize = opts.normalize.unwrap_or(self.normalize);
        self.encode_row(text, max_length, normalize, out, &mut scratch.0);
    }

    #[inline]
    fn encode_row(
        &self,
        text: &str,
        max_length: Option<usize>,
        normalize: bool,
        out: &mut [f32],
        s: &mut Scratch,
    ) {
        let mut ids = std::mem::take(&mut s.ids);
        self.tokenize_into(text, max_length, &mut ids);
        // Counted in bulk: one shared counter update per ~16k tokens, not per text.
        s.pending += ids.len();
        let lookup = if s.pending >= 1 << 14 {
            self.lookup_for(std::mem::take(&mut s.pending))
        } else {
            self.active()
        };
        lookup.pool(&ids, out, s, normalize);
        s.ids = ids;
    }

    /// The token ids that [`StaticModel::encode`] averages for `text`: the text cut to
    /// `max_length × median_token_length` characters, tokenized without special
    /// tokens, truncated to `max_length` ids, unknown tokens removed. Replaces `ids`.
    pub fn tokenize_into(&self, text: &str, max_length: Option<usize>, ids: &mut Vec<u32>) {
        ids.clear();
        self.tokenize_append(text, max_length, ids, None);
    }

    /// [`StaticModel::tokenize_into`] appending to `ids` instead of replacing them,
    /// with the tokenizer's working memory `tok` (the thread's when `None`).
    #[inline]
    fn tokenize_append(
        &self,
        text: &str,
        max_length: Option<usize>,
        ids: &mut Vec<u32>,
        tok: Option<&mut TokenizerScratch>,
    ) {
        let text = match max_length {
            Some(m) => truncate_chars(text, m.saturating_mul(self.median_token_length)),
            None => text,
        };
        self.tokenize_uncut(text, max_length, ids, tok);
    }

    /// Tokenizes `text` as it is (no character cut), truncated to `max_length` ids,
    /// unknown tokens removed, appending to `ids`.
    #[inline]
    fn tokenize_uncut(
        &self,
        text: &str,
        max_length: Option<usize>,
        ids: &mut Vec<u32>,
        tok: Option<&mut TokenizerScratch>,
    ) {
        let base = ids.len();
        match tok {
            Some(t) => self.tokenizer.encode_into_with(text, max_length, ids, t),
            None => self.tokenizer.encode_into(text, max_length, ids),
        }
        if let Some(unk) = self.unk_id {
            let mut kept = base;
            for k in base..ids.len() {
                let id = ids[k];
                if id != unk {
                    ids[kept] = id;
                    kept += 1;
                }
            }
            ids.truncate(kept);
        }
    }

    /// [`StaticModel::tokenize_into`] returning a new vector.
    pub fn tokenize(&self, text: &str, max_length: Option<usize>) -> Vec<u32> {
        let mut ids = Vec::new();
        self.tokenize_into(text, max_length, &mut ids);
        ids
    }

    /// Python `StaticModel.tokenize`'s ids: the whole text tokenized without special
    /// tokens, truncated to `max_length` ids (Python sets the tokenizer's truncation to
    /// the model's `max_length`), unknown tokens removed. Unlike
    /// [`StaticModel::tokenize`], the text is not first cut to `max_length × median
    /// token length` characters: Python's `tokenize` does not cut, its `encode` does.
    pub fn tokenize_like_python(&self, text: &str, max_length: Option<usize>) -> Vec<u32> {
        let mut ids = Vec::new();
        self.tokenize_uncut(text, max_length, &mut ids, None);
        ids
    }

    /// The mean of the (weighted) rows of `ids`, normalized when asked: the pooling
    /// half of [`StaticModel::encode`], for callers that tokenize themselves.
    pub fn pool_ids(&self, ids: &[u32], normalize: bool) -> Vec<f32> {
        let mut out = vec![0.0; self.dim()];
        self.active()
            .pool(ids, &mut out, &mut Scratch::default(), normalize);
        out
    }

    /// Per-token rows (weighted, not averaged, never normalized), one matrix per text,
    /// like Python's `encode_as_sequence`; `max_length` defaults to no truncation there.
    pub fn encode_as_sequence<S: AsRef<str>>(
        &self,
        texts: &[S],
        max_length: Option<usize>,
    ) -> Vec<Embeddings> {
        let dim = self.dim();
        let mut ids = Vec::new();
        texts
            .iter()
            .map(|t| {
                self.tokenize_into(t.as_ref(), max_length, &mut ids);
                let mut data = vec![0.0f32; ids.len() * dim];
                let mut n = 0;
                for &id in &ids {
                    if self
                        .active()
                        .token_row(id, &mut data[n * dim..(n + 1) * dim])
                    {
                        n += 1;
                    }
                }
                data.truncate(n * dim);
                Embeddings::from_vec(data, n, dim).unwrap_or_default()
            })
            .collect()
    }
}

/// Texts are tokenized in groups of about this many ids (256 KiB), then their rows are
/// summed: the tokenizer's tables and the embedding rows then take turns in the caches
/// instead of evicting each other at every text. Groups of thousands of texts measured
/// clearly faster than groups of a few hundred or fewer (see `docs/bench.md`, "Tuning
/// notes").
const GROUP_IDS: usize = 1 << 16;

/// Hints the CPU to load the first two cache lines of `text` (no effect on results).
#[inline(always)]
fn prefetch_text(text: &str) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let p = text.as_ptr();
        // SAFETY: a prefetch is only a hint: it reads nothing the program sees and
        // cannot fault, whatever the address.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p.cast());
            if text.len() > 64 {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64).cast());
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = text;
}

/// `text[:n]` in Unicode code points.
#[inline]
fn truncate_chars(text: &str, n: usize) -> &str {
    // A text of at most n bytes has at most n code points.
    if text.len() <= n {
        return text;
    }
    match text.char_indices().nth(n) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// `int(np.median([len(t) for t in tokens]))` with lengths in code points; `None` for
/// an empty vocabulary (where numpy's median is NaN).
fn median_len(tokens: &[&str]) -> Option<usize> {
    let mut lens: Vec<usize> = tokens.iter().map(|t| t.chars().count()).collect();
    if lens.is_empty() {
        return None;
    }
    lens.sort_unstable();
    let n = lens.len();
    Some(if n % 2 == 1 {
        lens[n / 2]
    } else {
        // numpy averages the two middle values; int() floors the (non-negative) mean.
        (lens[n / 2 - 1] + lens[n / 2]) / 2
    })
}

fn lookup(
    header: &Header,
    st: Buffer,
    tensor_names: &[&str],
    vocab_size: usize,
    (id_bound, top_token): (usize, Option<&str>),
) -> Result<Lookup, Error> {
    let emb = tensor_names
        .iter()
        .find_map(|n| header.get(n))
        .ok_or_else(|| Error::MissingTensor {
            path: None,
            name: tensor_names.join("` or `"),
        })?;
    if !table::is_table_dtype(emb.dtype) {
        return Err(Error::Dtype {
            path: None,
            tensor: emb.name.clone(),
            dtype: emb.dtype.to_string(),
            expected: TABLE_DTYPES,
        });
    }
    let &[rows, dim] = emb.shape.as_slice() else {
        return Err(shape_err(emb, "2 dimensions [rows, dim]".into()));
    };
    if dim == 0 || dim > MAX_DIM {
        return Err(shape_err(
            emb,
            format!("a dimension between 1 and {MAX_DIM} (the limit a model may declare)"),
        ));
    }
    if rows > MAX_ROWS {
        return Err(shape_err(
            emb,
            format!("at most {MAX_ROWS} rows (the limit a model may declare)"),
        ));
    }
    let mapping = match header.get("mapping") {
        None => None,
        Some(t) => Some(read_mapping(t, st.as_slice(), rows, id_bound)?.into()),
    };
    if mapping.is_none() && rows != vocab_size {
        return Err(shape_err(
            emb,
            format!("{vocab_size} rows, one per token of the tokenizer (or a `mapping` tensor)"),
        ));
    }
    // A vocabulary whose ids have gaps reaches past its token count: a token beyond the
    // last row would silently pool as nothing (a zero vector; Python raises IndexError).
    if mapping.is_none() && rows < id_bound {
        return Err(shape_err(
            emb,
            format!(
                "a row for every token id, up to id {} (token `{}`; the vocabulary's ids have gaps)",
                id_bound - 1,
                top_token.unwrap_or("?")
            ),
        ));
    }
    let weights = match header.get("weights") {
        None => None,
        Some(t) => Some(read_weights(t, st.as_slice(), id_bound)?),
    };
    Ok(Lookup {
        table: Table {
            start: emb.start,
            rows,
            stride: dim,
            dim,
            dtype: emb.dtype,
            buf: st,
        },
        mapping,
        weights,
    })
}

fn shape_err(t: &TensorInfo, expected: String) -> Error {
    Error::Shape {
        path: None,
        tensor: t.name.clone(),
        shape: t.shape.clone(),
        expected,
    }
}

/// A per-token vector: one dimension with an entry for every token id below `id_bound`.
fn vector<'a>(t: &TensorInfo, file: &'a [u8], id_bound: usize) -> Result<&'a [u8], Error> {
    match t.shape.as_slice() {
        [n] if *n >= id_bound => {}
        _ => {
            return Err(shape_err(
                t,
                format!("one dimension with at least one entry per token id ({id_bound})"),
            ));
        }
    }
    t.data(file).ok_or_else(|| Error::Safetensors {
        path: None,
        message: format!("tensor `{}` lies outside the buffer", t.name),
    })
}

fn read_mapping(
    t: &TensorInfo,
    file: &[u8],
    rows: usize,
    id_bound: usize,
) -> Result<Vec<u32>, Error> {
    let data = vector(t, file, id_bound)?;
    let vals: Vec<i64> = match t.dtype {
        Dtype::I64 => data
            .as_chunks::<8>()
            .0
            .iter()
            .map(|b| i64::from_le_bytes(*b))
            .collect(),
        Dtype::I32 => data
            .as_chunks::<4>()
            .0
            .iter()
            .map(|b| i64::from(i32::from_le_bytes(*b)))
            .collect(),
        d => {
            return Err(Error::Dtype {
                path: None,
                tensor: t.name.clone(),
                dtype: d.to_string(),
                expected: "I32 or I64",
            });
        }
    };
    vals.iter()
        .enumerate()
        .map(|(token, &v)| match usize::try_from(v) {
            Ok(r) if r < rows => Ok(r as u32),
            _ => Err(Error::BadMapping {
                path: None,
                token,
                value: v,
                rows,
            }),
        })
        .collect()
}

fn read_weights(t: &TensorInfo, file: &[u8], id_bound: usize) -> Result<Weights, Error> {
    let data = vector(t, file, id_bound)?;
    Ok(match t.dtype {
        Dtype::F64 => Weights::F64(
            data.as_chunks::<8>()
                .0
                .iter()
                .map(|b| f64::from_le_bytes(*b))
                .collect(),
        ),
        Dtype::F32 => Weights::F32(
            data.as_chunks::<4>()
                .0
                .iter()
                .map(|b| f32::from_le_bytes(*b))
                .collect(),
        ),
        Dtype::F16 => Weights::F32(
            data.as_chunks::<2>()
                .0
                .iter()
                .map(|b| crate::half::f16_to_f32(u16::from_le_bytes(*b)))
                .collect(),
        ),
        d => {
            return Err(Error::Dtype {
                path: None,
                tensor: t.name.clone(),
                dtype: d.to_string(),
                expected: "F64, F32 or F16",
            });
        }
    })
}

/// `std::thread::available_parallelism`, asked once per process: on Linux it reads the
/// cgroup files and the affinity mask, about 10 µs, which was most of the time of a
/// one-text `encode` call (measured from Python; docs/python.md).
fn available_cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_truncation_counts_code_points() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("héllo", 5), "héllo");
        assert_eq!(truncate_chars("héllo", 50), "héllo");
        assert_eq!(truncate_chars("日本語", 1), "日");
        assert_eq!(truncate_chars("abc", 0), "");
    }

    #[test]
    fn median_like_numpy() {
        assert_eq!(median_len(&["a", "bbb", "cc"]), Some(2));
        // (1 + 4) / 2 = 2.5 -> 2
        assert_eq!(median_len(&["a", "bbbb"]), Some(2));
        assert_eq!(median_len(&["日本", "x", "abc", "##é"]), Some(2));
        assert_eq!(median_len(&[]), None);
    }

    fn tiny(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tiny")
            .join(name)
    }

    /// Texts that use most of the tiny vocabularies, repeated enough to cross the
    /// promotion threshold (32 tokens per row) several times over.
    fn many_texts() -> Vec<String> {
        let base = [
            "A girl is styling her hair.",
            "",
            "the quick brown fox jumps over the lazy dog",
            "☃ 日本語 hello world",
            "Ünïcödé words, numbers 12345 and punctuation!?",
        ];
        (0..600)
            .map(|i| format!("{} {}", base[i % base.len()], base[(i / 5) % base.len()]))
            .collect()
    }

    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    #[test]
    fn promotion_gives_the_same_bits_and_releases_the_mapping() {
        let texts = many_texts();
        for name in [
            "tiny_f32",
            "tiny_f16_norm",
            "tiny_f16_weights64",
            "tiny_f64",
            "tiny_i8_norm",
            "tiny_i8_vq",
            "tiny_st",
        ] {
            for dims in [None, Some(5)] {
                let plain = StaticModel::load(tiny(name), &LoadOptions::new().promote(false))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let mut opts = LoadOptions {
                    promote_after: Some(3000),
                    ..LoadOptions::new().memory_map(true)
                };
                if let Some(k) = dims {
                    opts = opts.dimensionality(k);
                }
                let m = StaticModel::load(tiny(name), &opts).unwrap();
                let p = m
                    .promotion
                    .as_ref()
                    .expect("a mapped model gets a promotion");
                assert!(p.get().is_none(), "{name}: nothing pooled yet");
                let expect = plain.encode_with(&texts, &EncodeOptions::new().threads(1));
                let expect = match dims {
                    // Truncation keeps the first columns (then normalizes them anew).
                    Some(_) => {
                        let t =
                            StaticModel::load(tiny(name), &opts.clone().promote(false)).unwrap();
                        t.encode_with(&texts, &EncodeOptions::new().threads(1))
                    }
                    None => expect,
                };
                // Encoded in calls of 64 texts: the copy is made part-way, at a group.
                let mut got = Vec::new();
                for (k, chunk) in texts.chunks(64).enumerate() {
                    let e = m.encode_with(chunk, &EncodeOptions::new().threads(2));
                    got.extend_from_slice(e.as_slice());
                    if k == 0 {
                        assert!(p.get().is_none(), "{name}: not after one call");
                    }
                }
                let copy = p.get().unwrap_or_else(|| panic!("{name}: promoted"));
                assert_eq!(copy.table.stride, copy.table.dim, "{name}: dense copy");
                assert_eq!(
                    copy.table.buf.as_slice().as_ptr() as usize % 64,
                    0,
                    "{name}: aligned copy"
                );
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(expect.as_slice()), "{name} {dims:?}");
                // The single-text path reads the copy, and the released mapping still
                // reads the same bytes (refaulted from the file).
                let mut row = vec![0.0; m.dim()];
                let mut s = EncodeScratch::default();
                for (k, t) in texts.iter().enumerate().take(20) {
                    m.encode_into(t, &EncodeOptions::new(), &mut row, &mut s);
                    assert_eq!(bits(&row), bits(expect.row(k)), "{name}: text {k}");
                    let ids = m.tokenize(t, m.max_length);
                    let mut old = vec![0.0; m.dim()];
                    m.lookup
                        .pool(&ids, &mut old, &mut Scratch::default(), m.normalize);
                    assert_eq!(bits(&old), bits(expect.row(k)), "{name}: mapped, text {k}");
                }
            }
        }
    }

    #[test]
    fn every_output_value_is_written() {
        // Whatever the buffer held before (here NaN), each row is written in full:
        // `encode_with` relies on it to skip zeroing its output.
        let texts = many_texts();
        for name in ["tiny_f32", "tiny_f16_weights64", "tiny_i8_vq", "tiny_f64"] {
            let m = StaticModel::load(tiny(name), &LoadOptions::new()).unwrap();
            for threads in [1, 2] {
                let opts = EncodeOptions::new().threads(threads).batch_size(7);
                let want = m.encode_with(&texts, &opts);
                let mut buf = vec![f32::NAN; texts.len() * m.dim() + 3];
                m.encode_to_slice(&texts, &opts, &mut buf);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let (rows, rest) = buf.split_at(texts.len() * m.dim());
                assert_eq!(
                    bits(rows),
                    bits(want.as_slice()),
                    "{name}, {threads} threads"
                );
                assert!(
                    rest.iter().all(|x| x.is_nan()),
                    "{name}: past the rows untouched"
                );
                assert!(want.as_slice().iter().all(|x| x.is_finite()), "{name}");
            }
        }
    }

    #[test]
    fn small_or_unmapped_tables_are_not_promoted() {
        let m = StaticModel::load(tiny("tiny_f32"), &LoadOptions::new()).unwrap();
        assert!(m.promotion.is_none(), "below MIN_BYTES");
        let opts = LoadOptions {
            promote_after: Some(3000),
            ..LoadOptions::new().memory_map(true)
        };
        for o in [
            opts.clone().memory_map(false),
            opts.clone().promote(false),
            opts.clone().dtype(Dtype::F16),
        ] {
            let m = StaticModel::load(tiny("tiny_f32"), &o).unwrap();
            assert!(m.promotion.is_none(), "{o:?}");
        }
    }

    #[test]
    fn model_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<StaticModel>();
    }
}
