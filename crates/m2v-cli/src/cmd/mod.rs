//! One module per subcommand, plus shared helpers.

pub mod resolve;

use std::path::PathBuf;

use anyhow::Result;

/// A model argument: an existing local folder, else a hub id resolved through the
/// Hugging Face cache.
pub fn model_dir(arg: &str) -> Result<PathBuf> {
    let p = PathBuf::from(arg);
    if p.is_dir() {
        return Ok(p);
    }
    let id = m2v_hub::RepoId::parse(arg)
        .map_err(|e| anyhow::anyhow!("`{arg}` is neither a folder nor a valid hub id ({e})"))?;
    Ok(m2v_hub::HfCache::from_env().snapshot(&id)?)
}
