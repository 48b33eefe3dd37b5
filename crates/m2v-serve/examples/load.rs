//! An open-loop HTTP load generator for `scripts/serve_load.py` (docs/serve.md):
//! requests are sent on a fixed schedule, whatever the server's pace, and each
//! latency is measured from the request's scheduled time, so a server that falls
//! behind is charged for the queue it builds (no coordinated omission).
//!
//! `load URL BODY_FILE RATE SECONDS CONNECTIONS`: `RATE` requests per second in all,
//! spread evenly over `CONNECTIONS` keep-alive connections (one thread each), each
//! POSTing BODY_FILE as JSON. Prints one JSON line: offered and achieved rates, the
//! latency percentiles of the 200 answers, and the count of every other status.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, body, rate, secs, conns] = args.as_slice() else {
        eprintln!("usage: load URL BODY_FILE RATE SECONDS CONNECTIONS");
        std::process::exit(2);
    };
    let rest = url
        .strip_prefix("http://")
        .expect("only http:// URLs are supported");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let body = std::fs::read(body).expect("reading the body file");
    let rate: f64 = rate.parse().expect("RATE: requests per second");
    let secs: f64 = secs.parse().expect("SECONDS");
    let conns: usize = conns.parse().expect("CONNECTIONS");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);

    let interval = Duration::from_secs_f64(conns as f64 / rate);
    let per_conn = ((secs * rate) / conns as f64).ceil() as usize;
    let start = Instant::now() + Duration::from_millis(200);
    let results: Vec<(Vec<u32>, BTreeMap<u16, u64>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..conns)
            .map(|c| {
                let request = &request;
                let host = host.to_string();
                s.spawn(move || {
                    let offset = interval.mul_f64(c as f64 / conns as f64);
                    let mut stream = connect(&host);
                    let mut latencies = Vec::with_capacity(per_conn);
                    let mut statuses = BTreeMap::new();
                    let mut buf = Vec::new();
                    for k in 0..per_conn {
                        let due = start + offset + interval * k as u32;
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        let status = match exchange(&mut stream, request, &mut buf) {
                            Some(s) => s,
                            None => {
                                // The server closed the connection: count it, reconnect.
                                stream = connect(&host);
                                0
                            }
                        };
                        *statuses.entry(status).or_insert(0u64) += 1;
                        if status == 200 {
                            latencies.push(due.elapsed().as_micros() as u32);
                        }
                    }
                    (latencies, statuses)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut lat: Vec<u32> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    lat.sort_unstable();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    for (_, s) in &results {
        for (k, v) in s {
            *statuses.entry(*k).or_default() += v;
        }
    }
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            f64::NAN
        } else {
            lat[((lat.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
        }
    };
    let others: Vec<String> = statuses
        .iter()
        .filter(|(k, _)| **k != 200)
        .map(|(k, v)| format!("\"{k}\":{v}"))
        .collect();
    println!(
        "{{\"offered_rps\":{rate},\"achieved_rps\":{:.1},\"ok\":{},\"p50_ms\":{:.3},\"p90_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3},\"other_status\":{{{}}},\"seconds\":{elapsed:.2}}}",
        lat.len() as f64 / elapsed,
        lat.len(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0),
        others.join(",")
    );
}

fn connect(host: &str) -> TcpStream {
    let s = TcpStream::connect(host).expect("connecting");
    s.set_nodelay(true).unwrap();
    s
}

/// Sends one request and reads the whole answer; its status, or `None` when the
/// connection failed.
fn exchange(stream: &mut TcpStream, request: &[u8], buf: &mut Vec<u8>) -> Option<u16> {
    stream.write_all(request).ok()?;
    let mut reader = BufReader::new(&mut *stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let status: u16 = line.split_whitespace().nth(1)?.parse().ok()?;
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let lower = l.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).ok()?;
            let n = usize::from_str_radix(line.trim(), 16).ok()?;
            buf.resize(n + 2, 0);
            reader.read_exact(buf).ok()?;
            if n == 0 {
                break;
            }
        }
    } else {
        buf.resize(length, 0);
        reader.read_exact(buf).ok()?;
    }
    // Nothing may be left buffered: one answer per request.
    if !reader.buffer().is_empty() {
        return None;
    }
    Some(status)
}
