//! The farmer API over HTTP(S).
pub mod routes;
pub mod server;
pub mod status;
