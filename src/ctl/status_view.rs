//! The status JSON as `swivel ctl` reads it, and its rendering as readable tables. Only the
//! fields shown are read; others (and new ones) are ignored.

use crate::control::human::ago;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Debug, Deserialize)]
pub struct StatusView {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub uptime_seconds: Option<f64>,
    pub pools: Vec<PoolView>,
    #[serde(default)]
    pub table_swaps: u64,
    #[serde(default)]
    pub reloads: BTreeMap<String, u64>,
    #[serde(default)]
    pub checkers: Vec<CheckerView>,
}

/// One checker in the status's top-level list.
#[derive(Debug, Deserialize)]
pub struct CheckerView {
    pub name: String,
    #[serde(default)]
    pub local: bool,
    #[serde(default)]
    pub last_report_age_seconds: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct PoolView {
    pub name: String,
    pub policy: String,
    pub failback: String,
    pub active_tier: Option<u32>,
    #[serde(default)]
    pub latched_tier: Option<u32>,
    pub ttl: u32,
    #[serde(default)]
    pub degraded: bool,
    #[serde(default)]
    pub all_down: bool,
    pub serving: Vec<IpAddr>,
    pub endpoints: Vec<EndpointView>,
    /// A pool with routes: which site serves each route now.
    #[serde(default)]
    pub routes: Vec<RouteView>,
}

#[derive(Debug, Deserialize)]
pub struct RouteView {
    pub route: usize,
    #[serde(rename = "match")]
    pub matches: Vec<String>,
    #[serde(default)]
    pub tier: Option<String>,
    pub serving: Vec<IpAddr>,
    pub reason: String,
}

impl RouteView {
    /// `route 1 (10.1.0.0/16, country:DE): site fra serving 192.0.2.10 (fra is its first site ...)`.
    fn line(&self) -> String {
        let serving: Vec<String> = self.serving.iter().map(ToString::to_string).collect();
        format!(
            "  route {} ({}): {} serving {} ({})\n",
            self.route,
            self.matches.join(", "),
            self.tier.as_deref().unwrap_or("no site"),
            if serving.is_empty() {
                "nothing".to_string()
            } else {
                serving.join(", ")
            },
            self.reason
        )
    }
}

#[derive(Debug, Deserialize)]
pub struct EndpointView {
    pub address: IpAddr,
    /// Where the checks go, when not to `address`.
    #[serde(default)]
    pub check_address: Option<IpAddr>,
    pub priority: u32,
    pub state: String,
    #[serde(rename = "override")]
    pub override_state: Option<String>,
    pub reason: String,
    pub since: f64,
    pub serving: bool,
    pub last_check: Option<LastCheckView>,
    #[serde(default)]
    pub quorum: Option<QuorumView>,
    #[serde(default)]
    pub checkers: Vec<OpinionView>,
}

/// Why an endpoint's verdict is what it is.
#[derive(Debug, Deserialize)]
pub struct QuorumView {
    pub verdict: String,
}

/// One checker's view of one endpoint.
#[derive(Debug, Deserialize)]
pub struct OpinionView {
    pub checker: String,
    pub state: String,
    pub fresh: bool,
    pub reason: String,
    pub last_result: Option<LastCheckView>,
}

#[derive(Debug, Deserialize)]
pub struct LastCheckView {
    pub ok: bool,
    pub latency_ms: f64,
    pub error: Option<String>,
    pub at: f64,
    #[serde(default)]
    pub reported_at: Option<f64>,
}

const CHECKER_HEADINGS: [&str; 6] = [
    "CHECKER",
    "VIEW",
    "FRESH",
    "LAST RESULT",
    "AGENT CLOCK",
    "REASON",
];

const HEADINGS: [&str; 8] = [
    "ADDRESS",
    "PRIO",
    "STATE",
    "OVERRIDE",
    "SERVING",
    "LAST CHECK",
    "FOR",
    "REASON",
];

impl StatusView {
    /// Every pool as a heading line and a table of its endpoints; `now` in Unix seconds.
    pub fn render(&self, now: f64) -> String {
        let mut out = String::new();
        if let (Some(version), Some(uptime)) = (&self.version, self.uptime_seconds) {
            let reloads: u64 = self.reloads.values().sum();
            out.push_str(&format!(
                "swivel {version}, up {}, {} table swaps, {reloads} reloads\n",
                ago(uptime),
                self.table_swaps
            ));
        }
        let several = self.checkers.len() > 1 || self.checkers.iter().any(|c| !c.local);
        if several {
            let list: Vec<String> = self.checkers.iter().map(CheckerView::summary).collect();
            out.push_str(&format!("checkers: {}\n", list.join(", ")));
        }
        if self.pools.is_empty() {
            out.push_str("no health-checked pools are configured\n");
        }
        for pool in &self.pools {
            out.push('\n');
            out.push_str(&pool.heading());
            out.push('\n');
            for route in &pool.routes {
                out.push_str(&route.line());
            }
            let rows: Vec<[String; 8]> = pool.endpoints.iter().map(|e| e.row(now)).collect();
            out.push_str(&table(HEADINGS, &rows, "  "));
            if several {
                for endpoint in &pool.endpoints {
                    out.push_str(&endpoint.opinions(now));
                }
            }
        }
        out
    }
}

impl CheckerView {
    /// `fra1 (last report 0.2s ago)`.
    fn summary(&self) -> String {
        match (self.local, self.last_report_age_seconds) {
            (true, _) => self.name.clone(),
            (false, Some(age)) => format!("{} (last report {age:.1}s ago)", self.name),
            (false, None) => format!("{} (no report yet)", self.name),
        }
    }
}

impl PoolView {
    fn heading(&self) -> String {
        let tier = self
            .active_tier
            .map_or("none".to_string(), |tier| tier.to_string());
        let mut facts = vec![
            format!("policy {}", self.policy),
            format!("failback {}", self.failback),
            format!("tier {tier}"),
        ];
        if let Some(latched) = self.latched_tier {
            facts.push(format!("held on tier {latched}"));
        }
        facts.push(format!("TTL {}", self.ttl));
        if self.all_down {
            facts.push("ALL DOWN".to_string());
        } else if self.degraded {
            facts.push("degraded".to_string());
        }
        let serving = if self.serving.is_empty() {
            "nothing".to_string()
        } else {
            let list: Vec<String> = self.serving.iter().map(|a| a.to_string()).collect();
            list.join(", ")
        };
        facts.push(format!("serving {serving}"));
        format!("{}  {}", self.name, facts.join(", "))
    }
}

/// `ok 0.4ms 3s ago`, `failed (connection refused) 1.0ms 0s ago`, `none yet`.
fn describe(check: Option<&LastCheckView>, now: f64) -> String {
    let Some(check) = check else {
        return "none yet".to_string();
    };
    let result = match (&check.error, check.ok) {
        (_, true) => "ok".to_string(),
        (Some(error), false) => format!("failed ({error})"),
        (None, false) => "failed".to_string(),
    };
    format!(
        "{result} {:.1}ms {} ago",
        check.latency_ms,
        ago(now - check.at)
    )
}

/// Unix seconds as a UTC time of day, `14:03:07.250`.
fn time_of_day(unix: f64) -> String {
    let millis = (unix.max(0.0) * 1000.0) as u64 % 86_400_000;
    let (hours, rest) = (millis / 3_600_000, millis % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    format!(
        "{hours:02}:{minutes:02}:{:02}.{:03}",
        rest / 1000,
        rest % 1000
    )
}

impl EndpointView {
    /// The verdict line and a table of every checker's view, indented under the pool.
    fn opinions(&self, now: f64) -> String {
        let verdict = self.quorum.as_ref().map_or("", |q| q.verdict.as_str());
        let mut out = format!("\n  {}  {verdict}\n", self.address);
        let rows: Vec<[String; 6]> = self
            .checkers
            .iter()
            .map(|view| {
                let agent_clock = view
                    .last_result
                    .as_ref()
                    .and_then(|r| r.reported_at)
                    .map_or("-".to_string(), |at| format!("{} UTC", time_of_day(at)));
                [
                    view.checker.clone(),
                    view.state.clone(),
                    if view.fresh { "yes" } else { "STALE" }.to_string(),
                    describe(view.last_result.as_ref(), now),
                    agent_clock,
                    view.reason.clone(),
                ]
            })
            .collect();
        out.push_str(&table(CHECKER_HEADINGS, &rows, "    "));
        out
    }

    fn row(&self, now: f64) -> [String; 8] {
        let last_check = describe(self.last_check.as_ref(), now);
        let address = match self.check_address {
            Some(checked) if checked != self.address => {
                format!("{} (checks {checked})", self.address)
            }
            _ => self.address.to_string(),
        };
        [
            address,
            self.priority.to_string(),
            self.state.clone(),
            self.override_state.clone().unwrap_or_else(|| "-".into()),
            if self.serving { "yes" } else { "no" }.to_string(),
            last_check,
            ago(now - self.since),
            self.reason.clone(),
        ]
    }
}

/// Rows under `headings`, columns padded to their widest cell, after `indent`.
fn table<const N: usize>(headings: [&str; N], rows: &[[String; N]], indent: &str) -> String {
    let mut widths = headings.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let headings = headings.map(String::from);
    for row in std::iter::once(&headings).chain(rows) {
        let mut line = String::from(indent);
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            if index > 0 {
                line.push(' ');
            }
            line.push_str(cell);
            if index + 1 < row.len() {
                let pad = width - cell.chars().count() + 1;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_pools_as_aligned_tables() {
        let json = r#"{"version":"0.1.0","uptime_seconds":75,"table_swaps":3,"reloads":{"ok":1},
          "pools":[{"name":"www.example.test.","policy":"failover","failback":"manual",
          "active_tier":2,"latched_tier":2,"ttl":10,"degraded":true,"all_down":false,
          "serving":["192.0.2.2"],"failovers":1,"endpoints":[
            {"address":"192.0.2.1","priority":1,"state":"down","override":"down",
             "reason":"forced down by an operator","since":1000,"serving":false,
             "last_check":{"ok":true,"latency_ms":0.42,"error":null,"at":1090}},
            {"address":"192.0.2.2","priority":2,"state":"up","override":null,
             "reason":"2 checks passed","since":900,"serving":true,"last_check":null}]}]}"#;
        let status: StatusView = serde_json::from_str(json).unwrap();
        let text = status.render(1100.0);
        let expected = "\
swivel 0.1.0, up 1m15s, 3 table swaps, 1 reloads

www.example.test.  policy failover, failback manual, tier 2, held on tier 2, TTL 10, degraded, serving 192.0.2.2
  ADDRESS    PRIO  STATE  OVERRIDE  SERVING  LAST CHECK        FOR    REASON
  192.0.2.1  1     down   down      no       ok 0.4ms 10s ago  1m40s  forced down by an operator
  192.0.2.2  2     up     -         yes      none yet          3m20s  2 checks passed
";
        assert_eq!(text, expected, "got:\n{text}");
    }

    #[test]
    fn a_check_address_other_than_the_served_one_is_shown() {
        let json = r#"{"pools":[{"name":"www.example.test.","policy":"failover","failback":"auto",
          "ttl":30,"degraded":false,"all_down":false,"serving":["192.0.2.1"],"endpoints":[
            {"address":"192.0.2.1","check_address":"10.0.0.1","priority":1,"state":"up",
             "override":null,"reason":"first check passed","since":1000,"serving":true,
             "last_check":null},
            {"address":"192.0.2.2","check_address":"192.0.2.2","priority":1,"state":"up",
             "override":null,"reason":"first check passed","since":1000,"serving":true,
             "last_check":null}]}]}"#;
        let status: StatusView = serde_json::from_str(json).unwrap();
        let text = status.render(1010.0);
        assert!(text.contains("192.0.2.1 (checks 10.0.0.1)"), "{text}");
        assert!(!text.contains("(checks 192.0.2.2)"), "{text}");
    }

