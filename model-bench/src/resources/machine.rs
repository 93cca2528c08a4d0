//! The machine's state at the start and end of a run: load average, CPU governor and
//! frequencies, the cgroup's CPU and memory limits, what other processes were using the CPU over a
//! short window, and GPU clocks. Read from Linux's `/proc` and `/sys` (elsewhere those fields are
//! absent) and NVML; nothing here fails a run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::results::{GpuClocks, MachineState, ProcessCpu};

/// How long other processes' CPU use is sampled for: long enough for 25 scheduler ticks at the
/// usual 100 Hz, short enough not to delay a run noticeably.
pub const WINDOW: Duration = Duration::from_millis(250);

/// Other processes using at least this many cores (or a quarter of the cores, if more) make the
/// machine busy: enough to take a core from a single-threaded bench some of the time.
const BUSY_CORES: f64 = 0.5;

/// The most other processes listed, and the least CPU (percent of a core) one needs to be listed.
const TOP_PROCESSES: usize = 5;
const TOP_MIN_PERCENT: f64 = 5.0;

/// Reads the machine's state, sampling other processes' CPU use over [`WINDOW`].
pub fn sample() -> MachineState {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cgroup_cpu_cores = cgroup_cpu_cores();
    let others = other_processes(WINDOW);
    let mut state = MachineState {
        load_average: load_average(),
        cpu_governor: cpu_governor(),
        cpu_mhz: cpu_mhz(),
        cgroup_cpu_cores,
        cgroup_memory_bytes: cgroup_memory_bytes(),
        sampled_ms: WINDOW.as_millis() as u64,
        other_processes_cores: others.as_ref().map(|o| o.cores),
        top_processes: others.map(|o| o.top).unwrap_or_default(),
        gpus: gpu_clocks(),
        busy: None,
    };
    let usable = cgroup_cpu_cores.map_or(cores as f64, |limit| limit.min(cores as f64));
    state.busy = busy_reason(&state, usable);
    state
}

/// Why `state` counts as busy on a machine with `cores` usable cores, if it does.
pub fn busy_reason(state: &MachineState, cores: f64) -> Option<String> {
    let used = state.other_processes_cores?;
    if used < BUSY_CORES.max(cores / 4.0) {
        return None;
    }
    let load = state
        .load_average
        .map(|[one, _, _]| format!("; load average {one:.1}"))
        .unwrap_or_default();
    Some(format!(
        "other processes used {used:.1} of {} cores{}{load}: expect noise",
        format_cores(cores),
        state.top_processes_named()
    ))
}

fn format_cores(cores: f64) -> String {
    if cores.fract() == 0.0 {
        format!("{cores:.0}")
    } else {
        format!("{cores:.1}")
    }
}

fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// The CPUs' `cpufreq` directories.
fn cpufreq_files(name: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/devices/system/cpu") else {
        return Vec::new();
    };
    let mut values = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let cpu = file_name.to_string_lossy();
        if cpu
            .strip_prefix("cpu")
            .is_some_and(|n| n.parse::<u32>().is_ok())
        {
            if let Ok(value) = std::fs::read_to_string(entry.path().join("cpufreq").join(name)) {
                values.push(value.trim().to_string());
            }
        }
    }
    values
}

fn cpu_governor() -> Option<String> {
    let mut governors = cpufreq_files("scaling_governor");
    governors.sort();
    governors.dedup();
    (!governors.is_empty()).then(|| governors.join(", "))
}

/// From `cpufreq` (kHz), else `/proc/cpuinfo`'s "cpu MHz" (a VM often has only that).
fn cpu_mhz() -> Option<[f64; 2]> {
    let mut mhz: Vec<f64> = cpufreq_files("scaling_cur_freq")
        .iter()
        .filter_map(|khz| khz.parse::<f64>().ok())
        .map(|khz| khz / 1000.0)
        .collect();
    if mhz.is_empty() {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        mhz = cpuinfo
            .lines()
            .filter(|line| line.starts_with("cpu MHz"))
            .filter_map(|line| line.split(':').nth(1)?.trim().parse::<f64>().ok())
            .collect();
    }
    let min = mhz.iter().copied().reduce(f64::min)?;
    let max = mhz.iter().copied().reduce(f64::max)?;
    Some([min, max])
}

/// Which cgroup tree a directory belongs to: its files are named differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hierarchy {
    V2,
    V1,
}

