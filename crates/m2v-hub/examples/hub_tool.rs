//! A helper for `scripts/hub_python_check.py` (needs the `test-server` feature):
//!
//! - `hub_tool serve REPO DIR [REPO DIR ...]`: starts the local test hub with each
//!   folder committed to `main` of its repository, prints `ENDPOINT <url>` and
//!   `COMMIT <repo> <sha>` lines, and serves until its standard input closes;
//! - `hub_tool download ENDPOINT CACHE ID`: downloads every file of `ID` with m2v into
//!   the cache folder `CACHE` and prints the snapshot folder;
//! - `hub_tool push ENDPOINT TOKEN DIR ID`: pushes the folder `DIR` with m2v and prints
//!   the commit hash.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use m2v_hub::test_server::TestHub;
use m2v_hub::{FileSelection, HfCache, Hub, PushOptions, RepoId, Token};

fn files(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            files(root, &p, out)?;
        } else {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            let rel: Vec<String> = rel
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            out.push((rel.join("/"), std::fs::read(&p)?));
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") if args.len() >= 3 && args.len() % 2 == 1 => {
            let hub = TestHub::start()?;
            let mut out = std::io::stdout();
            writeln!(out, "ENDPOINT {}", hub.endpoint())?;
            for pair in args[1..].chunks(2) {
                let mut fs = Vec::new();
                files(Path::new(&pair[1]), Path::new(&pair[1]), &mut fs)?;
                let refs: Vec<(&str, &[u8])> =
                    fs.iter().map(|(p, d)| (p.as_str(), d.as_slice())).collect();
                let sha = hub.commit(&pair[0], "main", &refs);
                writeln!(out, "COMMIT {} {sha}", pair[0])?;
            }
            out.flush()?;
            let mut sink = Vec::new();
            std::io::stdin().read_to_end(&mut sink)?;
            Ok(())
        }
        Some("download") if args.len() == 4 => {
            let hub = Hub::new(&args[1], HfCache::new(PathBuf::from(&args[2])));
            let dir = hub.download(&RepoId::parse(&args[3])?, &FileSelection::all())?;
            println!("{}", dir.display());
            Ok(())
        }
        Some("push") if args.len() == 5 => {
            let hub = Hub::new(&args[1], HfCache::new(std::env::temp_dir()))
                .with_token(Token::new(args[2].as_str()));
            let info = hub.push_folder(Path::new(&args[3]), &args[4], &PushOptions::default())?;
            println!("{}", info.oid);
            Ok(())
        }
        _ => Err(
            "usage: hub_tool serve REPO DIR [REPO DIR ...] | download ENDPOINT CACHE ID \
                  | push ENDPOINT TOKEN DIR ID"
                .into(),
        ),
    }
}
