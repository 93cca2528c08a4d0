//! Environment metadata: where and with what the numbers were measured.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub os: Option<String>,
    pub kernel: Option<String>,
    pub arch: String,
    pub hostname: Option<String>,
    pub cpu_model: Option<String>,
    pub physical_cores: Option<usize>,
    pub logical_cores: usize,
    pub memory_bytes: Option<u64>,
    pub rustc: String,
    pub model_bench_version: String,
    pub git: Option<GitInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitInfo {
    pub commit: String,
    /// Uncommitted changes to tracked files were present.
    pub dirty: bool,
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
        }
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
