//! Pool protocol v1 at the root (`/farmer`, `/partial`; `/pool_info` and `/login` are shared with the other
//! routes): decode, refuse when the pool does not serve v1, call the pool, encode. Errors as in `routes`.

use bytes::Bytes;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::routes::{answer, bad_request, body, error, parse, parse_partial, BodyLimits};
use crate::chia::messages::{Message, PostFarmerRequest, PutFarmerRequest};
use crate::chia::v1::messages::GetFarmerRequestV1;
use crate::config::Protocol;
use crate::pool::Pool;

/// The v1 farmer and partial routes.
pub fn routes(
    pool: Pool,
    limits: BodyLimits,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let with_pool = warp::any().map(move || pool.clone());
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let body = body(limits);

    let get_farmer = warp::path!("farmer")
        .and(warp::get())
        .and(query)
        .and(with_pool.clone())
        .then(|q: String, pool: Pool| async move {
            if let Err(e) = pool.require_protocol(Protocol::V1) {
                return error(&e);
            }
            match GetFarmerRequestV1::from_query(&q) {
                Ok(r) => answer(pool.get_farmer_v1(&r).await),
                Err(e) => error(&bad_request(e)),
            }
        });

    let post_farmer = warp::path!("farmer")
        .and(warp::post())
        .and(body.clone())
        .and(with_pool.clone())
        .then(|b: Bytes, pool: Pool| async move {
            if let Err(e) = pool.require_protocol(Protocol::V1) {
                return error(&e);
            }
            match parse::<PostFarmerRequest>(&b) {
                Ok(r) => answer(pool.post_farmer_v1(&r).await),
                Err(e) => error(&e),
            }
        });

    let put_farmer = warp::path!("farmer")
        .and(warp::put())
        .and(body.clone())
        .and(with_pool.clone())
        .then(|b: Bytes, pool: Pool| async move {
            if let Err(e) = pool.require_protocol(Protocol::V1) {
                return error(&e);
            }
            match parse::<PutFarmerRequest>(&b) {
                Ok(r) => answer(pool.put_farmer_v1(&r).await),
                Err(e) => error(&e),
            }
        });

    let partial = warp::path!("partial")
        .and(warp::post())
        .and(body)
        .and(with_pool)
        .then(|b: Bytes, pool: Pool| async move {
            if let Err(e) = pool.require_protocol(Protocol::V1) {
                return error(&e);
            }
            match parse_partial(b).await {
                Ok(r) => answer(pool.post_partial_v1(r).await),
                Err(e) => error(&e),
            }
        });

    get_farmer
        .or(post_farmer)
        .unify()
        .or(put_farmer)
        .unify()
        .or(partial)
        .unify()
}
