//! `m2v-cli push --model DIR --repo ORG/NAME`: publish a model folder on the Hugging
//! Face hub (`m2v-cli push DIR ORG/NAME`, the older spelling, still works).

use std::path::PathBuf;

use anyhow::{Context, Result};
use m2v_hub::{PushOptions, Token};

/// Arguments of `m2v-cli push`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model folder to upload (every file in it, `.git` excluded).
    #[arg(long = "model", value_name = "DIR")]
    model: Option<PathBuf>,
    /// The target repository `ORG/NAME` (or `ORG/NAME@BRANCH`); created if missing.
    #[arg(long = "repo", value_name = "ORG/NAME")]
    repo: Option<String>,
    /// `DIR ORG/NAME` as positional arguments (the older spelling of --model and --repo).
    #[arg(value_name = "DIR_AND_REPO", num_args = 0..=2, hide = true)]
    positional: Vec<String>,
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

/// (folder, repository) from the flags and the positional arguments.
fn target(a: &Args) -> Result<(PathBuf, String)> {
    let mut pos = a.positional.iter();
    let dir = match &a.model {
        Some(d) => d.clone(),
        None => PathBuf::from(pos.next().context("which folder? pass --model DIR")?),
    };
    let repo = match &a.repo {
        Some(r) => r.clone(),
        None => pos
            .next()
            .context("which repository? pass --repo ORG/NAME")?
            .clone(),
    };
    if let Some(extra) = pos.next() {
        anyhow::bail!("unexpected argument `{extra}`");
    }
    Ok((dir, repo))
}

pub fn run(a: Args) -> Result<()> {
    let (dir, repo) = target(&a)?;
    let options = PushOptions {
        private: a.private,
        token: a.token.and_then(Token::new),
        message: a.message,
    };
    let info = m2v_hub::push_folder(&dir, &repo, options)
        .with_context(|| format!("pushing {} to {repo}", dir.display()))?;
    eprintln!(
        "committed {} files ({} through LFS) as {}",
        info.files.len(),
        info.lfs_files,
        info.oid
    );
    println!("{}", info.commit_url);
    Ok(())
}
