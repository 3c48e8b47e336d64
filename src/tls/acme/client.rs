//! One ACME issuance (RFC 8555) with instant-acme: account, order, challenges, CSR, certificate. Whatever the
//! CA says, the failure comes back as an `AcmeError` whose message names the cause an operator can act on.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use instant_acme::{
    Account, AuthorizationStatus, BodyWrapper, ChallengeType, Identifier, NewAccount, NewOrder,
    OrderStatus, RetryPolicy,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

use super::http01::Tokens;
use super::storage::{SavedAccount, Storage};
use crate::config::{AcmeSettings, Challenge};
use crate::tls::{cert, CertResolver, LoadedCert};

#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    #[error("cannot reach the ACME server {directory}: {reason}")]
    Unreachable { directory: String, reason: String },
    #[error("rate limit at the ACME server: {0}")]
    RateLimited(String),
    #[error("the ACME server rejected [acme] contact: {0}")]
    Contact(String),
    #[error("DNS: the ACME server could not resolve the name: {0}")]
    Dns(String),
    #[error(
        "the ACME server could not connect to the pool to check the challenge (is port {port} reachable from \
         the internet at this name?): {detail}"
    )]
    Connection { port: u16, detail: String },
    #[error("challenge for {name} failed: {detail}")]
    Challenge { name: String, detail: String },
    #[error("the ACME server refused: {0}")]
    Refused(String),
    #[error(
        "the stored ACME account is unknown to the server; a new one is made at the next attempt"
    )]
    AccountGone,
    #[error("{0}")]
    Local(String),
}

