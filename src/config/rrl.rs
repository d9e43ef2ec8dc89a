//! `[server.rrl]`: response rate limiting settings, each checked against its range.

use super::{parse_duration, Checker};
use serde::Deserialize;
use std::time::Duration;
use toml::Spanned;

/// The `[server.rrl]` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrlConfig {
    /// Replies per second to one source prefix with one answer.
    pub responses_per_second: u32,
    /// Every `slip`-th limited reply is sent truncated; 0 drops them all.
    pub slip: u32,
    /// How long a flood's debt is remembered.
    pub window: Duration,
    pub ipv4_prefix: u8,
    pub ipv6_prefix: u8,
    /// Buckets per worker (rounded up to a power of two).
    pub table_size: usize,
}

impl Default for RrlConfig {
    fn default() -> Self {
        RrlConfig {
            responses_per_second: 20,
            slip: 2,
            window: Duration::from_secs(15),
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            table_size: 65536,
        }
    }
}

/// `[server.rrl]`: present means on.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRrl {
    responses_per_second: Option<Spanned<u32>>,
    slip: Option<Spanned<u32>>,
    window: Option<Spanned<String>>,
    ipv4_prefix: Option<Spanned<u8>>,
    ipv6_prefix: Option<Spanned<u8>>,
    table_size: Option<Spanned<usize>>,
}

impl Checker<'_> {
    /// `[server.rrl]`, each value checked against its range.
    pub(super) fn rrl(&mut self, raw: RawRrl) -> RrlConfig {
        let defaults = RrlConfig::default();
        let mut ranged =
            |key: &str, value: Option<Spanned<u32>>, low: u32, high: u32, default: u32| {
                let Some(value) = value else { return default };
                if !(low..=high).contains(value.get_ref()) {
                    self.error(
                        &value,
                        format!("server.rrl.{key}: must be from {low} to {high}"),
                    );
                }
                value.into_inner()
            };
        let responses_per_second = ranged(
            "responses_per_second",
            raw.responses_per_second,
            1,
            1_000_000,
            defaults.responses_per_second,
        );
        let slip = ranged("slip", raw.slip, 0, 10, defaults.slip);
        let widen = |v: Option<Spanned<u8>>| {
            v.map(|v| {
                let span = v.span();
                Spanned::new(span, u32::from(v.into_inner()))
            })
        };
        let ipv4_prefix = ranged("ipv4_prefix", widen(raw.ipv4_prefix), 8, 32, 24) as u8;
        let ipv6_prefix = ranged("ipv6_prefix", widen(raw.ipv6_prefix), 16, 128, 56) as u8;
        let table_size = raw.table_size.map_or(defaults.table_size, |size| {
            if !(1024..=1 << 24).contains(size.get_ref()) {
                self.error(
                    &size,
                    "server.rrl.table_size: must be from 1024 to 16777216".to_string(),
                );
            }
            size.into_inner()
        });
        let window = raw
            .window
            .map_or(defaults.window, |w| match parse_duration(w.get_ref()) {
                Ok(d) if (Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&d) => d,
                Ok(_) => {
                    self.error(&w, "server.rrl.window: must be from 1s to 1h".to_string());
                    defaults.window
                }
                Err(message) => {
                    self.error(&w, format!("server.rrl.window: {message}"));
                    defaults.window
                }
            });
        RrlConfig {
            responses_per_second,
            slip,
            window,
            ipv4_prefix,
            ipv6_prefix,
            table_size,
        }
    }
}
