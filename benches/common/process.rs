//! This process's own readings, shared by the bench binaries that measure client cost
//! (`loadgen.rs`, `merge.rs`): CPU time from `getrusage`, and memory from `/proc/self/status`.

/// CPU seconds (user + system) of this process (`RUSAGE_SELF`) or of its finished children
/// (`RUSAGE_CHILDREN`).
pub fn cpu_seconds(who: libc::c_int) -> f64 {
    // SAFETY: getrusage writes one plain struct that we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return f64::NAN;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// A memory line of `/proc/self/status` in MiB: `VmRSS:` (now) or `VmHWM:` (the peak); 0 where
/// there is none.
pub fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}
