//! What `cargo package` puts in the two published crates: each carries its README and both
//! license files, and the library carries the gRPC service definition its build script compiles
//! (a link to the top-level `proto/`, the one copy, so the two cannot drift apart).

use std::path::Path;
use std::process::Command;

/// The files `cargo package --list` would pack for `package`.
fn packaged(package: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "-p", package])
        .current_dir(root)
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo package --list -p {package}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn both_crates_carry_their_readme_and_licenses() {
    for package in ["model-bench", "model-bench-macros"] {
        let files = packaged(package);
        for wanted in ["README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
            assert!(
                files.iter().any(|f| f == wanted),
                "{package} does not pack {wanted}: {files:?}"
            );
        }
    }
}

#[test]
fn the_library_packs_the_proto_its_build_compiles_and_it_is_the_top_level_one() {
    let files = packaged("model-bench");
    assert!(
        files.iter().any(|f| f == "proto/grpc_service.proto"),
        "{files:?}"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let packed = std::fs::read(root.join("model-bench/proto/grpc_service.proto")).unwrap();
    let source = std::fs::read(root.join("proto/grpc_service.proto")).unwrap();
    assert_eq!(
        packed, source,
        "model-bench/proto/ must be the top-level proto/"
    );
    let link =
        std::fs::symlink_metadata(root.join("model-bench/proto/grpc_service.proto")).unwrap();
    assert!(
        link.file_type().is_symlink(),
        "model-bench/proto/grpc_service.proto is a copy: make it a link to ../../proto/"
    );
}
