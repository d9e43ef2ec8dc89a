//! The query engine: query bytes in, answer table, reply bytes out. No I/O, no clock, no
//! allocation, so it is unit-tested, fuzzed and benchmarked directly.
//!
//! A reply is the query's header and question (echoed byte for byte), the precompiled
//! sections of the answer cut to the size limit, and an OPT record when the query had one.
//! Below a DNAME the answer is synthesized instead (`engine/dname.rs`).

use crate::name::MAX_NAME_LEN;
use crate::table::{AnswerRef, Client, Cut, Table};
use crate::wire::opt::code;
use crate::wire::{
    class, ecs, header, parse_query, put_u16, rcode, rtype, ClientSubnet, Header, OptRepr, Options,
    Query, QueryError,
};

/// Largest UDP payload Swivel advertises and sends (DNS flag day 2020).
pub const EDNS_UDP_SIZE: u16 = 1232;
/// Reply buffer size that suffices for any UDP reply.
pub const UDP_REPLY_BUF: usize = EDNS_UDP_SIZE as usize;
/// Reply buffer size that suffices for any TCP reply.
pub const TCP_REPLY_BUF: usize = 65535;
/// UDP payload limit for a query without EDNS (RFC 1035).
const CLASSIC_UDP_SIZE: usize = 512;
/// Marks the answer identity of replies without records (errors), by rcode.
const ERROR_ANSWER: u64 = 1 << 63;

/// How the query arrived; decides the size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Why a packet got no reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Shorter than a header.
    Malformed,
    /// QR is set: a response, never answered.
    Response,
}

/// What the engine did with one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `out[..len]` holds the reply.
    Reply {
        len: usize,
        rcode: u16,
        truncated: bool,
        /// Identifies the answer given (the same for every query that got the same
        /// precompiled answer, or the same error), for rate limiting per answer.
        answer: u64,
    },
    Drop(DropReason),
}

/// Answers one query from `table` into `out`, which must hold at least [`UDP_REPLY_BUF`]
/// bytes for UDP and [`TCP_REPLY_BUF`] for TCP (a smaller buffer lowers the size limit).
/// `spin` picks among the variants of a pool's answer: callers pass a counter they step
/// once per query, so rotation and weighted choice need no shared state. `source` is the
/// sender's address, which routed pools answer for unless the query carries an EDNS Client
/// Subnet option (RFC 7871), whose subnet they answer for instead; a reply to a query with
/// that option echoes it with the answer's scope.
pub fn answer(
    query: &[u8],
    table: &Table,
    transport: Transport,
    spin: u32,
    source: Client,
    out: &mut [u8],
) -> Outcome {
    let mut qname = [0u8; MAX_NAME_LEN];
    // Matched by reference: the query stays where parsing wrote it, uncopied.
    let parsed = parse_query(query, &mut qname);
    let q = match &parsed {
        Ok(q) => q,
        Err(QueryError::Unreadable) => return Outcome::Drop(DropReason::Malformed),
        Err(QueryError::Response) => return Outcome::Drop(DropReason::Response),
        // An opcode we do not implement is NOTIMP whatever the question section holds, as
        // Knot DNS and BIND answer: the opcode is read before the question.
        Err(QueryError::Malformed {
            id: _,
            flags,
            qname_len,
            edns,
        }) if flags & header::OPCODE_MASK != 0 => {
            return error_reply(query, *qname_len, *edns, rcode::NOTIMP, out);
        }
        Err(QueryError::Malformed {
            id: _,
            flags: _,
            qname_len,
            edns,
        }) => {
            return error_reply(query, *qname_len, *edns, rcode::FORMERR, out);
        }
    };
    let edns = q.edns;
    if q.opcode() != 0 {
        return error_reply(query, q.qname_len, edns, rcode::NOTIMP, out);
    }
    if edns.is_some_and(|e| e.version > 0) {
        return error_reply(query, q.qname_len, edns, rcode::BADVERS, out);
    }
    // Class ANY is answered as IN, like Knot DNS does; other classes are not served here.
    if q.qclass != class::IN && q.qclass != class::ANY {
        return error_reply(query, q.qname_len, edns, rcode::REFUSED, out);
    }
    // Transfers the TCP side did not take (see server/transfer.rs) are refused; AXFR over
    // UDP is NOTIMP, as Knot DNS answers it.
    let refused_type = match (q.qtype, transport) {
        (0, _) | (rtype::AXFR, Transport::Udp) => Some(rcode::NOTIMP),
        (rtype::AXFR | rtype::IXFR, _) => Some(rcode::REFUSED),
        _ => None,
    };
    if let Some(code) = refused_type {
        return error_reply(query, q.qname_len, edns, code, out);
    }
    // Options are rare (ECS from some resolvers, cookies): a query with none takes the
    // path below, where the reply's OPT is a constant, as it was before client subnets.
    if edns.is_some_and(|e| !e.options.is_empty()) {
        return answer_with_options(query, q, &qname, table, transport, spin, &source, out);
    }
    answer_for(query, q, &qname, table, transport, spin, &source, None, out)
}