/// The directories of this process's cgroup and of every cgroup above it, in cgroup v2's unified
/// tree and in the v1 hierarchy that has `v1_controller` (a hybrid system has both); a limit on
/// any of them applies, so the tightest one found is the process's.
fn cgroup_dirs(v1_controller: &str) -> Vec<(Hierarchy, PathBuf)> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    cgroup_dirs_of(&own, Path::new("/sys/fs/cgroup"), v1_controller)
}

fn cgroup_dirs_of(own: &str, root: &Path, v1_controller: &str) -> Vec<(Hierarchy, PathBuf)> {
    let mut dirs = Vec::new();
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (hierarchy, base) = if id == "0" && controllers.is_empty() {
            (Hierarchy::V2, root.to_path_buf())
        } else if controllers.split(',').any(|c| c == v1_controller) {
            (Hierarchy::V1, root.join(v1_controller))
        } else {
            continue;
        };
        for ancestor in Path::new(path).ancestors() {
            let relative = ancestor.strip_prefix("/").unwrap_or(ancestor);
            dirs.push((hierarchy, base.join(relative)));
        }
    }
    dirs
}

fn read_trimmed(path: PathBuf) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_string())
}

/// The tightest CPU quota, in cores: v2's `cpu.max` (`max 100000` is none), v1's
/// `cpu.cfs_quota_us` (-1 is none) over `cpu.cfs_period_us`.
fn cgroup_cpu_cores() -> Option<f64> {
    cgroup_dirs("cpu")
        .into_iter()
        .filter_map(|(hierarchy, dir)| {
            let (quota, period) = match hierarchy {
                Hierarchy::V2 => {
                    let max = read_trimmed(dir.join("cpu.max"))?;
                    let mut fields = max.split_whitespace();
                    let quota = fields.next()?.to_string();
                    (quota, fields.next().unwrap_or("100000").to_string())
                }
                Hierarchy::V1 => (
                    read_trimmed(dir.join("cpu.cfs_quota_us"))?,
                    read_trimmed(dir.join("cpu.cfs_period_us"))?,
                ),
            };
            let quota: f64 = quota.parse().ok().filter(|q| *q > 0.0)?;
            let period: f64 = period.parse().ok().filter(|p| *p > 0.0)?;
            Some(quota / period)
        })
        .reduce(f64::min)
}

/// The tightest memory limit: v2's `memory.max` (`max` is none), v1's `memory.limit_in_bytes`
/// (a number near 2^63 is none).
fn cgroup_memory_bytes() -> Option<u64> {
    cgroup_dirs("memory")
        .into_iter()
        .filter_map(|(hierarchy, dir)| {
            let file = match hierarchy {
                Hierarchy::V2 => "memory.max",
                Hierarchy::V1 => "memory.limit_in_bytes",
            };
            let bytes: u64 = read_trimmed(dir.join(file))?.parse().ok()?;
            (bytes < 1 << 62).then_some(bytes)
        })
        .min()
}

struct Others {
    cores: f64,
    top: Vec<ProcessCpu>,
}

/// CPU ticks (user + system) and name of every process but this one.
fn process_ticks() -> Option<HashMap<u32, (u64, String)>> {
    let own = std::process::id();
    let mut ticks = HashMap::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == own {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some(parsed) = parse_stat(&stat) {
            ticks.insert(pid, parsed);
        }
    }
    Some(ticks)
}

/// `(utime + stime, comm)` from a `/proc/<pid>/stat` line; the name may hold spaces and
/// parentheses, so fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(u64, String)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_string();
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // After the name: state is field 3 of the line, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime, name))
}

fn other_processes(window: Duration) -> Option<Others> {
    let ticks_per_second = clock_ticks_per_second()?;
    let before = process_ticks()?;
    let started = Instant::now();
    std::thread::sleep(window);
    let after = process_ticks()?;
    let seconds = started.elapsed().as_secs_f64();
    let mut used: Vec<ProcessCpu> = after
        .iter()
        .filter_map(|(pid, (ticks, name))| {
            // A process that started during the window counts from zero.
            let delta = ticks.saturating_sub(before.get(pid).map_or(0, |b| b.0));
            (delta > 0).then(|| ProcessCpu {
                pid: *pid,
                name: name.clone(),
                cpu_percent: 100.0 * delta as f64 / ticks_per_second / seconds,
            })
        })
        .collect();
    let cores = used.iter().map(|p| p.cpu_percent).sum::<f64>() / 100.0;
    used.sort_by(|a, b| b.cpu_percent.total_cmp(&a.cpu_percent));
    used.retain(|p| p.cpu_percent >= TOP_MIN_PERCENT);
    used.truncate(TOP_PROCESSES);
    Some(Others { cores, top: used })
}

