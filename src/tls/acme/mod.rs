//! Automatic HTTPS: the pool obtains its certificate from an ACME CA (RFC 8555), keeps it in `[acme] dir`,
//! serves it through the `CertResolver`, and renews it in the background before `renew_before_days`.
//!
//! A stored certificate is served at once; without one, handshakes fail until the first is issued. Failed
//! attempts are retried with a pause that grows from 1 s to 60 s, one log line each naming the cause; the
//! certificate's remaining lifetime is looked at again at least every 12 hours.

pub mod client;
pub mod http01;
pub mod storage;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::config::AcmeSettings;
use crate::tls::{cert, update_status, CertInfo, CertResolver};
use client::{challenge_name, AcmeError, Issuer};
use storage::Storage;

/// Longest sleep between two looks at the certificate's remaining lifetime.
const CHECK_EVERY: Duration = Duration::from_secs(12 * 3600);
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
    #[error("[acme] directory_ca = {path:?}: {reason}")]
    DirectoryCa { path: String, reason: String },
}

/// ACME set up and ready to run.
pub struct Acme {
    issuer: Arc<Issuer>,
}

impl Acme {
    /// Prepares the directory and serves the stored certificate when it covers the configured names. Errors
    /// (the directory, `directory_ca`) come before any port is bound.
    pub fn prepare(
        settings: AcmeSettings,
        resolver: Arc<CertResolver>,
    ) -> Result<Self, StartError> {
        let storage = Storage::open(&settings.dir, &settings.directory)?;
        let extra_roots = match &settings.directory_ca {
            None => Vec::new(),
            Some(path) => {
                let ca_err = |reason: String| StartError::DirectoryCa {
                    path: path.display().to_string(),
                    reason,
                };
                let roots: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                    .map_err(|e| ca_err(e.to_string()))?
                    .collect::<Result<_, _>>()
                    .map_err(|e| ca_err(e.to_string()))?;
                if roots.is_empty() {
                    return Err(ca_err("no PEM certificate in the file".into()));
                }
                roots
            }
        };
        if let Some(saved) = storage
            .load_account()
            .filter(|a| a.directory == settings.directory)
        {
            update_status(|s| s.acme_account = account_url(&saved.credentials));
        }
        if let Some(pem) = storage.load_certificate() {
            match cert::from_pem(&pem, &pem) {
                Ok(loaded) if covers(&loaded.info, &settings.domains) => {
                    tracing::info!(
                        names = ?loaded.info.names,
                        days_left = loaded.info.days_left(),
                        "serving the stored ACME certificate"
                    );
                    resolver.install(loaded);
                }
                Ok(loaded) => tracing::info!(
                    stored = ?loaded.info.names,
                    configured = ?settings.domains,
                    "the stored certificate does not cover [acme] domains: ordering a new one"
                ),
                Err(e) => tracing::warn!(
                    "the stored ACME certificate is unusable ({e}): ordering a new one"
                ),
            }
        }
        Ok(Self {
            issuer: Arc::new(Issuer {
                settings,
                storage,
                resolver,
                tokens: Arc::new(RwLock::new(HashMap::new())),
                extra_roots,
            }),
        })
    }

    /// The pending http-01 answers, for the `http_listen` listener.
    pub fn tokens(&self) -> http01::Tokens {
        Arc::clone(&self.issuer.tokens)
    }

    /// Runs issuance and renewal for the life of the process.
    pub fn spawn(self) {
        tokio::spawn(run(self.issuer));
    }
}

/// Whether a certificate names every configured domain.
fn covers(info: &CertInfo, domains: &[String]) -> bool {
    domains
        .iter()
        .all(|d| info.names.iter().any(|n| n.eq_ignore_ascii_case(d)))
}

/// What `check` shows of ACME without touching the directory: the stored account's URL, the stored
/// certificate (when it covers the configured names) and when it is due for renewal.
pub fn stored_state(settings: &AcmeSettings) -> (Option<String>, Option<CertInfo>, Option<i64>) {
    let storage = Storage::existing(&settings.dir, &settings.directory);
    let account = storage
        .load_account()
        .filter(|a| a.directory == settings.directory)
        .and_then(|a| account_url(&a.credentials));
    let cert = storage
        .load_certificate()
        .and_then(|pem| cert::from_pem(&pem, &pem).ok())
        .map(|loaded| loaded.info)
        .filter(|info| covers(info, &settings.domains));
    let renewal = cert.as_ref().map(|info| renew_at(info, settings));
    (account, cert, renewal)
}

