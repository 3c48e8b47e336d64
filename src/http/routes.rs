//! The farmer API as warp filters: decode the request, call the pool, encode the answer.
//!
//! Protocol errors travel as HTTP 200 with an `ErrorResponse` body, because the 2.7.5 farmer only reads bodies
//! of successful responses. Transport problems (unknown path, wrong method, body too large or too slow) keep
//! their HTTP status.

use std::convert::Infallible;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::StreamExt;
use warp::http::{header, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::chia::messages::*;
use crate::config::Protocol;
use crate::pool::{Pool, PoolError};

/// How large a request body may be and how long the client may take to send all of it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub max_bytes: u64,
    pub deadline: Duration,
}

#[derive(Debug)]
struct BodyTooLarge;
impl warp::reject::Reject for BodyTooLarge {}

#[derive(Debug)]
struct BodyTooSlow;
impl warp::reject::Reject for BodyTooSlow {}

#[derive(Debug)]
struct BodyBroken;
impl warp::reject::Reject for BodyBroken {}

/// The whole body, with or without Content-Length (chunked), refused once it passes the limit or the deadline.
pub(super) fn body(
    limits: BodyLimits,
) -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and(warp::body::stream())
        .and_then(move |declared: Option<u64>, stream| async move {
            if declared.is_some_and(|n| n > limits.max_bytes) {
                return Err(warp::reject::custom(BodyTooLarge));
            }
            tokio::time::timeout(limits.deadline, read_body(stream, limits.max_bytes))
                .await
                .unwrap_or_else(|_| Err(warp::reject::custom(BodyTooSlow)))
        })
}

async fn read_body<B: Buf>(
    stream: impl futures_util::Stream<Item = Result<B, warp::Error>>,
    max_bytes: u64,
) -> Result<Bytes, Rejection> {
    let mut stream = std::pin::pin!(stream);
    let mut body = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk.map_err(|_| warp::reject::custom(BodyBroken))?;
        if body.len() as u64 + chunk.remaining() as u64 > max_bytes {
            return Err(warp::reject::custom(BodyTooLarge));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let n = part.len();
            body.extend_from_slice(part);
            chunk.advance(n);
        }
    }
    Ok(body.freeze())
}

/// Every route of the farmer API.
pub fn api(
    pool: Pool,
    limits: BodyLimits,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let pool_v1 = pool.clone();
    let with_pool = warp::any().map(move || pool.clone());
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let body = body(limits);

    let pool_info = warp::get()
        .and(warp::path!("v2" / "pool_info"))
        .and(with_pool.clone())
        .map(|pool: Pool| json(&pool.pool_info()));
    // A v2-only pool still answers /v2/'s info at the root, which `chia plotnft create` reads.
    let root_info = warp::get()
        .and(warp::path!("pool_info"))
        .and(with_pool.clone())
        .map(|pool: Pool| {
            if pool.config().pool.serves(Protocol::V1) {
                json(&pool.pool_info_v1())
            } else {
                json(&pool.pool_info())
            }
        });
    // With v2 not served, its farmer API answers a protocol error that says so.
    let v2_off = warp::path!("v2" / String).and(with_pool.clone()).and_then(
        |endpoint: String, pool: Pool| async move {
            let api = ["pool_info", "auth", "farmer", "partial"];
            match pool.require_protocol(Protocol::V2) {
                Err(e) if api.contains(&endpoint.as_str()) => Ok(error(&e)),
                _ => Err(warp::reject::not_found()),
            }
        },
    );

    let auth = warp::path!("v2" / "auth")
        .and(warp::get())
        .and(query)
        .and(with_pool.clone())
        .then(|q: String, pool: Pool| async move {
            match GetAuthRequest::from_query(&q) {
                Ok(r) => answer(pool.authenticate(&r).await),
                Err(e) => error(&bad_request(e)),
            }
        });

    let get_farmer = warp::path!("v2" / "farmer")
        .and(warp::get())
        .and(query)
        .and(with_pool.clone())
        .then(|q: String, pool: Pool| async move {
            match GetFarmerRequestV2::from_query(&q) {
                Ok(r) => answer(pool.get_farmer(&r).await),
                Err(e) => error(&bad_request(e)),
            }
        });

    let post_farmer = warp::path!("v2" / "farmer")
        .and(warp::post())
        .and(body.clone())
        .and(with_pool.clone())
        .then(|b: Bytes, pool: Pool| async move {
            match parse::<PostFarmerRequest>(&b) {
                Ok(r) => answer(pool.post_farmer(&r).await),
                Err(e) => error(&e),
            }
        });

    let put_farmer = warp::path!("v2" / "farmer")
        .and(warp::put())
        .and(body.clone())
        .and(with_pool.clone())
        .then(|b: Bytes, pool: Pool| async move {
            match parse::<PutFarmerRequest>(&b) {
                Ok(r) => answer(pool.put_farmer(&r).await),
                Err(e) => error(&e),
            }
        });

    let partial = warp::path!("v2" / "partial")
        .and(warp::post())
        .and(body)
        .and(with_pool)
        .then(|b: Bytes, pool: Pool| async move {
            match parse_partial(b).await {
                Ok(r) => answer(pool.post_partial(r).await),
                Err(e) => error(&e),
            }
        });

    v2_off
        .or(pool_info)
        .unify()
        .or(root_info)
        .unify()
        .or(super::v1::routes(pool_v1, limits))
        .unify()
        .or(auth)
        .unify()
        .or(get_farmer)
        .unify()
        .or(post_farmer)
        .unify()
        .or(put_farmer)
        .unify()
        .or(partial)
        .unify()
}

