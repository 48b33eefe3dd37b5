//! One module per subcommand, plus shared helpers.

pub mod push;
pub mod resolve;

use std::path::PathBuf;

use anyhow::Result;

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
    if m2v_hub::HfCache::from_env().lookup(&id, &files).is_none() && !m2v_hub::offline_from_env() {
        eprintln!("downloading {arg} from the Hugging Face hub...");
    }
    Ok(m2v_hub::snapshot_or_download(&id, &files)?)
}
