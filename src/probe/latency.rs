//! How long checks took: a fixed-bucket histogram per endpoint, counted as results arrive
//! and shown in status and metrics.

use std::time::Duration;

/// Counts of check durations per bucket, and their sum.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyHistogram {
    /// Per bucket of [`LatencyHistogram::BOUNDS`] (not cumulative), then the count above
    /// the last bound.
    counts: [u64; LatencyHistogram::BOUNDS.len() + 1],
    sum_seconds: f64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: [0; LatencyHistogram::BOUNDS.len() + 1],
            sum_seconds: 0.0,
        }
    }
}

impl LatencyHistogram {
    /// Upper bounds of the buckets, in seconds.
    pub const BOUNDS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

    /// Counts one check that took `latency`.
    pub fn record(&mut self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let bucket = Self::BOUNDS.iter().position(|&bound| seconds <= bound);
        self.counts[bucket.unwrap_or(Self::BOUNDS.len())] += 1;
        self.sum_seconds += seconds;
    }

    /// Per bucket (not cumulative), then the count above the last bound.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    pub fn sum_seconds(&self) -> f64 {
        self.sum_seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_land_in_their_buckets() {
        let mut histogram = LatencyHistogram::default();
        histogram.record(Duration::from_micros(500));
        histogram.record(Duration::from_millis(1));
        histogram.record(Duration::from_millis(30));
        histogram.record(Duration::from_secs(2));
        assert_eq!(histogram.counts(), &[2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
        assert!((histogram.sum_seconds() - 2.0315).abs() < 1e-9);
    }
}
