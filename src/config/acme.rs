//! The `[acme]` table's rules: which keys turn ACME on, what each value may be, and the clash with
//! `[server] tls_cert` / `tls_key`. Every error names the key and the value it refuses.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::{
    invalid, AcmeConfig, AcmeSettings, Challenge, ConfigError, ServerConfig, LETS_ENCRYPT,
};

const DEFAULT_HTTP_LISTEN: &str = "0.0.0.0:80";
const DEFAULT_RENEW_BEFORE_DAYS: i64 = 30;

/// Validates `[acme]`; Ok(None) when the table turns nothing on (no domains and no other key).
pub(super) fn settings(
    a: &AcmeConfig,
    server: &ServerConfig,
) -> Result<Option<AcmeSettings>, ConfigError> {
    let domains = a.domains.clone().unwrap_or_default();
    if domains.is_empty() {
        let others = [
            ("contact", a.contact.as_ref().map(|v| format!("{v:?}"))),
            ("directory", a.directory.as_ref().map(|v| format!("{v:?}"))),
            (
                "directory_ca",
                a.directory_ca
                    .as_ref()
                    .map(|v| format!("{:?}", v.display())),
            ),
            ("challenge", a.challenge.as_ref().map(|v| format!("{v:?}"))),
            (
                "http_listen",
                a.http_listen.as_ref().map(|v| format!("{v:?}")),
            ),
            ("dir", a.dir.as_ref().map(|v| format!("{:?}", v.display()))),
            (
                "renew_before_days",
                a.renew_before_days.map(|v| v.to_string()),
            ),
        ];
        if let Some((key, value)) = others.iter().find_map(|(k, v)| v.as_ref().map(|v| (k, v))) {
            return Err(invalid(
                "acme",
                "domains",
                if a.domains.is_some() { "[]" } else { "(unset)" },
                format!(
                    "[acme] {key} = {value} is set but domains lists no name; add domains = [\"pool.example.com\"] \
                     or remove the [acme] table"
                ),
            ));
        }
        return Ok(None);
    }
    for name in &domains {
        if let Err(reason) = check_dns_name(name) {
            return Err(invalid("acme", "domains", format!("{name:?}"), reason));
        }
    }
    for (key, path) in [("tls_cert", &server.tls_cert), ("tls_key", &server.tls_key)] {
        if let Some(path) = path {
            return Err(invalid(
                "server",
                key,
                format!("{:?}", path.display()),
                "is set together with [acme] domains: the pool obtains its own certificate with ACME; remove \
                 tls_cert and tls_key, or remove [acme] domains",
            ));
        }
    }
    if let Some(contact) = &a.contact {
        let address = contact.strip_prefix("mailto:").unwrap_or("");
        if !address.contains('@') || address.contains(char::is_whitespace) {
            return Err(invalid(
                "acme",
                "contact",
                format!("{contact:?}"),
                "must be mailto:you@example.com",
            ));
        }
    }
    let directory = a.directory.clone().unwrap_or_else(|| LETS_ENCRYPT.into());
    if !directory.starts_with("https://") || directory.len() <= "https://".len() {
        return Err(invalid(
            "acme",
            "directory",
            format!("{directory:?}"),
            "must be an https:// URL of an ACME directory (RFC 8555), e.g. Let's Encrypt staging \
             https://acme-staging-v02.api.letsencrypt.org/directory",
        ));
    }
    let challenge = match a.challenge.as_deref().unwrap_or("tls-alpn-01") {
        "tls-alpn-01" => Challenge::TlsAlpn01,
        "http-01" => Challenge::Http01,
        other => {
            return Err(invalid(
                "acme",
                "challenge",
                format!("{other:?}"),
                "use \"tls-alpn-01\" (answered on [server] listen, port 443 from outside) or \"http-01\" \
                 (answered on [acme] http_listen, port 80 from outside)",
            ))
        }
    };
    let listen_text = a.http_listen.as_deref().unwrap_or(DEFAULT_HTTP_LISTEN);
    let http_listen: SocketAddr = listen_text.parse().map_err(|_| {
        invalid(
            "acme",
            "http_listen",
            format!("{listen_text:?}"),
            "must be an address and port such as \"0.0.0.0:80\"",
        )
    })?;
    let dir = a.dir.clone().unwrap_or_else(|| PathBuf::from("acme"));
    if dir.as_os_str().is_empty() {
        return Err(invalid(
            "acme",
            "dir",
            "\"\"",
            "name a directory, e.g. \"acme\"",
        ));
    }
    let renew_before_days = a.renew_before_days.unwrap_or(DEFAULT_RENEW_BEFORE_DAYS);
    if !(1..=36_500).contains(&renew_before_days) {
        return Err(invalid(
            "acme",
            "renew_before_days",
            renew_before_days,
            "must be at least 1 (days before expiry a certificate is renewed; 30 suits Let's Encrypt)",
        ));
    }
    Ok(Some(AcmeSettings {
        domains: domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
        contact: a.contact.clone(),
        directory,
        directory_ca: a.directory_ca.clone(),
        challenge,
        http_listen,
        dir,
        renew_before_days,
    }))
}

