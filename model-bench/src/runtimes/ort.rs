//! ONNX models through the `ort` API: the pure-Rust tract backend by default, real ONNX Runtime
//! (feature `onnxruntime`) when `ORT_DYLIB_PATH` names its shared library. The backend is chosen
//! once per process, before ort is first used, and every failure is an error, never a panic.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ndarray::{ArrayD, ArrayViewD};
use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;

/// The ndarray version [`OnnxModel::run`] takes and returns, so a bench builds its input with
/// the same crate (`model_bench::runtimes::ort::ndarray::ArrayD`) without pinning its own.
pub use ndarray;

/// Path of ONNX Runtime's shared library (`libonnxruntime.so.*`), as ort itself names it.
pub const ENV_ORT_DYLIB_PATH: &str = "ORT_DYLIB_PATH";
/// `tract` or `onnxruntime`; without it, ONNX Runtime is used when `ORT_DYLIB_PATH` is set.
pub const ENV_ORT_BACKEND: &str = "MODEL_BENCH_ORT_BACKEND";

/// Why an ONNX backend, model or inference failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The backend cannot be chosen or set up: an invalid `MODEL_BENCH_ORT_BACKEND`, an ONNX
    /// Runtime library that cannot be loaded, or a build without the `onnxruntime` feature. The
    /// process's backend is set up once, so a failure there holds for the rest of the process.
    #[error("ONNX backend unavailable: {0}")]
    Backend(String),
    /// The model file is missing or invalid, has no input or output, or the execution provider
    /// cannot be used.
    #[error("cannot load ONNX model {path}: {message}")]
    Load {
        /// The model file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Running the model failed, e.g. the input does not fit the model or the output is not
    /// `f32`.
    #[error("inference with ONNX model {path} failed: {message}")]
    Run {
        /// The model file.
        path: PathBuf,
        /// The backend's error.
        message: String,
    },
}

/// Which engine runs ONNX models in this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// tract, in pure Rust: no native library, single-threaded.
    Tract,
    /// ONNX Runtime loaded from this shared library.
    OnnxRuntime {
        /// Path of the shared library (`libonnxruntime.so.*`), from `ORT_DYLIB_PATH`.
        library: PathBuf,
    },
}

impl Backend {
    /// Chooses the backend from `MODEL_BENCH_ORT_BACKEND` and `ORT_DYLIB_PATH` (as `var` reads them).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Backend, RuntimeError> {
        let library = var(ENV_ORT_DYLIB_PATH).filter(|p| !p.is_empty());
        match var(ENV_ORT_BACKEND).as_deref().map(str::trim) {
            Some("tract") => Ok(Backend::Tract),
            Some("onnxruntime") | Some("ort") => match library {
                Some(path) => Ok(Backend::OnnxRuntime {
                    library: PathBuf::from(path),
                }),
                None => Err(RuntimeError::Backend(format!(
                    "{ENV_ORT_BACKEND}=onnxruntime needs {ENV_ORT_DYLIB_PATH} set to the path of \
                     libonnxruntime.so (e.g. site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1 \
                     from the PyPI onnxruntime wheel)"
                ))),
            },
            None | Some("") => Ok(match library {
                Some(path) => Backend::OnnxRuntime {
                    library: PathBuf::from(path),
                },
                None => Backend::Tract,
            }),
            Some(other) => Err(RuntimeError::Backend(format!(
                "{ENV_ORT_BACKEND}={other} is not a backend; use `tract` or `onnxruntime`"
            ))),
        }
    }

    /// `tract` or `onnxruntime`, as the results record it.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Tract => "tract",
            Backend::OnnxRuntime { .. } => "onnxruntime",
        }
    }
}

struct Runtime {
    backend: Backend,
    /// The backend's version as loaded: ONNX Runtime's own `GetVersionString`, or the tract
    /// this crate was built with.
    version: String,
    environment: Environment,
}

/// The tract-onnx behind the `ort` API when no ONNX Runtime is loaded, as pinned in Cargo.toml (a
/// test checks it against Cargo.lock).
pub const TRACT_VERSION: &str = "0.23.9 (ort-tract 0.5.0)";

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The process's ONNX backend, set up on first use from the environment.
pub fn backend() -> Result<&'static Backend, RuntimeError> {
    runtime().map(|r| &r.backend)
}

