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
    /// `huggingface-cli login`). Discouraged: a command-line argument is visible to
    /// every user of the machine (`ps`); prefer $HF_TOKEN or --token-file.
    #[arg(long, value_name = "TOKEN", conflicts_with = "token_file")]
    pub token: Option<String>,
    /// Read the access token from this file (its first line).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
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

/// The warning `--token` earns: the token is in the process list while we run.
pub const TOKEN_ARG_WARNING: &str = "warning: --token puts the token in the process list, \
     where every user of this machine can read it (`ps`); prefer $HF_TOKEN, --token-file \
     or `huggingface-cli login`";

/// The token of `--token-file`: its first line, trimmed.
fn read_token_file(path: &std::path::Path) -> Result<Option<Token>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the token file {}", path.display()))?;
    Ok(Token::new(text.lines().next().unwrap_or_default().trim()))
}

pub fn run(a: Args) -> Result<()> {
    let (dir, repo) = target(&a)?;
    let token = match (&a.token, &a.token_file) {
        (Some(t), _) => {
            eprintln!("{TOKEN_ARG_WARNING}");
            Token::new(t.clone())
        }
        (None, Some(f)) => {
            let t = read_token_file(f)?;
            if t.is_none() {
                anyhow::bail!("the token file {} is empty", f.display());
            }
            t
        }
        (None, None) => None,
    };
    let options = PushOptions {
        private: a.private,
        token,
        message: a.message,
    };
    let info = m2v_hub::push_folder(&dir, &repo, options)
        .with_context(|| format!("pushing {} to {repo}", dir.display()))?;
    eprintln!(
        "committed {} files ({} through LFS) as {}",
        info.files.len(),
        info.lfs_files,
        m2v_hub::printable(&info.oid)
    );
    // The URL comes from the server: printed escaped.
    println!("{}", m2v_hub::printable(&info.commit_url));
    Ok(())
}
