//! Routes, request parsing and answers.
//!
//! Requests are parsed by hand from a `serde_json::Value`, so every 422 names the field
//! at fault; answers with many floats are written directly (ryu), not through a value
//! tree. Errors take the shape of the API the route belongs to: OpenAI's
//! `{"error": {"message", "type", "param", "code"}}` under `/v1/`, TEI's
//! `{"error", "error_type"}` elsewhere.

use std::fmt::Write;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::FutureExt;
use m2v_static::{Activation, Label};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use crate::batch::{Batcher, Job, Refused, Rows, Task};
use crate::metrics::Metrics;
use crate::models::Served;
use crate::{Config, Error};

/// The OpenAPI document served at `/openapi.json`.
pub(crate) const OPENAPI: &str = include_str!("assets/openapi.json");
/// The demo page served at `/`.
const DEMO: &str = include_str!("assets/demo.html");

/// The server's shared, read-only state (plus counters).
#[derive(Debug)]
pub(crate) struct App {
    names: Vec<String>,
    models: Arc<[Served]>,
    batcher: Batcher,
    metrics: Arc<Metrics>,
    keys: Option<Vec<Vec<u8>>>,
    max_batch: usize,
    max_queue_texts: usize,
    threads: usize,
    draining: AtomicBool,
    created: u64,
    /// [`OPENAPI`] with this server's limits filled in.
    openapi: String,
    request_timeout: std::time::Duration,
}

impl App {
    pub fn new(config: &Config) -> Result<App, Error> {
        if config.models.is_empty() {
            return Err(Error::NoModel);
        }
        if config.max_batch == 0 {
            return Err(Error::Option {
                option: "max-batch",
                message: "must be at least 1".into(),
            });
        }
        let mut names: Vec<String> = Vec::new();
        for spec in &config.models {
            if names.contains(&spec.name) {
                return Err(Error::DuplicateName(spec.name.clone()));
            }
            names.push(spec.name.clone());
        }
        let keys = match &config.api_key_file {
            Some(p) => Some(read_keys(p)?),
            None => None,
        };
        let models: Arc<[Served]> = config
            .models
            .iter()
            .map(Served::load)
            .collect::<Result<Vec<_>, _>>()?
            .into();
        let metrics = Arc::new(Metrics::new(names.clone()));
        let threads = match config.threads {
            0 => crate::cores(),
            n => n,
        };
        let mut batcher = Batcher::new(
            models.clone(),
            config.max_batch_texts,
            config.max_queue_texts,
            metrics.clone(),
        );
        batcher.start(threads).map_err(|error| Error::Io {
            context: "starting the encoding threads".into(),
            error,
        })?;
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let min_dim = models.iter().map(|m| m.model().dim()).min().unwrap_or(1);
        let openapi = openapi_with_limits(config.max_batch, min_dim);
        Ok(App {
            request_timeout: config.request_timeout,
            openapi,
            names,
            models,
            batcher,
            metrics,
            keys,
            max_batch: config.max_batch,
            max_queue_texts: config.max_queue_texts,
            threads,
            draining: AtomicBool::new(false),
            created,
        })
    }

    /// Called when shutdown starts: `/health` answers 503 from now on.
    pub fn draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(keys) = &self.keys else {
            return true;
        };
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        else {
            return false;
        };
        // Every key is compared in full, whatever matches.
        keys.iter().fold(false, |ok, k| ok | same_bytes(k, given))
    }

    fn model_index(&self, api: Api, name: Option<&str>) -> Result<usize, ApiError> {
        match name {
            None => Ok(0),
            Some(n) => self.names.iter().position(|m| m == n).ok_or_else(|| {
                ApiError::new(
                    api,
                    StatusCode::NOT_FOUND,
                    "model_not_found",
                    format!(
                        "the model `{n}` is not served here; served: {}",
                        self.names.join(", ")
                    ),
                )
                .param("model")
            }),
        }
    }

    /// Queues `texts` and awaits their rows.
    async fn run(
        &self,
        api: Api,
        model: usize,
        texts: Vec<String>,
        task: Task,
    ) -> Result<Rows, ApiError> {
        let (reply, rx) = oneshot::channel();
        let job = Job {
            model,
            texts,
            task,
            reply,
        };
        self.batcher.submit(job).map_err(|r| match r {
            Refused::Full => ApiError::new(
                api,
                StatusCode::TOO_MANY_REQUESTS,
                "overloaded",
                format!(
                    "the server is busy: {} texts are already waiting; retry shortly",
                    self.max_queue_texts
                ),
            )
            .retry_after(),
            Refused::Closed => ApiError::new(
                api,
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the server is shutting down".into(),
            ),
        })?;
        let rows = rx
            .await
            .map_err(|_| ApiError::internal(api, "the encoding thread stopped".into()))?
            .map_err(|m| ApiError::internal(api, m))?;
        let tokens = rows.tokens.iter().map(|&t| u64::from(t)).sum();
        self.metrics.texts(model, rows.len(), tokens);
        Ok(rows)
    }
}

