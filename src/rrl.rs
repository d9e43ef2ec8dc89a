//! Response rate limiting (RRL), as Knot DNS, NSD and BIND do it: replies to one source
//! prefix (a /24 for IPv4, a /56 for IPv6 by default) with one answer are limited to a
//! rate, so a spoofed flood cannot turn Swivel into an amplifier against a victim.
//!
//! Each UDP worker owns one [`RateLimiter`]: a fixed-size table allocated at start, no lock,
//! no allocation and no clock read per query (the worker passes the time in once per
//! batch). An entry is a token bucket in thousandths of a response: it refills at the rate,
//! holds at most one second's worth, and may go into debt down to `window` seconds' worth,
//! so a source that keeps flooding stays limited until its average over the window falls
//! below the rate. A limited reply is dropped, except every `slip`-th one, which goes out
//! truncated (TC, no records) so that a real client behind a spoofed prefix retries over
//! TCP, where nothing is limited.
//!
//! "One answer" is one precompiled answer of the table: every NXDOMAIN of a zone counts as
//! one (so random-name floods are limited together), as does every name a wildcard
//! synthesises and every name below a delegation.

pub use crate::config::RrlConfig;
use std::hash::Hasher;
use std::net::IpAddr;

/// What to do with one reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Over the limit: send nothing.
    Drop,
    /// Over the limit: send it truncated.
    Slip,
}

#[derive(Clone, Copy, Default)]
struct Bucket {
    /// Identifies (prefix, answer); 0 marks an unused bucket.
    tag: u64,
    /// Balance in thousandths of a reply.
    balance: i64,
    last_ms: u64,
    limited: u32,
}

/// One worker's rate limiter.
pub struct RateLimiter {
    full: i64,
    floor: i64,
    rate: i64,
    slip: u32,
    ipv4_mask: u32,
    ipv6_mask: u128,
    buckets: Box<[Bucket]>,
}

impl RateLimiter {
    pub fn new(config: &RrlConfig) -> RateLimiter {
        let rate = i64::from(config.responses_per_second.max(1));
        let size = config.table_size.clamp(1, 1 << 24).next_power_of_two();
        RateLimiter {
            full: rate * 1000,
            floor: -(rate * config.window.as_millis().max(1000) as i64),
            rate,
            slip: config.slip,
            ipv4_mask: u32::MAX
                .checked_shl(32 - u32::from(config.ipv4_prefix.min(32)))
                .unwrap_or(0),
            ipv6_mask: u128::MAX
                .checked_shl(128 - u32::from(config.ipv6_prefix.min(128)))
                .unwrap_or(0),
            buckets: vec![Bucket::default(); size].into_boxed_slice(),
        }
    }

    /// Accounts one reply with answer `answer` to `source` at `now_ms` (any monotonic
    /// millisecond clock) and says whether to send it.
    #[inline]
    pub fn check(&mut self, source: IpAddr, answer: u64, now_ms: u64) -> Verdict {
        let mut hasher = crate::table::FxHasher::default();
        match source {
            IpAddr::V4(v4) => hasher.write_u32(u32::from(v4) & self.ipv4_mask),
            IpAddr::V6(v6) => hasher.write_u128(u128::from(v6) & self.ipv6_mask),
        }
        hasher.write_u64(answer);
        let tag = hasher.finish() | 1;
        let mask = self.buckets.len() - 1;
        let bucket = &mut self.buckets[(tag >> 7) as usize & mask];
        if bucket.tag != tag {
            *bucket = Bucket {
                tag,
                balance: self.full,
                last_ms: now_ms,
                limited: 0,
            };
        } else {
            let elapsed = now_ms.saturating_sub(bucket.last_ms).min(1 << 30) as i64;
            bucket.last_ms = now_ms;
            bucket.balance = (bucket.balance + elapsed * self.rate).min(self.full);
        }
        bucket.balance -= 1000;
        if bucket.balance >= 0 {
            return Verdict::Send;
        }
        bucket.balance = bucket.balance.max(self.floor);
        bucket.limited = bucket.limited.wrapping_add(1);
        if self.slip > 0 && bucket.limited % self.slip == 0 {
            Verdict::Slip
        } else {
            Verdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: u32, slip: u32) -> RateLimiter {
        RateLimiter::new(&RrlConfig {
            responses_per_second: rate,
            slip,
            ..RrlConfig::default()
        })
    }

    #[test]
    fn a_flood_is_limited_to_the_rate_and_slips_every_nth() {
        let mut rrl = limiter(10, 2);
        let source: IpAddr = "192.0.2.7".parse().unwrap();
        let verdicts: Vec<Verdict> = (0..30).map(|_| rrl.check(source, 1, 0)).collect();
        assert!(
            verdicts[..10].iter().all(|&v| v == Verdict::Send),
            "{verdicts:?}"
        );
        let limited = &verdicts[10..];
        assert_eq!(limited.iter().filter(|&&v| v == Verdict::Slip).count(), 10);
        assert_eq!(limited.iter().filter(|&&v| v == Verdict::Drop).count(), 10);
        // Another answer, another prefix: not limited.
        assert_eq!(rrl.check(source, 2, 0), Verdict::Send);
        assert_eq!(rrl.check("192.0.3.7".parse().unwrap(), 1, 0), Verdict::Send);
        // The same /24 shares the bucket.
        assert_ne!(
            rrl.check("192.0.2.200".parse().unwrap(), 1, 0),
            Verdict::Send
        );
    }

    #[test]
    fn the_bucket_refills_at_the_rate_after_the_debt_is_paid() {
        let mut rrl = limiter(10, 0);
        let source: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        for _ in 0..210 {
            rrl.check(source, 1, 0);
        }
        // 200 over the limit, but the debt is capped at the window: 15 s at 10/s = 150.
        assert_eq!(rrl.check(source, 1, 14_000), Verdict::Drop, "still in debt");
        assert_eq!(
            rrl.check(source, 1, 15_200),
            Verdict::Send,
            "paid off and refilled"
        );
        let same_56: IpAddr = "2001:db8:1:ff::9".parse().unwrap();
        assert_eq!(
            rrl.check(same_56, 1, 15_200),
            Verdict::Drop,
            "the /56 shares the bucket, now empty"
        );
        assert_eq!(
            rrl.check(same_56, 1, 15_400),
            Verdict::Send,
            "and its refill"
        );
    }
}
