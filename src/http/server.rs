//! Serves a warp filter over plain TCP or TLS (rustls), with the limits a public server needs: a bound on
//! connections overall and per address, deadlines for every phase of a connection (TLS handshake, first
//! request, keep-alive idle; the body's is in routes), a request budget per address, HTTP/1 only, and a
//! graceful stop that lets requests in flight finish. A flood is shed at accept time, before any TLS work;
//! when every place is taken, the connection quiet the longest is closed to make room for the new one.
//!
//! warp 0.4 has no TLS support of its own, so connections are driven here with hyper under warp's service.
//! The 2.7.5 farmer opens a new TLS connection for every partial, so TLS session tickets and a large session
//! cache keep repeat handshakes cheap.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use warp::http::StatusCode;
use warp::{Filter, Reply};

use super::deadlines::{Activity, Registry};
use super::limits::{self, ConnectionCounts, RateLimiter};

/// How long a stopping server waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// TLS sessions remembered for resumption.
const SESSION_CACHE: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "cannot listen on {addr}: {source}; is another process using the port? ([server] listen)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot set up TLS: {0}")]
    TlsConfig(String),
}

/// What `serve` needs besides the routes.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// Where each handshake gets its certificate (files or ACME, swapped at run time); None = plain HTTP.
    pub tls: Option<TlsOptions>,
    pub max_connections: usize,
    /// Deadline for the TLS handshake, and then for the first request's headers.
    pub header_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// New connections per second one address may open, sustained (bursts of ten times that pass).
    pub connections_per_ip_per_sec: u32,
    /// Connections one address (IPv6: one /64) may hold open at once.
    pub max_connections_per_ip: usize,
    /// Requests per second one client may send, sustained (bursts of ten times that pass).
    pub requests_per_ip_per_sec: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client; their own connections are not capped
    /// per address.
    pub trusted_proxies: Vec<IpAddr>,
}

#[derive(Debug, Clone)]
pub struct TlsOptions {
    pub resolver: Arc<crate::tls::CertResolver>,
    /// Offer the tls-alpn-01 protocol so an ACME CA can validate on this listener.
    pub acme_alpn: bool,
}

/// A bound listener, ready to serve; `local_addr` is the real address (the configured port may be 0).
pub struct Listener {
    tcp: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    pub local_addr: SocketAddr,
}

/// Binds the address and loads the TLS certificate, so that configuration errors surface before serving.
pub async fn bind(options: &ServeOptions) -> Result<Listener, ServeError> {
    let tls = match &options.tls {
        Some(tls) => Some(tls_acceptor(tls)?),
        None => None,
    };
    let tcp = TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: options.listen,
            source,
        })?;
    let local_addr = tcp.local_addr().map_err(|source| ServeError::Bind {
        addr: options.listen,
        source,
    })?;
    Ok(Listener {
        tcp,
        tls,
        local_addr,
    })
}

/// What every connection task shares.
struct Shared {
    builder: hyper::server::conn::http1::Builder,
    header_timeout: Duration,
    idle_timeout: Duration,
    requests: Mutex<RateLimiter>,
    trusted: Vec<IpAddr>,
}

