//! The routes of the control API and their handlers. Reads (`GET`) are open; writes (`POST`)
//! need the bearer token when one is configured (see [`super::auth`]), except probe agents'
//! reports, which carry their checker's own token (see [`super::reports`]). Every request
//! has the body limit and every error reply is JSON ([`super::body`]); every request but a
//! reload (as long as the zones take to load) has the request timeout.

use super::api::{
    parse_address, ApiError, FailbackReply, OverrideReply, OverrideRequest, ReloadReply,
    ReloadedZone,
};
use super::{auth, body, metrics, page, reports, ControlState};
use crate::failover::status::{PoolStatus, Status};
use crate::health::state::Override;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::DefaultBodyLimit;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;

/// The routes, with `max_body` bytes the largest request body and `request_timeout` the
/// longest a request other than a reload may take.
pub(super) fn router(state: ControlState, max_body: usize, request_timeout: Duration) -> Router {
    let mutating = Router::new()
        .route(
            "/v1/pools/{pool}/endpoints/{address}/override",
            post(set_override),
        )
        .route("/v1/pools/{pool}/failback", post(failback))
        .route_layer(from_fn_with_state(state.clone(), auth::require_token));
    let timed = Router::new()
        .route("/", get(status_page))
        .route("/v1/status", get(status))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/v1/reports", post(reports::receive))
        .merge(mutating)
        .route_layer(from_fn(move |request, next| {
            body::time_limit(request_timeout, request, next)
        }));
    let reload = Router::new()
        .route("/v1/reload", post(reload))
        .route_layer(from_fn_with_state(state.clone(), auth::require_token));
    Router::new()
        .merge(timed)
        .merge(reload)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(from_fn(body::json_errors))
        .with_state(state)
}

/// `GET /v1/status`: the runtime's snapshot with the server's version and uptime.
#[derive(Serialize)]
struct StatusReply {
    version: &'static str,
    uptime_seconds: f64,
    #[serde(flatten)]
    status: Status,
}

async fn status(State(state): State<ControlState>) -> Json<StatusReply> {
    Json(StatusReply {
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.started.elapsed().as_secs_f64(),
        status: state.handle.status().await,
    })
}

async fn status_page(State(state): State<ControlState>) -> Html<String> {
    Html(page::render(&state.handle.status().await))
}

async fn metrics(State(state): State<ControlState>) -> Response {
    let text = metrics::render(state.handle.status().await, state.rejections.counts());
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn set_override(
    State(state): State<ControlState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> Result<Json<OverrideReply>, ApiError> {
    let Path((pool, address)) = path.map_err(bad_path)?;
    let address = parse_address(&address).map_err(ApiError::bad_request)?;
    let request: OverrideRequest =
        body::parse_object(&body, "{\"state\": \"down\" | \"up\" | \"auto\"}")?;
    let value = match request.state.as_str() {
        "down" => Some(Override::ForceDown),
        "up" => Some(Override::ForceUp),
        "auto" => None,
        other => {
            return Err(ApiError::bad_request(format!(
                "state {other:?}: use \"down\", \"up\" or \"auto\""
            )))
        }
    };
    state.handle.set_override(&pool, address, value).await?;
    tracing::info!(pool = %canonical(&pool), endpoint = %address, state = %request.state, %peer, "override set over the control API");
    let pool_status = find_pool(&state, &pool).await?;
    let endpoint = pool_status.endpoints.iter().find(|e| e.address == address);
    Ok(Json(OverrideReply {
        pool: pool_status.name.clone(),
        address,
        override_state: endpoint.and_then(|e| e.override_state.map(str::to_string)),
        state: endpoint.map_or("unknown", |e| e.state).to_string(),
        serving: pool_status.serving,
    }))
}

async fn failback(
    State(state): State<ControlState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<FailbackReply>, ApiError> {
    let Path(pool) = path.map_err(bad_path)?;
    let released_tier = state.handle.failback(&pool).await?;
    tracing::info!(pool = %canonical(&pool), tier = released_tier, %peer, "failback requested over the control API");
    let pool_status = find_pool(&state, &pool).await?;
    Ok(Json(FailbackReply {
        pool: pool_status.name,
        released_tier,
        serving: pool_status.serving,
    }))
}

async fn reload(
    State(state): State<ControlState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Json<ReloadReply>, ApiError> {
    let trigger = format!("control API from {peer}");
    match super::reload_and_log(&state.handle, state.tls.as_deref(), &trigger).await {
        Ok(report) => Ok(Json(ReloadReply {
            records: report.summary.total_records(),
            zones: report
                .summary
                .zones
                .iter()
                .map(|zone| ReloadedZone {
                    origin: zone.origin.to_string(),
                    file: zone.file.display().to_string(),
                    records: zone.records,
                })
                .collect(),
            restart_needed: report
                .restart_needed
                .iter()
                .map(|key| key.to_string())
                .collect(),
        })),
        Err(diagnostics) => {
            let mut error = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "reload refused: {}; still serving the previous data",
                    diagnostics.count()
                ),
            );
            error.body.errors = diagnostics.0.iter().map(|d| d.to_string()).collect();
            Err(error)
        }
    }
}

/// The pool named `name` (any case, final dot optional) in a fresh snapshot.
async fn find_pool(state: &ControlState, name: &str) -> Result<PoolStatus, ApiError> {
    let wanted = crate::name::Name::from_text(name);
    state
        .handle
        .status()
        .await
        .pools
        .into_iter()
        .find(|pool| crate::name::Name::from_text(&pool.name) == wanted)
        .ok_or_else(|| ApiError::not_found(format!("no pool named {name}")))
}

/// A path segment that cannot be read (e.g. percent-encoding that is not UTF-8).
fn bad_path(rejection: PathRejection) -> ApiError {
    ApiError::bad_request(rejection.body_text())
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "no such path: {}; see GET /v1/status, /metrics, /healthz",
        uri.path()
    ))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed here: reads are GET, changes are POST",
    )
}

/// A pool name as the logs write it (lower case, final dot), or as given when it is none.
fn canonical(pool: &str) -> String {
    crate::name::Name::from_text(pool).map_or_else(|| pool.to_string(), |name| name.to_string())
}
