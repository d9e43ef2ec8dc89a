//! The report format between a probe agent and a responder: `POST /v1/reports` with
//! `Authorization: Bearer <the checker's token>` and a JSON [`ReportBatch`]; the reply is a
//! [`ReportAck`]. Unknown fields are ignored both ways, so either side can add some.

use crate::probe::CheckOutcome;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// The longest error text kept from a report; longer ones are cut.
pub const MAX_ERROR_LEN: usize = 256;
/// The longest latency believed from a report; longer ones count as this.
const MAX_LATENCY: Duration = Duration::from_secs(3600);

/// One POST: results of one checker, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportBatch {
    /// The checker's name; must be the one the token belongs to.
    pub checker: String,
    pub results: Vec<ReportedResult>,
}

/// One check of one endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportedResult {
    /// The pool's name as configured (`www.example.test.`).
    pub pool: String,
    /// The endpoint's served address (not its check address).
    pub address: IpAddr,
    pub ok: bool,
    pub latency_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The failure category (`refused`, `timeout`, `status`, `body`, `tls`, `icmp`, `other`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the agent finished the check: Unix seconds by the agent's clock (shown, never
    /// used for freshness, so clock skew does not matter).
    pub at: f64,
}

/// The responder's reply to a report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportAck {
    /// Results applied to an endpoint.
    pub accepted: u64,
    /// Results for pools or endpoints the responder does not have.
    pub ignored: u64,
}

impl ReportedResult {
    /// A result as the agent's probe produced it.
    pub fn new(pool: String, address: IpAddr, outcome: &CheckOutcome, at: f64) -> ReportedResult {
        ReportedResult {
            pool,
            address,
            ok: outcome.ok,
            latency_ms: outcome.latency.as_secs_f64() * 1000.0,
            error: outcome.error.clone(),
            reason: outcome.reason.map(|r| r.as_str().to_string()),
            at,
        }
    }

    /// The outcome the responder feeds into the checker's view. Values a probe cannot
    /// produce are tamed: a latency that is negative or not a number counts as zero, an
    /// error text is cut to [`MAX_ERROR_LEN`], an unknown category is `other`.
    pub fn outcome(&self) -> CheckOutcome {
        use crate::probe::FailureKind;
        let seconds = self.latency_ms / 1000.0;
        let latency = if seconds.is_finite() && seconds > 0.0 {
            Duration::from_secs_f64(seconds.min(MAX_LATENCY.as_secs_f64()))
        } else {
            Duration::ZERO
        };
        if self.ok {
            return CheckOutcome {
                ok: true,
                latency,
                error: None,
                reason: None,
            };
        }
        let reason = match self.reason.as_deref() {
            Some("refused") => FailureKind::Refused,
            Some("timeout") => FailureKind::Timeout,
            Some("status") => FailureKind::Status,
            Some("body") => FailureKind::Body,
            Some("tls") => FailureKind::Tls,
            Some("icmp") => FailureKind::Icmp,
            _ => FailureKind::Other,
        };
        let mut error = self
            .error
            .clone()
            .unwrap_or_else(|| reason.as_str().to_string());
        if error.len() > MAX_ERROR_LEN {
            let mut cut = MAX_ERROR_LEN;
            while !error.is_char_boundary(cut) {
                cut -= 1;
            }
            error.truncate(cut);
        }
        CheckOutcome {
            ok: false,
            latency,
            error: Some(error),
            reason: Some(reason),
        }
    }

    /// The agent's timestamp when it is a plausible number.
    pub fn reported_at(&self) -> Option<f64> {
        (self.at.is_finite() && self.at > 0.0).then_some(self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_and_wild_values_are_tamed() {
        let failed = CheckOutcome {
            ok: false,
            latency: Duration::from_millis(12),
            error: Some("connection refused".into()),
            reason: Some(crate::probe::FailureKind::Refused),
        };
        let result = ReportedResult::new(
            "www.example.test.".into(),
            "192.0.2.1".parse().unwrap(),
            &failed,
            1.5e9,
        );
        let json = serde_json::to_string(&result).unwrap();
        let back: ReportedResult = serde_json::from_str(&json).unwrap();
        assert_eq!(back.outcome(), failed);
        assert_eq!(back.reported_at(), Some(1.5e9));
        let wild = ReportedResult {
            latency_ms: f64::NAN,
            error: Some("é".repeat(400)),
            reason: Some("gremlins".into()),
            at: f64::INFINITY,
            ..back
        };
        let outcome = wild.outcome();
        assert_eq!(outcome.latency, Duration::ZERO);
        assert!(outcome.error.unwrap().len() <= MAX_ERROR_LEN);
        assert_eq!(outcome.reason, Some(crate::probe::FailureKind::Other));
        assert_eq!(wild.reported_at(), None);
        let negative = ReportedResult {
            latency_ms: -5.0,
            ok: true,
            ..wild.clone()
        };
        assert_eq!(negative.outcome().latency, Duration::ZERO);
        let huge = ReportedResult {
            latency_ms: 1e300,
            ok: true,
            ..wild
        };
        assert_eq!(huge.outcome().latency, MAX_LATENCY);
    }
}
