//! The bearer token on mutating calls: when `[control] token` is set, a POST without
//! `Authorization: Bearer <token>`, or with another token, is answered 401. Tokens are
//! compared by their SHA-256 digests in constant time, so the time taken tells neither
//! where they differ nor how long the expected one is.

use super::api::ApiError;
use super::ControlState;
use crate::failover::runtime::tokens_match;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Middleware for the mutating routes.
pub(super) async fn require_token(
    State(state): State<ControlState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &state.token else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
    match presented {
        Some(presented) if tokens_match(presented, token) => next.run(request).await,
        Some(_) => unauthorized("wrong token in the Authorization header"),
        None => unauthorized(
            "this call needs an Authorization: Bearer <token> header with the [control] token",
        ),
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme in any case).
pub(super) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

pub(super) fn unauthorized(message: &str) -> Response {
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"swivel\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_values() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }

    #[test]
    fn tokens_must_match_exactly() {
        assert!(tokens_match("s3cret", "s3cret"));
        assert!(!tokens_match("s3cres", "s3cret"));
        assert!(!tokens_match("s3cre", "s3cret"));
        assert!(!tokens_match("s3crett", "s3cret"));
        assert!(!tokens_match("", "s3cret"));
    }
}
