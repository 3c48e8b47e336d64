//! Why an RPC call failed, in words an operator can act on: ureq's errors sorted into failures that may
//! pass (retried) and ones that will not, with the TLS, I/O and HTTP status cases named.

use std::io::Read;

use super::{ChainError, Failure, RpcService, TlsProblem};

impl RpcService {
    pub(super) fn classify(&self, error: ureq::Error, endpoint: &str) -> Failure {
        let transport = match error {
            ureq::Error::Status(status, response) => {
                return self.status_failure(status, response, endpoint)
            }
            ureq::Error::Transport(transport) => transport,
        };
        let reason = transport.to_string();
        let service = self.service;
        let url = self.base_url.clone();
        let source = std::error::Error::source(&transport);
        let tls = source.and_then(find_tls_error);
        let io = source.and_then(find_io_error);
        match transport.kind() {
            ureq::ErrorKind::InvalidUrl
            | ureq::ErrorKind::UnknownScheme
            | ureq::ErrorKind::InsecureRequestHttpsOnly
            | ureq::ErrorKind::InvalidProxyUrl => Failure {
                error: ChainError::InvalidUrl {
                    service,
                    url,
                    reason,
                },
                transient: false,
                not_sent: true,
            },
            ureq::ErrorKind::Dns => Failure {
                error: ChainError::Unreachable {
                    service,
                    url,
                    reason: format!("host name not found: {reason}"),
                },
                transient: true,
                not_sent: true,
            },
            _ if tls.is_some() => Failure {
                error: ChainError::Tls {
                    service,
                    url,
                    problem: tls
                        .map(|e| self.tls_problem(e))
                        .unwrap_or(TlsProblem::Other(reason)),
                },
                transient: false,
                not_sent: true,
            },
            ureq::ErrorKind::ConnectionFailed => {
                let timed_out = io.is_some_and(|e| is_timeout(e.kind()));
                Failure {
                    error: ChainError::Unreachable {
                        service,
                        url,
                        reason: match io {
                            Some(_) if timed_out => "connection timed out".into(),
                            Some(e) => e.to_string(),
                            None => reason,
                        },
                    },
                    transient: true,
                    not_sent: true,
                }
            }
            ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader => Failure {
                error: ChainError::bad_response(service, endpoint, format!("not HTTP ({reason})")),
                transient: false,
                not_sent: false,
            },
            _ => match io {
                Some(e) => self.io_failure(e, endpoint, false),
                None => Failure {
                    error: ChainError::Disconnected {
                        service,
                        url,
                        endpoint: endpoint.to_string(),
                        reason,
                    },
                    transient: true,
                    not_sent: false,
                },
            },
        }
    }

    pub(super) fn io_failure(
        &self,
        error: &std::io::Error,
        endpoint: &str,
        not_sent: bool,
    ) -> Failure {
        if let Some(tls) = find_tls_error(error) {
            return Failure {
                error: ChainError::Tls {
                    service: self.service,
                    url: self.base_url.clone(),
                    problem: self.tls_problem(tls),
                },
                transient: false,
                not_sent,
            };
        }
        let error = if is_timeout(error.kind()) {
            ChainError::Timeout {
                service: self.service,
                endpoint: endpoint.to_string(),
                after: self.request_timeout,
            }
        } else {
            ChainError::Disconnected {
                service: self.service,
                url: self.base_url.clone(),
                endpoint: endpoint.to_string(),
                reason: error.to_string(),
            }
        };
        Failure {
            error,
            transient: true,
            not_sent,
        }
    }

    pub(super) fn status_failure(
        &self,
        status: u16,
        response: ureq::Response,
        endpoint: &str,
    ) -> Failure {
        let mut snippet = String::new();
        let _ = response
            .into_reader()
            .take(300)
            .read_to_string(&mut snippet);
        let hint = match status {
            404 => format!(
                "no such endpoint there; is the URL the {} RPC port (full node 8555, wallet 9256)?",
                self.service
            ),
            413 => "request too large for the server".to_string(),
            _ if snippet.trim().is_empty() => "the server failed to handle the request".to_string(),
            _ => format!(
                "the server failed to handle the request: {}",
                snippet.trim()
            ),
        };
        Failure {
            error: ChainError::HttpStatus {
                service: self.service,
                endpoint: endpoint.to_string(),
                status,
                hint,
            },
            // A proxy or a node that is starting up can answer these for a moment.
            transient: matches!(status, 502..=504),
            not_sent: false,
        }
    }

    pub(super) fn tls_problem(&self, error: &rustls::Error) -> TlsProblem {
        use rustls::AlertDescription as A;
        let reason = error.to_string();
        match error {
            rustls::Error::InvalidCertificate(_) => TlsProblem::ServerNotTrusted {
                ca: self.files.ca_cert.clone(),
                reason,
            },
            rustls::Error::AlertReceived(
                A::BadCertificate
                | A::UnknownCA
                | A::CertificateRequired
                | A::CertificateUnknown
                | A::UnsupportedCertificate
                | A::AccessDenied
                | A::DecryptError,
            ) => TlsProblem::ClientCertificateRejected {
                cert: self.files.client_cert.clone(),
                reason,
            },
            rustls::Error::InvalidMessage(_)
            | rustls::Error::InappropriateMessage { .. }
            | rustls::Error::InappropriateHandshakeMessage { .. } => TlsProblem::NotTls { reason },
            _ => TlsProblem::Other(reason),
        }
    }
}

fn is_timeout(kind: std::io::ErrorKind) -> bool {
    matches!(
        kind,
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

/// The rustls error somewhere in a chain of sources (ureq wraps it in `io::Error`s).
fn find_tls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                return Some(tls);
            }
        }
        current = e.source();
    }
    None
}

fn find_io_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        current = e.source();
    }
    None
}
