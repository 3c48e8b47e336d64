//! The farmer API over HTTP(S).
pub mod routes;
