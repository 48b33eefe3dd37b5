//! The server over real HTTP (ureq as the client), on the tiny fixture models and a
//! trained pipeline fixture: vectors equal the library's, errors are typed answers.

use std::path::PathBuf;

use m2v_serve::{Config, ModelSpec, Running};
use m2v_static::{EncodeOptions, LoadOptions, Pipeline, Prediction, StaticModel};
use serde_json::{Value, json};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../m2v-static/tests/fixtures")
        .join(rel)
}

const TINY: &str = "tiny/tiny_f32";
const PIPE: &str = "pipelines/m2v_single";

fn texts() -> Vec<String> {
    [
        "A girl is styling her hair.",
        "",
        "the quick brown fox jumps over the lazy dog",
        "☃ 日本語 hello world",
        "Ünïcödé words, numbers 12345 and punctuation!?",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn config(edit: impl FnOnce(&mut Config)) -> Config {
    let mut c = Config::new(vec![
        ModelSpec::new(Some("tiny".into()), fixture(TINY)),
        ModelSpec::new(Some("clf".into()), fixture(PIPE)),
    ]);
    c.addr = "127.0.0.1:0".parse().unwrap();
    c.threads = 2;
    c.io_threads = 2;
    edit(&mut c);
    c
}

struct Client {
    base: String,
    agent: ureq::Agent,
    key: Option<String>,
}

struct Answer {
    status: u16,
    retry_after: Option<String>,
    content_type: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

impl Client {
    fn new(s: &Running) -> Client {
        Client::at(format!("http://{}", s.addr()))
    }

    /// A client of the server at `base` (for threads that do not hold the server).
    fn at(base: String) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Client {
            base,
            agent,
            key: None,
        }
    }

    fn answer(mut r: ureq::http::Response<ureq::Body>) -> Answer {
        let header = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string());
        let retry_after = header("retry-after");
        let content_type = header("content-type").unwrap_or_default();
        Answer {
            status: r.status().as_u16(),
            retry_after,
            content_type,
            body: r
                .body_mut()
                .with_config()
                .limit(1 << 30)
                .read_to_string()
                .unwrap(),
        }
    }

    fn post_raw(&self, path: &str, body: &str) -> Answer {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(k) = &self.key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        Self::answer(req.send(body).unwrap())
    }

    fn post(&self, path: &str, body: Value) -> Answer {
        self.post_raw(path, &body.to_string())
    }

    fn get(&self, path: &str) -> Answer {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(k) = &self.key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        Self::answer(req.call().unwrap())
    }
}

/// A label as Python prints it (strings bare, integers as numbers).
fn label(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), String::from)
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn base64_floats(s: &str) -> Vec<f32> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let mut bytes = Vec::new();
    for q in s.as_bytes().chunks(4) {
        let pad = q.iter().filter(|&&c| c == b'=').count();
        let n = q
            .iter()
            .map(|&c| if c == b'=' { 0 } else { val(c) as u32 })
            .fold(0u32, |acc, v| (acc << 6) | v);
        let b = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        bytes.extend_from_slice(&b[..3 - pad]);
    }
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn openai_and_tei_answer_with_the_library_vectors() {
    let server = m2v_serve::start(config(|_| {}), false).unwrap();
    let c = Client::new(&server);
    let model = StaticModel::from_pretrained(fixture(TINY)).unwrap();
    let t = texts();
    let want = model.encode(&t);

    // OpenAI, floats: bit-identical (the shortest decimal of an f32 parses back to it).
    let a = c.post("/v1/embeddings", json!({"input": t, "model": "tiny"}));
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.content_type, "application/json");
    let v = a.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "tiny");
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), t.len());
    for (i, d) in data.iter().enumerate() {
        assert_eq!(d["index"], i);
        assert_eq!(d["object"], "embedding");
        assert_eq!(floats(&d["embedding"]), want.row(i), "text {i}");
    }
    let tokens: usize = t
        .iter()
        .map(|s| model.tokenize(s, model.max_length()).len())
        .sum();
    assert!(tokens > 0);
    assert_eq!(v["usage"]["prompt_tokens"], tokens);
    assert_eq!(v["usage"]["total_tokens"], tokens);

    // base64: the same bits.
    let v = c
        .post(
            "/v1/embeddings",
            json!({"input": t, "model": "tiny", "encoding_format": "base64"}),
        )
        .json();
    for (i, d) in v["data"].as_array().unwrap().iter().enumerate() {
        assert_eq!(base64_floats(d["embedding"].as_str().unwrap()), want.row(i));
    }

    // A single string, and the default model (the first) when `model` is absent.
    let v = c.post("/v1/embeddings", json!({"input": t[0]})).json();
    assert_eq!(floats(&v["data"][0]["embedding"]), want.row(0));

    // dimensions: the first values, normalized again; the same as loading the model
    // cut to that many dimensions (`m2v-cli encode --dimensionality`), within 1e-6
    // (the norms are summed in a different order).
    let cut = StaticModel::load(fixture(TINY), &LoadOptions::new().dimensionality(4)).unwrap();
    let want_cut = cut.encode_with(&t, &EncodeOptions::new().normalize(true));
    let v = c
        .post(
            "/v1/embeddings",
            json!({"input": t, "model": "tiny", "dimensions": 4}),
        )
        .json();
    for (i, d) in v["data"].as_array().unwrap().iter().enumerate() {
        let got = floats(&d["embedding"]);
        assert_eq!(got.len(), 4);
        for (g, w) in got.iter().zip(want_cut.row(i)) {
            assert!((g - w).abs() <= 1e-6, "text {i}: {g} vs {w}");
        }
    }

    // TEI /embed: the same vectors (normalized as the model says, by default);
    // normalize=true or false overrides the model.
    let a = c.post("/embed", json!({"inputs": t}));
    assert_eq!(a.status, 200, "{}", a.body);
    let rows = a.json();
    for (i, r) in rows.as_array().unwrap().iter().enumerate() {
        assert_eq!(floats(r), want.row(i));
    }
    for normalize in [false, true] {
        let want = model.encode_with(&t, &EncodeOptions::new().normalize(normalize));
        let rows = c
            .post("/embed", json!({"inputs": t, "normalize": normalize}))
            .json();
        for (i, r) in rows.as_array().unwrap().iter().enumerate() {
            assert_eq!(floats(r), want.row(i));
        }
    }
    // truncate=false pools every token.
    let long = "hello world ".repeat(2000);
    let full = model.encode_with(&[&long], &EncodeOptions::new().max_length(None));
    let rows = c
        .post("/embed", json!({"inputs": long, "truncate": false}))
        .json();
    assert_eq!(floats(&rows[0]), full.row(0));

    // /predict on the pipeline: Python-format probabilities, highest first.
    let p = Pipeline::from_pretrained(fixture(PIPE)).unwrap();
    let proba = p.predict_proba(&t, &EncodeOptions::new()).unwrap();
    let classes = p.head().classes().unwrap();
    let a = c.post("/predict", json!({"inputs": t}));
    assert_eq!(a.status, 200, "{}", a.body);
    let v = a.json();
    for (i, scores) in v.as_array().unwrap().iter().enumerate() {
        let scores = scores.as_array().unwrap();
        assert_eq!(scores.len(), classes.len());
        let mut prev = f32::INFINITY;
        for s in scores {
            let score = s["score"].as_f64().unwrap() as f32;
            assert!(score <= prev);
            prev = score;
            let k = classes
                .iter()
                .position(|l| l.to_string() == label(&s["label"]))
                .unwrap();
            assert_eq!(score, proba.row(i)[k], "text {i} class {k}");
        }
        match &p.predict(&t[i..=i], &EncodeOptions::new(), 0.5)[0] {
            Prediction::Class(best) => assert_eq!(best.to_string(), label(&scores[0]["label"])),
            other => panic!("a single-label pipeline predicted {other:?}"),
        }
    }
    // One string in, one list of scores out (TEI's shape).
    let v = c.post("/predict", json!({"inputs": t[0]})).json();
    assert!(v[0]["score"].is_number());

    // The other routes.
    let v = c.get("/v1/models").json();
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["tiny", "clf"]);
    let v = c.get("/info").json();
    assert_eq!(v["model_id"], "tiny");
    assert_eq!(v["dim"], model.dim());
    assert_eq!(v["pipelines"], json!(["clf"]));
    assert_eq!(c.get("/health").status, 200);
    let doc = c.get("/openapi.json").json();
    assert_eq!(doc["openapi"], "3.0.3");
    let page = c.get("/");
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains("/v1/embeddings"));
    let m = c.get("/metrics");
    assert!(m.content_type.starts_with("text/plain"));
    assert!(
        m.body
            .contains("m2v_requests_total{route=\"/v1/embeddings\",status=\"200\"} 4"),
        "{}",
        m.body
    );
    assert!(
        m.body
            .contains("m2v_request_duration_seconds_count{route=\"/embed\"} 4")
    );
    assert!(m.body.contains("m2v_texts_total{model=\"tiny\"}"));
    server.shutdown().unwrap();
}