/// Constant-time comparison of equal-length byte strings.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

fn read_keys(path: &std::path::Path) -> Result<Vec<Vec<u8>>, Error> {
    let err = |message: String| Error::KeyFile {
        path: path.to_path_buf(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if !meta.is_file() || meta.len() > 1 << 20 {
        return Err(err("not a regular file of at most 1 MiB".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let keys: Vec<Vec<u8>> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.as_bytes().to_vec())
        .collect();
    if keys.is_empty() {
        return Err(err("holds no key (one key per line)".into()));
    }
    Ok(keys)
}

/// Which API's error shape a route uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    OpenAi,
    Tei,
}

impl Api {
    fn of(path: &str) -> Api {
        if path.starts_with("/v1/") {
            Api::OpenAi
        } else {
            Api::Tei
        }
    }
}

/// An error answer.
#[derive(Debug)]
pub(crate) struct ApiError {
    api: Api,
    status: StatusCode,
    kind: &'static str,
    message: String,
    param: Option<String>,
    retry_after: bool,
}

impl ApiError {
    fn new(api: Api, status: StatusCode, kind: &'static str, message: String) -> ApiError {
        ApiError {
            api,
            status,
            kind,
            message,
            param: None,
            retry_after: false,
        }
    }

    /// A 422 about `field`.
    fn invalid(api: Api, field: &str, message: String) -> ApiError {
        ApiError::new(
            api,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            message,
        )
        .param(field)
    }

    fn internal(api: Api, message: String) -> ApiError {
        ApiError::new(
            api,
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            message,
        )
    }

    fn param(mut self, p: &str) -> ApiError {
        self.param = Some(p.to_string());
        self
    }

    fn retry_after(mut self) -> ApiError {
        self.retry_after = true;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.api {
            Api::OpenAi => json!({"error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": null,
            }}),
            Api::Tei => {
                let error_type = match self.status.as_u16() {
                    401 => "Unauthorized",
                    404 => "NotFound",
                    429 => "Overloaded",
                    503 => "Unhealthy",
                    s if s >= 500 => "Backend",
                    _ => "Validation",
                };
                let message = match &self.param {
                    Some(p) => format!("`{p}`: {}", self.message),
                    None => self.message,
                };
                json!({"error": message, "error_type": error_type})
            }
        };
        let mut r = json_response(self.status, body.to_string());
        if self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The routes, behind the key check, the panic guard and the metrics.
pub(crate) fn router(app: Arc<App>, body_limit: usize) -> Router {
    Router::new()
        .route("/v1/embeddings", post(openai_embeddings))
        .route("/v1/models", get(openai_models))
        .route("/embed", post(tei_embed))
        .route("/predict", post(tei_predict))
        .route("/info", get(info))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/", get(demo))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(app)
}

/// Routes anyone may call: liveness, and the static page and schema.
fn is_public(path: &str) -> bool {
    matches!(path, "/health" | "/" | "/openapi.json")
}

/// The key check, the panic guard and the request metrics around every route.
async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let path = req.uri().path().to_string();
    let api = Api::of(&path);
    let response = if !is_public(&path) && !app.authorized(req.headers()) {
        ApiError::new(
            api,
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "missing or wrong API key: send `Authorization: Bearer <key>`".into(),
        )
        .into_response()
    } else {
        let run = AssertUnwindSafe(next.run(req)).catch_unwind();
        match tokio::time::timeout(app.request_timeout, run).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => {
                ApiError::internal(api, "the request handler panicked".into()).into_response()
            }
            Err(_) => ApiError::new(
                api,
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format!(
                    "the request took longer than {:.1} s to arrive and be answered \
                     (--request-timeout)",
                    app.request_timeout.as_secs_f64()
                ),
            )
            .into_response(),
        }
    };
    app.metrics.request(
        Metrics::route(&path),
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

async fn not_found(req: Request) -> Response {
    let api = Api::of(req.uri().path());
    ApiError::new(
        api,
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route {} {} (see /openapi.json)",
            req.method(),
            req.uri().path()
        ),
    )
    .into_response()
}

/// The body as a JSON object, or the error answer: 413 over the size limit, 422 when
/// it is not JSON or not an object.
fn body_object(
    api: Api,
    body: Result<Bytes, BytesRejection>,
) -> Result<Map<String, Value>, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                api,
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                "the request body is larger than this server accepts (--max-input-bytes)".into(),
            )
        } else {
            ApiError::new(
                api,
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                format!("reading the request body: {e}"),
            )
        }
    })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::invalid(
            api,
            "body",
            "the body must be a JSON object".into(),
        )),
        Err(e) => Err(ApiError::invalid(
            api,
            "body",
            format!("malformed JSON: {e}"),
        )),
    }
}