/// [`answer_for`] a query whose OPT record has options: a client subnet among them is read
/// (a malformed one is FORMERR, RFC 7871 section 7.2.1) and echoed; others are ignored.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn answer_with_options(
    query: &[u8],
    q: &Query<'_>,
    qname: &[u8; MAX_NAME_LEN],
    table: &Table,
    transport: Transport,
    spin: u32,
    source: &Client,
    out: &mut [u8],
) -> Outcome {
    let options = q.edns.map_or(Options::EMPTY, |e| e.options);
    let echo = match options.only(code::CLIENT_SUBNET) {
        None => None,
        Some((option, data)) => match ClientSubnet::parse(data) {
            Ok(subnet) => Some(Echo { subnet, option }),
            Err(_) => return error_reply(query, q.qname_len, q.edns, rcode::FORMERR, out),
        },
    };
    answer_for(query, q, qname, table, transport, spin, source, echo, out)
}

/// A query's client subnet, and its option as read, which the reply echoes with one copy
/// and the answer's scope set in it (RFC 7871 section 7.2.1).
#[derive(Clone, Copy)]
struct Echo<'a> {
    subnet: ClientSubnet<'a>,
    option: Options<'a>,
}

impl Echo<'_> {
    /// The client the subnet names: its address, or nobody for a source prefix of 0 (the
    /// sender asks that no client address be used).
    #[inline]
    fn client(&self) -> Client {
        match (self.subnet.source_prefix(), self.subnet.family()) {
            (0, _) => Client::Unknown,
            (_, ecs::family::IPV4) => Client::V4(self.subnet.address_key() as u32),
            _ => Client::V6(self.subnet.address_key()),
        }
    }
}

/// The reply's OPT record for a query whose OPT record was `edns`, rcode `code` and, with
/// `echo`, the query's client subnet option (its scope set by [`finish`]).
#[inline(always)]
fn reply_opt_with<'a>(
    edns: Option<OptRepr<'_>>,
    code: u16,
    echo: Option<&Echo<'a>>,
) -> Option<OptRepr<'a>> {
    let options = echo.map_or(Options::EMPTY, |echo| echo.option);
    reply_opt(edns, code).map(|opt| OptRepr { options, ..opt })
}

/// The answer to a checked query: looked up, chosen for the client where a routed pool
/// answers, and written with the reply's OPT record (echoing the query's client subnet
/// option with the answer's scope, when `echo` holds one).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn answer_for(
    query: &[u8],
    q: &Query<'_>,
    qname: &[u8; MAX_NAME_LEN],
    table: &Table,
    transport: Transport,
    spin: u32,
    source: &Client,
    echo: Option<Echo<'_>>,
    out: &mut [u8],
) -> Outcome {
    let edns = q.edns;
    // The client a routed pool answers for: the subnet's, else the sender.
    let client = || echo.as_ref().map_or(*source, Echo::client);
    // The scope of a reply that does not depend on the client.
    let scope_zero = echo.map(|_| 0);
    let Some(found) = table.lookup(&qname[..q.qname_len], q.qtype, spin) else {
        // A secondary zone without a copy, or expired, is ours but cannot be answered.
        let code = if table.is_unserved(&qname[..q.qname_len]) {
            rcode::SERVFAIL
        } else {
            rcode::REFUSED
        };
        let opt = reply_opt_with(edns, code, echo.as_ref());
        return error_reply_with(query, q.qname_len, opt, scope_zero, code, out);
    };
    if found.is_dname() {
        if let Some(dname) = table.dname_of(&found) {
            let who = (client(), echo);
            return dname::answer(query, *q, qname, dname, table, transport, spin, who, out);
        }
    }
    let (found, scope) = match found.is_routed() {
        false => (found, 0),
        true => table.for_client(found, spin, client()),
    };
    let opt = reply_opt_with(edns, found.rcode(), echo.as_ref());
    let scope = echo.map(|_| scope);
    write_found(query, q, qname, found, table, transport, opt, scope, out)
}