#[test]
fn bad_requests_get_typed_answers_naming_the_problem() {
    let server = m2v_serve::start(
        config(|c| {
            c.max_batch = 3;
            c.max_input_bytes = 4096;
        }),
        false,
    )
    .unwrap();
    let c = Client::new(&server);
    let check = |a: Answer, status: u16, needle: &str| {
        assert_eq!(a.status, status, "{}", a.body);
        assert!(a.body.contains(needle), "{needle:?} not in {}", a.body);
        assert_eq!(a.content_type, "application/json");
        a.json()
    };
    // Too many inputs: 413 naming the limit.
    let v = check(
        c.post("/v1/embeddings", json!({"input": ["a", "b", "c", "d"]})),
        413,
        "at most 3",
    );
    assert_eq!(v["error"]["param"], "input");
    // A body over the byte limit: 413.
    check(
        c.post("/embed", json!({"inputs": "x".repeat(10_000)})),
        413,
        "--max-input-bytes",
    );
    // Malformed JSON: 422.
    let v = check(
        c.post_raw("/v1/embeddings", "{\"input\": [\"a\""),
        422,
        "malformed JSON",
    );
    assert_eq!(v["error"]["type"], "invalid_request_error");
    // A missing or mistyped field: 422 naming it, in each API's error shape.
    let v = check(
        c.post("/v1/embeddings", json!({"model": "tiny"})),
        422,
        "`input` is required",
    );
    assert_eq!(v["error"]["param"], "input");
    let v = check(c.post("/embed", json!({"inputs": 3})), 422, "`inputs`");
    assert_eq!(v["error_type"], "Validation");
    check(
        c.post("/embed", json!({"inputs": "a", "normalize": "yes"})),
        422,
        "`normalize`",
    );
    check(
        c.post("/v1/embeddings", json!({"input": [[1, 2, 3]]})),
        422,
        "token ids are not accepted",
    );
    check(
        c.post(
            "/v1/embeddings",
            json!({"input": "a", "encoding_format": "int8"}),
        ),
        422,
        "encoding_format",
    );
    check(
        c.post("/v1/embeddings", json!({"input": "a", "dimensions": 0})),
        422,
        "dimensions",
    );
    check(c.post("/v1/embeddings", json!({"input": []})), 422, "empty");
    // Unknown model, pipeline route on a plain model, unknown route.
    check(
        c.post("/v1/embeddings", json!({"input": "a", "model": "gpt"})),
        404,
        "served: tiny, clf",
    );
    check(
        c.post("/predict", json!({"inputs": "a", "model": "tiny"})),
        404,
        "not a pipeline",
    );
    check(c.get("/nope"), 404, "no route GET /nope");
    let m = c.get("/metrics").body;
    assert!(m.contains("m2v_errors_total{kind=\"too_large\"} 2"), "{m}");
    assert!(
        m.contains("m2v_errors_total{kind=\"invalid_request\"} 8"),
        "{m}"
    );
    server.shutdown().unwrap();
}

