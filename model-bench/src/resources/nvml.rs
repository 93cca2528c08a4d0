//! A background NVML sampler: GPU utilization, memory used, SM clock, temperature, power and
//! clock-throttle reasons every ~100 ms while a GPU bench runs, summarized per GPU. Samples taken
//! while the clock was held down (power cap, thermal or hardware slowdown) are counted, so a
//! throttled measurement can be told from a clean one. And a per-point watch of one GPU's memory
//! (before, peak, after), for batch sweeps on the GPU.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::results::GpuUsage;

use crate::results::GpuMemoryUse;

/// How often the sampler reads the GPUs.
pub const INTERVAL: Duration = Duration::from_millis(100);
/// How often [`GpuMemoryWatch`] reads one GPU's memory during a point.
pub const MEMORY_INTERVAL: Duration = Duration::from_millis(10);

/// NVML, loaded once per process; the error says why it cannot be used.
pub(crate) fn nvml() -> Result<&'static nvml_wrapper::Nvml, String> {
    static NVML: OnceLock<Result<nvml_wrapper::Nvml, String>> = OnceLock::new();
    NVML.get_or_init(|| nvml_wrapper::Nvml::init().map_err(|e| format!("NVML unavailable: {e}")))
        .as_ref()
        .map_err(Clone::clone)
}

/// One reading of one GPU; a figure NVML does not offer on this GPU is `None`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GpuSample {
    pub index: u32,
    pub utilization_pct: Option<u32>,
    pub memory_used_bytes: Option<u64>,
    pub sm_clock_mhz: Option<u32>,
    pub temperature_c: Option<u32>,
    pub power_w: Option<f64>,
    /// Reasons the clock was held down at this reading (empty: it was not).
    pub throttled_by: Vec<String>,
}

/// Summarizes readings per GPU, in GPU order.
pub fn summarize(samples: &[GpuSample]) -> Vec<GpuUsage> {
    let mut indices: Vec<u32> = samples.iter().map(|s| s.index).collect();
    indices.sort_unstable();
    indices.dedup();
    indices
        .into_iter()
        .map(|index| {
            let of: Vec<&GpuSample> = samples.iter().filter(|s| s.index == index).collect();
            let mean = |values: Vec<f64>| {
                (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
            };
            let utilization: Vec<u32> = of.iter().filter_map(|s| s.utilization_pct).collect();
            let clocks: Vec<u32> = of.iter().filter_map(|s| s.sm_clock_mhz).collect();
            let power: Vec<f64> = of.iter().filter_map(|s| s.power_w).collect();
            let mut reasons: Vec<String> = of.iter().flat_map(|s| s.throttled_by.clone()).collect();
            reasons.sort();
            reasons.dedup();
            GpuUsage {
                index,
                samples: of.len(),
                utilization_mean_pct: mean(utilization.iter().map(|&u| f64::from(u)).collect()),
                utilization_max_pct: utilization.iter().copied().max(),
                memory_used_max_bytes: of.iter().filter_map(|s| s.memory_used_bytes).max(),
                sm_clock_mean_mhz: mean(clocks.iter().map(|&c| f64::from(c)).collect()),
                sm_clock_min_mhz: clocks.iter().copied().min(),
                temperature_max_c: of.iter().filter_map(|s| s.temperature_c).max(),
                power_mean_w: mean(power.clone()),
                power_max_w: power.iter().copied().reduce(f64::max),
                throttled_samples: of.iter().filter(|s| !s.throttled_by.is_empty()).count(),
                throttle_reasons: reasons,
            }
        })
        .collect()
}

/// Samples every GPU on a thread of its own until [`GpuSampler::finish`].
pub struct GpuSampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<GpuSample>>,
}

impl GpuSampler {
    /// Starts sampling; an error (no NVML, no GPU) says why, and nothing runs.
    pub fn start() -> Result<GpuSampler, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), String>>(1);
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("model-bench-nvml".into())
            .spawn(move || {
                let nvml = match nvml() {
                    Ok(nvml) => nvml,
                    Err(reason) => {
                        let _ = ready_tx.send(Err(reason));
                        return Vec::new();
                    }
                };
                let count = nvml.device_count().unwrap_or(0);
                if count == 0 {
                    let _ = ready_tx.send(Err("NVML sees no GPU".into()));
                    return Vec::new();
                }
                let _ = ready_tx.send(Ok(()));
                let mut samples = Vec::new();
                loop {
                    for index in 0..count {
                        if let Ok(device) = nvml.device_by_index(index) {
                            samples.push(read(index, &device));
                        }
                    }
                    if stop_flag.load(Ordering::Relaxed) {
                        return samples;
                    }
                    std::thread::sleep(INTERVAL);
                }
            })
            .map_err(|e| format!("cannot start the NVML sampler thread: {e}"))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(GpuSampler { stop, thread }),
            Ok(Err(reason)) => {
                let _ = thread.join();
                Err(reason)
            }
            Err(_) => Err("the NVML sampler stopped before it started".into()),
        }
    }

    /// Takes a last reading, stops, and summarizes.
    pub fn finish(self) -> Vec<GpuUsage> {
        self.stop.store(true, Ordering::Relaxed);
        summarize(&self.thread.join().unwrap_or_default())
    }
}