/// `field` as texts: a string or a non-empty array of strings, at most `max` of them.
fn texts(
    api: Api,
    body: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<(Vec<String>, bool), ApiError> {
    let bad = |m: String| ApiError::invalid(api, field, m);
    match body.get(field) {
        None => Err(bad(format!("`{field}` is required"))),
        Some(Value::String(s)) => Ok((vec![s.clone()], true)),
        Some(Value::Array(a)) => {
            if a.is_empty() {
                return Err(bad(format!("`{field}` is an empty array")));
            }
            if a.len() > max {
                return Err(ApiError::new(
                    api,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_many_inputs",
                    format!(
                        "`{field}` has {} items; this server takes at most {max} per request (--max-batch)",
                        a.len()
                    ),
                )
                .param(field));
            }
            a.iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(_) | Value::Array(_) => Err(bad(format!(
                        "`{field}[{i}]` is not a string: token ids are not accepted, send the \
                         texts (a static model has its own vocabulary; with LangChain's \
                         OpenAIEmbeddings, set check_embedding_ctx_length=False)"
                    ))),
                    _ => Err(bad(format!("`{field}[{i}]` is not a string"))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|t| (t, false))
        }
        Some(_) => Err(bad(format!(
            "`{field}` must be a string or an array of strings"
        ))),
    }
}

fn opt_bool(api: Api, body: &Map<String, Value>, field: &str) -> Result<Option<bool>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::invalid(
            api,
            field,
            format!("`{field}` must be true or false"),
        )),
    }
}

fn opt_str<'a>(
    api: Api,
    body: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(
            api,
            field,
            format!("`{field}` must be a string"),
        )),
    }
}

/// `dimensions`: an integer in `1..=dim`, or absent.
fn dimensions(api: Api, body: &Map<String, Value>, dim: usize) -> Result<Option<usize>, ApiError> {
    match body.get("dimensions") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(d) if d >= 1 && d as usize <= dim => Ok(Some(d as usize)),
            _ => Err(ApiError::invalid(
                api,
                "dimensions",
                format!("`dimensions` must be an integer from 1 to the model's {dim}"),
            )),
        },
    }
}

/// A row cut to `d` values and L2-normalized again (OpenAI's `dimensions`).
fn shorten(row: &[f32], d: usize, out: &mut Vec<f32>) {
    out.clear();
    out.extend_from_slice(&row[..d]);
    let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        out.iter_mut().for_each(|x| *x /= norm);
    }
}

fn push_f32(out: &mut String, v: f32, ryu: &mut ryu::Buffer) {
    if v.is_finite() {
        out.push_str(ryu.format_finite(v));
    } else {
        out.push_str("null");
    }
}

fn push_row(out: &mut String, row: &[f32], ryu: &mut ryu::Buffer) {
    out.push('[');
    for (i, &v) in row.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_f32(out, v, ryu);
    }
    out.push(']');
}

