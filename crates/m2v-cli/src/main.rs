//! `m2v-cli`: the m2v command line, a thin layer over the library crates.
//!
//! Each subcommand is a short function in its own module under `cmd/`: parse flags with
//! clap into a plain struct, convert once into what the libraries need, call them.
//! Errors go to stderr with a non-zero exit code; results go to stdout or `--output`.

mod cmd;

use clap::{Parser, Subcommand};

/// m2v: turn sentence transformers into tiny, fast static embedding models, and use them.
#[derive(Debug, Parser)]
#[command(name = "m2v-cli", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the local folder a hub id resolves to in the Hugging Face cache (offline).
    Resolve(cmd::resolve::Args),
    /// Upload a model folder to the Hugging Face hub (creating the repository if needed).
    Push(cmd::push::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Resolve(a) => cmd::resolve::run(a),
        Command::Push(a) => cmd::push::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
