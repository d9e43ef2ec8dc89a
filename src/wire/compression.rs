//! Moving the compression pointers of records already in wire form: records written for
//! one place in a message are copied to another, and every pointer in them is rewritten
//! for its new surroundings. Only the names Swivel compresses carry pointers: owners and
//! the names in NS, CNAME, PTR, MX and SOA RDATA (RFC 3597 section 4).

use super::{get_u16, put_u16, rtype, Error};

/// Highest offset a compression pointer can hold.
const MAX_POINTER: u16 = 0x3fff;

/// Rewrites every compression pointer in the `count` records at the start of `records`:
/// a pointer to offset `t` becomes one to `map(t)`. Fails, leaving the records partly
/// rewritten, when they do not parse, when `map` returns `None` or an offset a pointer
/// cannot hold.
pub fn move_pointers(
    records: &mut [u8],
    count: usize,
    mut map: impl FnMut(u16) -> Option<u16>,
) -> Result<(), Error> {
    let mut at = 0;
    for _ in 0..count {
        let owner_end = move_name(records, at, records.len(), &mut map)?;
        let fixed_end = owner_end + 10;
        if fixed_end > records.len() {
            return Err(Error);
        }
        let rtype_ = get_u16(records, owner_end);
        let rdata_end = fixed_end + get_u16(records, owner_end + 8) as usize;
        if rdata_end > records.len() {
            return Err(Error);
        }
        match rtype_ {
            rtype::NS | rtype::CNAME | rtype::PTR => {
                move_rdata_name(records, fixed_end, rdata_end, &mut map)?;
            }
            rtype::MX if fixed_end + 2 < rdata_end => {
                move_rdata_name(records, fixed_end + 2, rdata_end, &mut map)?;
            }
            rtype::SOA => {
                let shape = scan_name(records, fixed_end, rdata_end)
                    .and_then(|(m, _)| Some((m, scan_name(records, m, rdata_end)?.0)));
                if let Some((mname_end, _)) = shape.filter(|&(_, r)| r + 20 == rdata_end) {
                    move_name(records, fixed_end, rdata_end, &mut map)?;
                    move_name(records, mname_end, rdata_end, &mut map)?;
                }
            }
            _ => {}
        }
        at = rdata_end;
    }
    Ok(())
}

/// A name that fills the RDATA exactly has its pointer moved; RDATA of another shape was
/// written as it came and is left alone.
fn move_rdata_name(
    records: &mut [u8],
    start: usize,
    end: usize,
    map: &mut impl FnMut(u16) -> Option<u16>,
) -> Result<(), Error> {
    if scan_name(records, start, end).is_some_and(|(name_end, _)| name_end == end) {
        move_name(records, start, end, map)?;
    }
    Ok(())
}

/// Moves the pointer ending the name at `start` (if it has one); returns the name's end.
fn move_name(
    records: &mut [u8],
    start: usize,
    limit: usize,
    map: &mut impl FnMut(u16) -> Option<u16>,
) -> Result<usize, Error> {
    let (end, pointer) = scan_name(records, start, limit).ok_or(Error)?;
    if let Some(at) = pointer {
        let target = map(get_u16(records, at) & MAX_POINTER).ok_or(Error)?;
        if target > MAX_POINTER {
            return Err(Error);
        }
        put_u16(records, at, 0xc000 | target);
    }
    Ok(end)
}

/// The end of the name at `start` and where its pointer is, if it ends in one; `None` when
/// it runs past `limit` or has a label type that is neither a length nor a pointer.
fn scan_name(bytes: &[u8], start: usize, limit: usize) -> Option<(usize, Option<usize>)> {
    let mut at = start;
    loop {
        let len = *bytes[..limit].get(at)?;
        match len {
            0 => return Some((at + 1, None)),
            1..=63 => at += 1 + len as usize,
            0xc0..=0xff if at + 2 <= limit => return Some((at + 2, Some(at))),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_in_owners_and_compressed_rdata_move_and_others_stay() {
        // CNAME (owner pointer, RDATA label + pointer), MX, SOA (two pointers), TXT (no
        // names), A with a literal owner.
        let mut records = vec![
            0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, b'w', b'w', b'w', 0xc0, 0x10,
        ];
        records.extend_from_slice(&[
            0xc0, 0x1e, 0, 15, 0, 1, 0, 0, 0, 60, 0, 4, 0, 10, 0xc0, 0x22,
        ]);
        records.extend_from_slice(&[
            0xc0, 0x22, 0, 6, 0, 1, 0, 0, 0, 60, 0, 24, 0xc0, 0x23, 0xc0, 0x24,
        ]);
        records.extend_from_slice(&[0; 20]);
        records.extend_from_slice(&[0xc0, 0x25, 0, 16, 0, 1, 0, 0, 0, 60, 0, 3, 2, 0xc0, 0x01]);
        records.extend_from_slice(&[1, b'a', 0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        let original = records.clone();
        move_pointers(&mut records, 5, |t| Some(t + 0x100)).unwrap();
        // Each moved pointer's high byte gains 1: owners at 0, 18, 34, 70; the CNAME's
        // target at 16, the MX exchange at 32, SOA MNAME and RNAME at 46 and 48.
        let changed: Vec<usize> = (0..records.len())
            .filter(|&i| records[i] != original[i])
            .collect();
        assert_eq!(changed, [0, 16, 18, 32, 34, 46, 48, 70]);
        assert_eq!(&records[0..2], &[0xc1, 0x0c]);
        assert_eq!(&records[16..18], &[0xc1, 0x10]);
        // The TXT RDATA's bytes that look like a pointer are left alone.
        assert_eq!(&records[83..85], &[0xc0, 0x01]);
    }

    #[test]
    fn a_refused_target_or_one_beyond_reach_fails() {
        let record = [0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1];
        assert_eq!(move_pointers(&mut record.clone(), 1, |_| None), Err(Error));
        assert_eq!(
            move_pointers(&mut record.clone(), 1, |_| Some(0x4000)),
            Err(Error)
        );
        assert_eq!(move_pointers(&mut record.clone(), 2, Some), Err(Error));
        assert_eq!(
            move_pointers(&mut record[..14].to_vec(), 1, Some),
            Err(Error)
        );
    }
}
