//! Transfers out over TCP: AXFR, IXFR and signed SOA queries for the zones offered to
//! secondaries ([`xfr::out::Offered`]), answered on the connection's task from the table
//! served now (a pool's addresses as it answers them at this moment) and the zone's
//! journal. Never on the UDP workers. A request for a zone not offered goes on to the
//! engine, which refuses transfers.

use crate::table::{SharedTable, ZoneRecords};
use crate::wire::{rcode, rtype};
use crate::xfr::out::{self, ErrorTsig, IxfrPlan, Offered, Verdict};
use crate::xfr::stats::{count_transfer, OutKind, OutResult};
use crate::xfr::tsig::SignedRequest;
use crate::zone::Record;
use arc_swap::ArcSwap;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The zones offered now, shared with the runtime that keeps them.
pub type SharedOffered = Arc<ArcSwap<Offered>>;

/// Answers `query` when it is a transfer request (or signed SOA query) for an offered zone:
/// writes every message of the answer to `writer` and returns `Some`; `None` when the query
/// is not one (the engine answers it). A write that stalls past `timeout` is an error.
pub(super) async fn answer<W: AsyncWrite + Unpin>(
    query: &[u8],
    peer: IpAddr,
    table: &SharedTable,
    offered: &SharedOffered,
    writer: &mut W,
    timeout: Duration,
) -> Option<io::Result<()>> {
    if !out::wanted(query) {
        return None;
    }
    let kind_of = |qtype| match qtype {
        rtype::IXFR => OutKind::Ixfr,
        _ => OutKind::Axfr,
    };
    let now = crate::xfr::client::unix_now();
    let request = match out::parse_request(query) {
        Ok(request) => request,
        Err(reason) => {
            tracing::debug!(%peer, %reason, "malformed transfer request: FORMERR");
            let qtype = question_type(query);
            if qtype == Some(rtype::SOA) {
                return None;
            }
            count_transfer(kind_of(qtype.unwrap_or(0)), OutResult::Formerr);
            let reply = out::error_answer(query, None, rcode::FORMERR, ErrorTsig::None, now);
            return Some(write_all(writer, &[reply], timeout).await);
        }
    };
    let offered = offered.load_full();
    let zone = offered.zones.get(&request.qname)?;
    let soa_query = request.qtype == rtype::SOA;
    let kind = kind_of(request.qtype);
    let (signed, verdict_rcode) = match out::admit(&zone.config, peer, query, &request, now) {
        Verdict::Admitted(signed) => (signed, None),
        Verdict::Refused(signed) => (signed, Some(rcode::REFUSED)),
        Verdict::BadSignature(refused) => {
            tracing::info!(zone = %request.qname, %peer, key = %refused.key_name,
                error = %crate::xfr::tsig::error_name(refused.error),
                "transfer request with a signature not accepted: NOTAUTH");
            if !soa_query {
                count_transfer(kind, OutResult::Notauth);
            }
            let reply = out::error_answer(
                query,
                Some(&request),
                rcode::NOTAUTH,
                ErrorTsig::Error(&refused),
                now,
            );
            return Some(write_all(writer, &[reply], timeout).await);
        }
    };
    if soa_query && signed.is_none() {
        // An unsigned SOA query with extra records: the engine answers it like any other.
        return None;
    }
    let sign = |code| match &signed {
        Some(signed) => {
            out::error_answer(query, Some(&request), code, ErrorTsig::Signed(signed), now)
        }
        None => out::error_answer(query, Some(&request), code, ErrorTsig::None, now),
    };
    if let Some(code) = verdict_rcode.filter(|_| !soa_query) {
        tracing::info!(zone = %request.qname, %peer, signed = signed.is_some(),
            "transfer request from a client not admitted: REFUSED");
        count_transfer(kind, OutResult::Refused);
        return Some(write_all(writer, &[sign(code)], timeout).await);
    }
    let table = table.load();
    let Some(records) = table.zone_records(&request.qname) else {
        if !soa_query {
            count_transfer(kind, OutResult::Servfail);
        }
        return Some(write_all(writer, &[sign(rcode::SERVFAIL)], timeout).await);
    };
    drop(table);
    let Some(soa) = records.soa.clone() else {
        return Some(write_all(writer, &[sign(rcode::SERVFAIL)], timeout).await);
    };
    let serial = crate::xfr::message::soa_serial(&soa.rdata).unwrap_or(0);
    let signed_ref = signed.as_ref();
    if soa_query {
        let messages = out::messages(query, &request, &[&soa], signed_ref, now);
        return Some(write_all(writer, &messages, timeout).await);
    }
    let (kind, messages, count) = match request.client_serial {
        None => {
            let list = whole(&soa, &records);
            let count = list.len();
            (
                OutKind::Axfr,
                build(query, &request, &list, signed_ref, now),
                count,
            )
        }
        Some(client) => {
            let journal = zone.journal.lock().unwrap_or_else(|e| e.into_inner());
            match out::plan_ixfr(serial, client, Some(&journal)) {
                IxfrPlan::UpToDate => (
                    OutKind::IxfrUpToDate,
                    out::messages(query, &request, &[&soa], signed_ref, now),
                    1,
                ),
                IxfrPlan::Changes(changes) => {
                    let list = out::ixfr_records(&soa, &changes);
                    let count = list.len();
                    (
                        OutKind::Ixfr,
                        build(query, &request, &list, signed_ref, now),
                        count,
                    )
                }
                IxfrPlan::Full => {
                    drop(journal);
                    let list = whole(&soa, &records);
                    let count = list.len();
                    (
                        OutKind::IxfrFull,
                        build(query, &request, &list, signed_ref, now),
                        count,
                    )
                }
            }
        }
    };
    let result = write_all(writer, &messages, timeout).await;
    let outcome = if result.is_ok() {
        OutResult::Ok
    } else {
        OutResult::Failed
    };
    count_transfer(kind, outcome);
    tracing::info!(zone = %request.qname, %peer, kind = kind.as_str(), serial,
        client_serial = request.client_serial, records = count, messages = messages.len(),
        signed = signed.is_some(), result = outcome.as_str(), "zone transferred out");
    Some(result)
}

