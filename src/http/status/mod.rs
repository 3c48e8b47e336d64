//! The status pages: the public overview and farmer pages, their JSON, login links, and the operator view with
//! /metrics on its own listener.
//!
//! Every page is rendered from the `Stats` snapshot (never the store or the chain per request) with maud,
//! which HTML-escapes every value. Responses carry a strict Content-Security-Policy (no inline script or
//! style, nothing from other origins) and explicit cache headers; pages for a logged-in farmer are never
//! cached.

pub mod admin;
pub mod api;
pub mod charts;
pub mod format;
pub mod login;
pub mod pages;

use warp::http::header::{self, HeaderValue};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::pool::Pool;

/// The session cookie a login link sets.
pub const SESSION_COOKIE: &str = "chia_pool_session";

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Asset paths carry the version so they can be cached for long.
pub const CSS_PATH: &str = concat!("/assets/", env!("CARGO_PKG_VERSION"), "/status.css");
pub const JS_PATH: &str = concat!("/assets/", env!("CARGO_PKG_VERSION"), "/status.js");
const CSS: &str = include_str!("../../../assets/status.css");
const JS: &str = include_str!("../../../assets/status.js");

/// How a response may be cached.
#[derive(Debug, Clone, Copy)]
pub enum Cache {
    /// Public figures: shared caches may keep them briefly (they change with each refresh anyway).
    Public,
    /// A logged-in farmer's page or anything private: never stored.
    Private,
    /// Versioned assets.
    Immutable,
}

/// A response with the security and cache headers every status response carries.
pub fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: String,
    cache: Cache,
) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Login links carry a signature in their query: never leak a URL to another site.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let cache = match cache {
        Cache::Public => "public, max-age=10",
        Cache::Private => "private, no-store",
        Cache::Immutable => "public, max-age=31536000, immutable",
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

pub fn html(status: StatusCode, body: String, cache: Cache) -> Response {
    respond(status, "text/html; charset=utf-8", body, cache)
}

pub fn json(value: &serde_json::Value, cache: Cache) -> Response {
    respond(
        StatusCode::OK,
        "application/json; charset=utf-8",
        value.to_string(),
        cache,
    )
}

/// A 32-byte launcher id from a path segment (with or without 0x).
pub fn parse_launcher(text: &str) -> Option<[u8; 32]> {
    crate::chia::wire::decode_hex_array::<32>(text).ok()
}

/// The public status routes on the farmer API listener. `secure_cookies`: the listener serves HTTPS.
pub fn public(
    pool: Pool,
    secure_cookies: bool,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let with_pool = warp::any().map(move || pool.clone());
    let session = warp::cookie::optional::<String>(SESSION_COOKIE);

    let overview = warp::path::end()
        .and(warp::get())
        .and(with_pool.clone())
        .map(|pool: Pool| pages::overview(&pool));
    let farmer = warp::path!("farmer" / String)
        .and(warp::get())
        .and(with_pool.clone())
        .and(session)
        .map(|id: String, pool: Pool, session: Option<String>| {
            pages::farmer(&pool, &id, session.as_deref())
        });
    let api_pool = warp::path!("api" / "pool")
        .and(warp::get())
        .and(with_pool.clone())
        .map(|pool: Pool| json(&api::pool(&pool), Cache::Public));
    let api_farmer = warp::path!("api" / "farmer" / String)
        .and(warp::get())
        .and(with_pool.clone())
        .map(|id: String, pool: Pool| api::farmer_response(&pool, &id));
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let login = warp::path!("v2" / "login")
        .or(warp::path!("login"))
        .unify()
        .and(warp::get())
        .and(query)
        .and(with_pool)
        .map(move |q: String, pool: Pool| login::login(&pool, &q, secure_cookies));
    let assets = warp::path!("assets" / String / String)
        .and(warp::get())
        .map(|version: String, name: String| asset(&version, &name));

    overview
        .or(farmer)
        .unify()
        .or(api_pool)
        .unify()
        .or(api_farmer)
        .unify()
        .or(login)
        .unify()
        .or(assets)
        .unify()
}

fn asset(version: &str, name: &str) -> Response {
    if version != env!("CARGO_PKG_VERSION") {
        return not_found();
    }
    match name {
        "status.css" => respond(
            StatusCode::OK,
            "text/css; charset=utf-8",
            CSS.into(),
            Cache::Immutable,
        ),
        "status.js" => respond(
            StatusCode::OK,
            "text/javascript; charset=utf-8",
            JS.into(),
            Cache::Immutable,
        ),
        _ => not_found(),
    }
}

fn not_found() -> Response {
    respond(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        "404: Not Found".into(),
        Cache::Public,
    )
}

/// A bounded label for request metrics: the route, never the raw path.
pub fn route_label(path: &str) -> &'static str {
    let p = path.trim_end_matches('/');
    match p {
        "" => "/",
        "/v2/partial" | "/partial" => "/partial",
        "/v2/farmer" | "/farmer" => "/farmer (API)",
        "/v2/auth" | "/auth" => "/auth",
        "/v2/pool_info" | "/pool_info" => "/pool_info",
        "/v2/login" | "/login" => "/login",
        "/api/pool" => "/api/pool",
        "/metrics" => "/metrics",
        _ if p.starts_with("/farmer/") => "/farmer/<id>",
        _ if p.starts_with("/api/farmer/") => "/api/farmer/<id>",
        _ if p.starts_with("/assets/") => "/assets",
        _ => "other",
    }
}
