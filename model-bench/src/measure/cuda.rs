//! CUDA events (feature `cuda`, cudarc with the driver loaded at run time): a start and a stop
//! event recorded on the stream that runs the work. Without a driver this is an error that says
//! so; cudarc itself would panic, so the library is looked for first.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cudarc::driver::{sys, CudaContext, CudaEvent, CudaSlice, CudaStream, DriverError};

use super::events::EventClock;

/// Why CUDA work cannot run here, once per process; `None` when a device 0 context was created.
pub fn unavailable_reason() -> Option<String> {
    static REASON: OnceLock<Option<String>> = OnceLock::new();
    REASON
        .get_or_init(|| context(0).err().map(|e| e.to_string()))
        .clone()
}

/// A CUDA device is missing or unusable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CudaError {
    /// The CUDA driver library (libcuda) could not be loaded.
    #[error("no CUDA driver: libcuda could not be loaded (is an NVIDIA driver installed?)")]
    NoDriver,
    /// A device's context could not be created, or its L2 size read or flush buffer allocated.
    #[error("CUDA device {ordinal}: {message}")]
    Device {
        /// The device's ordinal (0 is the first GPU).
        ordinal: usize,
        /// The driver's error, with what was being done.
        message: String,
    },
    /// Recording an event or reading the time between two events failed; the driver's message.
    #[error("CUDA event: {0}")]
    Event(String),
    /// The stop event completed before the start event: the pair was recorded in the wrong order
    /// or on different streams, and its time measures nothing.
    #[error(
        "CUDA events: the stop event came {0} ms before the start event (recorded in the wrong \
         order, or on different streams)"
    )]
    ReversedEvents(f32),
}

/// A context on device `ordinal`, checking for the driver library first.
pub fn context(ordinal: usize) -> Result<Arc<CudaContext>, CudaError> {
    // SAFETY: only tries to load the library; no CUDA call is made.
    if !unsafe { sys::is_culib_present() } {
        return Err(CudaError::NoDriver);
    }
    CudaContext::new(ordinal).map_err(|e| CudaError::Device {
        ordinal,
        message: e.to_string(),
    })
}

/// Times work queued on `stream` (it must be the stream the work runs on: for work launched on
/// another stream the events would time nothing).
pub struct CudaEvents {
    stream: Arc<CudaStream>,
}

impl CudaEvents {
    /// Events on `stream`, which must be the stream the timed work is queued on.
    pub fn on_stream(stream: Arc<CudaStream>) -> Self {
        CudaEvents { stream }
    }

    /// Events on device `ordinal`'s default stream.
    pub fn default_stream(ordinal: usize) -> Result<Self, CudaError> {
        Ok(CudaEvents {
            stream: context(ordinal)?.default_stream(),
        })
    }

    /// The stream the events are recorded on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }
}

/// A device buffer twice the size of the GPU's L2 cache: zeroing it on the work's stream evicts
/// whatever the previous call left in L2 (the cold-cache regime of nvbench and triton's
/// `do_bench`).
pub struct L2Flush {
    stream: Arc<CudaStream>,
    buffer: CudaSlice<u8>,
}

impl L2Flush {
    /// Sized from the device's L2 (`CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE`), at least 1 MiB.
    pub fn new(stream: &Arc<CudaStream>) -> Result<Self, CudaError> {
        let ctx = stream.context();
        let l2 = ctx
            .attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE)
            .map_err(|e| CudaError::Device {
                ordinal: ctx.ordinal(),
                message: format!("L2 cache size: {e}"),
            })?;
        let bytes = (usize::try_from(l2).unwrap_or(0) * 2).max(1 << 20);
        let buffer = stream
            .alloc_zeros::<u8>(bytes)
            .map_err(|e| CudaError::Device {
                ordinal: ctx.ordinal(),
                message: format!("allocating the {bytes}-byte L2 flush buffer: {e}"),
            })?;
        Ok(L2Flush {
            stream: Arc::clone(stream),
            buffer,
        })
    }

    /// The flush buffer's size in bytes (twice the L2 cache, at least 1 MiB).
    pub fn bytes(&self) -> usize {
        self.buffer.len()
    }

    /// Queues the flush on the stream; does not wait. A failure panics with the driver's message
    /// (inside a bench, that fails the bench with it).
    pub fn flush(&mut self) {
        if let Err(error) = self.stream.memset_zeros(&mut self.buffer) {
            panic!("L2 flush: {error}");
        }
    }
}

fn event_error(error: DriverError) -> CudaError {
    CudaError::Event(error.to_string())
}

impl EventClock for CudaEvents {
    type Event = CudaEvent;
    type Error = CudaError;

    fn record(&self) -> Result<CudaEvent, CudaError> {
        // Timing events: created without CU_EVENT_DISABLE_TIMING (cudarc's default).
        self.stream
            .record_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
            .map_err(event_error)
    }

    fn elapsed(&self, start: &CudaEvent, stop: &CudaEvent) -> Result<Duration, CudaError> {
        interval(start.elapsed_ms(stop).map_err(event_error)?)
    }
}

/// The time between two events from `cuEventElapsedTime`'s milliseconds: a negative one is an
/// error, not a zero that would pass for a very fast call.
fn interval(ms: f32) -> Result<Duration, CudaError> {
    if ms.is_nan() || ms < 0.0 {
        return Err(CudaError::ReversedEvents(-ms));
    }
    Ok(Duration::from_secs_f64(f64::from(ms) / 1e3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reversed_event_pair_is_an_error_and_not_a_zero() {
        assert_eq!(interval(1.5).unwrap(), Duration::from_micros(1500));
        assert_eq!(interval(0.0).unwrap(), Duration::ZERO);
        let error = interval(-0.25).unwrap_err().to_string();
        assert!(error.contains("0.25 ms before the start event"), "{error}");
        assert!(interval(f32::NAN).is_err());
    }
}