/// The backend's version as loaded (ONNX Runtime's `GetVersionString`, or [`TRACT_VERSION`]).
pub fn backend_version() -> Result<&'static str, RuntimeError> {
    runtime().map(|r| r.version.as_str())
}

fn runtime() -> Result<&'static Runtime, RuntimeError> {
    RUNTIME
        .get_or_init(|| {
            let backend =
                Backend::from_env(|name| std::env::var(name).ok()).map_err(|e| e.to_string())?;
            let version = install_api(&backend)?;
            let environment = ort::init()
                .with_name("model-bench")
                .build()
                .map_err(|e| format!("cannot create the {} environment: {e}", backend.name()))?;
            Ok(Runtime {
                backend,
                version,
                environment,
            })
        })
        .as_ref()
        .map_err(|message| RuntimeError::Backend(message.clone()))
}

/// Installs the backend's API table; its version.
fn install_api(backend: &Backend) -> Result<String, String> {
    match backend {
        Backend::Tract => {
            ort::set_api(ort_tract::api());
            Ok(TRACT_VERSION.to_string())
        }
        Backend::OnnxRuntime { library } => load_onnxruntime(library),
    }
}

#[cfg(feature = "onnxruntime")]
fn load_onnxruntime(path: &Path) -> Result<String, String> {
    let describe = |what: String| format!("{ENV_ORT_DYLIB_PATH}={}: {what}", path.display());
    if !path.is_file() {
        return Err(describe("no such file; point it at libonnxruntime.so from the PyPI onnxruntime 1.31.1 wheel (site-packages/onnxruntime/capi/)".into()));
    }
    // SAFETY: loading ONNX Runtime runs its initialisers, which is what this feature asks for. The
    // library is kept loaded for the rest of the process (leaked) because ort holds its API table.
    let library = unsafe { libloading::Library::new(path) }
        .map_err(|e| describe(format!("cannot load it as a shared library: {e}")))?;
    let library: &'static libloading::Library = Box::leak(Box::new(library));
    type GetApiBase = unsafe extern "C" fn() -> *const ort::sys::OrtApiBase;
    // SAFETY: `OrtGetApiBase` has this signature in every ONNX Runtime release.
    let get_api_base = unsafe { library.get::<GetApiBase>(b"OrtGetApiBase\0") }.map_err(|e| {
        describe(format!(
            "not an ONNX Runtime library (no OrtGetApiBase): {e}"
        ))
    })?;
    // SAFETY: the function returns a pointer to a static table, or null.
    let base = unsafe { get_api_base() };
    if base.is_null() {
        return Err(describe("OrtGetApiBase returned null".into()));
    }
    // SAFETY: `base` is non-null and points at ONNX Runtime's static `OrtApiBase`.
    let api = unsafe { ((*base).GetApi)(ort::sys::ORT_API_VERSION) };
    if api.is_null() {
        return Err(describe(format!(
            "this ONNX Runtime does not provide API version {} (it is too old; use 1.31)",
            ort::sys::ORT_API_VERSION
        )));
    }
    // SAFETY: `api` is non-null and points at the static table for the requested version.
    ort::set_api(unsafe { std::ptr::read(api) });
    // SAFETY: `base` is ONNX Runtime's static `OrtApiBase`; the string is static and
    // NUL-terminated, or null.
    let version = unsafe { ((*base).GetVersionString)() };
    Ok(if version.is_null() {
        "unknown".to_string()
    } else {
        // SAFETY: non-null, NUL-terminated, static.
        unsafe { std::ffi::CStr::from_ptr(version) }
            .to_string_lossy()
            .into_owned()
    })
}

#[cfg(not(feature = "onnxruntime"))]
fn load_onnxruntime(path: &Path) -> Result<String, String> {
    Err(format!(
        "{ENV_ORT_DYLIB_PATH}={} asks for ONNX Runtime, but model-bench was built without its \
         `onnxruntime` feature",
        path.display()
    ))
}

