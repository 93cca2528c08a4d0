//! The one serde data model every exporter and baseline reads, and the environment it was measured in.

pub mod env;
pub mod figures;
pub mod groups;
pub mod model;
pub mod protocol;
pub mod resources;

pub use env::{Environment, GitInfo};
pub use figures::*;
pub use model::*;
pub use protocol::Protocol;
pub use resources::*;