#[test]
fn api_keys_are_checked_except_on_public_routes() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::write(&keys, "first-key\n\n  second-key  \n").unwrap();
    let server = m2v_serve::start(config(|c| c.api_key_file = Some(keys)), false).unwrap();
    let mut c = Client::new(&server);
    let a = c.post("/v1/embeddings", json!({"input": "a"}));
    assert_eq!(a.status, 401);
    assert_eq!(a.json()["error"]["type"], "invalid_api_key");
    assert_eq!(c.get("/metrics").status, 401);
    assert_eq!(c.get("/health").status, 200);
    assert_eq!(c.get("/").status, 200);
    c.key = Some("wrong".into());
    assert_eq!(c.post("/embed", json!({"inputs": "a"})).status, 401);
    c.key = Some("second-key".into());
    assert_eq!(c.post("/embed", json!({"inputs": "a"})).status, 200);
    c.key = Some("first-key".into());
    assert_eq!(c.post("/v1/embeddings", json!({"input": "a"})).status, 200);
    server.shutdown().unwrap();

    // An empty key file is refused at start.
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n\n").unwrap();
    let err = m2v_serve::start(config(|c| c.api_key_file = Some(empty)), false).unwrap_err();
    assert!(err.to_string().contains("holds no key"), "{err}");
}