/// What a loaded model runs on, for the bench's results (`crate::facts`).
fn record_facts(runtime: &Runtime, provider: ExecutionProvider, path: &Path) {
    crate::facts::record("backend", runtime.backend.name());
    crate::facts::record("backend.version", &runtime.version);
    if let Backend::OnnxRuntime { library } = &runtime.backend {
        crate::facts::record("backend.library", &library.to_string_lossy());
    }
    crate::facts::record("execution_provider", &provider.to_string());
    crate::facts::record("graph_optimization", "level 3");
    // Sessions are built without a thread count: ONNX Runtime's default is one intra-op thread
    // per physical core; tract runs a model on the calling thread.
    crate::facts::record(
        "threads",
        match runtime.backend {
            Backend::Tract => "1",
            Backend::OnnxRuntime { .. } => "default (one per physical core)",
        },
    );
    crate::facts::record_model(path);
}

/// Where ONNX Runtime runs a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutionProvider {
    /// The CPU (tract, or ONNX Runtime's CPU provider).
    #[default]
    Cpu,
    /// ONNX Runtime's CUDA execution provider on this device. It needs an ONNX Runtime built with
    /// it (the `onnxruntime-gpu` wheel's library) and the CUDA and cuDNN libraries it loads. It
    /// runs on a stream of its own: `run` copies the output back to the host, which waits for
    /// that stream, so a wall-clock `b.iter` times the whole forward pass, transfers included.
    Cuda {
        /// The CUDA device's index (0 for the first GPU).
        device_id: i32,
    },
}

impl std::fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecutionProvider::Cpu => write!(f, "CPU"),
            ExecutionProvider::Cuda { device_id } => write!(f, "CUDA device {device_id}"),
        }
    }
}

#[cfg(feature = "onnxruntime")]
fn with_provider(
    builder: ort::session::builder::SessionBuilder,
    provider: ExecutionProvider,
    backend: &Backend,
) -> Result<ort::session::builder::SessionBuilder, String> {
    match provider {
        ExecutionProvider::Cpu => Ok(builder),
        ExecutionProvider::Cuda { device_id } => {
            let Backend::OnnxRuntime { library } = backend else {
                return Err(format!(
                    "the CUDA execution provider needs ONNX Runtime, and this process runs tract: \
                     set {ENV_ORT_DYLIB_PATH} to an ONNX Runtime library built with CUDA \
                     (onnxruntime-gpu)"
                ));
            };
            let cuda = ort::ep::CUDA::default()
                .with_device_id(device_id)
                .build()
                .error_on_failure();
            builder.with_execution_providers([cuda]).map_err(|e| {
                format!(
                    "the CUDA execution provider (device {device_id}) is not usable with {}: {e}",
                    library.display()
                )
            })
        }
    }
}

#[cfg(not(feature = "onnxruntime"))]
fn with_provider(
    builder: ort::session::builder::SessionBuilder,
    provider: ExecutionProvider,
    _backend: &Backend,
) -> Result<ort::session::builder::SessionBuilder, String> {
    match provider {
        ExecutionProvider::Cpu => Ok(builder),
        ExecutionProvider::Cuda { .. } => Err(
            "the CUDA execution provider needs ONNX Runtime: model-bench was built without its \
             `onnxruntime` feature"
                .into(),
        ),
    }
}

/// An ONNX model with one float input and one float output, ready to run.
pub struct OnnxModel {
    session: Session,
    path: PathBuf,
    input: String,
    output: String,
    input_shape: Vec<i64>,
    output_shape: Vec<i64>,
}

