#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need (a Python venv with the
# PyPI onnxruntime wheel, for the real-ONNX-Runtime path, and one with MLServer, a real V2 server),
# then runs every test, on tract and on ONNX Runtime. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.31.1
VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import onnxruntime, sys; sys.exit(onnxruntime.__version__ != '$ORT_VERSION')" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "onnxruntime==$ORT_VERSION"
fi
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

# `--features cuda` builds the CUDA-event timing (cudarc loads the driver at run time, so it builds
# without CUDA); on a machine without a driver its benches are skipped, which the tests check.
echo "== formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --release --features cuda -- -D warnings

echo "== every test (ONNX models on tract)"
cargo test --workspace --release --features cuda

echo "== the example benches once each, then the ONNX tests, on ONNX Runtime ($ORT_LIB)"
ORT_DYLIB_PATH="$ORT_LIB" cargo test --release --bench pipeline --bench serving
ORT_DYLIB_PATH="$ORT_LIB" cargo test --release --test onnx
