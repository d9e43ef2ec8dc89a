//! Request bodies and error replies as the API promises them: bodies parsed strictly (a
//! JSON object where an object is expected, never the array form serde would also take),
//! every error reply JSON (including the body limit's 413 and anything else answered in
//! plain text by a layer), and the per-request timeout.

use super::api::ApiError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The longest plain-text error body turned into JSON.
const MAX_ERROR_TEXT: usize = 4096;

/// The request body as a `T`, which must arrive as a JSON object; `shape` describes the
/// expected body in the error.
pub(super) fn parse_object<T: DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, ApiError> {
    let value = object(body, shape)?;
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("the body must be {shape}: {e}")))
}

/// The body as a JSON value that is an object.
pub(super) fn object(body: &[u8], shape: &str) -> Result<serde_json::Value, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the body must be {shape}; it is not JSON: {e}"))
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_request(format!(
            "the body must be a JSON object, {shape}, not {}",
            kind(&value)
        )));
    }
    Ok(value)
}

/// What a JSON value is, for errors.
pub(super) fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Middleware: an error reply that is not JSON (a layer's or an extractor's plain text)
/// becomes `{"error": "<its text>"}` with the same status.
pub(super) async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_ERROR_TEXT)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_string()
    } else {
        text
    };
    let mut reply = ApiError::new(status, message).into_response();
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            reply.headers_mut().insert(name.clone(), value.clone());
        }
    }
    reply
}

/// Middleware: a request that takes longer than `limit` (reading its body included) is
/// answered 408 and its handling dropped.
pub(super) async fn time_limit(limit: Duration, request: Request<Body>, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request took longer than {limit:?} (control.request_timeout)"),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::api::OverrideRequest;

    #[test]
    fn bodies_must_be_objects_with_known_fields() {
        let shape = "{\"state\": ...}";
        let ok: OverrideRequest = parse_object(br#"{"state": "down"}"#, shape).unwrap();
        assert_eq!(ok.state, "down");
        for (body, wanted) in [
            (&br#"["down"]"#[..], "not an array"),
            (br#""down""#, "not a string"),
            (br#"{"state": "down", "extra": 1}"#, "unknown field `extra`"),
            (br#"{"state": 1}"#, "invalid type"),
            (br#"{"state": "down""#, "not JSON"),
            (b"", "not JSON"),
        ] {
            let error = parse_object::<OverrideRequest>(body, shape).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST);
            assert!(error.body.error.contains(wanted), "{}", error.body.error);
        }
    }
}
