//! The HTTP request of each `swivel ctl` command, sent to the control API.

use super::client::{path_segment, Client, Reply};
use super::CtlCommand;
use crate::control::api::OverrideRequest;

/// Sends the request of `command`; an error when no reply came.
pub(super) async fn send(client: &Client, command: &CtlCommand) -> Result<Reply, String> {
    let reply = match command {
        CtlCommand::Status { .. } => client.get("/v1/status").await,
        CtlCommand::Override {
            pool,
            address,
            state,
        } => {
            let path = format!(
                "/v1/pools/{}/endpoints/{}/override",
                path_segment(pool),
                path_segment(address)
            );
            let body = OverrideRequest {
                state: state.clone(),
            };
            let body = serde_json::to_string(&body).expect("a request body serializes");
            client.post(&path, Some(body)).await
        }
        CtlCommand::Failback { pool } => {
            let path = format!("/v1/pools/{}/failback", path_segment(pool));
            client.post(&path, None).await
        }
        CtlCommand::Reload => client.post("/v1/reload", None).await,
    };
    reply.map_err(|error| {
        format!(
            "no answer from the control API at {}: {error}\n\
             (is `swivel serve` running, and is this its [control] listen address? \
             use --control ADDR or --config FILE)",
            client.address
        )
    })
}
