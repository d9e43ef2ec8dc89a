//! The API's request and reply bodies (shared by the server and `swivel ctl`), its JSON
//! errors, and the parsing of path segments.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The body of `POST /v1/pools/{name}/endpoints/{address}/override`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    /// "down" (drain), "up" (force up) or "auto" (back to the checks).
    pub state: String,
}

/// The reply to an override: the endpoint and what its pool serves now.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OverrideReply {
    pub pool: String,
    pub address: IpAddr,
    /// "up" or "down"; none after "auto".
    #[serde(rename = "override")]
    pub override_state: Option<String>,
    /// The endpoint's state now: "up", "down" or "unknown".
    pub state: String,
    /// The pool's addresses in answers now.
    pub serving: Vec<IpAddr>,
}

/// The reply to `POST /v1/pools/{name}/failback`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FailbackReply {
    pub pool: String,
    /// The tier the pool was held on; none when it was not held.
    pub released_tier: Option<u32>,
    pub serving: Vec<IpAddr>,
}

/// The reply to a successful `POST /v1/reload`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReloadReply {
    pub zones: Vec<ReloadedZone>,
    pub records: usize,
    /// Settings that changed but only apply after a restart.
    pub restart_needed: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReloadedZone {
    pub origin: String,
    pub file: String,
    pub records: usize,
}

/// Every error reply: a message, and for a refused reload each problem as
/// `file:line: message`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ErrorReply {
    pub error: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// An error answered as JSON with its status code.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorReply,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorReply {
                error: error.into(),
                errors: Vec::new(),
            },
        }
    }

    pub fn bad_request(error: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, error)
    }

    pub fn not_found(error: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<crate::failover::NotFound> for ApiError {
    fn from(error: crate::failover::NotFound) -> ApiError {
        ApiError::not_found(error.to_string())
    }
}

/// An endpoint address from a URL path segment: `192.0.2.1`, `2001:db8::1` or
/// `[2001:db8::1]` (brackets may arrive percent-encoded; the router decodes them).
pub fn parse_address(text: &str) -> Result<IpAddr, String> {
    let bare = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse()
        .map_err(|_| format!("{text:?} is not an IPv4 or IPv6 address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_and_without_brackets() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(parse_address("2001:db8::1"), Ok(v6));
        assert_eq!(parse_address("[2001:db8::1]"), Ok(v6));
        assert_eq!(parse_address("192.0.2.7"), Ok("192.0.2.7".parse().unwrap()));
        assert!(parse_address("[192.0.2.7").is_err());
        assert!(parse_address("www.example.test").is_err());
        assert!(parse_address("").is_err());
    }
}
