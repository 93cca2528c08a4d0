//! Records the compiler version for the environment metadata of every result file, and (feature
//! `remote`) compiles the Open Inference Protocol service in `proto/` with protox, so no `protoc`
//! is needed anywhere.

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
    // The .proto lives in the workspace's proto/ and, for a packaged crate, beside this script.
    let manifest =
        std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let candidates = [manifest.join("../proto"), manifest.join("proto")];
    let Some(dir) = candidates
        .iter()
        .find(|d| d.join("grpc_service.proto").exists())
    else {
        panic!("model-bench: grpc_service.proto not found in ../proto or ./proto");
    };
    let file = dir.join("grpc_service.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    let descriptors = protox::compile([&file], [dir]).unwrap_or_else(|e| panic!("{e}"));
    tonic_prost_build::configure()
        .bytes(".")
        .compile_fds(descriptors)
        .unwrap_or_else(|e| panic!("model-bench: generating the gRPC code failed: {e}"));
}
