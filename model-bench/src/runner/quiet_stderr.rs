//! Silences criterion's progress lines ("Benchmarking …: Warming up for 1.0000 ns", "Collecting
//! 10 samples in estimated 1.0004 ms (15k iterations)") while it replays a remote load point's
//! time slices. Those figures describe the replay, not the load run, and read as nonsense; the
//! runner has already said what the point ran. criterion writes them to stderr and its estimate
//! and change lines to stdout, so pointing stderr at /dev/null for the replay keeps the latter.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::AsRawFd;

/// Runs `replay` with this process's stderr pointed at /dev/null, then puts it back, also when
/// `replay` panics. Nothing else of ours writes during a replay (the load run and its watchers
/// have ended, and the progress line is cleared); if stderr cannot be redirected, `replay`
/// simply runs with criterion's lines.
pub(crate) fn replay_quietly<T>(replay: impl FnOnce() -> T) -> T {
    let _ = std::io::stderr().flush();
    let _restore = Redirect::to_null();
    replay()
}

struct Redirect {
    saved: libc::c_int,
}

impl Redirect {
    fn to_null() -> Option<Redirect> {
        let null = OpenOptions::new().write(true).open("/dev/null").ok()?;
        // SAFETY: dup and dup2 on descriptor 2 and on a file this function owns; the saved
        // descriptor is closed exactly once, in drop.
        unsafe {
            let saved = libc::dup(libc::STDERR_FILENO);
            if saved < 0 {
                return None;
            }
            if libc::dup2(null.as_raw_fd(), libc::STDERR_FILENO) < 0 {
                libc::close(saved);
                return None;
            }
            Some(Redirect { saved })
        }
    }
}

impl Drop for Redirect {
    fn drop(&mut self) {
        // SAFETY: `saved` is the descriptor dup returned in to_null, still open.
        unsafe {
            libc::dup2(self.saved, libc::STDERR_FILENO);
            libc::close(self.saved);
        }
    }
}
