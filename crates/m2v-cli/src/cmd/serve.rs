//! `m2v-cli serve`: the embedding server (`m2v-serve`), with models named on the
//! command line and resolved like every other subcommand's `--model`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;

#[derive(Debug, Parser)]
pub struct Args {
    /// A model or pipeline to serve: a folder or a hub id, optionally named as
    /// NAME=MODEL (default name: the folder's or hub id's last part). Repeat for
    /// several; the first is the default for TEI's /embed and /info.
    #[arg(
        long = "model",
        short = 'm',
        required = true,
        value_name = "[NAME=]MODEL"
    )]
    models: Vec<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// File with the accepted API keys, one per line; requests must then send
    /// `Authorization: Bearer KEY` (all routes but /health, / and /openapi.json).
    #[arg(long, value_name = "FILE")]
    api_key_file: Option<PathBuf>,
    /// Most inputs in one request (413 beyond).
    #[arg(long, default_value_t = 2048)]
    max_batch: usize,
    /// Largest request body in bytes (413 beyond).
    #[arg(long, default_value_t = 8 << 20)]
    max_input_bytes: usize,
    /// Most texts waiting to be encoded before requests get 429 (Retry-After).
    #[arg(long, default_value_t = 32_768)]
    max_queue: usize,
    /// Encoding threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Threads answering HTTP (default: one per core).
    #[arg(long)]
    io_threads: Option<usize>,
    /// Seconds a client has to send a request's headers (else it is disconnected), and
    /// again for the body and the answer (408 beyond).
    #[arg(long, default_value_t = 30.0)]
    request_timeout: f64,
}

pub fn run(a: Args) -> Result<()> {
    let mut specs = Vec::new();
    for m in &a.models {
        // NAME=MODEL, unless the whole argument is an existing folder.
        let (name, model) = match m.split_once('=') {
            Some((n, p)) if !PathBuf::from(m).is_dir() && !n.is_empty() => (Some(n.to_string()), p),
            _ => (None, m.as_str()),
        };
        let dir = super::model_dir(model)?;
        let name = name.or_else(|| {
            // A hub id is named by its last part (`minishlab/potion-base-8M` →
            // `potion-base-8M`), not by the cache's snapshot hash.
            (!PathBuf::from(model).is_dir())
                .then(|| model.rsplit('/').next().unwrap_or(model).to_string())
        });
        specs.push(m2v_serve::ModelSpec::new(name, dir));
    }
    let mut config = m2v_serve::Config::new(specs);
    config.addr = SocketAddr::new(a.host, a.port);
    config.api_key_file = a.api_key_file;
    config.max_batch = a.max_batch;
    config.max_input_bytes = a.max_input_bytes;
    config.max_queue_texts = a.max_queue;
    config.threads = a.threads.unwrap_or(0);
    config.io_threads = a.io_threads.unwrap_or(0);
    if !(a.request_timeout.is_finite() && a.request_timeout > 0.0) {
        anyhow::bail!("--request-timeout must be a positive number of seconds");
    }
    config.request_timeout = std::time::Duration::from_secs_f64(a.request_timeout);
    let names: Vec<String> = config.models.iter().map(|s| s.name.clone()).collect();
    m2v_serve::run(config, |addr| {
        // The one line scripts wait for (stdout, flushed): the address.
        println!("listening on http://{addr}");
        eprintln!(
            "serving {} (OpenAI /v1/embeddings, TEI /embed, demo page at /); Ctrl-C or SIGTERM stops",
            names.join(", ")
        );
        use std::io::Write;
        let _ = std::io::stdout().flush();
    })
    .context("m2v-cli serve")
}