/// Writes the reply for the answer `found` (its signed form and NSEC proof for a DO query)
/// with `opt` as its OPT record, cut to the size limit.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn write_found(
    query: &[u8],
    q: &Query<'_>,
    qname: &[u8; MAX_NAME_LEN],
    found: AnswerRef<'_>,
    table: &Table,
    transport: Transport,
    opt: Option<OptRepr<'_>>,
    scope: Option<u8>,
    out: &mut [u8],
) -> Outcome {
    let edns = q.edns;
    let dnssec_ok = edns.is_some_and(|e| e.dnssec_ok);
    let found = match dnssec_ok {
        true => found.signed_form(),
        false => found,
    };
    let pieces = match dnssec_ok {
        true => table.proof_pieces(&found, &qname[..q.qname_len]),
        false => [None, None],
    };
    let proof_len: usize = pieces.iter().flatten().map(|p| p.bytes.len()).sum();

    let question_end = q.question_end();
    let limit = size_limit(transport, edns, out.len());
    let room = limit.saturating_sub(question_end + opt.map_or(0, |o| o.buffer_len()));
    let cuts = found.cuts();
    // A proof that does not fit whole is left out, and the reply says it is truncated.
    let (mut cut, truncated) = fitting_cut(cuts, room.saturating_sub(proof_len));
    let with_proof = proof_len > 0 && !truncated;
    if proof_len > 0 && truncated {
        cut = fitting_cut(cuts, room).0;
    }

    out[..question_end].copy_from_slice(&query[..question_end]);
    let body = &mut out[question_end..question_end + cut.len as usize];
    body.copy_from_slice(&found.bytes()[..cut.len as usize]);
    for reloc in found.relocs().iter().take_while(|r| r.at < cut.len) {
        let target = (reloc.base as i32 + q.qname_len as i32) as u16;
        put_u16(body, reloc.at as usize, 0xc000 | target);
    }
    let mut len = question_end + cut.len as usize;
    if with_proof {
        for piece in pieces.into_iter().flatten() {
            out[len..len + piece.bytes.len()].copy_from_slice(piece.bytes);
            len += piece.bytes.len();
            cut.ns += piece.records;
        }
    }
    let mut flags = reply_flags(q.flags, found.rcode());
    if found.authoritative() {
        flags |= header::AA;
    }
    if truncated {
        flags |= header::TC;
    }
    let len = finish(out, len, flags, 1, cut, opt, scope);
    Outcome::Reply {
        len,
        rcode: found.rcode(),
        truncated,
        answer: found.identity(),
    }
}

/// The reply size limit (RFC 6891 section 6.2.5): 512 without EDNS, else the client's size
/// clamped to [512, ours]; TCP has no limit but the message size.
fn size_limit(transport: Transport, edns: Option<OptRepr<'_>>, buffer: usize) -> usize {
    let limit = match (transport, edns) {
        (Transport::Tcp, _) => TCP_REPLY_BUF,
        (Transport::Udp, None) => CLASSIC_UDP_SIZE,
        (Transport::Udp, Some(e)) => {
            (e.udp_size as usize).clamp(CLASSIC_UDP_SIZE, EDNS_UDP_SIZE as usize)
        }
    };
    limit.min(buffer)
}

