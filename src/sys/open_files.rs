//! The open files limit (RLIMIT_NOFILE): reading it, and raising the soft limit to the hard
//! one at start as Knot and NSD do, so that the descriptor budget is as large as allowed.

use std::io;

/// The soft and hard limits on open file descriptors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFilesLimit {
    pub soft: u64,
    pub hard: u64,
}

/// The process's open files limit now.
pub fn open_files_limit() -> io::Result<OpenFilesLimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the valid, initialised struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(OpenFilesLimit {
        soft: limit.rlim_cur,
        hard: limit.rlim_max,
    })
}

/// Raises the soft limit to the hard limit (capped at `ceiling`, since an unlimited hard
/// limit is no count) and returns the limit in force afterwards.
pub fn raise_open_files_limit(ceiling: u64) -> io::Result<OpenFilesLimit> {
    let now = open_files_limit()?;
    let wanted = now.hard.min(ceiling);
    if wanted <= now.soft {
        return Ok(now);
    }
    let limit = libc::rlimit {
        rlim_cur: wanted,
        rlim_max: now.hard,
    };
    // SAFETY: setrlimit only reads the valid struct passed; raising the soft limit up to the
    // hard one needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    open_files_limit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_reads_and_raising_never_lowers_it() {
        let before = open_files_limit().unwrap();
        assert!(before.soft <= before.hard && before.soft > 0, "{before:?}");
        let after = raise_open_files_limit(before.soft).unwrap();
        assert_eq!(after, before, "a ceiling at the soft limit changes nothing");
    }
}
