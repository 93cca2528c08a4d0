//! TorchScript models through tch (feature `tch`: libtorch from a PyTorch 2.13 install, found at
//! build time through `LIBTORCH` or `LIBTORCH_USE_PYTORCH=1`). Loading, inputs for a batch size
//! and forward on CPU or CUDA; every failure is an error naming the file or device, never a panic.

use std::path::{Path, PathBuf};

pub use tch::{Device, Kind, Tensor};

/// Why a TorchScript model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum TorchError {
    /// The file is missing or is not a TorchScript module libtorch can load.
    #[error("cannot load TorchScript model {path}: {message}")]
    Load {
        /// The model file.
        path: PathBuf,
        /// What libtorch reported.
        message: String,
    },
    /// The forward pass failed (wrong input shape or type, out of memory, …).
    #[error("forward of TorchScript model {path} on {device} failed: {message}")]
    Forward {
        /// The model file.
        path: PathBuf,
        /// The device it ran on (`cpu`, `cuda:0`).
        device: String,
        /// What libtorch reported.
        message: String,
    },
    /// libtorch cannot place tensors on the device (no driver, a CPU-only libtorch, no such
    /// CUDA device).
    #[error("device {device} is not available to libtorch: {message}")]
    Device {
        /// The device asked for (`cuda:1`).
        device: String,
        /// What is missing.
        message: String,
    },
}

/// A TorchScript module (`torch.jit.script` / `torch.jit.trace`, saved with `.save()`), in eval
/// mode on one device.
pub struct TorchModel {
    module: tch::CModule,
    path: PathBuf,
    device: Device,
}

/// `cpu` or `cuda:N`.
fn device_name(device: Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(index) => format!("cuda:{index}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Checks that libtorch can place tensors on `device` (a CUDA device needs a CUDA-enabled
/// libtorch linked in and a driver).
pub fn check_device(device: Device) -> Result<(), TorchError> {
    match device {
        Device::Cuda(index) => {
            let count = tch::Cuda::device_count();
            if !tch::Cuda::is_available() || index >= count as usize {
                return Err(TorchError::Device {
                    device: device_name(device),
                    message: format!(
                        "libtorch sees {count} CUDA device(s){}",
                        if tch::Cuda::is_available() {
                            ""
                        } else {
                            " (no driver, or a CPU-only libtorch)"
                        }
                    ),
                });
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The version of the libtorch this process loaded, read once from the files beside
/// `libtorch_cpu.so` (`build-version` in a libtorch download, `version.py` in PyTorch's wheel);
/// `unknown` where neither is found.
pub fn libtorch_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        let library = maps
            .lines()
            .filter_map(|line| line.split_whitespace().nth(5))
            .find(|path| path.ends_with("/libtorch_cpu.so"));
        let root = library.and_then(|l| Path::new(l).parent()?.parent().map(Path::to_path_buf));
        root.and_then(|root| {
            let build = std::fs::read_to_string(root.join("build-version")).ok();
            let wheel = || {
                let text = std::fs::read_to_string(root.join("version.py")).ok()?;
                let line = text.lines().find(|l| l.starts_with("__version__"))?;
                Some(line.split(['\'', '"']).nth(1)?.to_string())
            };
            build.map(|b| b.trim().to_string()).or_else(wheel)
        })
        .unwrap_or_else(|| "unknown".to_string())
    })
}

impl TorchModel {
    /// Loads the TorchScript file at `path` onto `device`, in eval mode.
    pub fn load(path: impl AsRef<Path>, device: Device) -> Result<TorchModel, TorchError> {
        let path = path.as_ref().to_path_buf();
        let load_error = |message: String| TorchError::Load {
            path: path.clone(),
            message,
        };
        if !path.is_file() {
            return Err(load_error("no such file".into()));
        }
        check_device(device)?;
        let mut module = tch::CModule::load_on_device(&path, device).map_err(|e| {
            load_error(format!(
                "not a TorchScript file libtorch can read ({})",
                first_line(&e.to_string())
            ))
        })?;
        module.set_eval();
        crate::facts::record("backend", "libtorch");
        crate::facts::record("backend.version", libtorch_version());
        crate::facts::record("execution_provider", &device_name(device));
        crate::facts::record("threads", &tch::get_num_threads().to_string());
        crate::facts::record_model(&path);
        Ok(TorchModel {
            module,
            path,
            device,
        })
    }

    /// The device the model is on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The file the model was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One forward pass without autograd.
    pub fn forward(&self, input: &Tensor) -> Result<Tensor, TorchError> {
        tch::no_grad(|| self.module.forward_ts(&[input])).map_err(|e| TorchError::Forward {
            path: self.path.clone(),
            device: device_name(self.device),
            message: first_line(&e.to_string()).to_string(),
        })
    }

    /// A float input of `shape` with its first dimension set to `batch`, seeded, on the model's
    /// device (made outside any timed region).
    pub fn random_input(&self, shape: &[i64], batch: usize, seed: i64) -> Tensor {
        let mut shape = shape.to_vec();
        if let Some(first) = shape.first_mut() {
            *first = batch as i64;
        }
        tch::manual_seed(seed);
        Tensor::randn(shape.as_slice(), (Kind::Float, self.device))
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
