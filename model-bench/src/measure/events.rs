//! Device clocks: time work by events recorded on the queue that runs it (CUDA events on a
//! stream), as nvbench and triton's `do_bench` do, instead of a host clock racing asynchronous
//! launches. The host waits once per sample, after the stop event; the same sample's host wall time
//! is kept beside the device time.

use std::fmt::Display;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A clock that timestamps the work queued on one device stream.
pub trait EventClock {
    /// A recorded event, a point on the device's timeline.
    type Event;
    /// Why recording or timing an event failed.
    type Error: Display;
    /// Records an event behind the work queued so far; does not wait.
    fn record(&self) -> Result<Self::Event, Self::Error>;
    /// Waits for `stop` and returns the device time between the two events.
    fn elapsed(&self, start: &Self::Event, stop: &Self::Event) -> Result<Duration, Self::Error>;
}

/// One sample: `iters` calls between a start and a stop event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventSample {
    /// Device time between the events.
    pub device: Duration,
    /// Host wall time from before the start event until the stop event completed.
    pub host: Duration,
    /// Host wall time from before the start event until the stop event was queued: how long the
    /// host took to queue the calls.
    pub enqueue: Duration,
}

impl EventSample {
    /// The host queued the calls no faster than the device ran them: the device must have waited
    /// for launches, so its time includes idle gaps and measures the launch rate, not the work.
    /// (A tenth of slack: a host that is barely ahead still starves the device at moments.)
    pub fn launch_bound(&self) -> bool {
        self.enqueue.as_secs_f64() >= 0.9 * self.device.as_secs_f64()
    }
}

/// Runs `routine` `iters` times between two events on `clock`'s stream and waits for the stop
/// event only at the end.
pub fn time_iters<C: EventClock, O>(
    clock: &C,
    iters: u64,
    mut routine: impl FnMut() -> O,
) -> Result<EventSample, C::Error> {
    let host_started = Instant::now();
    let start = clock.record()?;
    for _ in 0..iters {
        black_box(routine());
    }
    let stop = clock.record()?;
    let enqueue = host_started.elapsed();
    let device = clock.elapsed(&start, &stop)?;
    Ok(EventSample {
        device,
        host: host_started.elapsed(),
        enqueue,
    })
}

/// The cold-cache regime: before each call `flush` queues work that evicts the device's cache
/// (e.g. writing a buffer larger than L2) on the same stream, and each call is timed between its
/// own pair of events, so the flushes are never counted. The host waits once, at the end.
pub fn time_iters_flushed<C: EventClock, O>(
    clock: &C,
    iters: u64,
    mut flush: impl FnMut(),
    mut routine: impl FnMut() -> O,
) -> Result<Duration, C::Error> {
    let mut pairs = Vec::with_capacity(iters as usize);
    for _ in 0..iters {
        flush();
        let start = clock.record()?;
        black_box(routine());
        pairs.push((start, clock.record()?));
    }
    let mut device = Duration::ZERO;
    for (start, stop) in &pairs {
        device += clock.elapsed(start, stop)?;
    }
    Ok(device)
}

#[cfg(test)]
pub(crate) mod fake {
    //! A device that exists only as a counter: each routine call adds a fixed device time.
    use std::cell::Cell;
    use std::time::Duration;

    use super::EventClock;

    pub struct FakeDevice {
        /// Device nanoseconds queued so far.
        pub queued_ns: Cell<u64>,
        pub waits: Cell<u32>,
    }

    impl FakeDevice {
        pub fn new() -> Self {
            FakeDevice {
                queued_ns: Cell::new(0),
                waits: Cell::new(0),
            }
        }

        pub fn launch(&self, ns: u64) {
            self.queued_ns.set(self.queued_ns.get() + ns);
        }
    }

    impl EventClock for FakeDevice {
        type Event = u64;
        type Error = String;
        fn record(&self) -> Result<u64, String> {
            Ok(self.queued_ns.get())
        }
        fn elapsed(&self, start: &u64, stop: &u64) -> Result<Duration, String> {
            self.waits.set(self.waits.get() + 1);
            stop.checked_sub(*start)
                .map(Duration::from_nanos)
                .ok_or_else(|| "stop before start".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeDevice;
    use super::*;

    #[test]
    fn a_sample_is_the_device_time_between_its_events_and_waits_once() {
        let device = FakeDevice::new();
        // 1.5 s of (counted, not spent) device time per call: the host's few microseconds of
        // launching stay far below it on any machine.
        let sample = time_iters(&device, 7, || device.launch(1_500_000_000)).unwrap();
        assert_eq!(sample.device, Duration::from_nanos(7 * 1_500_000_000));
        assert_eq!(device.waits.get(), 1);
        // Launching is instant on the host; the device time is not the host's.
        assert!(sample.host < sample.device);
        assert!(sample.enqueue <= sample.host);
        assert!(!sample.launch_bound());
    }

    /// Each call takes the host longer to launch than the device to run: the device idles
    /// between calls, and the sample says so.
    #[test]
    fn a_host_slower_than_the_device_makes_a_launch_bound_sample() {
        let device = FakeDevice::new();
        let sample = time_iters(&device, 5, || {
            std::thread::sleep(Duration::from_millis(2));
            device.launch(1_000);
        })
        .unwrap();
        assert!(sample.launch_bound(), "{sample:?}");
    }

    #[test]
    fn the_cold_regime_counts_each_call_and_never_the_flush() {
        let device = FakeDevice::new();
        let flushes = std::cell::Cell::new(0);
        let device_time = time_iters_flushed(
            &device,
            5,
            || {
                flushes.set(flushes.get() + 1);
                device.launch(1_000_000);
            },
            || device.launch(3_000),
        )
        .unwrap();
        assert_eq!(device_time, Duration::from_nanos(5 * 3_000));
        assert_eq!(flushes.get(), 5, "one flush before every call");
    }
}
