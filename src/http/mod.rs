//! The farmer API over HTTP(S).
pub mod deadlines;
pub mod fdlimit;
pub mod limits;
pub mod routes;
pub mod server;
pub mod status;
pub mod v1;
