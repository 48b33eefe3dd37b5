//! `m2v-cli push DIR ORG/NAME`: publish a model folder on the Hugging Face hub.

use std::path::PathBuf;

use anyhow::{Context, Result};
use m2v_hub::{PushOptions, Token};

/// Arguments of `m2v-cli push`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model folder to upload (every file in it, `.git` excluded).
    pub dir: PathBuf,
    /// The target repository `ORG/NAME` (or `ORG/NAME@BRANCH`); created if missing.
    pub repo: String,
    /// Create the repository as private (ignored when it already exists).
    #[arg(long)]
    pub private: bool,
    /// Access token with write permission (default: $HF_TOKEN, then the token file of
    /// `huggingface-cli login`).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// The commit message.
    #[arg(long, short = 'm', value_name = "MESSAGE")]
    pub message: Option<String>,
}

pub fn run(a: Args) -> Result<()> {
    let options = PushOptions {
        private: a.private,
        token: a.token.and_then(Token::new),
        message: a.message,
    };
    let info = m2v_hub::push_folder(&a.dir, &a.repo, options)
        .with_context(|| format!("pushing {} to {}", a.dir.display(), a.repo))?;
    eprintln!(
        "committed {} files ({} through LFS) as {}",
        info.files.len(),
        info.lfs_files,
        info.oid
    );
    println!("{}", info.commit_url);
    Ok(())
}