#[test]
fn a_full_queue_answers_429_with_retry_after() {
    // One encoding thread, a queue of one text: concurrent large requests must find it
    // full; every other request is answered in full.
    let server = m2v_serve::start(
        config(|c| {
            c.threads = 1;
            c.max_queue_texts = 1;
        }),
        false,
    )
    .unwrap();
    let base = Client::new(&server).base;
    let body =
        json!({"inputs": vec!["the quick brown fox jumps over the lazy dog ".repeat(20); 2000]})
            .to_string();
    let results: Vec<(u16, Option<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let (base, body) = (base.clone(), body.clone());
                s.spawn(move || {
                    let c = Client::at(base);
                    let mut out = Vec::new();
                    for _ in 0..6 {
                        let a = c.post_raw("/embed", &body);
                        if a.status == 200 {
                            assert_eq!(a.json().as_array().unwrap().len(), 2000);
                        }
                        out.push((a.status, a.retry_after));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(results.iter().all(|(s, _)| *s == 200 || *s == 429));
    assert!(results.iter().any(|(s, _)| *s == 200));
    let busy: Vec<_> = results.iter().filter(|(s, _)| *s == 429).collect();
    assert!(!busy.is_empty(), "no request found the queue full");
    assert!(busy.iter().all(|(_, r)| r.as_deref() == Some("1")));
    server.shutdown().unwrap();
}

#[test]
fn shutdown_lets_requests_in_flight_finish() {
    let server = m2v_serve::start(config(|c| c.threads = 1), false).unwrap();
    let base = Client::new(&server).base;
    let body =
        json!({"inputs": vec!["the quick brown fox jumps over the lazy dog ".repeat(50); 2000]})
            .to_string();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let request = std::thread::spawn(move || {
        let c = Client::at(base);
        started_tx.send(()).unwrap();
        let a = c.post_raw("/embed", &body);
        (a.status, a.json().as_array().map_or(0, Vec::len))
    });
    started_rx.recv().unwrap();
    // Shut down once the server holds the request (its batch has started), however
    // slow this machine is.
    let c = Client::new(&server);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !c
        .get("/metrics")
        .body
        .lines()
        .any(|l| l.starts_with("m2v_batch_texts_count ") && !l.ends_with(" 0"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the request never arrived"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let addr = server.addr();
    server.shutdown().unwrap();
    assert_eq!(request.join().unwrap(), (200, 2000));
    // And nothing listens any more.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn slow_clients_get_408_or_are_disconnected() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let server = m2v_serve::start(
        config(|c| c.request_timeout = Duration::from_millis(400)),
        false,
    )
    .unwrap();
    // A body that never arrives in full: 408 once the deadline passes.
    let mut s = std::net::TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let start = Instant::now();
    s.write_all(
        b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"inputs\": ",
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("--request-timeout"), "{answer}");
    assert!(start.elapsed() < Duration::from_secs(5));
    // Headers that never end: the connection is closed, nothing is answered.
    let mut s = std::net::TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let start = Instant::now();
    s.write_all(b"POST /embed HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut rest = Vec::new();
    let closed = s.read_to_end(&mut rest);
    assert!(start.elapsed() < Duration::from_secs(5), "{closed:?}");
    // The server still answers others.
    let c = Client::new(&server);
    assert_eq!(c.get("/health").status, 200);
    let m = c.get("/metrics").body;
    assert!(m.contains("m2v_errors_total{kind=\"timeout\"} 1"), "{m}");
    server.shutdown().unwrap();
}