/// Standard base64 with padding of the row's little-endian f32 bytes (OpenAI's
/// `encoding_format: base64`).
fn push_base64(out: &mut String, row: &[f32]) {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = row.iter().flat_map(|v| v.to_le_bytes()).collect();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        out.push(ABC[(n >> 18) as usize & 63] as char);
        out.push(ABC[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            ABC[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            ABC[n as usize & 63] as char
        } else {
            '='
        });
    }
}

fn json_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// `POST /v1/embeddings` (OpenAI).
async fn openai_embeddings(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let api = Api::OpenAi;
    let body = body_object(api, body)?;
    let (texts, _) = texts(api, &body, "input", app.max_batch)?;
    let model = app.model_index(api, opt_str(api, &body, "model")?)?;
    opt_str(api, &body, "user")?;
    let base64 = match opt_str(api, &body, "encoding_format")? {
        None | Some("float") => false,
        Some("base64") => true,
        Some(f) => {
            return Err(ApiError::invalid(
                api,
                "encoding_format",
                format!("`encoding_format` must be \"float\" or \"base64\", not {f:?}"),
            ));
        }
    };
    let served = app.models[model].model();
    let dim = served.dim();
    let dims = dimensions(api, &body, dim)?.filter(|&d| d < dim);
    let normalize = if dims.is_some() {
        false
    } else {
        served.normalize()
    };
    let task = Task::Embed {
        normalize,
        truncate: true,
    };
    // The request's value tree is not kept while the texts wait in the queue.
    drop(body);
    let rows = app.run(api, model, texts, task).await?;
    let width = dims.unwrap_or(dim);
    let per_row = if base64 { width * 6 } else { width * 12 } + 48;
    let mut out = String::with_capacity(rows.len() * per_row + 160);
    out.push_str("{\"object\":\"list\",\"data\":[");
    let mut ryu = ryu::Buffer::new();
    let mut short = Vec::new();
    for i in 0..rows.len() {
        let row = match dims {
            Some(d) => {
                shorten(rows.row(i), d, &mut short);
                &short[..]
            }
            None => rows.row(i),
        };
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"object\":\"embedding\",\"index\":{i},\"embedding\":"
        );
        if base64 {
            out.push('"');
            push_base64(&mut out, row);
            out.push('"');
        } else {
            push_row(&mut out, row, &mut ryu);
        }
        out.push('}');
    }
    let tokens: u64 = rows.tokens.iter().map(|&t| u64::from(t)).sum();
    let _ = write!(
        out,
        "],\"model\":{},\"usage\":{{\"prompt_tokens\":{tokens},\"total_tokens\":{tokens}}}}}",
        json_string(&app.names[model])
    );
    Ok(json_response(StatusCode::OK, out))
}

/// `GET /v1/models` (OpenAI).
async fn openai_models(State(app): State<Arc<App>>) -> Response {
    let data: Vec<Value> = app
        .names
        .iter()
        .map(|n| json!({"id": n, "object": "model", "created": app.created, "owned_by": "m2v"}))
        .collect();
    json_response(
        StatusCode::OK,
        json!({"object": "list", "data": data}).to_string(),
    )
}

/// TEI's `truncate` and `truncation_direction`: `truncate: false` pools every token
/// (a static model has no position limit); only right truncation exists.
fn truncation(api: Api, body: &Map<String, Value>) -> Result<bool, ApiError> {
    match opt_str(api, body, "truncation_direction")? {
        None => {}
        Some(d) if d.eq_ignore_ascii_case("right") => {}
        Some(_) => {
            return Err(ApiError::invalid(
                api,
                "truncation_direction",
                "only \"Right\" truncation is supported".into(),
            ));
        }
    }
    Ok(opt_bool(api, body, "truncate")?.unwrap_or(true))
}

