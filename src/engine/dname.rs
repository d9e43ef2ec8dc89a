//! Answers for names below a DNAME (RFC 6672), written at query time: the DNAME, the CNAME
//! synthesized from the question name, and the answer for the new name when it is in the
//! same zone, as Knot DNS answers (a DNAME met again in a chain is written once; at most
//! five redirections). A synthesized name longer than 255 octets gives YXDOMAIN with the
//! DNAME.
//!
//! The precompiled answer for the new name was written for a question of that name, so
//! its compression pointers are moved: those into the question to where the new name's
//! labels are in this reply (the synthesized CNAME's RDATA and the DNAME's target), those
//! into the answer itself by the distance it moved. All of it is on the stack and in the
//! reply buffer: nothing is allocated.

use super::{finish, reply_flags, reply_opt_with, size_limit, Echo, Outcome, Transport};
use crate::name::MAX_NAME_LEN;
use crate::table::Client;
use crate::table::{AnswerRef, Cut, DnameRef, Lookup, Table};
use crate::wire::{class, header, move_pointers, put_u16, rcode, rtype, Query};

/// Most redirections (DNAME or CNAME) followed for one query: Knot DNS's limit.
const MAX_REDIRECTIONS: usize = 5;
/// Type, class, TTL and RDLENGTH of a record.
const FIXED: usize = 10;

/// Where a name written in the reply lies: its first `prefix_len` bytes at `prefix_at`,
/// the rest at `tail_at` (the question name is all prefix).
#[derive(Clone, Copy)]
struct Placed {
    len: usize,
    prefix_at: usize,
    prefix_len: usize,
    tail_at: usize,
}

impl Placed {
    /// Reply offset of the name's suffix that starts `at` bytes into it.
    fn offset(&self, at: usize) -> usize {
        if at < self.prefix_len {
            self.prefix_at + at
        } else {
            self.tail_at + (at - self.prefix_len)
        }
    }
}

