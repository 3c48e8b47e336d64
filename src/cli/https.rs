//! `serve`'s HTTPS set-up: the certificate source (files reloaded on change, ACME, or none) and, for http-01,
//! the `[acme] http_listen` listener. Everything that can be wrong in the configuration fails here, before
//! the API port is bound.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::config::{Challenge, Config};
use crate::http::server::{self, ServeOptions, TlsOptions};
use crate::tls::acme::{http01, Acme};
use crate::tls::{files, CertResolver};

/// The certificate source, prepared but not yet running.
pub struct Https {
    pub tls: Option<TlsOptions>,
    acme: Option<Acme>,
    reload: Option<(Arc<CertResolver>, std::path::PathBuf, std::path::PathBuf)>,
}

/// Loads the certificate files or prepares ACME (its directory, the stored certificate).
pub fn prepare(config: &Config) -> anyhow::Result<Https> {
    if let Some(settings) = config.acme_settings()? {
        let resolver = CertResolver::new();
        let acme_alpn = settings.challenge == Challenge::TlsAlpn01;
        let acme = Acme::prepare(settings, Arc::clone(&resolver))?;
        return Ok(Https {
            tls: Some(TlsOptions {
                resolver,
                acme_alpn,
            }),
            acme: Some(acme),
            reload: None,
        });
    }
    match (&config.server.tls_cert, &config.server.tls_key) {
        (Some(cert), Some(key)) => {
            let resolver = CertResolver::new();
            files::load(&resolver, cert, key).context("[server] tls_cert / tls_key")?;
            Ok(Https {
                tls: Some(TlsOptions {
                    resolver: Arc::clone(&resolver),
                    acme_alpn: false,
                }),
                acme: None,
                reload: Some((resolver, cert.clone(), key.clone())),
            })
        }
        _ => Ok(Https {
            tls: None,
            acme: None,
            reload: None,
        }),
    }
}

impl Https {
    /// Starts watching the files, or binds `http_listen` (http-01) and starts ACME; the API listener is
    /// already bound, so a tls-alpn-01 validation can reach it.
    pub async fn start(
        self,
        config: &Config,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        if let Some((resolver, cert, key)) = self.reload {
            files::spawn_reloader(resolver, cert, key);
        }
        let Some(acme) = self.acme else {
            return Ok(());
        };
        if let Some(settings) = config.acme_settings()? {
            if settings.challenge == Challenge::Http01 {
                let options = ServeOptions {
                    listen: settings.http_listen,
                    tls: None,
                    max_connections: config.server.max_connections,
                    header_timeout: Duration::from_secs(config.server.header_timeout_secs),
                    connections_per_ip_per_sec: config.server.connections_per_ip_per_sec,
                };
                let listener = server::bind(&options).await.with_context(|| {
                    format!("[acme] http_listen = \"{}\"", settings.http_listen)
                })?;
                tracing::info!(listen = %listener.local_addr, "answering http-01 challenges, redirecting the rest to https");
                let routes = http01::routes(acme.tokens());
                tokio::spawn(async move {
                    let mut shutdown = shutdown;
                    server::serve(listener, routes, &options, async move {
                        let _ = shutdown.wait_for(|stop| *stop).await;
                    })
                    .await;
                });
            }
        }
        acme.spawn();
        Ok(())
    }
}
