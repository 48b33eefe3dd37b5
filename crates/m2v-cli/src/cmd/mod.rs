//! One module per subcommand, plus shared helpers.

pub mod convert;
pub mod distill;
pub mod encode;
pub mod inspect;
pub mod push;
pub mod resolve;
pub mod serve;
pub mod tokenize;
pub mod train;

use std::path::PathBuf;

use anyhow::Result;

/// The model a subcommand works on: `--model MODEL`, or the same as the first
/// positional argument (the older spelling, kept as an alias).
#[derive(Debug, clap::Args)]
pub struct ModelArg {
    /// The model: a local folder, or a hub id `ORG/NAME[@REVISION]` taken from the
    /// Hugging Face cache (downloaded into it first when missing, unless HF_HUB_OFFLINE=1).
    #[arg(long = "model", value_name = "MODEL")]
    flag: Option<String>,
    /// Same as --model.
    #[arg(
        value_name = "MODEL",
        conflicts_with = "flag",
        required_unless_present = "flag"
    )]
    positional: Option<String>,
}

impl ModelArg {
    /// The model as given.
    pub fn get(&self) -> &str {
        self.flag
            .as_deref()
            .or(self.positional.as_deref())
            .unwrap_or_default()
    }
}

/// `--quantize-to`: the dtypes a model2vec matrix is stored in (`float16` or `f16`, ...).
pub fn parse_storable_dtype(s: &str) -> Result<m2v_static::Dtype, String> {
    let d: m2v_static::Dtype = s.parse()?;
    if m2v_static::Dtype::STORABLE.contains(&d) {
        Ok(d)
    } else {
        Err(format!(
            "cannot store a model as {s}: use float16, float32, float64 or int8 (f16, f32, f64, i8)"
        ))
    }
}

/// A model argument: an existing local folder, else a hub id resolved through the
/// Hugging Face cache, downloading the model's files when the cache lacks them (unless
/// `HF_HUB_OFFLINE=1`).
pub fn model_dir(arg: &str) -> Result<PathBuf> {
    let p = PathBuf::from(arg);
    if p.is_dir() {
        return Ok(p);
    }
    let id = m2v_hub::RepoId::parse(arg)
        .map_err(|e| anyhow::anyhow!("`{arg}` is neither a folder nor a valid hub id ({e})"))?;
    let files = m2v_hub::FileSelection::model();
    let hub = m2v_hub::Hub::from_env();
    if let Some(dir) = hub.cache().lookup(&id, &files) {
        return Ok(dir);
    }
    if !m2v_hub::offline_from_env() {
        eprintln!("downloading {arg} from the Hugging Face hub...");
    }
    // A one-line progress report per file on a terminal (stderr), nothing when piped.
    let hub = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        hub.with_progress(|path, done, total| {
            // A remote file name: printed escaped (no terminal control sequences).
            let path = m2v_hub::printable(path);
            let mb = |b: u64| b as f64 / 1e6;
            match total {
                Some(t) => eprint!("\r  {path}: {:.1}/{:.1} MB\x1b[K", mb(done), mb(t)),
                None => eprint!("\r  {path}: {:.1} MB\x1b[K", mb(done)),
            }
            if total == Some(done) {
                eprintln!();
            }
        })
    } else {
        hub
    };
    Ok(hub.snapshot_or_download(&id, &files)?)
}
