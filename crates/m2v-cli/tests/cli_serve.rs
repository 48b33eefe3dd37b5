//! `m2v-cli serve` end to end on potion-base-8M: the OpenAI and TEI routes answer with
//! the rows `m2v-cli encode` writes for the same texts, and SIGTERM ends the process
//! cleanly. (Every route and error in detail: m2v-serve's tests.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use m2v_tokenize::json::{self, Value};

const TEXTS: [&str; 4] = [
    "A girl is styling her hair.",
    "The stock market fell sharply today.",
    "",
    "Ünïcödé, numbers 12345 and punctuation!?",
];

/// POST `body` to `path` with a bare HTTP/1.1 request; the status and parsed body.
fn post(addr: &str, path: &str, body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, json::parse(body).unwrap())
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn serve_answers_with_the_rows_encode_writes_and_stops_on_sigterm() {
    let Some(_) = m2v_hub::testing::model_or_skip("minishlab/potion-base-8M", "potion-base-8M")
    else {
        return;
    };
    let bin = env!("CARGO_BIN_EXE_m2v-cli");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("texts.txt");
    std::fs::write(&input, TEXTS.join("\n") + "\n").unwrap();
    let npy = dir.path().join("rows.npy");
    let out = Command::new(bin)
        .args(["encode", "--model", "minishlab/potion-base-8M", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&npy)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&npy).unwrap();
    let header = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let rows: Vec<f32> = bytes[10 + header..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let dim = rows.len() / TEXTS.len();
    assert_eq!(dim, 256);

    let mut server = Command::new(bin)
        .args([
            "serve",
            "--port",
            "0",
            "--model",
            "minishlab/potion-base-8M",
        ])
        .env("HF_HUB_OFFLINE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_string();

    let input: Vec<String> = TEXTS.iter().map(|t| format!("{t:?}")).collect();
    let (status, v) = post(
        &addr,
        "/v1/embeddings",
        &format!(
            "{{\"model\": \"potion-base-8M\", \"input\": [{}]}}",
            input.join(",")
        ),
    );
    assert_eq!(status, 200, "{v:?}");
    let data = v.get("data").unwrap().as_array().unwrap();
    for (i, d) in data.iter().enumerate() {
        assert_eq!(
            floats(d.get("embedding").unwrap()),
            rows[i * dim..(i + 1) * dim],
            "OpenAI row {i}"
        );
    }
    let (status, v) = post(
        &addr,
        "/embed",
        &format!("{{\"inputs\": [{}]}}", input.join(",")),
    );
    assert_eq!(status, 200, "{v:?}");
    for (i, r) in v.as_array().unwrap().iter().enumerate() {
        assert_eq!(floats(r), rows[i * dim..(i + 1) * dim], "TEI row {i}");
    }

    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = server.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "still running 20 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit after SIGTERM: {status}");
}