impl OnnxModel {
    /// Loads and optimises the model at `path` on the process's backend, on the CPU.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, RuntimeError> {
        Self::load_on(path, ExecutionProvider::Cpu)
    }

    /// Loads and optimises the model at `path` to run on `provider`; a provider this ONNX
    /// Runtime cannot use is an error naming it, the device and the library (never a silent
    /// fallback to the CPU).
    pub fn load_on(
        path: impl AsRef<Path>,
        provider: ExecutionProvider,
    ) -> Result<Self, RuntimeError> {
        let path = path.as_ref().to_path_buf();
        let runtime = runtime()?;
        let load_error = |message: String| RuntimeError::Load {
            path: path.clone(),
            message,
        };
        if !path.is_file() {
            return Err(load_error("no such file".into()));
        }
        // tract runs the unoptimised graph unless asked; level 3 makes it ~25 % faster here.
        let builder = Session::builder(&runtime.environment)
            .map_err(|e| load_error(e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| load_error(e.to_string()))?;
        let session = with_provider(builder, provider, &runtime.backend)
            .map_err(|message| load_error(format!("on {provider}: {message}")))?
            .commit_from_file(&path)
            .map_err(|e| load_error(e.to_string()))?;
        // The first input and output, with their declared shapes (-1 for a dynamic dimension).
        let outlet = |outlets: &[ort::value::Outlet], what: &str| {
            outlets
                .first()
                .map(|o| {
                    let shape = o.dtype().tensor_shape().map(|s| s.to_vec());
                    (o.name().to_string(), shape.unwrap_or_default())
                })
                .ok_or_else(|| load_error(format!("the model has no {what}")))
        };
        let (input, input_shape) = outlet(session.inputs(), "inputs")?;
        let (output, output_shape) = outlet(session.outputs(), "outputs")?;
        record_facts(runtime, provider, &path);
        Ok(OnnxModel {
            session,
            path,
            input,
            output,
            input_shape,
            output_shape,
        })
    }

    /// The model file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The name of the model's first input, the one [`run`](OnnxModel::run) feeds.
    pub fn input_name(&self) -> &str {
        &self.input
    }

    /// The name of the model's first output, the one [`run`](OnnxModel::run) returns.
    pub fn output_name(&self) -> &str {
        &self.output
    }

    /// The first input's declared shape; -1 marks a dynamic dimension (such as the batch).
    pub fn input_shape(&self) -> &[i64] {
        &self.input_shape
    }

    /// The first output's declared shape; -1 marks a dynamic dimension.
    pub fn output_shape(&self) -> &[i64] {
        &self.output_shape
    }

    /// Runs the model on one float tensor and returns its first output.
    pub fn run(&mut self, input: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>, RuntimeError> {
        let run_error = |message: String| RuntimeError::Run {
            path: self.path.clone(),
            message,
        };
        let tensor = TensorRef::from_array_view(input).map_err(|e| run_error(e.to_string()))?;
        let outputs = self
            .session
            .run(ort::inputs![self.input.as_str() => tensor])
            .map_err(|e| run_error(e.to_string()))?;
        let array = outputs[self.output.as_str()]
            .try_extract_array::<f32>()
            .map_err(|e| run_error(e.to_string()))?
            .to_owned();
        Ok(array)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn choose(vars: &[(&str, &str)]) -> Result<Backend, RuntimeError> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        Backend::from_env(|name| vars.get(name).map(|v| v.to_string()))
    }

    #[test]
    fn backend_choice() {
        assert_eq!(choose(&[]).unwrap(), Backend::Tract);
        assert_eq!(
            choose(&[(ENV_ORT_DYLIB_PATH, "/x/libonnxruntime.so")]).unwrap(),
            Backend::OnnxRuntime {
                library: "/x/libonnxruntime.so".into()
            }
        );
        assert_eq!(
            choose(&[(ENV_ORT_DYLIB_PATH, "/x.so"), (ENV_ORT_BACKEND, "tract")]).unwrap(),
            Backend::Tract
        );
        let error = choose(&[(ENV_ORT_BACKEND, "onnxruntime")])
            .unwrap_err()
            .to_string();
        assert!(error.contains(ENV_ORT_DYLIB_PATH), "{error}");
        let error = choose(&[(ENV_ORT_BACKEND, "tensorrt")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("tensorrt"), "{error}");
    }

    #[test]
    fn the_tract_version_named_in_results_is_the_one_built() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"))
            .expect("the workspace's Cargo.lock");
        assert!(TRACT_VERSION.starts_with("0.23.9 "), "{TRACT_VERSION}");
        assert!(TRACT_VERSION.contains("ort-tract 0.5.0"), "{TRACT_VERSION}");
        for (name, version) in [("tract-onnx", "0.23.9"), ("ort-tract", "0.5.0")] {
            let entry = format!("name = \"{name}\"\nversion = \"{version}");
            assert!(lock.contains(&entry), "Cargo.lock has no {name} {version}");
        }
    }
}
