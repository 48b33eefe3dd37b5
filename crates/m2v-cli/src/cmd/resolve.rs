//! `m2v-cli resolve --model ID`: where a model lives on disk.

use anyhow::Result;

/// Arguments of `m2v-cli resolve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: super::ModelArg,
}

pub fn run(a: Args) -> Result<()> {
    println!("{}", super::model_dir(a.model.get())?.display());
    Ok(())
}
