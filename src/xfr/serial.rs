//! RFC 1982 serial number arithmetic on SOA serials: a serial is newer than another when it
//! is ahead by less than 2^31 (modulo 2^32). Two serials exactly 2^31 apart are not
//! comparable; neither counts as newer.

/// Whether serial `a` is newer than serial `b`.
pub fn is_newer(a: u32, b: u32) -> bool {
    let ahead = a.wrapping_sub(b);
    ahead != 0 && ahead < 1 << 31
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_serials_follow_rfc_1982() {
        assert!(is_newer(2, 1));
        assert!(!is_newer(1, 2));
        assert!(!is_newer(7, 7));
        // Wrapping around: 0 and 5 come after 4294967295.
        assert!(is_newer(0, u32::MAX));
        assert!(is_newer(5, u32::MAX - 5));
        assert!(!is_newer(u32::MAX, 0));
        // Just under half the space ahead is newer; half is not comparable either way.
        assert!(is_newer((1 << 31) - 1, 0));
        assert!(!is_newer(1 << 31, 0));
        assert!(!is_newer(0, 1 << 31));
    }
}
