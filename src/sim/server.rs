//! The HTTPS side of the fake node and wallet: tokio + hyper 1 + tokio-rustls with chia's server TLS settings,
//! a request log, and the faults a test can switch on (slow answers, garbage, stopping and restarting).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// aiohttp's default `client_max_size`.
pub const MAX_BODY: usize = 1 << 20;

/// How the server answers, whatever the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Real answers.
    Normal,
    /// HTTP 200 with a body that is not JSON.
    Garbage,
    /// HTTP 200 with the first half of the real JSON answer (a consistent Content-Length).
    TruncatedJson,
    /// Announces the full answer's length but closes the connection halfway through it.
    CutOff,
    /// HTTP 500 like aiohttp's unhandled exception page.
    ServerError,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub endpoint: String,
    pub body_len: usize,
    pub body: Value,
}

/// The JSON-RPC logic behind a server: `endpoint` and request body in, answer object out
/// (`Err(message)` becomes a chia `success: false` answer).
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, endpoint: &str, body: &Value) -> Option<Result<Value, RpcFailure>>;
}

/// A chia `success: false` answer.
#[derive(Debug, Clone)]
pub struct RpcFailure {
    pub message: String,
    pub code: &'static str,
    pub data: Value,
}

impl RpcFailure {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code,
            data: json!({}),
        }
    }
}

struct Shared {
    handler: Arc<dyn Handler>,
    tls: TlsAcceptor,
    mode: Mutex<Mode>,
    delay: Mutex<Duration>,
    log: Mutex<Vec<Recorded>>,
    /// The log keeps this many newest requests.
    log_cap: std::sync::atomic::AtomicUsize,
    /// Requests answered since the start (the log may have dropped some).
    served: std::sync::atomic::AtomicU64,
}

/// One fake RPC server on 127.0.0.1. `stop().await` closes the port and every open connection; `restart`
/// listens on the same port again.
pub struct FakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    running: Mutex<Option<Running>>,
}

/// The accept loop and how to stop it.
struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    pub async fn start(tls: Arc<rustls::ServerConfig>, handler: Arc<dyn Handler>) -> Self {
        let listener = bind("127.0.0.1:0".parse().expect("address")).await;
        let addr = listener.local_addr().expect("local address");
        let server = Self {
            addr,
            shared: Arc::new(Shared {
                handler,
                tls: TlsAcceptor::from(tls),
                mode: Mutex::new(Mode::Normal),
                delay: Mutex::new(Duration::ZERO),
                log: Mutex::new(Vec::new()),
                log_cap: std::sync::atomic::AtomicUsize::new(usize::MAX),
                served: std::sync::atomic::AtomicU64::new(0),
            }),
            running: Mutex::new(None),
        };
        server.run(listener);
        server
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stops listening and drops every connection, like a node that was shut down; returns once the port is
    /// closed.
    pub async fn stop(&self) {
        let running = self.running.lock().expect("running").take();
        if let Some(running) = running {
            let _ = running.stop.send(());
            let _ = running.task.await;
        }
    }

    /// Listens on the same port again.
    pub async fn restart(&self) {
        self.stop().await;
        let listener = bind(self.addr).await;
        self.run(listener);
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().expect("mode") = mode;
    }

    /// Every answer waits this long first.
    pub fn set_delay(&self, delay: Duration) {
        *self.shared.delay.lock().expect("delay") = delay;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().expect("log").clone()
    }

    pub fn request_count(&self, endpoint: &str) -> usize {
        self.shared
            .log
            .lock()
            .expect("log")
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .count()
    }

    pub fn total_requests(&self) -> usize {
        self.shared.log.lock().expect("log").len()
    }

    /// Keeps only the newest `cap` requests in the log (a long-running simulation).
    pub fn set_log_cap(&self, cap: usize) {
        self.shared
            .log_cap
            .store(cap.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// Requests received since the start, including those the log no longer holds.
    pub fn requests_served(&self) -> u64 {
        self.shared
            .served
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn clear_log(&self) {
        self.shared.log.lock().expect("log").clear();
    }

    fn run(&self, listener: TcpListener) {
        let shared = Arc::clone(&self.shared);
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        let Ok((tcp, _)) = accepted else { break };
                        connections.spawn(serve_connection(tcp, Arc::clone(&shared)));
                        while connections.try_join_next().is_some() {}
                    }
                }
            }
            drop(listener);
            // Abort and await every connection so that their sockets are closed when `stop` returns.
            connections.shutdown().await;
        });
        *self.running.lock().expect("running") = Some(Running { stop, task });
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        // Cannot wait here; aborting the loop drops the listener and the connections soon after.
        if let Ok(mut running) = self.running.lock() {
            if let Some(running) = running.take() {
                running.task.abort();
            }
        }
    }
}

async fn bind(addr: SocketAddr) -> TcpListener {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_reuseaddr(true).expect("SO_REUSEADDR");
    socket.bind(addr).expect("bind fake server port");
    socket.listen(128).expect("listen")
}

async fn serve_connection(tcp: tokio::net::TcpStream, shared: Arc<Shared>) {
    // As asyncio (and so chia's RPC server) does; without it Nagle stalls each handshake by ~40 ms.
    let _ = tcp.set_nodelay(true);
    let Ok(tls) = shared.tls.accept(tcp).await else {
        return;
    };
    let service = hyper::service::service_fn(move |request| answer(Arc::clone(&shared), request));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

fn response(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn answer(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let endpoint = request.uri().path().trim_start_matches('/').to_string();
    let bytes = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request Entity Too Large",
            ))
        }
    };
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => {
            return Ok(response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error",
            ))
        }
    };
    shared
        .served
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    {
        let mut log = shared.log.lock().expect("log");
        let cap = shared.log_cap.load(std::sync::atomic::Ordering::Relaxed);
        if log.len() >= cap {
            let excess = log.len() + 1 - cap;
            log.drain(..excess);
        }
        log.push(Recorded {
            endpoint: endpoint.clone(),
            body_len: bytes.len(),
            body: body.clone(),
        });
    }
    let delay = *shared.delay.lock().expect("delay");
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let Some(result) = shared.handler.handle(&endpoint, &body) else {
        return Ok(response(StatusCode::NOT_FOUND, "404: Not Found"));
    };
    let json = match result {
        Ok(Value::Object(mut map)) => {
            map.entry("success").or_insert(Value::Bool(true));
            Value::Object(map)
        }
        Ok(other) => other,
        Err(failure) => json!({
            "success": false,
            "error": failure.message,
            "traceback": "Traceback (most recent call last): ...",
            "structuredError": {"code": failure.code, "message": failure.message, "data": failure.data},
        }),
    };
    let text = json.to_string();
    let mode = *shared.mode.lock().expect("mode");
    Ok(match mode {
        Mode::Normal => response(StatusCode::OK, text),
        Mode::Garbage => response(StatusCode::OK, "<html>definitely not json</html>"),
        Mode::TruncatedJson => response(StatusCode::OK, text[..text.len() / 2].to_string()),
        Mode::ServerError => response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500 Internal Server Error",
        ),
        Mode::CutOff => {
            let mut cut = response(StatusCode::OK, text[..text.len() / 2].to_string());
            cut.headers_mut().insert(
                "content-length",
                hyper::header::HeaderValue::from(text.len()),
            );
            cut
        }
    })
}