/// The reply to a query whose name (`qname`, lowercase) is below `dname`. Kept out of
/// line, so that the common path through `engine::answer` stays as it was.
#[allow(clippy::too_many_arguments)]
#[cold]
#[inline(never)]
pub(super) fn answer(
    query: &[u8],
    q: Query<'_>,
    qname: &[u8; MAX_NAME_LEN],
    dname: DnameRef<'_>,
    table: &Table,
    transport: Transport,
    spin: u32,
    (client, echo): (Client, Option<Echo<'_>>),
    out: &mut [u8],
) -> Outcome {
    let dnssec_ok = q.edns.is_some_and(|e| e.dnssec_ok);
    let question_end = q.question_end();
    let opt = reply_opt_with(q.edns, rcode::NOERROR, echo.as_ref());
    let end = size_limit(transport, q.edns, out.len())
        .saturating_sub(opt.map_or(0, |o| o.buffer_len()))
        .max(question_end);
    out[..question_end].copy_from_slice(&query[..question_end]);

    let mut name = *qname;
    let mut placed = Placed {
        len: q.qname_len,
        prefix_at: header::LEN,
        prefix_len: q.qname_len,
        tail_at: 0,
    };
    // The DNAMEs written so far: identity and where their target is.
    let mut written = [(0u64, 0usize); MAX_REDIRECTIONS];
    let mut written_count = 0;
    let mut len = question_end;
    let mut counts = Cut::default();
    let mut code = rcode::NOERROR;
    let mut scope = 0;
    let mut truncated = false;
    let mut dname = dname;
    for _ in 0..MAX_REDIRECTIONS {
        let owner_len = dname.owner_len();
        let known = written[..written_count]
            .iter()
            .find(|(identity, _)| *identity == dname.identity());
        let target_at = match known {
            Some(&(_, at)) => at,
            None => {
                let record = dname.record();
                if len + 2 + record.len() > end {
                    truncated = true;
                    break;
                }
                let owner_at = placed.offset(placed.len - owner_len);
                put_u16(out, len, 0xc000 | owner_at as u16);
                out[len + 2..len + 2 + record.len()].copy_from_slice(record);
                let at = len + 2 + FIXED;
                written[written_count] = (dname.identity(), at);
                written_count += 1;
                len += 2 + record.len();
                counts.an += 1;
                let rrsigs = if dnssec_ok { dname.rrsigs() } else { &[] };
                let rrsigs_len: usize = rrsigs.iter().map(|r| 2 + r.len()).sum();
                if len + rrsigs_len > end {
                    truncated = true;
                    break;
                }
                for rrsig in rrsigs {
                    put_u16(out, len, 0xc000 | owner_at as u16);
                    out[len + 2..len + 2 + rrsig.len()].copy_from_slice(rrsig);
                    len += 2 + rrsig.len();
                    counts.an += 1;
                }
                at
            }
        };
        let prefix_len = placed.len - owner_len;
        let target = dname.target();
        if prefix_len + target.len() > MAX_NAME_LEN {
            code = rcode::YXDOMAIN;
            break;
        }
        let rdlen = prefix_len + 2;
        if len + 2 + FIXED + rdlen > end {
            truncated = true;
            break;
        }
        put_u16(out, len, 0xc000 | placed.offset(0) as u16);
        put_u16(out, len + 2, rtype::CNAME);
        put_u16(out, len + 4, class::IN);
        out[len + 6..len + 10].copy_from_slice(&dname.ttl().to_be_bytes());
        put_u16(out, len + 10, rdlen as u16);
        let rdata_at = len + 2 + FIXED;
        out[rdata_at..rdata_at + prefix_len].copy_from_slice(&name[..prefix_len]);
        put_u16(out, rdata_at + prefix_len, 0xc000 | target_at as u16);
        len = rdata_at + rdlen;
        counts.an += 1;

        name[prefix_len..prefix_len + target.len()].copy_from_slice(target);
        placed = Placed {
            len: prefix_len + target.len(),
            prefix_at: rdata_at,
            prefix_len,
            tail_at: target_at,
        };
        // The synthesized CNAME answers a CNAME query by itself.
        if q.qtype == rtype::CNAME {
            break;
        }
        match table.chase(&name[..placed.len], q.qtype, spin, &dname) {
            None => break,
            Some(Lookup::Dname(next)) => dname = next,
            Some(Lookup::Answer(found)) => {
                let (found, found_scope) = table.for_client(found, spin, client);
                scope = found_scope;
                let found = if dnssec_ok {
                    found.signed_form()
                } else {
                    found
                };
                let pieces = match dnssec_ok {
                    true => table.proof_pieces(&found, &name[..placed.len]),
                    false => [None, None],
                };
                let proof_len: usize = pieces.iter().flatten().map(|p| p.bytes.len()).sum();
                let room = end - len;
                let (cut, cut_short) =
                    place(found, &placed, room.saturating_sub(proof_len), len, out);
                let (mut cut, cut_short) = match cut_short && proof_len > 0 {
                    true => (place(found, &placed, room, len, out).0, true),
                    false => (cut, cut_short),
                };
                truncated |= cut_short;
                len += cut.len as usize;
                if !cut_short {
                    for piece in pieces.into_iter().flatten() {
                        out[len..len + piece.bytes.len()].copy_from_slice(piece.bytes);
                        len += piece.bytes.len();
                        cut.ns += piece.records;
                    }
                }
                counts.an += cut.an;
                counts.ns = cut.ns;
                counts.ar = cut.ar;
                code = found.rcode();
                break;
            }
        }
    }

    let mut flags = reply_flags(q.flags, code) | header::AA;
    if truncated {
        flags |= header::TC;
    }
    let opt = reply_opt_with(q.edns, code, echo.as_ref());
    let len = finish(out, len, flags, 1, counts, opt, echo.map(|_| scope));
    Outcome::Reply {
        len,
        rcode: code,
        truncated,
        answer: dname.identity(),
    }
}

/// Copies the precompiled answer `found` for the name `placed` to `out[at..]`, as much of
/// it as fits in `room` bytes, and moves its pointers; returns what was copied and whether
/// records were left out. An answer whose pointers cannot be moved is left out entirely.
fn place(
    found: AnswerRef<'_>,
    placed: &Placed,
    room: usize,
    at: usize,
    out: &mut [u8],
) -> (Cut, bool) {
    let cuts = found.cuts();
    let whole = cuts.last().copied().unwrap_or_default();
    let (cut, cut_short) = super::fitting_cut(cuts, room);
    let body = &mut out[at..at + cut.len as usize];
    body.copy_from_slice(&found.bytes()[..cut.len as usize]);
    // First as if the question were the new name: then every pointer is an offset in the
    // reply the answer was compiled for.
    for reloc in found.relocs().iter().take_while(|r| r.at < cut.len) {
        let target = (reloc.base as i32 + placed.len as i32) as u16;
        put_u16(body, reloc.at as usize, 0xc000 | target);
    }
    let question = header::LEN..header::LEN + placed.len;
    let compiled_start = question.end + 4;
    let records = usize::from(cut.an + cut.ns + cut.ar);
    let moved = move_pointers(body, records, |target| {
        let target = usize::from(target);
        let offset = if target >= compiled_start {
            at + (target - compiled_start)
        } else if question.contains(&target) {
            placed.offset(target - header::LEN)
        } else {
            return None;
        };
        u16::try_from(offset).ok()
    });
    match moved {
        Ok(()) => (cut, cut_short),
        Err(_) => (Cut::default(), whole.an > 0 || whole.ns > 0),
    }
}
