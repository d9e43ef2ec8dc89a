//! The log line that explains a pool decision: what moved, and which endpoints made it move.
//!
//! `www.example.test.: failover from priority 1 to 2: 192.0.2.1 down (3 consecutive
//! failures: connection refused)`

use super::{Decision, PoolDecider};
use crate::config::pool::{Failback, WhenAllDown};
use crate::health::state::EndpointState;

/// The reason line for `decision`, `None` when nothing worth logging changed.
/// `pool` still holds the previous decision; `saved_latch` is the latch the caller last saw.
pub(super) fn explain<H: EndpointState>(
    pool: &PoolDecider,
    health: &[H],
    serving: &[bool],
    best_serving: Option<u32>,
    saved_latch: Option<u32>,
    decision: &Decision,
) -> Option<String> {
    let last = pool.last.as_ref();
    let changes: Vec<String> = (0..serving.len())
        .filter(|&i| last.map_or(!serving[i], |l| l.serving[i] != serving[i]))
        .map(|i| {
            let h = &health[i];
            format!(
                "{} {} ({})",
                pool.members[i].address,
                h.effective(),
                h.reason()
            )
        })
        .collect();
    let headline = match last.map(|l| &l.decision) {
        None if decision.all_down => Some(all_down(pool, health)),
        None => Some(format!(
            "serving {}",
            pool.tier_name(decision.tier.unwrap_or_default())
        )),
        Some(previous) => {
            if decision.all_down && !previous.all_down {
                Some(all_down(pool, health))
            } else if previous.all_down && !decision.all_down {
                Some(format!(
                    "serving {} again after all endpoints were down",
                    pool.tier_name(decision.tier.unwrap_or_default())
                ))
            } else if previous.tier != decision.tier {
                match (previous.tier, decision.tier) {
                    (Some(from), Some(to)) => {
                        let kind = if to > from { "failover" } else { "failback" };
                        Some(match pool.tiers.is_empty() {
                            true => format!("{kind} from priority {from} to {to}"),
                            false => format!(
                                "{kind} from {} to {}",
                                pool.tier_name(from),
                                pool.tier_name(to)
                            ),
                        })
                    }
                    _ => Some("serving changed".to_string()),
                }
            } else if previous.served != decision.served {
                let addresses: Vec<String> = decision
                    .served
                    .iter()
                    .map(|&i| pool.members[i].address.to_string())
                    .collect();
                Some(format!(
                    "{} now serves {}",
                    pool.tier_name(decision.tier.unwrap_or_default()),
                    addresses.join(", ")
                ))
            } else if decision.changed {
                Some(format!("TTL now {}", decision.ttl))
            } else {
                None
            }
        }
    };
    let mut notes = Vec::new();
    if let Some(tier) = pool.released {
        notes.push(format!("released from priority {tier} by an operator"));
    }
    if decision.latch_changed {
        match (saved_latch, decision.latch) {
            (_, Some(tier)) => notes.push(format!(
                "held on priority {tier} until an operator releases it (failback = manual)"
            )),
            (Some(tier), None) if pool.released.is_none() => {
                notes.push(format!("no longer held on priority {tier}"))
            }
            _ => {}
        }
    }
    if let (Failback::Manual, Some(latched), Some(best)) =
        (pool.failback, decision.latch, best_serving)
    {
        let newly_up = last.is_some_and(|l| l.best_serving != best_serving);
        if best < latched && newly_up && !decision.latch_changed {
            notes.push(format!(
                "priority {best} is up again; held on priority {latched} until an operator releases it (failback = manual)"
            ));
        }
    }
    let mut line = match (headline, notes.is_empty()) {
        (Some(headline), _) => headline,
        (None, false) => notes.remove(0),
        (None, true) => return None,
    };
    if !changes.is_empty() {
        line = format!("{line}: {}", changes.join(", "));
    }
    for note in notes {
        line = format!("{line}; {note}");
    }
    Some(format!("{}: {line}", pool.name))
}

fn all_down<H: EndpointState>(pool: &PoolDecider, health: &[H]) -> String {
    if health.iter().all(|h| h.drained()) {
        return "every endpoint is drained by an operator; serving no address".to_string();
    }
    let drains = if health.iter().any(|h| h.drained()) {
        " except the drained ones"
    } else {
        ""
    };
    match pool.when_all_down {
        WhenAllDown::ServeAll => {
            format!(
                "all endpoints down; serving every endpoint{drains} (when_all_down = serve-all)"
            )
        }
        WhenAllDown::ServePrimary => format!(
            "all endpoints down; serving {}{drains} (when_all_down = serve-primary)",
            pool.tier_name(pool.top.unwrap_or_default())
        ),
        WhenAllDown::Nodata => {
            "all endpoints down; serving no address (when_all_down = nodata)".to_string()
        }
    }
}
