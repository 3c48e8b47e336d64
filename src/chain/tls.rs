//! Mutual TLS as chia sets it up: trust only the private CA of a CHIA_ROOT, present a certificate it signed
//! (the daemon's), and accept the server's certificate, which chia issues to `chia.net` whatever host it runs on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::config::ChainConfig;
use super::error::ChainError;

/// The name chia puts in every certificate it generates (`DNS:chia.net`).
pub const CHIA_CERT_NAME: &str = "chia.net";

/// The certificate files a client uses, resolved from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca_cert: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl TlsFiles {
    pub fn from_config(config: &ChainConfig) -> Self {
        Self {
            ca_cert: config.ca_cert_path(),
            client_cert: config.client_cert_path(),
            client_key: config.client_key_path(),
        }
    }
}

fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, ChainError> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ChainError::CertificateMissing {
            what,
            path: path.to_path_buf(),
        },
        _ => ChainError::CertificateUnreadable {
            what,
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
    })
}

fn invalid(what: &'static str, path: &Path, reason: impl Into<String>) -> ChainError {
    ChainError::CertificateInvalid {
        what,
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn read_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, ChainError> {
    let pem = read_file(what, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(what, path, format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(what, path, "no CERTIFICATE block in the file"));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, ChainError> {
    const WHAT: &str = "client private key";
    let pem = read_file(WHAT, path)?;
    PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| invalid(WHAT, path, format!("no private key found: {e}")))
}

/// The rustls client configuration for talking to a chia RPC server.
pub fn client_config(files: &TlsFiles) -> Result<Arc<ClientConfig>, ChainError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    let mut roots = RootCertStore::empty();
    for cert in read_certs("private CA certificate", &files.ca_cert)? {
        roots
            .add(cert)
            .map_err(|e| invalid("private CA certificate", &files.ca_cert, e.to_string()))?;
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| invalid("private CA certificate", &files.ca_cert, e.to_string()))?;

    let chain = read_certs("client certificate", &files.client_cert)?;
    let key = read_key(&files.client_key)?;

    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ChainError::Runtime(format!("TLS setup: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ChiaServerVerifier { webpki, provider }))
        .with_client_auth_cert(chain, key)
        .map_err(|e| {
            invalid(
                "client certificate",
                &files.client_cert,
                format!("does not match its key {}: {e}", files.client_key.display()),
            )
        })?;
    Ok(Arc::new(config))
}

/// Verifies the chain against the private CA like chia's own client (which turns hostname checks off), but
/// checks the name `chia.net` its certificates carry; the dialled name is accepted too, for custom certificates.
#[derive(Debug)]
struct ChiaServerVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for ChiaServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chia = ServerName::try_from(CHIA_CERT_NAME)
            .map_err(|e| rustls::Error::General(format!("server name: {e}")))?;
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, &chia, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => self.webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Opens one TLS session to `https://HOST:PORT` and waits briefly for the server's verdict on our
/// certificate. In TLS 1.3 the server checks the client certificate after our side considers the handshake
/// done, so a rejection can surface as a broken pipe on the first write; its alert is only seen by reading.
/// What a probe of a TLS session found.
#[derive(Debug)]
pub(crate) enum Probe {
    /// The session failed with this error (an alert from the server, or our verification).
    Refused(rustls::Error),
    /// The server closed the connection after the handshake without answering: how OpenSSL-based servers
    /// (chia's) drop a client whose certificate they do not accept.
    ClosedSilently,
}

/// Returns what went wrong in TLS, or `None` if the session works (or the server cannot be reached at all).
pub(crate) fn probe(
    base_url: &str,
    config: &Arc<ClientConfig>,
    connect_timeout: std::time::Duration,
) -> Option<Probe> {
    use std::net::{TcpStream, ToSocketAddrs};

    let host_port = base_url.strip_prefix("https://")?;
    let (host, _) = host_port.rsplit_once(':')?;
    let addr = host_port.to_socket_addrs().ok()?.next()?;
    let mut tcp = TcpStream::connect_timeout(&addr, connect_timeout).ok()?;
    let wait = std::time::Duration::from_secs(1);
    tcp.set_read_timeout(Some(wait)).ok()?;
    tcp.set_write_timeout(Some(wait)).ok()?;
    let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string()).ok()?;
    let mut session = rustls::ClientConnection::new(Arc::clone(config), name).ok()?;
    let rustls_error = |e: std::io::Error| {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .cloned()
            .map(Probe::Refused)
    };
    while session.is_handshaking() {
        if let Err(e) = session.complete_io(&mut tcp) {
            return rustls_error(e);
        }
    }
    // A server that accepted us answers a request (chia's `healthz`); one that refused us sends an alert and
    // closes. Write errors are ignored: the alert may already be waiting to be read.
    use std::io::{Read, Write};
    let request = b"POST /healthz HTTP/1.1\r\nHost: chia.net\r\nContent-Type: application/json\r\n\
                    Content-Length: 2\r\nConnection: close\r\n\r\n{}";
    let _ = session.writer().write_all(request);
    let _ = session.write_tls(&mut tcp);
    let deadline = std::time::Instant::now() + wait;
    while std::time::Instant::now() < deadline {
        match session.read_tls(&mut tcp) {
            Ok(0) => return Some(Probe::ClosedSilently),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ) =>
            {
                return Some(Probe::ClosedSilently)
            }
            Err(_) => return None,
            Ok(_) => match session.process_new_packets() {
                Err(e) => return Some(Probe::Refused(e)),
                Ok(state) if state.plaintext_bytes_to_read() > 0 => {
                    let _ = session.reader().read(&mut [0u8; 64]);
                    return None;
                }
                Ok(_) => {}
            },
        }
    }
    None
}
