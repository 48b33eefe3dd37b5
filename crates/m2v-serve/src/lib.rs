//! The m2v embedding server: static models and trained pipelines over HTTP.
//!
//! `m2v-cli serve` is a thin front end over [`start`] / [`run`]. Routes:
//!
//! | route | API | what |
//! |---|---|---|
//! | `POST /v1/embeddings` | OpenAI | `input` (string or strings), `model`, `encoding_format` (`float`, `base64`), `dimensions`, usage |
//! | `GET /v1/models` | OpenAI | the served models |
//! | `POST /embed` | TEI | `inputs`, `normalize`, `truncate` |
//! | `POST /predict` | TEI | a pipeline's labels and scores |
//! | `GET /info`, `GET /health` | TEI | the first model's settings; liveness |
//! | `GET /metrics` | Prometheus | requests, latency, texts, tokens, errors |
//! | `GET /openapi.json` | OpenAPI 3.0 | this list, with schemas |
//! | `GET /` | | the demo page (assets embedded, no external network) |
//!
//! How a request is served (`batch.rs`): the handler parses and checks it, then puts
//! one job on a bounded queue and awaits the reply. Encoding threads take every job
//! waiting (up to [`Config::max_batch_texts`] texts) and encode them together, grouped
//! by model and options, so requests arriving together are one batch. A full queue is
//! answered 429 with `Retry-After` instead of growing memory.
//!
//! **Invariant:** the vectors are [`m2v_static::StaticModel::encode_with`]'s for the
//! same texts and options (batching changes no bit: the library's output does not
//! depend on batch composition), so `m2v-cli encode` and the server agree exactly.
//!
//! **Invariant:** no input reaches the client as a dropped connection: bodies and
//! inputs are bounded (413), malformed JSON is a 422 naming the field, and a panic in
//! a handler or an encoding thread becomes a 500.
//!
//! **Invariant:** every request has a deadline ([`Config::request_timeout`]: 408 for
//! a slow body or a long wait; a client that never finishes its headers is
//! disconnected), so slow clients cannot hold the server's time or memory.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
mod batch;
mod error;
mod metrics;
mod models;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use crate::error::Error;
pub use crate::models::{ModelSpec, Served};

/// The server's settings; [`Config::new`] gives the defaults `m2v-cli serve` uses.
#[derive(Debug, Clone)]
pub struct Config {
    /// The models to serve, the first being the default (TEI's `/embed`, `/info`).
    pub models: Vec<ModelSpec>,
    /// Address to listen on; port 0 picks a free port ([`Running::addr`] tells which).
    pub addr: SocketAddr,
    /// A file with one accepted API key per line (blank lines ignored); `None` lets
    /// every request in.
    pub api_key_file: Option<PathBuf>,
    /// Most inputs in one request (413 beyond). OpenAI's limit: 2048.
    pub max_batch: usize,
    /// Largest request body in bytes (413 beyond).
    pub max_input_bytes: usize,
    /// Most texts encoded in one batch of jobs.
    pub max_batch_texts: usize,
    /// Most texts waiting to be encoded; a request that would pass it gets 429.
    pub max_queue_texts: usize,
    /// Encoding threads (0: one per core).
    pub threads: usize,
    /// Threads answering HTTP (0: one per core).
    pub io_threads: usize,
    /// Deadline for a request's headers (a client that misses it is disconnected),
    /// then again for its body, queue and encoding (408 beyond). Also the most time
    /// shutdown waits for open connections.
    pub request_timeout: Duration,
}

impl Config {
    /// The defaults for `models`: 127.0.0.1:8080, no key, 2048 inputs and 8 MiB per
    /// request, batches of up to 4096 texts, a queue of 32,768 texts, one encoding
    /// and one HTTP thread per core, 30 s per request.
    pub fn new(models: Vec<ModelSpec>) -> Config {
        Config {
            models,
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            api_key_file: None,
            max_batch: 2048,
            max_input_bytes: 8 << 20,
            max_batch_texts: 4096,
            max_queue_texts: 32_768,
            threads: 0,
            io_threads: 0,
            request_timeout: Duration::from_secs(30),
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A server running on its own threads; dropping it shuts it down like [`Running::shutdown`].
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), Error>>>,
}

impl Running {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, lets the requests in flight finish, stops the
    /// encoding threads, and returns once all of that is done.
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.stop_and_join()
    }

    /// Blocks until the server stops on its own (SIGTERM or Ctrl-C when started by
    /// [`run`]).
    pub fn wait(mut self) -> Result<(), Error> {
        self.join()
    }

    fn stop_and_join(&mut self) -> Result<(), Error> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.join()
    }

    /// Waits for the server thread (once; later calls return `Ok`).
    fn join(&mut self) -> Result<(), Error> {
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|_| {
                Err(Error::Io {
                    context: "the server thread".into(),
                    error: std::io::Error::other("panicked"),
                })
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

/// Loads the models, binds the address and serves on background threads until
/// [`Running::shutdown`] (or, with `signals`, SIGTERM / Ctrl-C). Errors in loading or
/// binding come back here, before anything is served.
pub fn start(config: Config, signals: bool) -> Result<Running, Error> {
    let state = Arc::new(api::App::new(&config)?);
    let io_threads = match config.io_threads {
        0 => cores(),
        n => n,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(io_threads)
        .thread_name("m2v-serve-http")
        .enable_all()
        .build()
        .map_err(|error| Error::Io {
            context: "starting the HTTP runtime".into(),
            error,
        })?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(config.addr))
        .map_err(|error| Error::Io {
            context: format!("binding {}", config.addr),
            error,
        })?;
    let addr = listener.local_addr().map_err(|error| Error::Io {
        context: "reading the bound address".into(),
        error,
    })?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = api::router(state.clone(), config.max_input_bytes);
    let timeout = config.request_timeout;
    let thread = std::thread::Builder::new()
        .name("m2v-serve".into())
        .spawn(move || {
            let result = rt.block_on(async move {
                let shutdown = async move {
                    if signals {
                        tokio::select! {
                            _ = stopped => {}
                            _ = signal() => {}
                        }
                    } else {
                        let _ = stopped.await;
                    }
                    state.draining();
                };
                serve(listener, router, shutdown, timeout).await
            });
            // In-flight requests have their answers; now the encoding threads.
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
            result.map_err(|error| Error::Io {
                context: "serving".into(),
                error,
            })
        })
        .map_err(|error| Error::Io {
            context: "starting the server thread".into(),
            error,
        })?;
    Ok(Running {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// [`start`] with signal handling, then waits: the whole life of `m2v-cli serve`.
/// `on_ready` is called with the bound address once the server accepts connections.
pub fn run(config: Config, on_ready: impl FnOnce(SocketAddr)) -> Result<(), Error> {
    let running = start(config, true)?;
    on_ready(running.addr());
    running.wait()
}

/// The accept loop: one HTTP/1.1 connection task per client, each with a deadline for
/// reading a request's headers (a client that never finishes them is dropped); once
/// `shutdown` resolves, stop accepting, let every open connection finish its request
/// in flight and close (at most `timeout` more), then return.
async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl std::future::Future<Output = ()>,
    timeout: Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: wait, then go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(timeout)
            .keep_alive(true);
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that went away mid-request is its own problem.
            let _ = conn.await;
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(timeout) => {}
    }
    Ok(())
}

/// SIGTERM or Ctrl-C (SIGINT).
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
