//! `m2v-cli resolve ID`: where a model lives on disk.

use anyhow::Result;

/// Arguments of `m2v-cli resolve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A hub id `ORG/NAME[@REVISION]` or a local folder.
    pub model: String,
}

pub fn run(a: Args) -> Result<()> {
    println!("{}", super::model_dir(&a.model)?.display());
    Ok(())
}
