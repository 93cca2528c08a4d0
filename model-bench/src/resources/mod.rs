//! What the measuring machine has and the measuring process uses: its GPUs (NVML: what they are,
//! and how busy, hot and throttled they were during a GPU bench), the process's resident memory
//! before and after each bench, and the CPU, memory and threads of the client and server processes
//! during each load point, and the machine's state (load, governor, limits, other processes) at
//! the start and end of a run.

pub mod environment;
pub mod gpu;
pub mod machine;
pub mod nvml;
pub mod process;

/// The resident set size of this process in bytes, when the OS tells it.
pub fn process_rss() -> Option<u64> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};
    let pid = sysinfo::get_current_pid().ok()?;
    let mut system = System::new().ok()?;
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        false,
        ProcessRefreshKind::nothing().with_memory(),
    );
    system
        .process(pid)
        .map(|p| p.memory())
        .filter(|bytes| *bytes > 0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn resident_memory_grows_with_touched_pages() {
        let before = super::process_rss().expect("RSS is readable on this OS");
        let held = vec![1u8; 64 << 20];
        let after = super::process_rss().unwrap();
        assert!(
            after >= before + (48 << 20),
            "{before} → {after} with 64 MiB held"
        );
        drop(std::hint::black_box(held));
    }
}