impl AcmeError {
    fn from_acme(e: instant_acme::Error, settings: &AcmeSettings) -> Self {
        match e {
            instant_acme::Error::Api(problem) => from_problem(&problem, None, settings),
            instant_acme::Error::Timeout(_) => {
                Self::Refused("timed out waiting for the ACME server to update the order".into())
            }
            other => Self::Unreachable {
                directory: settings.directory.clone(),
                reason: chain(&other),
            },
        }
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn from_problem(
    problem: &instant_acme::Problem,
    name: Option<&str>,
    settings: &AcmeSettings,
) -> AcmeError {
    let kind = problem.r#type.as_deref().unwrap_or("");
    let kind = kind
        .strip_prefix("urn:ietf:params:acme:error:")
        .unwrap_or(kind);
    let detail = problem.to_string();
    let lower = detail.to_ascii_lowercase();
    // Some CAs (pebble among them) report a failed lookup as "malformed": the text says what happened.
    let kind = if kind == "malformed" && (lower.contains("resolv") || lower.contains("dns")) {
        "dns"
    } else {
        kind
    };
    match kind {
        "rateLimited" => AcmeError::RateLimited(detail),
        "invalidContact" | "unsupportedContact" => AcmeError::Contact(detail),
        "dns" => AcmeError::Dns(detail),
        "connection" | "tls" => AcmeError::Connection {
            port: match settings.challenge {
                Challenge::TlsAlpn01 => 443,
                Challenge::Http01 => 80,
            },
            detail,
        },
        "accountDoesNotExist" => AcmeError::AccountGone,
        _ => match name {
            Some(name) => AcmeError::Challenge {
                name: name.to_string(),
                detail,
            },
            None => AcmeError::Refused(detail),
        },
    }
}

/// The HTTP client for the ACME server: public roots plus `[acme] directory_ca`, ring only.
fn http_client(
    extra_roots: &[CertificateDer<'static>],
) -> Result<Box<dyn instant_acme::HttpClient>, AcmeError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for root in extra_roots {
        roots
            .add(root.clone())
            .map_err(|e| AcmeError::Local(format!("[acme] directory_ca: {e}")))?;
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| AcmeError::Local(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .wrap_connector(http);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, BodyWrapper<Bytes>>(connector);
    Ok(Box::new(client))
}

/// Everything one issuance needs.
pub struct Issuer {
    pub settings: AcmeSettings,
    pub storage: Storage,
    pub resolver: Arc<CertResolver>,
    pub tokens: Tokens,
    pub extra_roots: Vec<CertificateDer<'static>>,
}

/// Removes the challenge answers of an attempt however it ends.
struct Cleanup<'a> {
    issuer: &'a Issuer,
    tokens: Vec<String>,
    names: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let mut tokens = self
            .issuer
            .tokens
            .write()
            .unwrap_or_else(|e| e.into_inner());
        for t in &self.tokens {
            tokens.remove(t);
        }
        for n in &self.names {
            self.issuer.resolver.remove_challenge(n);
        }
    }
}

impl Issuer {
    /// The account for the configured directory: the stored one, else a new one (then stored).
    pub async fn account(&self) -> Result<Account, AcmeError> {
        let s = &self.settings;
        if let Some(saved) = self
            .storage
            .load_account()
            .filter(|a| a.directory == s.directory)
        {
            if let Ok(credentials) = serde_json::from_value(saved.credentials) {
                return Account::builder_with_http(http_client(&self.extra_roots)?)
                    .from_credentials(credentials)
                    .await
                    .map_err(|e| AcmeError::from_acme(e, s));
            }
        }
        let contact: Vec<&str> = s.contact.as_deref().into_iter().collect();
        let (account, credentials) = Account::builder_with_http(http_client(&self.extra_roots)?)
            .create(
                &NewAccount {
                    contact: &contact,
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                s.directory.clone(),
                None,
            )
            .await
            .map_err(|e| AcmeError::from_acme(e, s))?;
        let credentials =
            serde_json::to_value(&credentials).map_err(|e| AcmeError::Local(e.to_string()))?;
        self.storage
            .save_account(&SavedAccount {
                directory: s.directory.clone(),
                credentials,
            })
            .map_err(|e| AcmeError::Local(e.to_string()))?;
        tracing::info!(
            account = account.id(),
            "ACME account created at {}",
            s.directory
        );
        Ok(account)
    }

    /// Forgets the stored account (the server no longer knows it).
    pub fn forget_account(&self) {
        let _ = std::fs::remove_file(self.storage.dir().join("account.json"));
    }

    /// Orders, proves and downloads a certificate for the configured names, and stores it.
    pub async fn issue(&self, account: &Account) -> Result<LoadedCert, AcmeError> {
        let s = &self.settings;
        let acme_err = |e| AcmeError::from_acme(e, s);
        let identifiers: Vec<Identifier> = s.domains.iter().cloned().map(Identifier::Dns).collect();
        let mut order = account
            .new_order(&NewOrder::new(&identifiers))
            .await
            .map_err(acme_err)?;
        let mut cleanup = Cleanup {
            issuer: self,
            tokens: Vec::new(),
            names: Vec::new(),
        };
        let wanted = match s.challenge {
            Challenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
            Challenge::Http01 => ChallengeType::Http01,
        };
        {
            let mut authorizations = order.authorizations();
            while let Some(authz) = authorizations.next().await {
                let mut authz = authz.map_err(acme_err)?;
                let name = authz.identifier().to_string();
                match authz.status {
                    // Reused from an earlier order: nothing to prove.
                    AuthorizationStatus::Valid => continue,
                    AuthorizationStatus::Pending => {}
                    other => {
                        return Err(AcmeError::Challenge {
                            name,
                            detail: format!("authorization is {other:?}"),
                        })
                    }
                }
                let mut challenge = authz.challenge(wanted.clone()).ok_or_else(|| {
                    AcmeError::Refused(format!(
                    "the server offers no {} challenge for {name}; try the other [acme] challenge",
                    challenge_name(s.challenge)
                ))
                })?;
                let key_authorization = challenge.key_authorization();
                match s.challenge {
                    Challenge::Http01 => {
                        let token = challenge.token.clone();
                        self.tokens
                            .write()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(token.clone(), key_authorization.as_str().to_string());
                        cleanup.tokens.push(token);
                    }
                    Challenge::TlsAlpn01 => {
                        let answer = alpn_certificate(&name, key_authorization.digest().as_ref())?;
                        self.resolver.add_challenge(&name, answer);
                        cleanup.names.push(name.clone());
                    }
                }
                challenge.set_ready().await.map_err(|e| match e {
                    instant_acme::Error::Api(p) => from_problem(&p, Some(&name), s),
                    other => acme_err(other),
                })?;
            }
        }
        let patience = RetryPolicy::new()
            .initial_delay(Duration::from_millis(250))
            .backoff(1.5)
            .timeout(Duration::from_secs(90));
        let status = order.poll_ready(&patience).await.map_err(acme_err)?;
        if status != OrderStatus::Ready {
            return Err(self.why_invalid(&mut order).await);
        }
        drop(cleanup);
        let key = rcgen::KeyPair::generate().map_err(|e| AcmeError::Local(e.to_string()))?;
        let mut params = rcgen::CertificateParams::new(s.domains.clone())
            .map_err(|e| AcmeError::Local(e.to_string()))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        let csr = params
            .serialize_request(&key)
            .map_err(|e| AcmeError::Local(e.to_string()))?;
        order.finalize_csr(csr.der()).await.map_err(acme_err)?;
        let chain_pem = order.poll_certificate(&patience).await.map_err(acme_err)?;
        let key_pem = key.serialize_pem();
        let loaded = cert::from_pem(chain_pem.as_bytes(), key_pem.as_bytes())
            .map_err(|e| AcmeError::Refused(format!("the issued certificate is unusable: {e}")))?;
        self.storage
            .save_certificate(&chain_pem, &key_pem)
            .map_err(|e| AcmeError::Local(e.to_string()))?;
        Ok(loaded)
    }

    /// The first challenge error of an invalid order, classified.
    async fn why_invalid(&self, order: &mut instant_acme::Order) -> AcmeError {
        let s = &self.settings;
        let mut authorizations = order.authorizations();
        while let Some(Ok(authz)) = authorizations.next().await {
            let name = authz.identifier().to_string();
            for challenge in &authz.challenges {
                if let Some(problem) = &challenge.error {
                    return from_problem(problem, Some(&name), s);
                }
            }
        }
        AcmeError::Refused("the order became invalid without a reason".into())
    }
}

pub fn challenge_name(c: Challenge) -> &'static str {
    match c {
        Challenge::TlsAlpn01 => "tls-alpn-01",
        Challenge::Http01 => "http-01",
    }
}

/// The self-signed certificate that answers a tls-alpn-01 challenge (RFC 8737): the name, and the key
/// authorization's digest in the critical acmeIdentifier extension.
fn alpn_certificate(name: &str, digest: &[u8]) -> Result<Arc<CertifiedKey>, AcmeError> {
    let local = |e: rcgen::Error| AcmeError::Local(format!("tls-alpn-01 certificate: {e}"));
    let key = rcgen::KeyPair::generate().map_err(local)?;
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).map_err(local)?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let certificate = params.self_signed(&key).map_err(local)?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signing = rustls::crypto::ring::sign::any_supported_type(&key_der)
        .map_err(|e| AcmeError::Local(format!("tls-alpn-01 key: {e}")))?;
    Ok(Arc::new(CertifiedKey::new(
        vec![certificate.der().clone()],
        signing,
    )))
}
