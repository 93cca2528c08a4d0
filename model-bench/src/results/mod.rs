//! The one serde data model every exporter and baseline reads, and the environment it was measured in.

pub mod env;
pub mod figures;
pub mod groups;
pub mod model;
pub mod percentiles;
pub mod protocol;
pub mod resources;
pub mod scaleout;
pub mod server_state;
pub mod setup;
pub mod stream;

pub use env::{Environment, GitInfo, GpuClocks, MachineState, MachineStates, ProcessCpu};
pub use figures::*;
pub use model::*;
pub use percentiles::{Percentiles, SpectrumPoint};
pub use protocol::Protocol;
pub use resources::*;
pub use scaleout::{ScaleoutInfo, ScaleoutPoint, WorkerRow};
pub use server_state::{
    Agreement, Energy, Level, ServerState, ServerTime, StateSample, TimeBreakdown, TimePart,
};
pub use setup::{ChangeKind, Setup, SetupChange};
pub use stream::{
    Goodput, PrefixCacheStats, PromptsInfo, ReasoningStats, SessionStats, Slo, StreamStats,
    TurnStats,
};
