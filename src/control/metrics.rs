//! `GET /metrics` in the Prometheus text format (0.0.4): query counters summed over every
//! worker's block at scrape time, and endpoint, pool and runtime metrics read from one
//! failover status snapshot.

use crate::failover::status::Status;
use crate::metrics_text::family;
use crate::probe::LatencyHistogram;
use crate::server::stats::{self, QueryTotals, RCODE_SLOTS};
use crate::server::tcp_slots::{self, SlotCounts};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::fmt;

/// The `Content-Type` of the reply.
pub(super) const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Everything one scrape shows.
#[derive(Debug)]
struct Scrape {
    status: Status,
    udp: QueryTotals,
    tcp: QueryTotals,
    tcp_slots: SlotCounts,
    /// Probe agents' reports refused, by reason.
    rejections: [(&'static str, u64); 3],
}

/// Renders the metrics for one scrape.
pub(super) fn render(status: Status, rejections: [(&'static str, u64); 3]) -> String {
    let (udp, tcp) = stats::totals();
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape {
        status,
        udp,
        tcp,
        tcp_slots: tcp_slots::slot_counts(),
        rejections,
    }));
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
        .expect("writing metrics into a String cannot fail");
    text
}

impl Scrape {
    fn transports(&self) -> [(&'static str, &QueryTotals); 2] {
        [("udp", &self.udp), ("tcp", &self.tcp)]
    }
}

/// The label set of a metric with one series.
fn no_labels() -> [(&'static str, &'static str); 0] {
    []
}

/// 1 for true, 0 for false.
fn flag(value: bool) -> u64 {
    u64::from(value)
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let mut queries = Vec::new();
        for (transport, totals) in self.transports() {
            for slot in 0..RCODE_SLOTS {
                let value = totals.replies[slot];
                if value > 0 || stats::rcode_always_shown(slot) {
                    let rcode = stats::rcode_name(slot).into_owned();
                    queries.push((
                        [("transport", transport.to_string()), ("rcode", rcode)],
                        value,
                    ));
                }
            }
        }
        family(
            &mut encoder,
            "swivel_queries",
            "DNS replies sent, by transport and response code.",
            MetricType::Counter,
            queries,
        )?;
        family(
            &mut encoder,
            "swivel_truncated",
            "Replies cut to fit the size limit (TC set), by transport.",
            MetricType::Counter,
            self.transports()
                .map(|(transport, totals)| ([("transport", transport)], totals.truncated)),
        )?;
        let mut dropped = Vec::new();
        for (transport, totals) in self.transports() {
            dropped.push((
                [("transport", transport), ("reason", "malformed")],
                totals.dropped_malformed,
            ));
            dropped.push((
                [("transport", transport), ("reason", "response")],
                totals.dropped_response,
            ));
        }
        dropped.push((
            [("transport", "udp"), ("reason", "oversized")],
            self.udp.dropped_oversized,
        ));
        dropped.push((
            [("transport", "udp"), ("reason", "rate_limited")],
            self.udp.rrl_dropped,
        ));
        family(
            &mut encoder,
            "swivel_dropped",
            "Packets not answered, by transport and reason: malformed (shorter than a header), \
             response (QR set), oversized (UDP datagram larger than the receive buffer), \
             rate_limited (over the response rate limit).",
            MetricType::Counter,
            dropped,
        )?;
        family(
            &mut encoder,
            "swivel_rrl_limited",
            "UDP replies over the response rate limit: dropped or sent truncated (slipped).",
            MetricType::Counter,
            [(
                [("transport", "udp")],
                self.udp.rrl_dropped + self.udp.rrl_slipped,
            )],
        )?;
        family(
            &mut encoder,
            "swivel_rrl_slipped",
            "UDP replies over the response rate limit sent truncated so that clients retry over TCP.",
            MetricType::Counter,
            [([("transport", "udp")], self.udp.rrl_slipped)],
        )?;
        self.encode_tcp_slots(&mut encoder)?;
        encode_transfers_out(&mut encoder)?;
        self.encode_endpoints(&mut encoder)?;
        self.encode_checkers(&mut encoder)?;
        self.encode_runtime(&mut encoder)
    }
}

/// Transfers out by kind and result, and NOTIFY sent by result (`xfr::stats`).
fn encode_transfers_out(encoder: &mut DescriptorEncoder) -> fmt::Result {
    family(
        encoder,
        "swivel_transfers_out",
        "Zone transfers answered to secondaries, by kind (axfr; ixfr from the journal; \
         ixfr_full, the whole zone for an IXFR the journal does not reach back for; \
         ixfr_uptodate, the SOA alone) and result (ok, refused, notauth, formerr, servfail, \
         failed: the connection broke while the answer was written).",
        MetricType::Counter,
        crate::xfr::stats::transfers()
            .into_iter()
            .map(|(kind, result, n)| ([("kind", kind.as_str()), ("result", result.as_str())], n)),
    )?;
    family(
        encoder,
        "swivel_notify_sent",
        "NOTIFY messages sent to secondaries, by result: ok (answered NOERROR), rejected \
         (another rcode or TSIG error), timeout (no answer within the try's wait), error \
         (not sent).",
        MetricType::Counter,
        crate::xfr::stats::notifies()
            .into_iter()
            .map(|(result, n)| ([("result", result.as_str())], n)),
    )
}

impl Scrape {
    fn encode_tcp_slots(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        let slots = self.tcp_slots;
        family(
            encoder,
            "swivel_tcp_connections_open",
            "DNS over TCP connections open now.",
            MetricType::Gauge,
            [(no_labels(), slots.open)],
        )?;
        family(
            encoder,
            "swivel_tcp_connections_evicted",
            "DNS over TCP connections closed to admit a newcomer when a cap was reached (the \
             one idle the longest gives way), by cap: per_client or total.",
            MetricType::Counter,
            [
                ([("cap", "per_client")], slots.evicted_per_client),
                ([("cap", "total")], slots.evicted_total),
            ],
        )?;
        family(
            encoder,
            "swivel_tcp_connections_closed_under_pressure",
            "DNS over TCP connections closed by the shorter idle timeout that applies while \
             more than half of server.tcp_max_connections are open.",
            MetricType::Counter,
            [(no_labels(), slots.closed_under_pressure)],
        )
    }

    fn encode_endpoints(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        let endpoints = || {
            self.status.pools.iter().flat_map(|pool| {
                pool.endpoints.iter().map(move |endpoint| {
                    (
                        pool,
                        endpoint,
                        [
                            ("pool", pool.name.clone()),
                            ("address", endpoint.address.to_string()),
                        ],
                    )
                })
            })
        };
        family(
            encoder,
            "swivel_endpoint_up",
            "1 when the endpoint counts as up (its checks or an override), else 0.",
            MetricType::Gauge,
            endpoints().map(|(_, e, labels)| (labels, flag(e.state == "up"))),
        )?;
        family(
            encoder,
            "swivel_endpoint_serving",
            "1 when the endpoint's address is in its pool's answers now, else 0.",
            MetricType::Gauge,
            endpoints().map(|(_, e, labels)| (labels, flag(e.serving))),
        )?;
        // Per route of a routed pool, the site serving it now (1 for that site, 0 for the
        // route's others).
        let routes = self.status.pools.iter().flat_map(|pool| {
            pool.routes.iter().flat_map(move |route| {
                route.sites.iter().map(move |site| {
                    (
                        [
                            ("pool", pool.name.clone()),
                            ("route", route.route.to_string()),
                            ("site", site.clone()),
                        ],
                        flag(route.site.as_ref() == Some(site)),
                    )
                })
            })
        });
        family(
            encoder,
            "swivel_route_site_serving",
            "1 for the site that serves a pool's route now, 0 for the route's other sites.",
            MetricType::Gauge,
            routes,
        )?;
        {
            let mut metric = encoder.encode_descriptor(
                "swivel_check_duration_seconds",
                "How long health checks took, by pool and endpoint address.",
                None,
                MetricType::Histogram,
            )?;
            for (_, endpoint, labels) in endpoints() {
                let buckets: Vec<(f64, u64)> = LatencyHistogram::BOUNDS
                    .iter()
                    .copied()
                    .zip(endpoint.duration_buckets.iter().copied())
                    .collect();
                let total: u64 = endpoint.duration_buckets.iter().sum();
                metric
                    .encode_family(&labels)?
                    .encode_histogram::<NoLabelSet>(
                        endpoint.duration_sum_seconds,
                        total,
                        &buckets,
                        None,
                    )?;
            }
        }
        let mut failures = Vec::new();
        for (_, endpoint, labels) in endpoints() {
            for (reason, &value) in &endpoint.failures {
                let [pool, address] = labels.clone();
                failures.push(([pool, address, ("reason", reason.to_string())], value));
            }
        }
        family(
            encoder,
            "swivel_check_failures",
            "Failed health checks, by pool, endpoint address and reason.",
            MetricType::Counter,
            failures,
        )?;
        family(
            encoder,
            "swivel_failovers",
            "Times a pool's active priority tier changed.",
            MetricType::Counter,
            self.status
                .pools
                .iter()
                .map(|p| ([("pool", p.name.clone())], p.failovers)),
        )?;
        family(
            encoder,
            "swivel_pool_ttl_seconds",
            "The TTL of a pool's answers now.",
            MetricType::Gauge,
            self.status
                .pools
                .iter()
                .map(|p| ([("pool", p.name.clone())], u64::from(p.ttl))),
        )
    }

    /// Quorums, every checker's view of every endpoint, and the reports behind them.
    fn encode_checkers(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        let endpoints = || {
            self.status
                .pools
                .iter()
                .flat_map(|pool| pool.endpoints.iter().map(move |endpoint| (pool, endpoint)))
        };
        family(
            encoder,
            "swivel_endpoint_quorum",
            "1 when enough fresh checkers agree on the endpoint's state; 0 while it keeps its \
             last verdict for want of a quorum.",
            MetricType::Gauge,
            endpoints().map(|(pool, e)| {
                let labels = [
                    ("pool", pool.name.clone()),
                    ("address", e.address.to_string()),
                ];
                (labels, flag(e.quorum.met))
            }),
        )?;
        let views = || {
            endpoints().flat_map(|(pool, endpoint)| {
                endpoint.checkers.iter().map(move |view| {
                    let labels = [
                        ("pool", pool.name.clone()),
                        ("address", endpoint.address.to_string()),
                        ("checker", view.checker.clone()),
                    ];
                    (labels, view)
                })
            })
        };
        family(
            encoder,
            "swivel_checker_view_up",
            "1 when this checker's own fall/rise state for the endpoint is up, else 0.",
            MetricType::Gauge,
            views().map(|(labels, view)| (labels, flag(view.state == "up"))),
        )?;
        family(
            encoder,
            "swivel_checker_fresh",
            "1 when this checker's latest result for the endpoint is recent enough to vote.",
            MetricType::Gauge,
            views().map(|(labels, view)| (labels, flag(view.fresh))),
        )?;
        let checkers = &self.status.checkers;
        family(
            encoder,
            "swivel_checker_reports",
            "Report batches received from each probe agent (for local: results).",
            MetricType::Counter,
            checkers
                .iter()
                .map(|c| ([("checker", c.name.clone())], c.reports)),
        )?;
        let mut results = Vec::new();
        for checker in checkers {
            for (result, value) in [("accepted", checker.results), ("ignored", checker.ignored)] {
                results.push((
                    [("checker", checker.name.clone()), ("result", result.into())],
                    value,
                ));
            }
        }
        family(
            encoder,
            "swivel_checker_results",
            "Results received from each checker: accepted, or ignored because they name a pool \
             or endpoint this responder does not have.",
            MetricType::Counter,
            results,
        )?;
        family(
            encoder,
            "swivel_checker_last_report_age_seconds",
            "Seconds since each checker's latest report arrived.",
            MetricType::Gauge,
            checkers.iter().filter_map(|c| {
                let age = c.last_report_age_seconds?;
                Some(([("checker", c.name.clone())], age))
            }),
        )?;
        family(
            encoder,
            "swivel_report_rejections",
            "Probe agents' reports refused: unauthorized (no or unknown token), forbidden (the \
             body names another checker than the token), malformed.",
            MetricType::Counter,
            self.rejections
                .iter()
                .map(|&(reason, value)| ([("reason", reason)], value)),
        )
    }

    fn encode_runtime(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        let none: [(&str, &str); 0] = [];
        family(
            encoder,
            "swivel_table_swaps",
            "New answer tables swapped in since start (health changes and reloads).",
            MetricType::Counter,
            [(none, self.status.table_swaps)],
        )?;
        family(
            encoder,
            "swivel_table_build_seconds",
            "Seconds the last answer table build took.",
            MetricType::Gauge,
            [(none, self.status.table_build_seconds)],
        )?;
        let reloads = ["ok", "error"].map(|result| {
            let value = self.status.reloads.get(result).copied().unwrap_or(0);
            ([("result", result)], value)
        });
        family(
            encoder,
            "swivel_config_reloads",
            "Configuration reloads (SIGHUP or the control API), by result.",
            MetricType::Counter,
            reloads,
        )
    }
}
