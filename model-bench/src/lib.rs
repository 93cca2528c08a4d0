//! model-bench: criterion-grade benchmarks for ML model serving.
//!
//! Annotate functions in a `harness = false` bench target with `#[model_bench(...)]`, end the file
//! with `model_bench::main!();`, and run `cargo bench`. See the README for the options.

#![warn(missing_docs)]

// The macro's generated code names `::model_bench`; this makes that path work inside the crate too.
extern crate self as model_bench;

pub mod bencher;
mod device;
mod duration_grammar;
pub mod error;
pub mod facts;
pub mod measure;
pub mod remote;
pub mod results;
#[cfg(any(feature = "ort", feature = "tch"))]
pub mod runtimes;
#[cfg(feature = "remote")]
pub mod server;
mod sync;

// The machinery behind `cargo bench` and the `model-bench` command. It is `pub` because that
// command and this repository's tests and benches are separate crates, but it is not part of the
// API: hidden from the docs and free to change in any release.
#[doc(hidden)]
#[allow(missing_docs)]
pub mod export;
#[doc(hidden)]
#[allow(missing_docs)]
pub mod plot;
#[doc(hidden)]
#[allow(missing_docs)]
pub mod progress;
#[doc(hidden)]
#[allow(missing_docs)]
pub mod registry;
#[doc(hidden)]
#[allow(missing_docs)]
pub mod resources;
#[doc(hidden)]
#[allow(missing_docs)]
pub mod runner;
#[doc(hidden)]
#[allow(missing_docs)]
pub mod stats;
#[doc(hidden)]
#[allow(missing_docs)]
pub mod tool;

pub use bencher::Bencher;
pub use criterion::BatchSize;
pub use error::Error;
#[doc = include_str!("attribute.md")]
pub use model_bench_macros::model_bench;
pub use registry::{Device, Stage};
pub use std::hint::black_box;

/// What a bench file usually needs: `use model_bench::prelude::*;`.
pub mod prelude {
    pub use crate::bencher::Bencher;
    pub use crate::model_bench;
    pub use crate::registry::{Device, Stage};
    pub use crate::remote::llm::{Sessions, SyntheticPrompts, TokenLength, TokenScript, Trace};
    pub use crate::remote::{
        AnyEndpoint, Endpoint, InjectedLatency, OpenAiEndpoint, PostEndpoint, ReferenceConfig,
        Tensor, TensorError, V2Endpoint, V2Protocol,
    };
    pub use crate::results::Protocol;
    pub use criterion::BatchSize;
    pub use std::hint::black_box;
}

/// Runs every `#[model_bench]` function in this binary and exits with the run's status code.
/// Call it from `main` of a `harness = false` bench target, or use [`main!`].
pub fn main() -> ! {
    std::process::exit(runner::run_main())
}

/// Expands to the `main` function of a `harness = false` bench target.
#[macro_export]
macro_rules! main {
    () => {
        fn main() {
            $crate::main()
        }
    };
}

#[doc(hidden)]
#[allow(missing_docs)]
pub mod __private {
    pub use crate::registry::{
        BenchDescriptor, BenchKind, BenchOutcome, Device, IntoBenchOutcome, IntoEndpoint,
        RemoteBench, ScenarioSpec, Stage, BENCHES,
    };
    pub use core::time::Duration;
    pub use linkme;

    /// Implemented only by [`Bencher`](crate::Bencher): the attribute checks a stage bench's
    /// parameter with it, so the type may be imported under any name (`use
    /// model_bench::Bencher as B`) and anything else is an error on the parameter.
    #[diagnostic::on_unimplemented(
        message = "the parameter of a `#[model_bench]` function must be `&mut Bencher`",
        label = "this is not `model_bench::Bencher`",
        note = "`Bencher` may be imported under any name; it must be model-bench's"
    )]
    pub trait IsBencher {}

    impl IsBencher for crate::Bencher<'_, '_> {}

    /// Compiles only when `T` is [`Bencher`](crate::Bencher).
    pub fn assert_bencher<T: IsBencher + ?Sized>() {}
}
