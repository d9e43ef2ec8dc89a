//! The status JSON as `swivel ctl` reads it, and its rendering as readable tables. Only the
//! fields shown are read; others (and new ones) are ignored.

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
}

#[derive(Debug, Deserialize)]
pub struct EndpointView {
    pub address: IpAddr,
    pub priority: u32,
    pub state: String,
    #[serde(rename = "override")]
    pub override_state: Option<String>,
    pub reason: String,
    pub since: f64,
    pub serving: bool,
    pub last_check: Option<LastCheckView>,
}

#[derive(Debug, Deserialize)]
pub struct LastCheckView {
    pub ok: bool,
    pub latency_ms: f64,
    pub error: Option<String>,
    pub at: f64,
}

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
                super::page::ago(uptime),
                self.table_swaps
            ));
        }
        if self.pools.is_empty() {
            out.push_str("no health-checked pools are configured\n");
        }
        for pool in &self.pools {
            out.push('\n');
            out.push_str(&pool.heading());
            out.push('\n');
            let rows: Vec<[String; 8]> = pool.endpoints.iter().map(|e| e.row(now)).collect();
            out.push_str(&table(&rows));
        }
        out
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

impl EndpointView {
    fn row(&self, now: f64) -> [String; 8] {
        let last_check = match &self.last_check {
            None => "none yet".to_string(),
            Some(check) => {
                let result = match (&check.error, check.ok) {
                    (_, true) => "ok".to_string(),
                    (Some(error), false) => format!("failed ({error})"),
                    (None, false) => "failed".to_string(),
                };
                format!(
                    "{result} {:.1}ms {} ago",
                    check.latency_ms,
                    super::page::ago(now - check.at)
                )
            }
        };
        [
            self.address.to_string(),
            self.priority.to_string(),
            self.state.clone(),
            self.override_state.clone().unwrap_or_else(|| "-".into()),
            if self.serving { "yes" } else { "no" }.to_string(),
            last_check,
            super::page::ago(now - self.since),
            self.reason.clone(),
        ]
    }
}

/// Rows under [`HEADINGS`], columns padded to their widest cell, indented by two.
fn table(rows: &[[String; 8]]) -> String {
    let mut widths = HEADINGS.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let headings = HEADINGS.map(String::from);
    for row in std::iter::once(&headings).chain(rows) {
        let mut line = String::from(" ");
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            line.push(' ');
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
}
