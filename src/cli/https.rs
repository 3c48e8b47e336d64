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
    /// The bound http-01 listener and its options.
    http01: Option<(server::Listener, ServeOptions)>,
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
            http01: None,
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
                http01: None,
            })
        }
        _ => Ok(Https {
            tls: None,
            acme: None,
            reload: None,
            http01: None,
        }),
    }
}

impl Https {
    /// Binds `[acme] http_listen` for http-01 (before the API listener, so a busy port stops the start first).
    pub async fn bind(&mut self, config: &Config) -> anyhow::Result<()> {
        let Some(settings) = config.acme_settings()? else {
            return Ok(());
        };
        if settings.challenge != Challenge::Http01 {
            return Ok(());
        }
        let options = ServeOptions {
            listen: settings.http_listen,
            tls: None,
            max_connections: config.server.max_connections,
            header_timeout: Duration::from_secs(config.server.header_timeout_secs),
            idle_timeout: Duration::from_secs(config.server.idle_timeout_secs),
            connections_per_ip_per_sec: config.server.connections_per_ip_per_sec,
            max_connections_per_ip: config.server.max_connections_per_ip,
            requests_per_ip_per_sec: config.server.requests_per_ip_per_sec,
            trusted_proxies: config.server.trusted_proxies.clone(),
        };
        let listener = server::bind(&options)
            .await
            .with_context(|| format!("[acme] http_listen = \"{}\"", settings.http_listen))?;
        self.http01 = Some((listener, options));
        Ok(())
    }

    /// Starts watching the certificate files, or serves http-01 and starts ACME; the API listener is bound
    /// by then, so a tls-alpn-01 validation can reach it.
    pub fn start(self, shutdown: tokio::sync::watch::Receiver<bool>) {
        if let Some((resolver, cert, key)) = self.reload {
            files::spawn_reloader(resolver, cert, key);
        }
        let Some(acme) = self.acme else {
            return;
        };
        if let Some((listener, options)) = self.http01 {
            tracing::info!(
                listen = %listener.local_addr,
                "answering http-01 challenges, redirecting the rest to https"
            );
            let routes = http01::routes(acme.tokens());
            tokio::spawn(async move {
                let mut shutdown = shutdown;
                server::serve(listener, routes, &options, async move {
                    let _ = shutdown.wait_for(|stop| *stop).await;
                })
                .await;
            });
        }
        acme.spawn();
    }
}

/// `check`'s lines about HTTPS: the certificate in use (names, issuer, days left) and for ACME the account and
/// the next renewal. False when something needs fixing.
pub fn report(config: &Config) -> (bool, Vec<String>) {
    let describe = |info: &crate::tls::CertInfo| {
        format!(
            "names {}, issuer \"{}\", {} days left",
            info.names.join(", "),
            info.issuer,
            info.days_left()
        )
    };
    match config.acme_settings() {
        Err(e) => (false, vec![format!("https   ERROR: {e}")]),
        Ok(Some(settings)) => {
            let (account, cert, renewal) = crate::tls::acme::stored_state(&settings);
            let mut lines = vec![format!(
                "https   ok: ACME from {} for {} ({} challenge)",
                settings.directory,
                settings.domains.join(", "),
                crate::tls::acme::client::challenge_name(settings.challenge)
            )];
            lines.push(match &account {
                Some(url) => format!("https   ok: ACME account {url}"),
                None => "https   note: no ACME account yet; `serve` creates one".into(),
            });
            match (&cert, renewal) {
                (Some(info), Some(at)) => {
                    lines.push(format!("https   ok: certificate {}", describe(info)));
                    let now = crate::tls::cert::unix_now();
                    lines.push(if at <= now {
                        "https   note: next renewal: now (inside [acme] renew_before_days)".into()
                    } else {
                        format!(
                            "https   ok: next renewal in {} days (unix time {at})",
                            (at - now) / 86_400
                        )
                    });
                }
                _ => lines.push(
                    "https   note: no certificate stored yet; `serve` obtains one (the port of the challenge must \
                     be reachable from the internet)"
                        .into(),
                ),
            }
            let ok = cert.as_ref().is_none_or(|info| info.days_left() >= 0);
            (ok, lines)
        }
        Ok(None) => match (&config.server.tls_cert, &config.server.tls_key) {
            (Some(cert), Some(key)) => match crate::tls::cert::load_files(cert, key) {
                Ok(loaded) if loaded.info.days_left() < 0 => (
                    false,
                    vec![format!("https   ERROR: the certificate has expired: {}", describe(&loaded.info))],
                ),
                Ok(loaded) => (
                    true,
                    vec![format!(
                        "https   ok: certificate {} from {}",
                        describe(&loaded.info),
                        cert.display()
                    )],
                ),
                Err(e) => (false, vec![format!("https   ERROR: {e} ([server] tls_cert / tls_key)")]),
            },
            _ => (
                true,
                vec!["https   note: plain HTTP (farmers need https: set [acme] domains, or tls_cert and tls_key, \
                      or a TLS reverse proxy)"
                    .into()],
            ),
        },
    }
}
