//! GET /v2/login and /login: a login link from `chia plotnft get_login_link` sets the session cookie and sends
//! the browser to the farmer's page; a refused link gets a page that says why and what to do.

use warp::http::header::{self, HeaderValue};
use warp::http::StatusCode;
use warp::reply::Response;

use crate::pool::login::{LoginError, LoginLink};
use crate::pool::Pool;

use super::{html, pages, Cache, SESSION_COOKIE};

pub fn login(pool: &Pool, query: &str, secure: bool) -> Response {
    let result = LoginLink::from_query(query).and_then(|link| {
        pool.login(&link)
            .map(|(token, max_age)| (link.launcher_id, token, max_age))
    });
    match result {
        Ok((launcher_id, token, max_age)) => {
            let target = format!("/farmer/{}", hex::encode(launcher_id));
            let mut r = html(
                StatusCode::SEE_OTHER,
                pages::layout(
                    pool,
                    "Logged in",
                    None,
                    maud::html! { section { p { "Logged in. " a href=(target) { "Continue to your page" } } } },
                ),
                Cache::Private,
            );
            let cookie = format!(
                "{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
                if secure { "; Secure" } else { "" }
            );
            // The token is URL-safe base64 and the target hex: both are valid header values.
            if let (Ok(cookie), Ok(location)) = (
                HeaderValue::from_str(&cookie),
                HeaderValue::from_str(&target),
            ) {
                r.headers_mut().insert(header::SET_COOKIE, cookie);
                r.headers_mut().insert(header::LOCATION, location);
            }
            r
        }
        Err(e) => {
            let status = match e {
                LoginError::Internal(_) => StatusCode::SERVICE_UNAVAILABLE,
                LoginError::UnknownFarmer(_) => StatusCode::NOT_FOUND,
                _ => StatusCode::FORBIDDEN,
            };
            let title = match e {
                LoginError::Stale { .. } => "Login link expired",
                LoginError::BadSignature => "Login link not valid",
                LoginError::Malformed(_) => "Login link incomplete",
                LoginError::UnknownFarmer(_) => "Not a member",
                LoginError::Internal(_) => "Try again later",
            };
            pages::message_page(pool, status, title, &e.to_string())
        }
    }
}