/// Serves `filter` until `shutdown` completes, then lets requests in flight finish (up to a grace period).
pub async fn serve<F>(
    listener: Listener,
    filter: F,
    options: &ServeOptions,
    shutdown: impl Future<Output = ()>,
) where
    F: Filter + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply,
{
    let service = warp::service(filter);
    let permits = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let per_address = ConnectionCounts::new(options.max_connections_per_ip);
    let registry = Arc::new(Registry::default());
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        // A client that shuts its write side after the request still gets the answer (the deadlines,
        // not the half-close, end the connection).
        .half_close(true)
        .keep_alive(true);
    let shared = Arc::new(Shared {
        builder,
        header_timeout: options.header_timeout,
        idle_timeout: options.idle_timeout,
        requests: Mutex::new(RateLimiter::new(options.requests_per_ip_per_sec)),
        trusted: options.trusted_proxies.clone(),
    });
    let mut opening = RateLimiter::new(options.connections_per_ip_per_sec);
    let shed = ShedLog::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.tcp.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Everything below refuses before any TLS work, by closing at once: a flood costs next to nothing
        // and never fills the listen queue, so others keep getting in.
        let proxy = limits::is_trusted(peer.ip(), &shared.trusted);
        let place = if proxy {
            None
        } else {
            if !opening.allow(peer.ip(), Instant::now()) {
                shed.note(peer, "too many new connections from this address");
                continue;
            }
            match per_address.try_acquire(peer.ip()) {
                Some(place) => Some(place),
                None => {
                    shed.note(peer, "too many open connections from this address");
                    continue;
                }
            }
        };
        let permit = match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => permit,
            // Full: the connection quiet the longest makes room, if there is one.
            Err(_) if registry.evict_quietest() => {
                let freed = Arc::clone(&permits).acquire_owned();
                match tokio::time::timeout(Duration::from_millis(250), freed).await {
                    Ok(Ok(permit)) => permit,
                    _ => {
                        shed.note(peer, "the pool is at [server] max_connections");
                        continue;
                    }
                }
            }
            Err(_) => {
                shed.note(
                    peer,
                    "the pool is at [server] max_connections, all of them busy",
                );
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(service.clone());
        let shared = Arc::clone(&shared);
        let watcher = graceful.watcher();
        let tls = listener.tls.clone();
        let registration = registry.register();
        tokio::spawn(async move {
            let _held = (permit, place);
            let _open = crate::metrics::OpenConnection::new();
            let activity = Arc::clone(&registration.activity);
            let serve = async {
                match tls {
                    None => connection(tcp, peer, service, &shared, watcher, activity).await,
                    Some(acceptor) => {
                        let handshake = acceptor.accept(tcp);
                        match tokio::time::timeout(shared.header_timeout, handshake).await {
                            Ok(Ok(stream)) => {
                                connection(stream, peer, service, &shared, watcher, activity).await;
                            }
                            Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        }
                    }
                }
            };
            tokio::select! {
                _ = serve => {}
                _ = registration.evicted.notified() => {
                    tracing::debug!(%peer, "connection closed to make room for a new one");
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after {SHUTDOWN_GRACE:?}; closing them");
    }
}

/// Serves one connection under its deadlines and the per-client request budget.
async fn connection<S, I>(
    io: S,
    peer: SocketAddr,
    inner: I,
    shared: &Arc<Shared>,
    watcher: hyper_util::server::graceful::Watcher,
    activity: Arc<Activity>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    I: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = warp::reply::Response,
            Error = Infallible,
        > + Send
        + 'static,
    I::Future: Send + 'static,
{
    let service = {
        let activity = Arc::clone(&activity);
        let shared = Arc::clone(shared);
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let client = limits::client_address(peer.ip(), request.headers(), &shared.trusted);
            let allowed = shared
                .requests
                .lock()
                .map(|mut r| r.allow(client, Instant::now()))
                .unwrap_or(true);
            let busy = activity.begin();
            let answer = allowed.then(|| inner.call(request));
            async move {
                let _busy = busy;
                match answer {
                    Some(answer) => answer.await,
                    None => {
                        tracing::debug!(%client, "request refused: over this address's request budget");
                        Ok::<_, Infallible>(too_many_requests())
                    }
                }
            }
        })
    };
    let conn = shared.builder.serve_connection(TokioIo::new(io), service);
    let conn = watcher.watch(conn);
    tokio::select! {
        ended = conn => if let Err(e) = ended {
            tracing::debug!(%peer, "connection ended: {e}");
        },
        _ = activity.expired(shared.header_timeout, shared.idle_timeout) => {
            tracing::debug!(%peer, "connection closed: no request within its deadline");
        }
    }
}

fn too_many_requests() -> warp::reply::Response {
    let mut response = warp::reply::with_status(
        "429: too many requests from this address; slow down",
        StatusCode::TOO_MANY_REQUESTS,
    )
    .into_response();
    response.headers_mut().insert(
        warp::http::header::RETRY_AFTER,
        warp::http::HeaderValue::from_static("1"),
    );
    response
}

/// Logs shed connections at most once every ten seconds, with how many there were.
#[derive(Default)]
struct ShedLog {
    count: AtomicU64,
    last_secs: AtomicU64,
}

impl ShedLog {
    fn note(&self, peer: SocketAddr, why: &str) {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let now = crate::pool::unix_now();
        let last = self.last_secs.load(Ordering::Relaxed);
        if now >= last + 10
            && self
                .last_secs
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.count.store(0, Ordering::Relaxed);
            tracing::warn!(%peer, "refusing connections: {why} ({n} refused since the last report)");
        } else {
            tracing::debug!(%peer, "connection refused: {why}");
        }
    }
}

fn tls_acceptor(tls: &TlsOptions) -> Result<tokio_rustls::TlsAcceptor, ServeError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::TlsConfig(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(tls.resolver.clone());
    // HTTP/1.1 only: every deadline here is kept for HTTP/1, and farmers speak nothing else.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if tls.acme_alpn {
        config
            .alpn_protocols
            .push(crate::tls::ACME_TLS_ALPN.to_vec());
    }
    config.session_storage = rustls::server::ServerSessionMemoryCache::new(SESSION_CACHE);
    config.ticketer =
        rustls::crypto::ring::Ticketer::new().map_err(|e| ServeError::TlsConfig(e.to_string()))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