/// The OPT record of a reply to a query whose OPT record was `edns`: our UDP size, the
/// upper bits of `code`, version 0, the query's DO bit, no options.
#[inline]
fn reply_opt(edns: Option<OptRepr<'_>>, code: u16) -> Option<OptRepr<'static>> {
    edns.map(|query| OptRepr {
        udp_size: EDNS_UDP_SIZE,
        ext_rcode: rcode::split(code).1,
        version: 0,
        dnssec_ok: query.dnssec_ok,
        options: Options::EMPTY,
    })
}

/// Header flags of a reply: QR, the query's opcode and RD, and the rcode's low bits. CD is
/// not copied: Swivel does not validate, and Knot DNS clears it too.
fn reply_flags(query_flags: u16, code: u16) -> u16 {
    header::QR | (query_flags & (header::OPCODE_MASK | header::RD)) | rcode::split(code).0
}

/// A reply with no records: the header, the question if one was read, and OPT if the query
/// had one.
fn error_reply(
    query: &[u8],
    qname_len: usize,
    edns: Option<OptRepr<'_>>,
    code: u16,
    out: &mut [u8],
) -> Outcome {
    error_reply_with(query, qname_len, reply_opt(edns, code), None, code, out)
}

/// [`error_reply`] with the reply's OPT record given (and the scope of its client subnet
/// option, if it echoes one).
fn error_reply_with(
    query: &[u8],
    qname_len: usize,
    opt: Option<OptRepr<'_>>,
    scope: Option<u8>,
    code: u16,
    out: &mut [u8],
) -> Outcome {
    let question_end = if qname_len > 0 {
        header::LEN + qname_len + 4
    } else {
        header::LEN
    };
    out[..question_end].copy_from_slice(&query[..question_end]);
    let query_flags = Header::new_unchecked(query).flags();
    let qdcount = u16::from(qname_len > 0);
    let len = finish(
        out,
        question_end,
        reply_flags(query_flags, code),
        qdcount,
        Cut::default(),
        opt,
        scope,
    );
    Outcome::Reply {
        len,
        rcode: code,
        truncated: false,
        answer: ERROR_ANSWER | u64::from(code),
    }
}

/// Writes the header's flags and counts over the echoed query header, and `opt` after the
/// `len` bytes of header, question and records; returns the reply's length. `opt` is left
/// out if the buffer cannot hold it, which the callers' room for it rules out. With
/// `scope`, `opt`'s only option is a client subnet echoed from the query, and its scope is
/// set.
#[inline(always)]
fn finish(
    out: &mut [u8],
    len: usize,
    flags: u16,
    qdcount: u16,
    cut: Cut,
    opt: Option<OptRepr<'_>>,
    scope: Option<u8>,
) -> usize {
    let opt_len = match opt {
        Some(opt) => opt.emit(&mut out[len..]).ok(),
        None => None,
    };
    if let (Some(_), Some(scope)) = (opt_len, scope) {
        out[len + ecs::SCOPE_IN_OPT] = scope;
    }
    let mut reply = Header::new_unchecked(out);
    reply.set_flags(flags);
    reply.set_qdcount(qdcount);
    reply.set_ancount(cut.an);
    reply.set_nscount(cut.ns);
    reply.set_arcount(cut.ar + u16::from(opt_len.is_some()));
    len + opt_len.unwrap_or(0)
}

/// Turns the reply in `out[..len]` into its truncated form: header (with TC) and question,
/// and the OPT record if the reply had one; no other records. Used for the replies that
/// rate limiting lets "slip" through, so that a real client retries over TCP. Returns the
/// new length.
pub fn slip(out: &mut [u8], len: usize) -> usize {
    let Ok(reply) = Header::new_checked(&out[..len]) else {
        return len;
    };
    let mut end = header::LEN;
    if reply.qdcount() == 1 {
        match crate::name::wire_name_len(&out[header::LEN..len]) {
            Some(name) if header::LEN + name + 4 <= len => end += name + 4,
            _ => return len,
        }
    }
    let opt = crate::wire::find_opt(&out[..len], end);
    let opt_len = opt.as_ref().map_or(0, |opt| opt.len());
    if let Some(opt) = opt {
        out.copy_within(opt, end);
    }
    let mut reply = Header::new_unchecked(&mut *out);
    reply.set_tc(true);
    reply.set_ancount(0);
    reply.set_nscount(0);
    reply.set_arcount(u16::from(opt_len > 0));
    end + opt_len
}

mod dname;
#[cfg(test)]
mod dname_tests;
#[cfg(test)]
mod geo_tests;
#[cfg(test)]
mod pool_tests;
#[cfg(test)]
mod signed_tests;
/// The longest precompiled cut of an answer that fits `room` bytes, and whether records
/// were left out (the whole answer did not fit).
#[inline]
fn fitting_cut(cuts: &[Cut], room: usize) -> (Cut, bool) {
    let whole = cuts.last().copied().unwrap_or_default();
    if whole.len as usize <= room {
        return (whole, false);
    }
    let cut = cuts
        .iter()
        .rev()
        .find(|c| c.len as usize <= room)
        .copied()
        .unwrap_or_default();
    (cut, cut.an < whole.an || cut.ns < whole.ns)
}

#[cfg(test)]
mod tests;