fn account_url(credentials: &serde_json::Value) -> Option<String> {
    credentials
        .get("id")
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// Unix time at which `info` enters its renewal window.
fn renew_at(info: &CertInfo, settings: &AcmeSettings) -> i64 {
    info.not_after - settings.renew_before_days * 86_400
}

async fn run(issuer: Arc<Issuer>) {
    let settings = issuer.settings.clone();
    // SIGHUP (as for certificate files) makes the pool look at its certificate again at once.
    let mut hangup = crate::tls::files::hangup_signal();
    let mut pause = RETRY_FIRST;
    let mut attempt: u32 = 0;
    // A certificate issued in this loop that is already due (renew_before_days longer than the CA's
    // lifetime) waits for the next check instead of being renewed again and again.
    let mut just_issued = false;
    loop {
        let current = crate::tls::status()
            .cert
            .filter(|_| issuer.resolver.has_certificate());
        if let Some(info) = &current {
            let due = renew_at(info, &settings);
            let now = cert::unix_now();
            update_status(|s| s.next_renewal = Some(due.max(now)));
            if now < due {
                let wait =
                    Duration::from_secs(u64::try_from(due - now).unwrap_or(0)).min(CHECK_EVERY);
                tracing::info!(
                    days_left = info.days_left(),
                    "certificate valid; renewal due in {} days",
                    (due - now) / 86_400
                );
                wait_or_hangup(wait, &mut hangup).await;
                continue;
            }
            if just_issued {
                just_issued = false;
                tracing::warn!(
                    days_left = info.days_left(),
                    "the new certificate is already within [acme] renew_before_days = {} of its end; next \
                     renewal in {} hours",
                    settings.renew_before_days,
                    CHECK_EVERY.as_secs() / 3600
                );
                update_status(|s| s.next_renewal = Some(now + CHECK_EVERY.as_secs() as i64));
                wait_or_hangup(CHECK_EVERY, &mut hangup).await;
                continue;
            }
        } else if attempt == 0 {
            tracing::info!(
                domains = ?settings.domains,
                "no certificate yet: HTTPS handshakes fail until {} issues one ({} challenge)",
                settings.directory,
                challenge_name(settings.challenge)
            );
        }
        attempt += 1;
        match obtain(&issuer).await {
            Ok(info) => {
                tracing::info!(
                    names = ?info.names,
                    issuer = %info.issuer,
                    days_left = info.days_left(),
                    "certificate issued by ACME (attempt {attempt}); new connections get it"
                );
                update_status(|s| s.last_error = None);
                pause = RETRY_FIRST;
                attempt = 0;
                just_issued = true;
            }
            Err(e) => {
                let message = e.to_string();
                match &current {
                    Some(info) => tracing::warn!(
                        "ACME renewal attempt {attempt} failed: {message}; still serving the current certificate \
                         ({} days left); retrying in {}s",
                        info.days_left(),
                        pause.as_secs()
                    ),
                    None => tracing::error!(
                        "ACME attempt {attempt} failed: {message}; no certificate yet, retrying in {}s",
                        pause.as_secs()
                    ),
                }
                if matches!(e, AcmeError::AccountGone) {
                    issuer.forget_account();
                }
                update_status(|s| s.last_error = Some(message));
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RETRY_MAX);
            }
        }
    }
}

async fn wait_or_hangup(wait: Duration, hangup: &mut crate::tls::files::Hangup) {
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = crate::tls::files::next_hangup(hangup) => {
            tracing::info!("SIGHUP: checking the ACME certificate now");
        }
    }
}

/// One attempt: account, order, install. A stuck server cannot hold an attempt longer than a few minutes.
async fn obtain(issuer: &Issuer) -> Result<CertInfo, AcmeError> {
    let attempt = async {
        let account = issuer.account().await?;
        update_status(|s| s.acme_account = Some(account.id().to_string()));
        let loaded = issuer.issue(&account).await?;
        let info = loaded.info.clone();
        issuer.resolver.install(loaded);
        Ok(info)
    };
    match tokio::time::timeout(Duration::from_secs(300), attempt).await {
        Ok(result) => result,
        Err(_) => Err(AcmeError::Refused(
            "no answer from the ACME server within 5 minutes".into(),
        )),
    }
}