/// The whole zone for AXFR: the SOA, every record, the pools' records, the SOA again.
fn whole<'a>(soa: &'a Record, zone: &'a ZoneRecords) -> Vec<&'a Record> {
    let mut list = Vec::with_capacity(zone.records.len() + zone.pools.len() + 2);
    list.push(soa);
    list.extend(&zone.records);
    list.extend(&zone.pools);
    list.push(soa);
    list
}

fn build(
    query: &[u8],
    request: &out::Request,
    list: &[&Record],
    signed: Option<&SignedRequest>,
    now: u64,
) -> Vec<Vec<u8>> {
    out::messages(query, request, list, signed, now)
}

/// The question type of a query whose question can be read.
fn question_type(query: &[u8]) -> Option<u16> {
    let len = crate::name::wire_name_len(query.get(12..)?)?;
    let t = query.get(12 + len..14 + len)?;
    Some(u16::from_be_bytes([t[0], t[1]]))
}

/// Writes each message with its length prefix.
async fn write_all<W: AsyncWrite + Unpin>(
    writer: &mut W,
    messages: &[Vec<u8>],
    timeout: Duration,
) -> io::Result<()> {
    for message in messages {
        let len =
            u16::try_from(message.len()).map_err(|_| io::Error::other("message over 64 KiB"))?;
        let mut framed = Vec::with_capacity(2 + message.len());
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(message);
        match tokio::time::timeout(timeout, writer.write_all(&framed)).await {
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client stopped reading",
                ))
            }
            Ok(result) => result?,
        }
    }
    Ok(())
}
