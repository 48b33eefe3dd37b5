//! Prometheus metrics, kept in atomics and a small map, written as text exposition
//! format 0.0.4 by `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Upper bounds of the latency histogram's buckets, in seconds.
const LATENCY_BOUNDS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Upper bounds of the batch-size histogram's buckets, in texts.
const BATCH_BOUNDS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 256.0, 1024.0, 4096.0];

/// The routes metrics are kept for (anything else is `other`).
pub(crate) const ROUTES: [&str; 10] = [
    "/v1/embeddings",
    "/v1/models",
    "/embed",
    "/predict",
    "/info",
    "/health",
    "/metrics",
    "/openapi.json",
    "/",
    "other",
];

#[derive(Debug)]
struct Histogram<const N: usize> {
    bounds: &'static [f64; N],
    /// One count per bound, then +Inf.
    counts: Vec<AtomicU64>,
    /// Sum of observations, in millionths.
    sum_micros: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    fn new(bounds: &'static [f64; N]) -> Self {
        Histogram {
            bounds,
            counts: (0..=N).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    fn observe(&self, v: f64) {
        let i = self.bounds.iter().position(|&b| v <= b).unwrap_or(N);
        self.counts[i].fetch_add(1, Relaxed);
        self.sum_micros.fetch_add((v * 1e6) as u64, Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cum = 0;
        for (i, b) in self.bounds.iter().enumerate() {
            cum += self.counts[i].load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cum}");
        }
        cum += self.counts[N].load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cum}");
        let sum = self.sum_micros.load(Relaxed) as f64 / 1e6;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {cum}");
    }
}

/// The server's counters.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// (route, status) → requests.
    requests: Mutex<BTreeMap<(usize, u16), u64>>,
    latency: Vec<Histogram<14>>,
    /// Per model: texts, tokens.
    texts: Vec<AtomicU64>,
    tokens: Vec<AtomicU64>,
    models: Vec<String>,
    queued: AtomicU64,
    batches: Histogram<10>,
}

