//! The `[acme] http_listen` listener for the http-01 challenge: `GET /.well-known/acme-challenge/<token>`
//! answers the key authorization of a pending challenge; every other request is redirected (308) to the same
//! host and path over https, so port 80 serves nothing else.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use warp::http::{header, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

/// Pending http-01 answers: token → key authorization.
pub type Tokens = Arc<RwLock<HashMap<String, String>>>;

const PREFIX: &str = "/.well-known/acme-challenge/";

/// The whole http-01 listener's routes.
pub fn routes(
    tokens: Tokens,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + Send + Sync + 'static {
    warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::optional::<String>("host"))
        .map(
            move |method: warp::http::Method,
                  path: warp::path::FullPath,
                  query: String,
                  host: Option<String>| {
                answer(&tokens, &method, path.as_str(), &query, host.as_deref())
            },
        )
}

fn answer(
    tokens: &Tokens,
    method: &warp::http::Method,
    path: &str,
    query: &str,
    host: Option<&str>,
) -> Response {
    if let Some(token) = path.strip_prefix(PREFIX) {
        if method == warp::http::Method::GET {
            let found = tokens
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(token)
                .cloned();
            return match found {
                Some(key_authorization) => plain(StatusCode::OK, key_authorization),
                None => plain(StatusCode::NOT_FOUND, "no such ACME challenge\n".into()),
            };
        }
    }
    let Some(host) = host.filter(|h| valid_host(h)) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "this port serves only ACME challenges and redirects to https; send a Host header\n"
                .into(),
        );
    };
    // Port 80 in the Host header is this listener's own: the https URL uses the default port.
    let host = host.strip_suffix(":80").unwrap_or(host);
    let mut location = format!("https://{host}{path}");
    if !query.is_empty() {
        location.push('?');
        location.push_str(query);
    }
    let mut response = plain(StatusCode::PERMANENT_REDIRECT, "moved to https\n".into());
    if let Ok(value) = header::HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A Host header that cannot smuggle a different URL into Location.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

fn plain(status: StatusCode, body: String) -> Response {
    warp::reply::with_status(body, status).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::Method;

    #[test]
    fn answers_tokens_and_redirects_the_rest() {
        let tokens: Tokens = Arc::default();
        tokens
            .write()
            .unwrap()
            .insert("tok".into(), "tok.thumb".into());
        let host = Some("pool.example.com");
        let get = Method::GET;
        let r = answer(&tokens, &get, "/.well-known/acme-challenge/tok", "", host);
        assert_eq!(r.status(), StatusCode::OK);
        let r = answer(&tokens, &get, "/.well-known/acme-challenge/other", "", host);
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        for (host, path, query, location) in [
            (
                "pool.example.com",
                "/v2/pool_info",
                "a=1",
                "https://pool.example.com/v2/pool_info?a=1",
            ),
            ("pool.example.com:80", "/", "", "https://pool.example.com/"),
            (
                "pool.example.com:8443",
                "/x",
                "",
                "https://pool.example.com:8443/x",
            ),
        ] {
            let r = answer(&tokens, &Method::POST, path, query, Some(host));
            assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
            assert_eq!(r.headers()[header::LOCATION], location);
        }
        let r = answer(&tokens, &get, "/", "", Some("evil.com/@x"));
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = answer(&tokens, &get, "/", "", None);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
}