/// One reading of a GPU's memory: this process's share (when NVML lists the process) and the
/// whole device's.
#[derive(Debug, Clone, Copy, Default)]
struct MemoryReading {
    process: Option<u64>,
    device: Option<u64>,
}

fn read_memory(device: &nvml_wrapper::Device<'_>, pid: u32) -> MemoryReading {
    use nvml_wrapper::enums::device::UsedGpuMemory;
    let process = device.running_compute_processes().ok().and_then(|list| {
        list.iter().find_map(|p| match p.used_gpu_memory {
            UsedGpuMemory::Used(bytes) if p.pid == pid => Some(bytes),
            _ => None,
        })
    });
    MemoryReading {
        process,
        device: device.memory_info().ok().map(|m| m.used),
    }
}

/// Watches one GPU's memory over one point: a reading when it starts, one every
/// [`MEMORY_INTERVAL`], and one when it ends.
pub struct GpuMemoryWatch {
    gpu: u32,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<MemoryReading>>,
}

impl GpuMemoryWatch {
    /// Takes the first reading of GPU `gpu` (NVML's index) and starts watching; an error says why
    /// it cannot.
    pub fn start(gpu: u32) -> Result<GpuMemoryWatch, String> {
        let nvml = nvml()?;
        let device = nvml
            .device_by_index(gpu)
            .map_err(|e| format!("NVML: GPU {gpu}: {e}"))?;
        let pid = std::process::id();
        let first = read_memory(&device, pid);
        if first.device.is_none() {
            return Err(format!("NVML: GPU {gpu}: memory use is not readable"));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("model-bench-gpu-memory".into())
            .spawn(move || {
                let mut readings = vec![first];
                let Ok(device) = nvml.device_by_index(gpu) else {
                    return readings;
                };
                while !stop_flag.load(Ordering::Relaxed) {
                    std::thread::sleep(MEMORY_INTERVAL);
                    readings.push(read_memory(&device, pid));
                }
                readings
            })
            .map_err(|e| format!("cannot start the GPU memory watch thread: {e}"))?;
        Ok(GpuMemoryWatch { gpu, stop, thread })
    }

    /// Takes the last reading and stops.
    pub fn finish(self) -> Option<GpuMemoryUse> {
        self.stop.store(true, Ordering::Relaxed);
        let readings = self.thread.join().ok()?;
        memory_use(self.gpu, &readings)
    }
}

/// Before (first reading), peak and after (last reading): of this process when NVML listed it at
/// any reading (it is absent before its first allocation: 0 bytes), else of the whole device.
fn memory_use(gpu: u32, readings: &[MemoryReading]) -> Option<GpuMemoryUse> {
    let process_listed = readings.iter().any(|r| r.process.is_some());
    let (scope, values): (&str, Vec<u64>) = if process_listed {
        (
            "process",
            readings.iter().map(|r| r.process.unwrap_or(0)).collect(),
        )
    } else {
        ("device", readings.iter().filter_map(|r| r.device).collect())
    };
    Some(GpuMemoryUse {
        gpu,
        scope: scope.into(),
        before_bytes: *values.first()?,
        peak_bytes: values.iter().copied().max()?,
        after_bytes: *values.last()?,
    })
}

fn read(index: u32, device: &nvml_wrapper::Device<'_>) -> GpuSample {
    use nvml_wrapper::bitmasks::device::ThrottleReasons;
    use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
    // The reasons that mean the clock is held below what the work asks for; idle and
    // application-clock settings are not a slowdown of a running bench.
    let slowdowns = [
        (ThrottleReasons::SW_POWER_CAP, "sw_power_cap"),
        (ThrottleReasons::HW_SLOWDOWN, "hw_slowdown"),
        (ThrottleReasons::SW_THERMAL_SLOWDOWN, "sw_thermal_slowdown"),
        (ThrottleReasons::HW_THERMAL_SLOWDOWN, "hw_thermal_slowdown"),
        (
            ThrottleReasons::HW_POWER_BRAKE_SLOWDOWN,
            "hw_power_brake_slowdown",
        ),
    ];
    let reasons = device.current_throttle_reasons().ok();
    GpuSample {
        index,
        utilization_pct: device.utilization_rates().ok().map(|u| u.gpu),
        memory_used_bytes: device.memory_info().ok().map(|m| m.used),
        sm_clock_mhz: device.clock_info(Clock::SM).ok(),
        temperature_c: device.temperature(TemperatureSensor::Gpu).ok(),
        power_w: device.power_usage().ok().map(|mw| f64::from(mw) / 1e3),
        throttled_by: slowdowns
            .iter()
            .filter(|(flag, _)| reasons.is_some_and(|r| r.contains(*flag)))
            .map(|(_, name)| name.to_string())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_summarized_per_gpu_with_throttled_ones_counted() {
        let sample = |index, utilization, clock, power, throttled: &[&str]| GpuSample {
            index,
            utilization_pct: Some(utilization),
            memory_used_bytes: Some(u64::from(utilization) << 20),
            sm_clock_mhz: Some(clock),
            temperature_c: Some(60 + utilization / 10),
            power_w: Some(power),
            throttled_by: throttled.iter().map(|r| r.to_string()).collect(),
        };
        let usage = summarize(&[
            sample(1, 10, 1000, 50.0, &[]),
            sample(0, 90, 1980, 300.0, &[]),
            sample(0, 100, 1500, 350.0, &["sw_power_cap"]),
            sample(0, 80, 1410, 340.0, &["sw_power_cap", "hw_slowdown"]),
        ]);
        assert_eq!(usage.len(), 2);
        let gpu0 = &usage[0];
        assert_eq!((gpu0.index, gpu0.samples), (0, 3));
        assert_eq!(gpu0.utilization_mean_pct, Some(90.0));
        assert_eq!(gpu0.utilization_max_pct, Some(100));
        assert_eq!(gpu0.sm_clock_min_mhz, Some(1410));
        assert_eq!(gpu0.memory_used_max_bytes, Some(100 << 20));
        assert_eq!(gpu0.temperature_max_c, Some(70));
        assert_eq!(gpu0.power_max_w, Some(350.0));
        assert_eq!(gpu0.throttled_samples, 2);
        assert_eq!(gpu0.throttle_reasons, ["hw_slowdown", "sw_power_cap"]);
        assert_eq!(usage[1].throttled_samples, 0);
        assert!(summarize(&[]).is_empty());
    }

    #[test]
    fn memory_use_prefers_this_process_and_keeps_the_peak_between_readings() {
        let reading = |process, device| MemoryReading {
            process,
            device: Some(device),
        };
        // The process appears once its context exists; before that it holds nothing.
        let readings = [
            reading(None, 1000),
            reading(Some(500), 1500),
            reading(Some(4500), 5500),
            reading(Some(600), 1600),
        ];
        let process = memory_use(0, &readings).unwrap();
        assert_eq!(process.scope, "process");
        assert_eq!(
            (
                process.before_bytes,
                process.peak_bytes,
                process.after_bytes
            ),
            (0, 4500, 600)
        );
        // NVML lists no process (a container's PID namespace, say): the whole device's figures.
        let unlisted: Vec<MemoryReading> = readings
            .iter()
            .map(|r| MemoryReading {
                process: None,
                ..*r
            })
            .collect();
        let device = memory_use(3, &unlisted).unwrap();
        assert_eq!((device.gpu, device.scope.as_str()), (3, "device"));
        assert_eq!(
            (device.before_bytes, device.peak_bytes, device.after_bytes),
            (1000, 5500, 1600)
        );
        assert_eq!(memory_use(0, &[]), None);
    }

    #[test]
    fn the_memory_watch_starts_or_says_why_not() {
        match GpuMemoryWatch::start(0) {
            Ok(watch) => {
                let memory = watch.finish().expect("readings");
                assert!(memory.peak_bytes >= memory.before_bytes.max(memory.after_bytes));
            }
            Err(reason) => assert!(reason.starts_with("NVML"), "{reason}"),
        }
    }

    /// Without a driver (this machine, CI) starting is an error that says why, never a panic.
    #[test]
    fn the_sampler_starts_or_says_why_not() {
        match GpuSampler::start() {
            Ok(sampler) => {
                let usage = sampler.finish();
                assert!(!usage.is_empty(), "NVML started but sampled no GPU");
                assert!(usage.iter().all(|u| u.samples >= 1), "{usage:?}");
            }
            Err(reason) => assert!(reason.starts_with("NVML"), "{reason}"),
        }
    }
}