/// `sysconf(_SC_CLK_TCK)`: the unit of `/proc/<pid>/stat`'s times. Linux fixes it at 100 for
/// user space on every architecture it runs on.
fn clock_ticks_per_second() -> Option<f64> {
    cfg!(target_os = "linux").then_some(100.0)
}

fn gpu_clocks() -> Vec<GpuClocks> {
    use nvml_wrapper::enum_wrappers::device::Clock;
    let Ok(nvml) = super::nvml::nvml() else {
        return Vec::new();
    };
    let count = nvml.device_count().unwrap_or(0);
    (0..count)
        .filter_map(|index| {
            let device = nvml.device_by_index(index).ok()?;
            Some(GpuClocks {
                index,
                sm_mhz: device.clock_info(Clock::SM).ok(),
                memory_mhz: device.clock_info(Clock::Memory).ok(),
                persistence_mode: device.is_in_persistent_mode().ok(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names_parse() {
        let line = "4242 (my (odd) name) R 1 4242 4242 0 -1 4194304 100 0 0 0 150 25 0 0 20 0 1 0 \
                    123 456 78 18446744073709551615";
        assert_eq!(parse_stat(line), Some((175, "my (odd) name".to_string())));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn every_cgroup_from_the_process_up_is_looked_at() {
        let root = Path::new("/sys/fs/cgroup");
        let v2 = cgroup_dirs_of("0::/system.slice/ci.service\n", root, "cpu");
        assert_eq!(
            v2,
            [
                (Hierarchy::V2, root.join("system.slice/ci.service")),
                (Hierarchy::V2, root.join("system.slice")),
                (Hierarchy::V2, root.to_path_buf()),
            ]
        );
        let v1 = cgroup_dirs_of(
            "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n",
            root,
            "cpu",
        );
        assert_eq!(
            v1,
            [
                (Hierarchy::V1, root.join("cpu/docker/abc")),
                (Hierarchy::V1, root.join("cpu/docker")),
                (Hierarchy::V1, root.join("cpu")),
                (Hierarchy::V2, root.to_path_buf()),
            ]
        );
    }

    #[test]
    fn busy_means_other_processes_took_half_a_core_or_a_quarter_of_the_cores() {
        let state = |cores: f64| MachineState {
            other_processes_cores: Some(cores),
            load_average: Some([3.1, 2.0, 1.0]),
            top_processes: vec![ProcessCpu {
                pid: 7,
                name: "yes".into(),
                cpu_percent: 99.0,
            }],
            ..MachineState::default()
        };
        assert_eq!(busy_reason(&state(0.4), 2.0), None);
        assert_eq!(
            busy_reason(&state(1.9), 2.0).as_deref(),
            Some("other processes used 1.9 of 2 cores (yes 99 %); load average 3.1: expect noise")
        );
        assert_eq!(busy_reason(&state(3.0), 16.0), None);
        assert!(busy_reason(&state(4.0), 16.0).is_some());
        assert_eq!(busy_reason(&MachineState::default(), 2.0), None);
    }

    /// A process of our own spinning through the window is seen, by name, at close to a core.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_spinning_process_is_seen_using_the_cpu() {
        let mut spinner = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("sh runs");
        // Let it start spinning before the window opens.
        std::thread::sleep(Duration::from_millis(50));
        let state = sample();
        let _ = spinner.kill();
        let _ = spinner.wait();
        let seen = state
            .top_processes
            .iter()
            .find(|p| p.pid == spinner.id())
            .unwrap_or_else(|| panic!("the spinner is not among {:?}", state.top_processes));
        // Two cores: it may share one with the other tests, but it cannot be idle.
        assert!(seen.cpu_percent >= 20.0, "{seen:?}");
        assert!(state.other_processes_cores.unwrap() >= seen.cpu_percent / 100.0);
        assert!(state.load_average.is_some());
        assert_eq!(state.sampled_ms, 250);
    }
}
