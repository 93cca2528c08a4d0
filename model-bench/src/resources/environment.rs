//! Reads the environment a run is measured in: the OS, CPU and memory (sysinfo), the GPUs
//! (NVML), the git checkout and the locked versions of the crates that shape the numbers.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::results::{BenchResult, Environment, GitInfo};

/// The crates whose versions go into the environment, when the lock file has them and this build
/// links them (the optional ones only with the feature that pulls them in).
const REPORTED_CRATES: [(&str, bool); 13] = [
    ("model-bench", true),
    ("criterion", true),
    ("nvml-wrapper", true),
    ("ort", cfg!(feature = "ort")),
    ("tract-onnx", cfg!(feature = "ort")),
    ("tch", cfg!(feature = "tch")),
    ("cudarc", cfg!(feature = "cuda")),
    ("tokio", cfg!(feature = "remote")),
    ("hyper", cfg!(feature = "remote")),
    ("h2", cfg!(feature = "remote")),
    ("reqwest", cfg!(feature = "remote")),
    ("tonic", cfg!(feature = "remote")),
    ("prost", cfg!(feature = "remote")),
];

/// Whether a runtime crate did the work of at least one bench, as the benches' facts say
/// (`backend`, and a CUDA stage with measured points); crates that are not runtimes count
/// as used whenever they are linked.
fn used_by(name: &str, benches: &[BenchResult]) -> bool {
    let backend_is = |wanted: &[&str]| {
        benches.iter().any(|b| {
            b.facts
                .get("backend")
                .is_some_and(|backend| wanted.contains(&backend.as_str()))
        })
    };
    match name {
        "ort" => backend_is(&["tract", "onnxruntime"]),
        "tract-onnx" => backend_is(&["tract"]),
        "tch" => backend_is(&["libtorch"]),
        "cudarc" => benches
            .iter()
            .any(|b| b.device == "cuda" && b.remote.is_none() && !b.points.is_empty()),
        _ => true,
    }
}

impl Environment {
    /// Reads the machine's description; `repo_dir` is where to look for a git checkout.
    pub fn collect(repo_dir: &Path) -> Self {
        use sysinfo::System;
        let system = System::new_with_specifics(
            sysinfo::RefreshKind::nothing()
                .with_cpu(sysinfo::CpuRefreshKind::nothing())
                .with_memory(sysinfo::MemoryRefreshKind::nothing().with_ram()),
        )
        .ok();
        let cpus = system.as_ref().map(|s| s.cpus());
        let gpu = super::gpu::describe();
        Environment {
            os: System::long_os_version().ok(),
            kernel: System::kernel_version().ok(),
            arch: std::env::consts::ARCH.to_string(),
            hostname: System::host_name().ok(),
            cpu_model: cpus
                .and_then(|cpus| cpus.first())
                .map(|cpu| cpu.brand().trim().to_string())
                .filter(|brand| !brand.is_empty()),
            physical_cores: System::physical_core_count().ok(),
            logical_cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            memory_bytes: system.as_ref().map(|s| s.total_memory()).filter(|m| *m > 0),
            rustc: env!("MODEL_BENCH_RUSTC_VERSION").to_string(),
            model_bench_version: env!("CARGO_PKG_VERSION").to_string(),
            git: git_info(repo_dir),
            crates: locked_versions(repo_dir),
            gpu: gpu.as_ref().ok().cloned(),
            gpu_note: gpu.err(),
            machine: None,
        }
    }

    /// Leaves out the runtime crates no bench of `benches` ran on: a build with the `tch` feature
    /// links libtorch's bindings, but a run of ONNX benches did not use them.
    pub fn keep_crates_used_by(&mut self, benches: &[BenchResult]) {
        self.crates.retain(|name, _| used_by(name, benches));
    }
}

fn git_info(dir: &Path) -> Option<GitInfo> {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok())
    };
    let commit = git(&["rev-parse", "HEAD"])?.trim().to_string();
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .map(|status| !status.trim().is_empty())
        .unwrap_or(false);
    Some(GitInfo { commit, dirty })
}

/// The reported crates' versions from the first `Cargo.lock` at or above `dir`, else above this
/// executable (a bench binary in `<workspace>/target/release/deps`).
fn locked_versions(dir: &Path) -> BTreeMap<String, String> {
    #[derive(serde::Deserialize)]
    struct Lock {
        #[serde(default)]
        package: Vec<Package>,
    }
    #[derive(serde::Deserialize)]
    struct Package {
        name: String,
        version: String,
    }
    let exe = std::env::current_exe().ok();
    let lock = dir
        .ancestors()
        .chain(exe.iter().flat_map(|exe| exe.ancestors()))
        .map(|d| d.join("Cargo.lock"))
        .find(|path| path.is_file())
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| toml::from_str::<Lock>(&text).ok());
    let mut versions: BTreeMap<String, String> = BTreeMap::new();
    for package in lock.map(|l| l.package).unwrap_or_default() {
        let linked = REPORTED_CRATES
            .iter()
            .any(|(name, linked)| *linked && *name == package.name);
        if linked {
            versions
                .entry(package.name)
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&package.version);
                })
                .or_insert(package.version);
        }
    }
    versions
}

#[cfg(test)]
mod tests {
    #[test]
    fn crate_versions_come_from_the_lock_file_above() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.lock"),
            "version = 4\n[[package]]\nname = \"criterion\"\nversion = \"0.8.2\"\n\
             [[package]]\nname = \"h2\"\nversion = \"0.3.26\"\n\
             [[package]]\nname = \"h2\"\nversion = \"0.4.12\"\n\
             [[package]]\nname = \"serde\"\nversion = \"1.0.0\"\n\
             [[package]]\nname = \"tch\"\nversion = \"0.26.0\"\n",
        )
        .unwrap();
        let nested = dir.path().join("benches");
        std::fs::create_dir(&nested).unwrap();
        let versions = super::locked_versions(&nested);
        assert_eq!(versions["criterion"], "0.8.2");
        if cfg!(feature = "remote") {
            assert_eq!(versions["h2"], "0.3.26, 0.4.12");
        } else {
            assert!(!versions.contains_key("h2"));
        }
        assert!(!versions.contains_key("serde"));
        // Listed only where this build links it.
        assert_eq!(versions.contains_key("tch"), cfg!(feature = "tch"));
    }

    #[test]
    fn runtime_crates_no_bench_ran_on_are_left_out() {
        use crate::results::Environment;
        let mut environment = Environment::collect(std::path::Path::new("."));
        environment.crates = ["criterion", "ort", "tract-onnx", "tch", "cudarc"]
            .iter()
            .map(|name| (name.to_string(), "1".to_string()))
            .collect();
        let bench: crate::results::BenchResult = serde_json::from_value(serde_json::json!({
            "id": "p/forward", "name": "forward", "pipeline": "p", "stage": "forward",
            "device": "cpu", "source": "benches/p.rs:1", "status": "ok", "error": null,
            "points": [], "sweep": null, "cold": null,
            "facts": {"backend": "onnxruntime"}
        }))
        .unwrap();
        environment.keep_crates_used_by(&[bench]);
        let kept: Vec<&str> = environment.crates.keys().map(String::as_str).collect();
        assert_eq!(kept, ["criterion", "ort"]);
    }
}
