//! A control API reply as text for people, or the server's refusal explained.

use super::client::{Client, Reply};
use super::status_view::StatusView;
use super::CtlCommand;
use crate::control::api::{ErrorReply, FailbackReply, OverrideReply, ReloadReply};

/// The output of `command` for a reply; the error text when the server refused it.
pub(super) fn render(
    client: &Client,
    command: &CtlCommand,
    reply: &Reply,
) -> Result<String, String> {
    if !reply.status.is_success() {
        return Err(explain_failure(client, reply));
    }
    let text = String::from_utf8_lossy(&reply.body);
    let parse_error = |e: serde_json::Error| format!("unexpected reply from the server: {e}");
    match command {
        CtlCommand::Status { json: true } => Ok(format!("{}\n", text.trim_end())),
        CtlCommand::Status { json: false } => {
            let status: StatusView = serde_json::from_str(&text).map_err(parse_error)?;
            Ok(status.render(crate::control::human::unix_now()))
        }
        CtlCommand::Override { .. } => {
            let reply: OverrideReply = serde_json::from_str(&text).map_err(parse_error)?;
            let forced = match &reply.override_state {
                Some(value) => format!("override {value}"),
                None => "no override (back to its checks)".to_string(),
            };
            Ok(format!(
                "{} {}: {forced}; state {}; the pool serves {}\n",
                reply.pool,
                reply.address,
                reply.state,
                addresses(&reply.serving)
            ))
        }
        CtlCommand::Failback { .. } => {
            let reply: FailbackReply = serde_json::from_str(&text).map_err(parse_error)?;
            let released = match reply.released_tier {
                Some(tier) => format!("released from tier {tier}"),
                None => "was not held on a tier; nothing to release".to_string(),
            };
            Ok(format!(
                "{}: {released}; the pool serves {}\n",
                reply.pool,
                addresses(&reply.serving)
            ))
        }
        CtlCommand::Reload => {
            let reply: ReloadReply = serde_json::from_str(&text).map_err(parse_error)?;
            let mut out = String::new();
            for zone in &reply.zones {
                out.push_str(&format!(
                    "zone {} from {}: {} records\n",
                    zone.origin, zone.file, zone.records
                ));
            }
            for key in &reply.restart_needed {
                out.push_str(&format!(
                    "{key} changed: restart swivel to apply it (the old value is still used)\n"
                ));
            }
            out.push_str(&format!(
                "reloaded: {} zone{}, {} records\n",
                reply.zones.len(),
                if reply.zones.len() == 1 { "" } else { "s" },
                reply.records
            ));
            Ok(out)
        }
    }
}

/// The server's error, with every problem it listed and a hint for a refused token.
fn explain_failure(client: &Client, reply: &Reply) -> String {
    let body: Option<ErrorReply> = serde_json::from_slice(&reply.body).ok();
    let mut message = match &body {
        Some(body) => body.error.clone(),
        None => String::from_utf8_lossy(&reply.body).trim().to_string(),
    };
    message = format!("{} ({})", message, reply.status);
    for error in body.iter().flat_map(|b| &b.errors) {
        message.push('\n');
        message.push_str(error);
    }
    if reply.status == hyper::StatusCode::UNAUTHORIZED {
        message.push_str(if client.token.is_some() {
            "\nthe token given does not match [control] token"
        } else {
            "\ngive the token with --token, $SWIVEL_TOKEN or --config FILE"
        });
    }
    message
}

fn addresses(list: &[std::net::IpAddr]) -> String {
    if list.is_empty() {
        return "no address".to_string();
    }
    list.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
