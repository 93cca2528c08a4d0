//! The process's open-file limit, raised before a load run: every stream or connection in
//! flight is a socket, and a soft limit of 1024 (many Linux defaults) would turn a
//! 1000-stream run into `Too many open files` errors that say nothing about the server. Like
//! Go's runtime, the soft limit is raised to the hard one, once; the hard limit is the
//! administrator's and stays.

use std::sync::Once;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, once per process; returns the soft limit
/// now in force (`None` where it cannot be read).
pub fn raise_open_files_limit() -> Option<u64> {
    static RAISED: Once = Once::new();
    RAISED.call_once(|| {
        #[cfg(unix)]
        if let Some((soft, hard)) = read_limit() {
            if soft < hard {
                let wanted = libc::rlimit {
                    rlim_cur: hard,
                    rlim_max: hard,
                };
                // SAFETY: setrlimit reads one plain struct that we own. On failure the old
                // limit stays, which is no worse than not trying.
                let _ = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) };
            }
        }
    });
    read_limit().map(|(soft, _)| soft)
}

#[cfg(unix)]
fn read_limit() -> Option<(u64, u64)> {
    // SAFETY: getrlimit writes one plain struct that we own.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0)
        .then_some((limit.rlim_cur, limit.rlim_max))
}

#[cfg(not(unix))]
fn read_limit() -> Option<(u64, u64)> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let soft = raise_open_files_limit().expect("Linux reports its limits");
        let (_, hard) = read_limit().expect("Linux reports its limits");
        assert_eq!(soft, hard);
    }
}