/// A name a CA can validate by tls-alpn-01 or http-01: no wildcard, no IP address, DNS syntax.
fn check_dns_name(name: &str) -> Result<(), String> {
    if name.starts_with("*.") {
        return Err("wildcard names need the dns-01 challenge, which the pool does not answer; list each name".into());
    }
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Err("must be a DNS name, not an IP address (a dynamic-DNS name works)".into());
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let labels_ok = name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if labels_ok {
        Ok(())
    } else {
        Err("must be a DNS name such as pool.example.com".into())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Challenge, Config};

    #[test]
    fn defaults_and_off_states() {
        let c = Config::parse("[acme]\ndomains = [\"Pool.Example.com\"]").unwrap();
        let s = c.acme_settings().unwrap().unwrap();
        assert_eq!(s.domains, vec!["pool.example.com"]);
        assert_eq!(s.challenge, Challenge::TlsAlpn01);
        assert_eq!(s.http_listen.port(), 80);
        assert_eq!(s.renew_before_days, 30);
        assert!(s.directory.contains("letsencrypt"));
        assert_eq!(
            Config::parse("[acme]").unwrap().acme_settings().unwrap(),
            None
        );
        assert_eq!(
            Config::parse("[acme]\ndomains = []")
                .unwrap()
                .acme_settings()
                .unwrap(),
            None
        );
    }

    #[test]
    fn bad_values_name_key_and_value() {
        let cases = [
            ("[acme]\ndomains = [\"a.example\"]\nchallenge = \"dns-99\"", "challenge = \"dns-99\""),
            ("[acme]\nchallenge = \"http-01\"", "domains = (unset)"),
            ("[acme]\ndomains = []\ncontact = \"mailto:a@b.c\"", "domains = []"),
            ("[acme]\ndomains = [\"*.example.com\"]", "domains = \"*.example.com\""),
            ("[acme]\ndomains = [\"127.0.0.1\"]", "domains = \"127.0.0.1\""),
            ("[acme]\ndomains = [\"a.example\"]\ncontact = \"you@x\"", "contact = \"you@x\""),
            ("[acme]\ndomains = [\"a.example\"]\ndirectory = \"http://x/dir\"", "directory = \"http://x/dir\""),
            ("[acme]\ndomains = [\"a.example\"]\nhttp_listen = \"80\"", "http_listen = \"80\""),
            ("[acme]\ndomains = [\"a.example\"]\nrenew_before_days = 0", "renew_before_days = 0"),
            (
                "[server]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n[acme]\ndomains = [\"a.example\"]",
                "[server] tls_cert = \"c.pem\"",
            ),
        ];
        for (text, expected) in cases {
            let err = Config::parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}
