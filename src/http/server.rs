//! Serves a warp filter over plain TCP or TLS (rustls), with the limits a public server needs: a bound on
//! connections, a deadline for the TLS handshake and the request headers (slowloris), and a graceful stop
//! that lets requests in flight finish.
//!
//! warp 0.4 has no TLS support of its own, so connections are driven here with hyper-util under warp's
//! service. The 2.7.5 farmer opens a new TLS connection for every partial, so TLS session tickets and a large
//! session cache keep repeat handshakes cheap.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use warp::Filter;

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
    /// Deadline for the TLS handshake and for each request's headers.
    pub header_timeout: Duration,
    /// New connections per second one IP address may open, sustained (bursts of ten times that pass).
    pub connections_per_ip_per_sec: u32,
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
    let graceful = GracefulShutdown::new();
    let header_timeout = options.header_timeout;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let builder = Arc::new(builder);
    let mut limiter = RateLimiter::new(options.connections_per_ip_per_sec);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
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
        if !limiter.allow(peer.ip(), std::time::Instant::now()) {
            // Refused before any TLS work: a flood from one address costs next to nothing.
            tracing::debug!(%peer, "connection refused: too many from this address");
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(service.clone());
        let builder = Arc::clone(&builder);
        let watcher = graceful.watcher();
        let tls = listener.tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _open = crate::metrics::OpenConnection::new();
            match tls {
                None => {
                    let conn = builder
                        .serve_connection(TokioIo::new(tcp), service)
                        .into_owned();
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(%peer, "connection ended: {e}");
                    }
                }
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, "TLS handshake failed: {e}");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                    let conn = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .into_owned();
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(%peer, "connection ended: {e}");
                    }
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

/// A token bucket per client address for new connections (the 2.7.5 farmer opens one per partial, so this
/// bounds request rates too).
struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: std::collections::HashMap<std::net::IpAddr, (f64, std::time::Instant)>,
}

impl RateLimiter {
    fn new(per_sec: u32) -> Self {
        let per_sec = f64::from(per_sec.max(1));
        Self {
            per_sec,
            burst: per_sec * 10.0,
            buckets: std::collections::HashMap::new(),
        }
    }

    fn allow(&mut self, ip: std::net::IpAddr, now: std::time::Instant) -> bool {
        if self.buckets.len() > 100_000 {
            // Forget addresses whose buckets have refilled: they would start full anyway.
            let (per_sec, burst) = (self.per_sec, self.burst);
            self.buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_sec < burst
            });
        }
        let (tokens, at) = self.buckets.entry(ip).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_sec).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
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
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
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

#[cfg(test)]
mod tests {
    use super::RateLimiter;
    use std::net::IpAddr;
    use std::time::{Duration, Instant};

    #[test]
    fn rate_limiter_allows_bursts_and_refills() {
        let mut limiter = RateLimiter::new(10);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        let t0 = Instant::now();
        assert_eq!(
            (0..150).filter(|_| limiter.allow(ip, t0)).count(),
            100,
            "a burst of ten seconds' worth"
        );
        assert!(limiter.allow(other, t0), "addresses have their own buckets");
        assert!(!limiter.allow(ip, t0));
        assert!(
            limiter.allow(ip, t0 + Duration::from_millis(100)),
            "one more after a tenth of a second"
        );
        assert!(!limiter.allow(ip, t0 + Duration::from_millis(100)));
    }
}