    #[test]
    fn renders_every_checkers_view_under_its_endpoint() {
        let json = r#"{"version":"0.1.0","uptime_seconds":5,"pools":[{"name":"www.example.test.",
          "policy":"failover","failback":"auto","active_tier":1,"ttl":30,"serving":["192.0.2.1"],
          "endpoints":[{"address":"192.0.2.1","priority":1,"state":"up","override":null,
            "reason":"first check passed","since":1000,"serving":true,"last_check":null,
            "quorum":{"verdict":"up: 2 of 3 fresh checkers see it up (quorum 2)"},
            "checkers":[
              {"checker":"fra1","state":"down","fresh":true,"reason":"2 consecutive failures: network unreachable",
               "last_result":{"ok":false,"latency_ms":0.1,"error":"network unreachable","at":1099,"reported_at":1098.5}},
              {"checker":"nyc1","state":"up","fresh":true,"reason":"first check passed",
               "last_result":{"ok":true,"latency_ms":1.25,"error":null,"at":1100,"reported_at":1099.75}},
              {"checker":"sin1","state":"up","fresh":false,"reason":"first check passed","last_result":null}]}]}],
          "checkers":[{"name":"fra1","local":false,"last_report_age_seconds":0.25},
            {"name":"nyc1","local":false,"last_report_age_seconds":0.5},
            {"name":"sin1","local":false,"last_report_age_seconds":null}]}"#;
        let status: StatusView = serde_json::from_str(json).unwrap();
        let text = status.render(1100.0);
        let expected = "\
checkers: fra1 (last report 0.2s ago), nyc1 (last report 0.5s ago), sin1 (no report yet)

  192.0.2.1  up: 2 of 3 fresh checkers see it up (quorum 2)
    CHECKER  VIEW  FRESH  LAST RESULT                                AGENT CLOCK       REASON
    fra1     down  yes    failed (network unreachable) 0.1ms 1s ago  00:18:18.500 UTC  2 consecutive failures: network unreachable
    nyc1     up    yes    ok 1.2ms 0s ago                            00:18:19.750 UTC  first check passed
    sin1     up    STALE  none yet                                   -                 first check passed
";
        assert!(
            text.contains(expected.lines().next().unwrap()),
            "got:\n{text}"
        );
        let tail = &text[text.find("\n  192.0.2.1  up:").expect(&text)..];
        assert_eq!(
            tail,
            &expected[expected.find("\n  192.0.2.1  up:").unwrap()..],
            "got:\n{text}"
        );
    }
}
