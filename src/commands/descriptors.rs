//! The file descriptor budget of `swivel serve`: the open files limit (raised to the hard
//! limit at start, as Knot and NSD do) split so that nothing the control listener does can
//! take the descriptors DNS over TCP needs. A fixed reserve (logs, listeners, the runtime,
//! zone and state files), the UDP workers' sockets and the health checks in flight come
//! first, then `server.tcp_max_connections`, then the control connections
//! (`control.max_connections`, plus the one it may hold while making room). When the limit
//! is too small for what is configured, the caps are lowered, DNS's last.

/// Descriptors kept for everything but connections: standard streams, the log, epoll and
/// the runtime's own, signal handling, the listeners, zone and state files during a reload.
pub const BASE_RESERVE: usize = 64;
/// Each UDP worker's socket, and with io_uring its ring and wake-up eventfd.
pub const PER_UDP_WORKER: usize = 3;
/// The control listener keeps at least this many connections.
pub const MIN_CONTROL: usize = 8;
/// The soft limit is raised no higher than this even when the hard limit is unlimited.
pub const RAISE_CEILING: u64 = 1 << 20;

/// What the configuration asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// `server.tcp_max_connections`.
    pub dns_tcp: usize,
    /// `control.max_connections`.
    pub control: usize,
    /// UDP workers over all listen addresses.
    pub udp_workers: usize,
    /// Health checks that can be in flight at once (each holds a socket).
    pub checks: usize,
}

/// How the limit is shared out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The open files limit the split is made of.
    pub limit: u64,
    /// For everything but TCP connections.
    pub reserved: usize,
    /// The DNS over TCP connection cap in force.
    pub dns_tcp: usize,
    /// The control connection cap in force.
    pub control: usize,
}

/// Splits `limit` among the reserve, DNS over TCP and the control listener.
pub fn plan(limit: u64, wanted: Wanted) -> Budget {
    let reserved = BASE_RESERVE + PER_UDP_WORKER * wanted.udp_workers + wanted.checks;
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    let available = limit_usize.saturating_sub(reserved);
    // The control listener may hold one connection beyond its cap while it makes room.
    let dns_tcp = wanted
        .dns_tcp
        .min(available.saturating_sub(MIN_CONTROL + 1))
        .max(1);
    let control = wanted
        .control
        .min(available.saturating_sub(dns_tcp + 1))
        .max(1);
    Budget {
        limit,
        reserved,
        dns_tcp,
        control,
    }
}

/// Raises the soft limit to the hard one and plans the budget; logs the budget once, and a
/// warning for every cap it lowered.
pub fn budget(wanted: Wanted) -> Budget {
    let limit = match crate::sys::raise_open_files_limit(RAISE_CEILING) {
        Ok(limit) => limit.soft,
        Err(error) => {
            let soft = crate::sys::open_files_limit().map_or(1024, |limit| limit.soft);
            tracing::warn!(%error, soft, "cannot raise the open files limit; keeping it");
            soft
        }
    };
    let budget = plan(limit, wanted);
    tracing::info!(
        open_files_limit = budget.limit,
        reserved = budget.reserved,
        dns_tcp_connections = budget.dns_tcp,
        control_connections = budget.control,
        "file descriptor budget"
    );
    if budget.dns_tcp < wanted.dns_tcp {
        tracing::warn!(
            "server.tcp_max_connections {} lowered to {}: the open files limit ({}) cannot hold \
             more beside the rest; raise it (LimitNOFILE= in systemd, ulimit -n)",
            wanted.dns_tcp,
            budget.dns_tcp,
            budget.limit
        );
    }
    if budget.control < wanted.control {
        tracing::warn!(
            "control.max_connections {} lowered to {}: the open files limit ({}) keeps the \
             rest for DNS over TCP; raise it (LimitNOFILE= in systemd, ulimit -n)",
            wanted.control,
            budget.control,
            budget.limit
        );
    }
    budget
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: Wanted = Wanted {
        dns_tcp: 1024,
        control: 256,
        udp_workers: 2,
        checks: 10,
    };

    #[test]
    fn a_large_limit_grants_everything() {
        let budget = plan(65536, DEFAULTS);
        assert_eq!((budget.dns_tcp, budget.control), (1024, 256));
        assert_eq!(budget.reserved, 64 + 6 + 10);
    }

    #[test]
    fn a_small_limit_lowers_control_first_and_never_overcommits() {
        let budget = plan(1024, DEFAULTS);
        assert_eq!(budget.control, MIN_CONTROL);
        assert_eq!(budget.dns_tcp, 1024 - budget.reserved - MIN_CONTROL - 1);
        let budget = plan(1300, DEFAULTS);
        assert_eq!(budget.dns_tcp, 1024, "DNS keeps its cap");
        assert_eq!(budget.control, 1300 - budget.reserved - 1024 - 1);
        for limit in [1024, 1500, 2048, 4096, 65536] {
            let budget = plan(limit, DEFAULTS);
            let used = budget.reserved + budget.dns_tcp + budget.control + 1;
            assert!(used as u64 <= limit, "{budget:?}");
        }
    }

    #[test]
    fn a_tiny_limit_still_leaves_one_of_each() {
        let budget = plan(50, DEFAULTS);
        assert_eq!((budget.dns_tcp, budget.control), (1, 1));
    }
}
