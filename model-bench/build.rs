//! Records the compiler version for the environment metadata of every result file, and (feature
//! `remote`) compiles the Open Inference Protocol service in the crate's `proto/` (a link to the
//! workspace's `proto/`, packed as a file) with protox, so no `protoc` is needed anywhere.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=MODEL_BENCH_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-env-changed=RUSTC");

    #[cfg(feature = "remote")]
    compile_protos();
}

#[cfg(feature = "remote")]
fn compile_protos() {
    // The crate's own proto/: in the workspace a link to the top-level proto/ (the one copy),
    // in a packaged crate the file itself (cargo packs what the link points at).
    let manifest =
        std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dir = manifest.join("proto");
    if !dir.join("grpc_service.proto").is_file() {
        panic!(
            "model-bench: {} is missing; the package must carry proto/grpc_service.proto",
            dir.join("grpc_service.proto").display()
        );
    }
    let file = dir.join("grpc_service.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    let descriptors = protox::compile([&file], [&dir]).unwrap_or_else(|e| panic!("{e}"));
    tonic_prost_build::configure()
        .bytes(".")
        .compile_fds(descriptors)
        .unwrap_or_else(|e| panic!("model-bench: generating the gRPC code failed: {e}"));
}
