//! The one serde data model every exporter and baseline reads, and the environment it was measured in.

pub mod env;
pub mod groups;
pub mod model;

pub use env::Environment;
pub use model::*;