/// The error kind of a status code, for `m2v_errors_total`.
fn error_kind(status: u16) -> Option<&'static str> {
    Some(match status {
        400 | 422 => "invalid_request",
        401 => "unauthorized",
        408 => "timeout",
        404 | 405 => "not_found",
        413 => "too_large",
        429 => "overloaded",
        503 => "unavailable",
        s if s >= 500 => "internal",
        s if s >= 400 => "client",
        _ => return None,
    })
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub fn new(models: Vec<String>) -> Metrics {
        Metrics {
            requests: Mutex::new(BTreeMap::new()),
            latency: ROUTES
                .iter()
                .map(|_| Histogram::new(&LATENCY_BOUNDS))
                .collect(),
            texts: models.iter().map(|_| AtomicU64::new(0)).collect(),
            tokens: models.iter().map(|_| AtomicU64::new(0)).collect(),
            models,
            queued: AtomicU64::new(0),
            batches: Histogram::new(&BATCH_BOUNDS),
        }
    }

    /// The index in [`ROUTES`] of a request path.
    pub fn route(path: &str) -> usize {
        ROUTES
            .iter()
            .position(|r| *r == path)
            .unwrap_or(ROUTES.len() - 1)
    }

    pub fn request(&self, route: usize, status: u16, seconds: f64) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((route, status))
            .or_default() += 1;
        self.latency[route].observe(seconds);
    }

    pub fn texts(&self, model: usize, texts: usize, tokens: u64) {
        self.texts[model].fetch_add(texts as u64, Relaxed);
        self.tokens[model].fetch_add(tokens, Relaxed);
    }

    pub fn set_queued(&self, texts: usize) {
        self.queued.store(texts as u64, Relaxed);
    }

    pub fn batch(&self, texts: usize) {
        self.batches.observe(texts as f64);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8192);
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        out.push_str("# HELP m2v_requests_total HTTP requests answered, by route and status.\n");
        out.push_str("# TYPE m2v_requests_total counter\n");
        for (&(r, s), n) in &requests {
            let _ = writeln!(
                out,
                "m2v_requests_total{{route=\"{}\",status=\"{s}\"}} {n}",
                ROUTES[r]
            );
        }
        out.push_str("# HELP m2v_errors_total Requests answered with an error, by kind.\n");
        out.push_str("# TYPE m2v_errors_total counter\n");
        let mut errors: BTreeMap<&str, u64> = BTreeMap::new();
        for (&(_, s), n) in &requests {
            if let Some(k) = error_kind(s) {
                *errors.entry(k).or_default() += n;
            }
        }
        for (k, n) in errors {
            let _ = writeln!(out, "m2v_errors_total{{kind=\"{k}\"}} {n}");
        }
        out.push_str(
            "# HELP m2v_request_duration_seconds Time from request to response, by route.\n",
        );
        out.push_str("# TYPE m2v_request_duration_seconds histogram\n");
        for (r, h) in self.latency.iter().enumerate() {
            if h.counts.iter().any(|c| c.load(Relaxed) > 0) {
                let labels = format!("route=\"{}\"", ROUTES[r]);
                h.write(&mut out, "m2v_request_duration_seconds", &labels);
            }
        }
        out.push_str("# HELP m2v_texts_total Texts encoded, by model.\n");
        out.push_str("# TYPE m2v_texts_total counter\n");
        for (m, n) in self.models.iter().zip(&self.texts) {
            let _ = writeln!(
                out,
                "m2v_texts_total{{model=\"{}\"}} {}",
                escape(m),
                n.load(Relaxed)
            );
        }
        out.push_str("# HELP m2v_tokens_total Tokens pooled, by model.\n");
        out.push_str("# TYPE m2v_tokens_total counter\n");
        for (m, n) in self.models.iter().zip(&self.tokens) {
            let _ = writeln!(
                out,
                "m2v_tokens_total{{model=\"{}\"}} {}",
                escape(m),
                n.load(Relaxed)
            );
        }
        out.push_str("# HELP m2v_queue_texts Texts waiting to be encoded.\n");
        out.push_str("# TYPE m2v_queue_texts gauge\n");
        let _ = writeln!(out, "m2v_queue_texts {}", self.queued.load(Relaxed));
        out.push_str("# HELP m2v_batch_texts Texts per encoded batch.\n");
        out.push_str("# TYPE m2v_batch_texts histogram\n");
        self.batches.write(&mut out, "m2v_batch_texts", "");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_errors_are_kinded() {
        let m = Metrics::new(vec!["a\"b".into()]);
        let r = Metrics::route("/embed");
        m.request(r, 200, 0.0002);
        m.request(r, 200, 0.003);
        m.request(r, 413, 10.0);
        m.request(Metrics::route("/nope"), 404, 0.0);
        m.texts(0, 3, 17);
        let text = m.render();
        assert!(text.contains("m2v_requests_total{route=\"/embed\",status=\"200\"} 2"));
        assert!(text.contains("m2v_requests_total{route=\"other\",status=\"404\"} 1"));
        assert!(
            text.contains("m2v_request_duration_seconds_bucket{route=\"/embed\",le=\"0.00025\"} 1")
        );
        assert!(
            text.contains("m2v_request_duration_seconds_bucket{route=\"/embed\",le=\"0.005\"} 2")
        );
        assert!(
            text.contains("m2v_request_duration_seconds_bucket{route=\"/embed\",le=\"+Inf\"} 3")
        );
        assert!(text.contains("m2v_request_duration_seconds_count{route=\"/embed\"} 3"));
        assert!(text.contains("m2v_errors_total{kind=\"too_large\"} 1"));
        assert!(text.contains("m2v_errors_total{kind=\"not_found\"} 1"));
        assert!(text.contains("m2v_texts_total{model=\"a\\\"b\"} 3"));
        assert!(text.contains("m2v_tokens_total{model=\"a\\\"b\"} 17"));
    }
}