/// Turns warp's rejections into plain HTTP errors (never protocol errors: the request never reached the pool).
pub async fn rejection(err: Rejection) -> Result<Response, Infallible> {
    let (status, text) = if err.is_not_found() {
        (StatusCode::NOT_FOUND, "404: Not Found")
    } else if err.find::<BodyTooLarge>().is_some()
        || err.find::<warp::reject::PayloadTooLarge>().is_some()
    {
        (StatusCode::PAYLOAD_TOO_LARGE, "413: request body too large")
    } else if err.find::<BodyTooSlow>().is_some() {
        (
            StatusCode::REQUEST_TIMEOUT,
            "408: the request body did not arrive in time",
        )
    } else if err.find::<warp::reject::MethodNotAllowed>().is_some() {
        (StatusCode::METHOD_NOT_ALLOWED, "405: Method Not Allowed")
    } else if err.find::<warp::reject::LengthRequired>().is_some() {
        (StatusCode::LENGTH_REQUIRED, "411: Length Required")
    } else {
        (StatusCode::BAD_REQUEST, "400: Bad Request")
    };
    Ok(warp::reply::with_status(text, status).into_response())
}

/// Parses a partial; parsing checks curve points (tens of microseconds): keep it off the async threads too.
pub(super) async fn parse_partial(body: Bytes) -> Result<PostPartialRequest, PoolError> {
    tokio::task::spawn_blocking(move || parse::<PostPartialRequest>(&body))
        .await
        .map_err(|e| PoolError::internal("parsing the partial failed", e))?
}

pub(super) fn parse<M: Message>(body: &[u8]) -> Result<M, PoolError> {
    let text = std::str::from_utf8(body).map_err(|_| {
        PoolError::new(
            PoolErrorCode::RequestFailed,
            "request body is not UTF-8 JSON",
        )
    })?;
    M::from_json_str(text).map_err(bad_request)
}

pub(super) fn bad_request(e: MessageError) -> PoolError {
    PoolError::new(
        PoolErrorCode::RequestFailed,
        format!("invalid request: {e}"),
    )
}

pub(super) fn answer<M: Message>(result: Result<M, PoolError>) -> Response {
    match result {
        Ok(m) => json(&m),
        Err(e) => error(&e),
    }
}

pub(super) fn error(e: &PoolError) -> Response {
    tracing::debug!(code = e.code.code(), "refused: {}", e.message);
    json(&e.response())
}

pub(super) fn json<M: Message>(m: &M) -> Response {
    let mut response = Response::new(m.to_json_string().into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
