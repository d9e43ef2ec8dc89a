//! Walking the resource records of a message in place (RFC 1035 section 4.1.3): where each
//! starts and ends and its type, without following compression pointers.

use super::{get_u16, rtype, Header};
use crate::name::{MAX_LABEL_LEN, MAX_NAME_LEN};
use core::ops::Range;

/// Length of a record's TYPE, CLASS, TTL and RDLENGTH fields.
const FIXED_LEN: usize = 10;

mod field {
    use crate::wire::field::Field;

    /// Within the fixed part after the owner name.
    pub const TYPE: Field = 0..2;
    pub const RDLEN: Field = 8..10;
}

/// Where one record lies in a message.
pub(super) struct RecordView {
    /// Whether the owner is the root name (a single zero byte).
    pub owner_is_root: bool,
    pub rtype: u16,
    /// Offset just past the record.
    pub end: usize,
}

/// Skips one resource record at `pos`, checking only that it lies within the packet.
pub(super) fn read_record(packet: &[u8], pos: usize) -> Option<RecordView> {
    let owner_is_root = *packet.get(pos)? == 0;
    let fixed = skip_name(packet, pos)?;
    let fields = packet.get(fixed..fixed + FIXED_LEN)?;
    let end = fixed + FIXED_LEN + usize::from(get_u16(fields, field::RDLEN.start));
    if end > packet.len() {
        return None;
    }
    Some(RecordView {
        owner_is_root,
        rtype: get_u16(fields, field::TYPE.start),
        end,
    })
}

/// Returns the offset just past a possibly compressed name, without following pointers.
pub(super) fn skip_name(packet: &[u8], mut pos: usize) -> Option<usize> {
    let mut total = 0;
    loop {
        let label = *packet.get(pos)? as usize;
        match label {
            0 => return Some(pos + 1),
            1..=MAX_LABEL_LEN => {
                total += 1 + label;
                if total >= MAX_NAME_LEN {
                    return None;
                }
                pos += 1 + label;
            }
            // A pointer must refer to a prior occurrence (RFC 1035 section 4.1.4): one that
            // goes strictly backwards cannot loop, so it need not be followed to skip it.
            0xc0..=0xff => {
                let target = (label & 0x3f) << 8 | *packet.get(pos + 1)? as usize;
                return (target < pos).then_some(pos + 2);
            }
            _ => return None,
        }
    }
}

/// The bytes of the OPT record in `message`, whose records start at `records_start` (the
/// end of its question): the first record of type OPT in the additional section. `None`
/// when there is none or a record before it does not lie within the message.
pub fn find_opt(message: &[u8], records_start: usize) -> Option<Range<usize>> {
    let header = Header::new_checked(message).ok()?;
    let before = usize::from(header.ancount()) + usize::from(header.nscount());
    let mut pos = records_start;
    for index in 0..before + usize::from(header.arcount()) {
        let record = read_record(message, pos)?;
        if index >= before && record.rtype == rtype::OPT {
            return Some(pos..record.end);
        }
        pos = record.end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reply: header (QR, AA; one question, one answer, one additional), the question
    /// www.test A IN, the answer with its owner compressed to the question's name, and an
    /// OPT record with a cookie option.
    const REPLY: &[u8] = b"\x00\x07\x84\x00\x00\x01\x00\x01\x00\x00\x00\x01\
        \x03www\x04test\x00\x00\x01\x00\x01\
        \xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x01\
        \x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x0c\x00\x0a\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08";
    const QUESTION_END: usize = 26;
    const ANSWER_END: usize = 42;

    #[test]
    fn records_are_walked_across_compressed_owners() {
        let answer = read_record(REPLY, QUESTION_END).unwrap();
        assert_eq!(
            (answer.rtype, answer.owner_is_root, answer.end),
            (1, false, ANSWER_END)
        );
        let opt = read_record(REPLY, ANSWER_END).unwrap();
        assert_eq!(
            (opt.rtype, opt.owner_is_root, opt.end),
            (41, true, REPLY.len())
        );
        assert!(
            read_record(&REPLY[..REPLY.len() - 1], ANSWER_END).is_none(),
            "RDATA cut"
        );
        assert_eq!(skip_name(REPLY, 12), Some(22));
    }

    #[test]
    fn finds_the_opt_record_in_the_additional_section() {
        assert_eq!(find_opt(REPLY, QUESTION_END), Some(ANSWER_END..REPLY.len()));
        let mut without = REPLY[..ANSWER_END].to_vec();
        without[11] = 0;
        assert_eq!(find_opt(&without, QUESTION_END), None);
        assert_eq!(find_opt(&REPLY[..40], QUESTION_END), None, "answer cut");
        let mut opt_as_answer = REPLY[..12].to_vec();
        opt_as_answer[7] = 1; // one answer, and it is the OPT record
        opt_as_answer.extend_from_slice(&REPLY[ANSWER_END..]);
        opt_as_answer[11] = 0;
        assert_eq!(
            find_opt(&opt_as_answer, 12),
            None,
            "OPT outside the additional section"
        );
    }
}