/// `POST /embed` (TEI).
async fn tei_embed(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let api = Api::Tei;
    let body = body_object(api, body)?;
    let (texts, _) = texts(api, &body, "inputs", app.max_batch)?;
    let model = app.model_index(api, opt_str(api, &body, "model")?)?;
    if body.get("prompt_name").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::invalid(
            api,
            "prompt_name",
            "static models have no prompts".into(),
        ));
    }
    // The model's setting unless the request says (TEI's default is true; potion
    // models normalize, so the two agree there).
    let served = app.models[model].model();
    let normalize = opt_bool(api, &body, "normalize")?.unwrap_or(served.normalize());
    let truncate = truncation(api, &body)?;
    let dim = served.dim();
    let dims = dimensions(api, &body, dim)?.filter(|&d| d < dim);
    let task = Task::Embed {
        normalize: normalize && dims.is_none(),
        truncate,
    };
    drop(body);
    let rows = app.run(api, model, texts, task).await?;
    let width = dims.unwrap_or(dim);
    let mut out = String::with_capacity(rows.len() * (width * 12 + 2) + 2);
    out.push('[');
    let mut ryu = ryu::Buffer::new();
    let mut short = Vec::new();
    for i in 0..rows.len() {
        if i > 0 {
            out.push(',');
        }
        match dims {
            Some(d) if normalize => {
                shorten(rows.row(i), d, &mut short);
                push_row(&mut out, &short, &mut ryu);
            }
            Some(d) => push_row(&mut out, &rows.row(i)[..d], &mut ryu),
            None => push_row(&mut out, rows.row(i), &mut ryu),
        }
    }
    out.push(']');
    Ok(json_response(StatusCode::OK, out))
}

/// `POST /predict` (TEI's classifier route) for a served pipeline.
async fn tei_predict(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let api = Api::Tei;
    let body = body_object(api, body)?;
    let (texts, single) = texts(api, &body, "inputs", app.max_batch)?;
    let model = match opt_str(api, &body, "model")? {
        Some(n) => app.model_index(api, Some(n))?,
        None => app
            .models
            .iter()
            .position(|m| m.pipeline().is_some())
            .ok_or_else(|| {
                ApiError::new(
                    api,
                    StatusCode::NOT_FOUND,
                    "no_pipeline",
                    "no pipeline is served: start the server with a folder saved by \
                     `m2v-cli train`"
                        .into(),
                )
            })?,
    };
    let Some(pipeline) = app.models[model].pipeline() else {
        return Err(ApiError::new(
            api,
            StatusCode::NOT_FOUND,
            "no_pipeline",
            format!("`{}` is a model, not a pipeline", app.names[model]),
        )
        .param("model"));
    };
    let raw = opt_bool(api, &body, "raw_scores")?.unwrap_or(false);
    let truncate = truncation(api, &body)?;
    drop(body);
    let rows = app
        .run(api, model, texts, Task::Predict { raw, truncate })
        .await?;
    let head = pipeline.head();
    let classes: Vec<Value> = match head.classes() {
        Some(c) => c.iter().map(label_value).collect(),
        None => (0..rows.width)
            .map(|i| Value::from(i.to_string()))
            .collect(),
    };
    let sort = head.activation() != Activation::Identity;
    let mut results: Vec<Value> = (0..rows.len())
        .map(|i| {
            let mut pairs: Vec<(f32, &Value)> = rows.row(i).iter().copied().zip(&classes).collect();
            if sort {
                // Highest score first, ties in class order (a stable sort).
                pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
            }
            Value::Array(
                pairs
                    .into_iter()
                    .map(|(s, l)| json!({"score": s, "label": l}))
                    .collect(),
            )
        })
        .collect();
    let out = if single {
        results.swap_remove(0)
    } else {
        Value::Array(results)
    };
    Ok(json_response(StatusCode::OK, out.to_string()))
}

fn label_value(l: &Label) -> Value {
    match l {
        Label::Int(i) => Value::from(*i),
        Label::Str(s) => Value::from(s.as_str()),
    }
}

/// `GET /info` (TEI): the first model's settings, and every served name.
async fn info(State(app): State<Arc<App>>) -> Response {
    let served = &app.models[0];
    let m = served.model();
    let model_type = match served.pipeline().and_then(|p| p.head().classes()) {
        Some(c) => {
            let id2label: Map<String, Value> = c
                .iter()
                .enumerate()
                .map(|(i, l)| (i.to_string(), Value::from(l.to_string())))
                .collect();
            json!({"classifier": {"id2label": id2label}})
        }
        None => json!({"embedding": {"pooling": "mean"}}),
    };
    let body = json!({
        "model_id": app.names[0],
        "model_sha": null,
        "model_dtype": m.dtype().name(),
        "model_type": model_type,
        "max_concurrent_requests": app.max_queue_texts,
        "max_input_length": m.max_length(),
        "max_batch_tokens": null,
        "max_batch_requests": null,
        "max_client_batch_size": app.max_batch,
        "auto_truncate": true,
        "tokenization_workers": app.threads,
        "version": env!("CARGO_PKG_VERSION"),
        "sha": null,
        "docker_label": null,
        "dim": m.dim(),
        "normalize": m.normalize(),
        "models": app.names,
        "pipelines": app
            .names
            .iter()
            .zip(app.models.iter())
            .filter(|(_, m)| m.pipeline().is_some())
            .map(|(n, _)| n.clone())
            .collect::<Vec<_>>(),
    });
    json_response(StatusCode::OK, body.to_string())
}

