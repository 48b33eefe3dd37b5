//! A thin blocking HTTP layer over `ureq`: one agent, bounded retries with
//! exponential backoff, the token attached only to requests for the hub's own host,
//! and hub error statuses mapped to [`Error`] variants.
//!
//! Invariant: redirects are never followed automatically (the caller reads the hub's
//! headers on the redirect response itself, as Python `huggingface_hub` does, and
//! decides whether the token may follow).

use std::path::Path;
use std::time::Duration;

use ureq::http::{self, Response};

use crate::{Error, Token};

/// How often and how fast to retry a request that failed with a connection error,
/// a broken body, a 5xx or a 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Total attempts (at least 1).
    pub attempts: u32,
    /// Delay before the second attempt; doubled each time.
    pub base_delay: Duration,
    /// Upper bound of one delay.
    pub max_delay: Duration,
}

impl Default for Retry {
    /// 5 attempts, 0.5 s doubling to at most 8 s.
    fn default() -> Self {
        Retry {
            attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl Retry {
    /// Retries with 1 ms delays, for tests.
    pub fn fast(attempts: u32) -> Self {
        Retry {
            attempts,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
        }
    }

    /// The pause after failed attempt number `attempt` (1-based).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// A request body.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Payload<'a> {
    Empty,
    Bytes(&'a [u8], &'a str),
    File(&'a Path),
}

/// What a request is about, to turn error statuses into precise errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub repo_id: &'a str,
    pub revision: &'a str,
    pub path: Option<&'a str>,
}

#[derive(Clone)]
pub(crate) struct Http {
    agent: ureq::Agent,
    endpoint: String,
    token: Option<Token>,
    pub(crate) retry: Retry,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

pub(crate) type Resp = Response<ureq::Body>;

impl Http {
    pub(crate) fn new(endpoint: &str, token: Option<Token>, retry: Retry) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .user_agent(concat!("m2v-hub/", env!("CARGO_PKG_VERSION")))
            .build();
        Http {
            agent: ureq::Agent::new_with_config(config),
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token,
            retry,
        }
    }

    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub(crate) fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// One attempt. The token goes only to the hub's own origin (a redirect to a CDN
    /// carries its own signature).
    pub(crate) fn send_once(
        &self,
        method: &'static str,
        url: &str,
        headers: &[(&str, &str)],
        payload: Payload<'_>,
    ) -> Result<Resp, ureq::Error> {
        let mut b = http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if let Some(t) = &self.token
            && origin(url) == origin(&self.endpoint)
        {
            b = b.header("authorization", format!("Bearer {}", t.expose()));
        }
        match payload {
            Payload::Empty => self.agent.run(b.body(())?),
            Payload::Bytes(data, ctype) => {
                self.agent.run(b.header("content-type", ctype).body(data)?)
            }
            Payload::File(path) => {
                let f = std::fs::File::open(path)?;
                self.agent.run(b.body(f)?)
            }
        }
    }

    /// One attempt, connection errors mapped to [`Error::Network`] (for callers that
    /// run their own retry loop, like the resuming blob download).
    pub(crate) fn send_single(
        &self,
        method: &'static str,
        url: &str,
        headers: &[(&str, &str)],
        payload: Payload<'_>,
    ) -> Result<Resp, Error> {
        self.send_once(method, url, headers, payload)
            .map_err(|e| Error::Network {
                method,
                url: url.to_string(),
                reason: e.to_string(),
                attempts: 1,
            })
    }

    /// Sends with retries on connection errors, 5xx and 429 (when `retry_status`).
    /// Any other response (2xx, 3xx, 4xx) is returned for the caller to interpret.
    pub(crate) fn send(
        &self,
        method: &'static str,
        url: &str,
        headers: &[(&str, &str)],
        payload: Payload<'_>,
        retry_status: bool,
    ) -> Result<Resp, Error> {
        let attempts = self.retry.attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= attempts;
            match self.send_once(method, url, headers, payload) {
                Ok(r) => {
                    let s = r.status().as_u16();
                    if retry_status && (s >= 500 || s == 429) && !last {
                        std::thread::sleep(self.retry.delay(attempt));
                        continue;
                    }
                    return Ok(r);
                }
                Err(e) => {
                    if last {
                        return Err(Error::Network {
                            method,
                            url: url.to_string(),
                            reason: e.to_string(),
                            attempts: attempt,
                        });
                    }
                    std::thread::sleep(self.retry.delay(attempt));
                }
            }
        }
    }

    /// Maps a non-success response to the most precise error, using the hub's
    /// `X-Error-Code` header (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`,
    /// `GatedRepo`).
    pub(crate) fn status_error(
        &self,
        method: &'static str,
        url: &str,
        resp: &mut Resp,
        ctx: Ctx<'_>,
    ) -> Error {
        let status = resp.status().as_u16();
        let code = header(resp, "x-error-code").unwrap_or_default();
        let mut message = header(resp, "x-error-message");
        if message.is_none() {
            message = resp
                .body_mut()
                .with_config()
                .limit(4096)
                .read_to_string()
                .ok()
                .map(|s| s.trim().chars().take(300).collect::<String>())
                .filter(|s| !s.is_empty());
        }
        // The server's words end up on a terminal: no escape sequences.
        let message = message.map(|m| crate::printable(&m));
        let repo_id = ctx.repo_id.to_string();
        match (status, code.as_str()) {
            (401, _) => Error::Unauthorized {
                repo_id,
                url: url.to_string(),
                token_sent: self.has_token(),
            },
            (403, _) => Error::Forbidden {
                repo_id,
                url: url.to_string(),
                message,
            },
            (404, "RevisionNotFound") => Error::RevisionNotFound {
                repo_id,
                revision: ctx.revision.to_string(),
            },
            (404, "EntryNotFound") => Error::FileNotFound {
                repo_id,
                revision: ctx.revision.to_string(),
                path: ctx.path.unwrap_or_default().to_string(),
            },
            (404, "RepoNotFound") => Error::RepoNotFound {
                repo_id,
                endpoint: self.endpoint.clone(),
            },
            (404, _) => match ctx.path {
                Some(p) => Error::FileNotFound {
                    repo_id,
                    revision: ctx.revision.to_string(),
                    path: p.to_string(),
                },
                None => Error::RepoNotFound {
                    repo_id,
                    endpoint: self.endpoint.clone(),
                },
            },
            _ => Error::Http {
                method,
                url: url.to_string(),
                status,
                message,
            },
        }
    }

    /// Reads a JSON response body (at most 64 MiB).
    pub(crate) fn json(&self, url: &str, resp: &mut Resp) -> Result<serde_json::Value, Error> {
        let text = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .map_err(|e| Error::Network {
                method: "GET",
                url: url.to_string(),
                reason: format!("cannot read the body: {e}"),
                attempts: 1,
            })?;
        serde_json::from_str(&text).map_err(|e| Error::Protocol {
            url: url.to_string(),
            what: format!("invalid JSON: {e}"),
        })
    }
}

/// A response header as a string.
pub(crate) fn header(resp: &Resp, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `scheme://host[:port]` of a URL.
pub(crate) fn origin(url: &str) -> &str {
    let start = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[start..].find('/') {
        Some(i) => &url[..start + i],
        None => url,
    }
}

/// Resolves a `Location` header against the URL that returned it.
pub(crate) fn join_url(base: &str, location: &str) -> String {
    if location.contains("://") {
        location.to_string()
    } else if location.starts_with('/') {
        format!("{}{location}", origin(base))
    } else {
        let dir = base.rsplit_once('/').map(|(d, _)| d).unwrap_or(base);
        format!("{dir}/{location}")
    }
}

/// Percent-encodes a string for a URL path; `/` is kept when `keep_slash`.
pub(crate) fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(origin("http://127.0.0.1:8/a/b"), "http://127.0.0.1:8");
        assert_eq!(origin("https://hf.co"), "https://hf.co");
        assert_eq!(join_url("http://h:1/a/b", "/lfs/x"), "http://h:1/lfs/x");
        assert_eq!(join_url("http://h:1/a/b", "c"), "http://h:1/a/c");
        assert_eq!(join_url("http://h/a", "https://cdn/x"), "https://cdn/x");
        assert_eq!(encode("refs/pr/1", false), "refs%2Fpr%2F1");
        assert_eq!(encode("1_Pooling/a b.json", true), "1_Pooling/a%20b.json");
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        let r = Retry::default();
        assert_eq!(r.delay(1), Duration::from_millis(500));
        assert_eq!(r.delay(2), Duration::from_millis(1000));
        assert_eq!(r.delay(10), Duration::from_secs(8));
    }
}
