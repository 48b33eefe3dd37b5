//! CI's browser test of `m2v-cli serve`'s demo page: the server (the test build's
//! binary) on potion-base-8M and a pipeline fixture, the page driven in headless
//! Chromium by `crates/m2v-serve/tests/browser/demo.mjs` (Playwright), then SIGTERM and
//! a clean exit. Needs Debian's `chromium`, Node.js and `playwright-core` under
//! `~/.cache/m2v/node` (`.ci/run` installs them); the screenshot lands in
//! `target/serve-demo/demo.png`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

/// Where `.ci/run` installs playwright-core.
pub fn node_modules() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/m2v/node/node_modules")
}

pub fn run(root: &Path) -> Result<()> {
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    ensure!(
        chromium.is_file(),
        "{} not found: apt-get install chromium (or set CHROMIUM)",
        chromium.display()
    );
    let modules = node_modules();
    ensure!(
        modules.join("playwright-core").is_dir(),
        "playwright-core not found in {}: npm install --prefix {} playwright-core@1",
        modules.display(),
        modules.parent().unwrap_or(&modules).display()
    );
    let bin = crate::bench::default_out("debug").join("m2v-cli");
    ensure!(
        bin.is_file(),
        "{} was not built by the test step",
        bin.display()
    );
    let out = crate::bench::default_out("serve-demo");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let shot = out.join("demo.png");
    let pipeline = root.join("crates/m2v-static/tests/fixtures/pipelines/m2v_single");

    let mut server = Command::new(&bin)
        .args([
            "serve",
            "--port",
            "0",
            "--model",
            "minishlab/potion-base-8M",
            "--model",
        ])
        .arg(format!("clf={}", pipeline.display()))
        .env("HF_HUB_OFFLINE", "1")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let result = (|| {
        let url = listening(&mut server)?;
        println!("server at {url}");
        let mut node = Command::new("node")
            .arg(root.join("crates/m2v-serve/tests/browser/demo.mjs"))
            .arg(&url)
            .arg(&shot)
            .arg("clf")
            .env("NODE_PATH", &modules)
            .env("CHROMIUM", &chromium)
            .spawn()
            .context("starting node (install Node.js)")?;
        let status = wait(&mut node, Duration::from_secs(180), "the browser test")?;
        ensure!(status.success(), "the browser test failed ({status})");
        Ok(())
    })();
    // SIGTERM: the server drains and exits 0.
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let exit = wait(
        &mut server,
        Duration::from_secs(20),
        "the server after SIGTERM",
    );
    result?;
    ensure!(term.is_ok_and(|s| s.success()), "could not send SIGTERM");
    let exit = exit?;
    ensure!(
        exit.success(),
        "the server exited with {exit} after SIGTERM"
    );
    println!("demo page: ok, screenshot {}", shot.display());
    Ok(())
}

/// The URL from the server's `listening on URL` line.
fn listening(server: &mut Child) -> Result<String> {
    let stdout = server.stdout.take().context("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .context("the server did not print `listening on` within 60 s")
}

fn wait(child: &mut Child, limit: Duration, what: &str) -> Result<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            bail!("{what} did not finish within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