/// `GET /health`: 200 while serving, 503 once shutdown has started.
async fn health(State(app): State<Arc<App>>) -> Response {
    if app.draining.load(Ordering::SeqCst) {
        json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "shutting down"}).to_string(),
        )
    } else {
        json_response(StatusCode::OK, json!({"status": "ok"}).to_string())
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut r = Response::new(Body::from(app.metrics.render()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

async fn openapi(State(app): State<Arc<App>>) -> Response {
    json_response(StatusCode::OK, app.openapi.clone())
}

/// [`OPENAPI`] with the limits a client must know to send a valid request: the most
/// inputs per request (`maxItems`) and the largest `dimensions` every served model
/// takes (`maximum`).
fn openapi_with_limits(max_batch: usize, min_dim: usize) -> String {
    let mut doc: Value = match serde_json::from_str(OPENAPI) {
        Ok(v) => v,
        Err(_) => return OPENAPI.to_string(),
    };
    let schemas = &mut doc["components"]["schemas"];
    for (schema, field) in [
        ("EmbeddingsRequest", "input"),
        ("EmbedRequest", "inputs"),
        ("PredictRequest", "inputs"),
    ] {
        if let Some(array) = schemas[schema]["properties"][field]["oneOf"].get_mut(1) {
            array["maxItems"] = json!(max_batch);
        }
    }
    for schema in ["EmbeddingsRequest", "EmbedRequest"] {
        schemas[schema]["properties"]["dimensions"]["maximum"] = json!(min_dim);
    }
    doc.to_string()
}

async fn demo() -> Response {
    let mut r = Response::new(Body::from(DEMO));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Everything the page needs is in it: forbid any other origin.
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; img-src data:",
        ),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        // 1.0f32 = 00 00 80 3f; 2.0 = 00 00 00 40.
        let mut s = String::new();
        push_base64(&mut s, &[1.0]);
        assert_eq!(s, "AACAPw==");
        s.clear();
        push_base64(&mut s, &[1.0, 2.0]);
        assert_eq!(s, "AACAPwAAAEA=");
        s.clear();
        push_base64(&mut s, &[1.0, 2.0, -0.5]);
        // -0.5 = 00 00 00 bf
        assert_eq!(s, "AACAPwAAAEAAAAC/");
    }

    #[test]
    fn shorten_renormalizes_and_keeps_zero_rows() {
        let mut out = Vec::new();
        shorten(&[3.0, 4.0, 12.0], 2, &mut out);
        assert_eq!(out, [0.6, 0.8]);
        shorten(&[0.0, 0.0, 1.0], 2, &mut out);
        assert_eq!(out, [0.0, 0.0]);
    }

    #[test]
    fn keys_compare_in_full() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"abcd"));
    }

    #[test]
    fn openapi_lists_every_route() {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for r in crate::metrics::ROUTES.iter().filter(|r| **r != "other") {
            assert!(paths.contains_key(*r), "{r} is missing from openapi.json");
        }
        assert_eq!(paths.len(), crate::metrics::ROUTES.len() - 1);
        let patched: Value = serde_json::from_str(&openapi_with_limits(64, 8)).unwrap();
        let s = &patched["components"]["schemas"];
        assert_eq!(
            s["EmbeddingsRequest"]["properties"]["input"]["oneOf"][1]["maxItems"],
            64
        );
        assert_eq!(
            s["PredictRequest"]["properties"]["inputs"]["oneOf"][1]["maxItems"],
            64
        );
        assert_eq!(s["EmbedRequest"]["properties"]["dimensions"]["maximum"], 8);
    }
}
