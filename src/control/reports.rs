//! `POST /v1/reports`: probe agents' results. The bearer token names the checker (each
//! `[[checker]]` has its own, compared in constant time); the body must name the same
//! checker. Results go to the failover runtime as that checker's observations, received
//! now. Rejections are counted for `/metrics`.

use super::api::ApiError;
use super::auth::{bearer_token, unauthorized};
use super::{body, ControlState};
use crate::failover::Observation;
use crate::name::Name;
use crate::probe::EndpointKey;
use crate::report::{ReportAck, ReportBatch, ReportedResult};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// Reports refused, by reason.
#[derive(Debug, Default)]
pub(super) struct Rejections {
    /// No token, or a token no `[[checker]]` has.
    pub unauthorized: AtomicU64,
    /// A valid token with a body naming another checker.
    pub forbidden: AtomicU64,
    /// A body that is not a report.
    pub malformed: AtomicU64,
}

impl Rejections {
    /// `(reason, count)` for each reason.
    pub fn counts(&self) -> [(&'static str, u64); 3] {
        [
            ("unauthorized", self.unauthorized.load(Ordering::Relaxed)),
            ("forbidden", self.forbidden.load(Ordering::Relaxed)),
            ("malformed", self.malformed.load(Ordering::Relaxed)),
        ]
    }
}

pub(super) async fn receive(
    State(state): State<ControlState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rejections = &state.rejections;
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
    let Some(checker) = presented.and_then(|token| state.handle.checker_for_token(token)) else {
        rejections.unauthorized.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%peer, "report refused: no [[checker]] has the token presented");
        return unauthorized(
            "reports need an Authorization: Bearer <token> header with the [[checker]] token of the reporting checker",
        );
    };
    let batch = match parse_report(&body) {
        Ok(batch) => batch,
        Err(error) => {
            rejections.malformed.fetch_add(1, Ordering::Relaxed);
            return error.into_response();
        }
    };
    if batch.checker != checker {
        rejections.forbidden.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%peer, checker, claimed = %batch.checker, "report refused: the body names another checker than the token");
        return ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "this token belongs to checker {checker:?}, but the report is from {:?}",
                batch.checker
            ),
        )
        .into_response();
    }
    let (observations, unreadable) = observations(&batch.results);
    match state.handle.report(checker, observations, unreadable).await {
        Some(tally) => Json(ReportAck {
            accepted: tally.accepted,
            ignored: tally.ignored,
        })
        .into_response(),
        None => unauthorized("this checker is no longer configured"),
    }
}

/// A report body: an object whose results are objects (never the array form serde would
/// take for a struct). Unknown fields are ignored, so that agents may add some (see
/// [`crate::report`]).
fn parse_report(body: &[u8]) -> Result<ReportBatch, ApiError> {
    const SHAPE: &str = "a report {\"checker\": ..., \"results\": [{...}, ...]}";
    let value = body::object(body, SHAPE)?;
    if let Some(results) = value.get("results").and_then(|r| r.as_array()) {
        if let Some((i, other)) = results.iter().enumerate().find(|(_, r)| !r.is_object()) {
            return Err(ApiError::bad_request(format!(
                "the body is not a report: results[{i}] must be an object, not {}",
                body::kind(other)
            )));
        }
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("the body is not a report: {e}")))
}

/// The results as failover observations, and how many named no pool at all.
fn observations(results: &[ReportedResult]) -> (Vec<Observation>, u64) {
    let mut unreadable = 0;
    let mut observations = Vec::with_capacity(results.len());
    for result in results {
        let Some(pool) = Name::from_text(&result.pool) else {
            unreadable += 1;
            continue;
        };
        observations.push(Observation {
            key: EndpointKey {
                pool,
                address: result.address,
            },
            outcome: result.outcome(),
            reported_at: result.reported_at(),
        });
    }
    (observations, unreadable)
}
