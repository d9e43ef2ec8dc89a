//! `GET /`: a small self-contained HTML page for people: every pool with what it serves,
//! every endpoint coloured by health with its last check, reloaded by itself every few
//! seconds. No scripts and no external assets.

use super::human::{ago, unix_now};
use crate::failover::status::{CheckerViewStatus, EndpointStatus, PoolStatus, Status};
use std::fmt::Write;

/// Seconds between the page's own reloads.
pub(super) const REFRESH_SECONDS: u32 = 5;

const STYLE: &str = "
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
h1 { font-size: 1.3em; margin: 0 0 .2em; }
.note { color: #666; margin: 0 0 1em; }
section.pool { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; margin: 0 0 1em; }
h2 { font-size: 1.1em; margin: .2em 0; font-family: ui-monospace, monospace; }
.facts span { margin-right: 1.2em; }
table { border-collapse: collapse; margin-top: .5em; width: 100%; }
th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid #eee; font-size: .95em; }
td.address { font-family: ui-monospace, monospace; }
tr.up td.state { background: #d9f2d9; color: #135e13; font-weight: bold; }
tr.down td.state { background: #f8d4d4; color: #8a1313; font-weight: bold; }
tr.unknown td.state { background: #eee; color: #555; font-weight: bold; }
.pool.degraded h2::after { content: ' (degraded)'; color: #a06000; }
.pool.all-down h2::after { content: ' (all down)'; color: #8a1313; }
tr.checkers td { padding: 0 .6em .5em 2.5em; color: #444; font-size: .9em; }
tr.checkers ul { margin: .2em 0; padding-left: 1.2em; }
li.view.down b { color: #8a1313; }
li.view.up b { color: #135e13; }
li.view.stale { color: #999; }
.no-quorum { color: #a06000; font-weight: bold; }
";

/// The whole page for one snapshot.
pub(super) fn render(status: &Status) -> String {
    let now = unix_now();
    let mut html = String::with_capacity(4096);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\
         <title>Swivel status</title><style>{STYLE}</style></head><body>\
         <h1>Swivel</h1><p class=\"note\">{} pool{}; refreshed every {REFRESH_SECONDS} s; \
         JSON at <a href=\"/v1/status\">/v1/status</a>, metrics at <a href=\"/metrics\">/metrics</a></p>",
        status.pools.len(),
        if status.pools.len() == 1 { "" } else { "s" },
    );
    if status.pools.is_empty() {
        html.push_str("<p>No health-checked pools are configured.</p>");
    }
    let several = status.checkers.len() > 1 || status.checkers.iter().any(|c| !c.local);
    if several {
        let names: Vec<&str> = status.checkers.iter().map(|c| c.name.as_str()).collect();
        let _ = write!(
            html,
            "<p class=\"note\">checkers: {}; each endpoint's state is the quorum verdict of the fresh ones</p>",
            escape(&names.join(", "))
        );
    }
    for pool in &status.pools {
        render_pool(&mut html, pool, now, several);
    }
    html.push_str("</body></html>\n");
    html
}

fn render_pool(html: &mut String, pool: &PoolStatus, now: f64, several: bool) {
    let mut classes = String::from("pool");
    if pool.all_down {
        classes.push_str(" all-down");
    } else if pool.degraded {
        classes.push_str(" degraded");
    }
    let serving = if pool.serving.is_empty() {
        "nothing".to_string()
    } else {
        pool.serving
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let tier = pool
        .active_tier
        .map_or("none".to_string(), |tier| tier.to_string());
    let _ = write!(
        html,
        "<section class=\"{classes}\" data-pool=\"{name}\"><h2>{name}</h2><p class=\"facts\">\
         <span>policy {}</span><span>failback {}</span><span>tier {}</span>{}<span>TTL {}</span>\
         <span>serving <b class=\"serving\">{}</b></span></p>",
        pool.policy,
        pool.failback,
        escape(&tier),
        pool.latched_tier
            .map_or(String::new(), |t| format!("<span>held on tier {t}</span>")),
        pool.ttl,
        escape(&serving),
        name = escape(&pool.name),
    );
    if !pool.routes.is_empty() {
        html.push_str(
            "<table class=\"routes\"><thead><tr><th>route</th><th>clients</th><th>sites</th>\
             <th>served by</th><th>why</th></tr></thead><tbody>",
        );
        for route in &pool.routes {
            let _ = write!(
                html,
                "<tr data-route=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"site\">{}</td><td>{}</td></tr>",
                route.route,
                route.route,
                escape(&route.matches.join(", ")),
                escape(&route.sites.join(", ")),
                escape(route.tier.as_deref().unwrap_or("none (all down)")),
                escape(&route.reason),
            );
        }
        html.push_str("</tbody></table>");
    }
    html.push_str(
        "<table><thead><tr><th>address</th><th>priority</th><th>state</th><th>override</th>\
         <th>serving</th><th>last check</th><th>in state for</th><th>reason</th></tr></thead><tbody>",
    );
    for endpoint in &pool.endpoints {
        render_endpoint(html, endpoint, now);
        if several {
            render_views(html, endpoint, now);
        }
    }
    html.push_str("</tbody></table></section>");
}

fn render_endpoint(html: &mut String, endpoint: &EndpointStatus, now: f64) {
    let last_check = match &endpoint.last_check {
        None => "none yet".to_string(),
        Some(check) => {
            let result = match (&check.error, check.ok) {
                (_, true) => "ok".to_string(),
                (Some(error), false) => format!("failed: {error}"),
                (None, false) => "failed".to_string(),
            };
            format!(
                "{result}, {:.1} ms, {} ago",
                check.latency_ms,
                ago(now - check.at)
            )
        }
    };
    let _ = write!(
        html,
        "<tr class=\"endpoint {state}\" data-address=\"{address}\"><td class=\"address\">{address}{checked}</td>\
         <td>{}</td><td class=\"state\">{state}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        endpoint.priority,
        endpoint.override_state.unwrap_or("-"),
        if endpoint.serving { "yes" } else { "no" },
        escape(&last_check),
        ago(now - endpoint.since),
        escape(&endpoint.reason),
        state = endpoint.state,
        address = endpoint.address,
        checked = if endpoint.check_address != endpoint.address {
            format!(" <span class=\"check-address\">(checks {})</span>", endpoint.check_address)
        } else {
            String::new()
        },
    );
}

/// The quorum verdict and every checker's view, in a row under the endpoint's.
fn render_views(html: &mut String, endpoint: &EndpointStatus, now: f64) {
    let class = if endpoint.quorum.met {
        "verdict"
    } else {
        "verdict no-quorum"
    };
    let _ = write!(
        html,
        "<tr class=\"checkers\" data-address=\"{}\"><td colspan=\"8\"><span class=\"{class}\">{}</span><ul>",
        endpoint.address,
        escape(&endpoint.quorum.verdict)
    );
    for view in &endpoint.checkers {
        render_view(html, view, now);
    }
    html.push_str("</ul></td></tr>");
}

fn render_view(html: &mut String, view: &CheckerViewStatus, now: f64) {
    let freshness = match (view.fresh, view.age_seconds) {
        (true, _) => "fresh".to_string(),
        (false, Some(age)) => format!("stale, silent for {}", ago(age)),
        (false, None) => "stale, no result yet".to_string(),
    };
    let last = view.last_result.as_ref().map_or(String::new(), |r| {
        let result = match &r.error {
            None => "ok".to_string(),
            Some(error) => format!("failed: {error}"),
        };
        format!(
            ", {result}, {:.1} ms, {} ago",
            r.latency_ms,
            ago(now - r.at)
        )
    });
    let stale = if view.fresh { "" } else { " stale" };
    let _ = write!(
        html,
        "<li class=\"view {state}{stale}\" data-checker=\"{name}\">{name}: <b>{state}</b> ({freshness}){last} &mdash; {reason}</li>",
        state = view.state,
        name = escape(&view.checker),
        freshness = escape(&freshness),
        last = escape(&last),
        reason = escape(&view.reason),
    );
}

/// Text safe inside HTML elements and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<b a=\"x\">&'"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(ago(-1.0), "0s");
        assert_eq!(ago(59.9), "59s");
        assert_eq!(ago(65.0), "1m05s");
        assert_eq!(ago(7260.0), "2h01m");
        assert_eq!(ago(90000.0), "1d01h");
    }

    #[test]
    fn empty_status_renders_a_page() {
        let html = render(&Status::default());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("No health-checked pools"));
        assert!(html.contains("http-equiv=\"refresh\""));
    }

    #[test]
    fn several_checkers_show_each_view_and_the_verdict() {
        use crate::failover::fleet::Fleet;
        use crate::failover::Failover;
        use crate::probe::CheckOutcome;
        use crate::probe::EndpointKey;
        use std::time::{Duration, Instant};
        let pools: Vec<crate::config::pool::PoolConfig> = vec![toml::from_str(
            "name = \"www.example.test.\"\n[check]\nkind = \"tcp\"\nport = 80\nquorum = 2\n\
             [[endpoint]]\naddress = \"192.0.2.1\"\ncheck_address = \"10.0.0.1\"\n",
        )
        .unwrap()];
        let fleet = Fleet::new(false, vec!["fra1".into(), "nyc<1>".into()]);
        let t0 = Instant::now();
        let mut failover = Failover::new(
            &pools,
            fleet,
            &Default::default(),
            t0,
            std::time::SystemTime::now(),
        );
        let key = EndpointKey {
            pool: crate::name::Name::from_text("www.example.test.").unwrap(),
            address: "192.0.2.1".parse().unwrap(),
        };
        let refused = CheckOutcome {
            ok: false,
            latency: Duration::from_millis(1),
            error: Some("connection refused".into()),
            reason: None,
        };
        failover
            .observe_from(0, &key, &refused, t0, Some(1.0))
            .unwrap();
        failover.decide_all();
        let status = Status {
            pools: failover.status(t0),
            checkers: failover.checker_status(t0),
            ..Status::default()
        };
        let html = render(&status);
        assert!(html.contains("checkers: fra1, nyc&lt;1&gt;"), "{html}");
        assert!(
            html.contains(
                "<td class=\"address\">192.0.2.1 <span class=\"check-address\">(checks 10.0.0.1)</span></td>"
            ),
            "{html}"
        );
        assert!(html.contains("<span class=\"verdict no-quorum\">no quorum: 1 fresh checker of 2 needed, keeping unknown; stale: nyc&lt;1&gt; (no result yet)</span>"), "{html}");
        assert!(html.contains("<li class=\"view down\" data-checker=\"fra1\">fra1: <b>down</b> (fresh), failed: connection refused"), "{html}");
        assert!(
            html.contains("<li class=\"view unknown stale\" data-checker=\"nyc&lt;1&gt;\">"),
            "{html}"
        );
    }
}
