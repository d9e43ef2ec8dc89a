//! The bodies of the fuzz targets: one function per target, taking arbitrary bytes and
//! panicking when an invariant breaks. The cargo-fuzz targets in fuzz/ call these, and so
//! does tests/fuzz_corpus.rs for every committed corpus and regression input, on stable.
//!
//! Each function checks more than "no panic": see the invariants in its documentation.

mod engine;
mod framing;
mod reply;
mod xfr;

pub use engine::{engine_answer, fuzz_table};
pub use framing::tcp_framing;
pub use reply::check_received_reply;
pub use xfr::xfr_client;

use crate::name::{Name, MAX_NAME_LEN};
use crate::wire::{self, header, Header, QueryError};
use std::path::Path;

/// A fuzz target: its name (the folder of its corpus) and its body.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// Every target, by the name used for its corpus and regression folders in fuzz/.
pub const TARGETS: &[Target] = &[
    Target {
        name: "parse_query",
        run: parse_query,
    },
    Target {
        name: "engine_answer",
        run: engine_answer,
    },
    Target {
        name: "zone_file",
        run: zone_file,
    },
    Target {
        name: "config_file",
        run: config_file,
    },
    Target {
        name: "tcp_framing",
        run: tcp_framing,
    },
    Target {
        name: "xfr_client",
        run: xfr_client,
    },
];

/// [`wire::parse_query`] on arbitrary bytes. Invariants: no panic; fewer than 12 bytes is
/// `Unreadable` and QR set is `Response`, and nothing else is; a parsed question lies
/// inside the packet, is one valid name of at most 255 bytes, and the lowercase copy is the
/// packet's bytes folded to lower case; ID, flags, type and class are the packet's;
/// parsing is deterministic.
/// An ECS option's data: a subnet that reads must write back the same bytes (scope 0 as
/// read), with its address zero past the source prefix.
fn client_subnet(data: &[u8]) {
    let Ok(subnet) = wire::ClientSubnet::parse(data) else {
        return;
    };
    let mut out = [0u8; wire::ecs::MAX_DATA_LEN];
    let len = subnet.emit(0, &mut out);
    assert_eq!(
        &out[..len],
        data,
        "an ECS option reads and writes back byte for byte"
    );
    let bits = if subnet.family() == wire::ecs::family::IPV4 {
        32
    } else {
        128
    };
    assert!(subnet.source_prefix() <= bits);
    let shift = u32::from(subnet.source_prefix()) + 128 - u32::from(bits);
    let past_prefix = subnet.address_key().checked_shl(shift).unwrap_or(0);
    assert_eq!(
        past_prefix, 0,
        "the address key is zero past the source prefix"
    );
}

pub fn parse_query(data: &[u8]) {
    let mut lower = [0u8; MAX_NAME_LEN];
    let result = wire::parse_query(data, &mut lower);
    let mut again = [0u8; MAX_NAME_LEN];
    assert_eq!(result, wire::parse_query(data, &mut again), "deterministic");
    if data.len() < header::LEN {
        assert_eq!(result, Err(QueryError::Unreadable));
        return;
    }
    let flags = Header::new_unchecked(data).flags();
    if flags & header::QR != 0 {
        assert_eq!(result, Err(QueryError::Response));
        return;
    }
    let qname_len = match result {
        Ok(query) => {
            assert_eq!(query.id, Header::new_unchecked(data).id());
            assert_eq!(query.flags, flags);
            assert_eq!(Header::new_unchecked(data).qdcount(), 1);
            assert!(query.question_end() <= data.len(), "question inside");
            let fixed = header::LEN + query.qname_len;
            assert_eq!(query.qtype, wire::get_u16(data, fixed));
            assert_eq!(query.qclass, wire::get_u16(data, fixed + 2));
            assert_eq!(&lower[..query.qname_len], &again[..query.qname_len]);
            if let Some(data) = query
                .edns
                .and_then(|e| e.options.get(wire::opt::code::CLIENT_SUBNET))
            {
                client_subnet(data);
            }
            query.qname_len
        }
        Err(QueryError::Malformed {
            id,
            flags: malformed_flags,
            qname_len,
            edns: _,
        }) => {
            assert_eq!(id, Header::new_unchecked(data).id());
            assert_eq!(malformed_flags, flags);
            if qname_len > 0 {
                assert!(header::LEN + qname_len + 4 <= data.len(), "echoed question");
            }
            qname_len
        }
        Err(other) => panic!("{other:?} for a readable query"),
    };
    if qname_len > 0 {
        let original = &data[header::LEN..header::LEN + qname_len];
        assert!(qname_len <= MAX_NAME_LEN);
        assert!(Name::from_wire(original).is_some(), "one valid name");
        if result.is_ok() {
            assert_eq!(lower[..qname_len], original.to_ascii_lowercase());
        }
    }
}

/// [`crate::zone::parse_zone`] on arbitrary text for origin `example.test.`, then, when
/// it loads, [`crate::table::Table::compile`]. Invariants: no panic; a refused file has at
/// least one diagnostic, each naming the file and a line no later than the last; a loaded
/// zone has records only at or below the origin, with the origin's SOA.
pub fn zone_file(data: &[u8]) {
    let origin = Name::from_text("example.test.").expect("valid origin");
    let path = Path::new("fuzz.zone");
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    match crate::zone::parse_zone(&origin, path, data) {
        Ok(zone) => {
            assert!(zone.records.iter().all(|r| r.owner.is_below_or_at(&origin)));
            let soa = zone
                .records
                .iter()
                .filter(|r| r.rtype == crate::wire::rtype::SOA);
            assert!(soa.clone().count() == 1 && soa.clone().all(|r| r.owner == origin));
            let table = crate::table::Table::compile(&[zone], &[]);
            assert_eq!(table.zones().len(), 1);
        }
        Err(diagnostics) => {
            assert!(!diagnostics.0.is_empty(), "a refusal says why");
            for diagnostic in &diagnostics.0 {
                assert_eq!(diagnostic.file, path);
                assert!(diagnostic.line <= lines, "{diagnostic} (of {lines} lines)");
                assert!(!diagnostic.message.is_empty());
            }
        }
    }
}

/// [`crate::config::parse`] on arbitrary bytes (text that is not UTF-8 is skipped, as
/// [`crate::config::load`] refuses it before parsing). Invariants: no panic; a refused
/// configuration has at least one diagnostic, each naming the file and a line no later than
/// the last; an accepted one has at least one listen address and one zone, and limits of at
/// least one.
pub fn config_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("fuzz.toml");
    let lines = text.matches('\n').count() + 1;
    match crate::config::parse(text, file, Path::new("/fuzz")) {
        Ok(config) => {
            assert!(!config.server.listen.is_empty());
            assert!(!config.zones.is_empty());
            assert!(config.server.tcp_max_connections >= 1);
            assert!(config.server.tcp_max_per_client >= 1);
            assert!(!config.server.tcp_idle_timeout.is_zero());
            assert!(config.server.workers <= crate::config::MAX_WORKERS);
            assert_eq!(config.pools.len(), config.pool_lines.len());
        }
        Err(diagnostics) => {
            assert!(!diagnostics.0.is_empty(), "a refusal says why");
            for diagnostic in &diagnostics.0 {
                assert_eq!(diagnostic.file, file);
                assert!(diagnostic.line <= lines, "{diagnostic} (of {lines} lines)");
            }
        }
    }
}
