#!/usr/bin/env bash
# The GPU checks, in one run on a machine with an NVIDIA GPU: the CUDA tests (tests/cuda.rs),
# benches/gpu.rs (SGEMM warm and cold-L2, CUDA events), and scripts/gpu_reference.py (the same
# GEMMs timed with torch.cuda.Event and triton's do_bench), then the comparison table that
# docs/PERFORMANCE.md records.
#
# Binaries come from `scripts/gpu_check.sh --build DIR` on any machine (no GPU needed); then, on
# the GPU machine: `scripts/gpu_check.sh --run DIR OUT`.
set -uo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
--build)
    dir=${2:?--build DIR}
    mkdir -p "$dir"
    cargo build --release --features cuda --bin model-bench-fixture --bench gpu --test cuda \
        --message-format=json-render-diagnostics >"$dir/build.json" || exit 1
    python3 - "$dir" <<'PY'
import json, shutil, subprocess, sys
dir = sys.argv[1]
names = {("bin", "model-bench-fixture"): "fixture", ("bench", "gpu"): "bench-gpu", ("test", "cuda"): "test-cuda"}
for line in open(f"{dir}/build.json"):
    message = json.loads(line)
    if message.get("reason") != "compiler-artifact" or not message.get("executable"):
        continue
    target = message["target"]
    key = (target["kind"][0], target["name"])
    if key in names:
        shutil.copy(message["executable"], f"{dir}/{names[key]}")
        subprocess.run(["strip", f"{dir}/{names[key]}"], check=True)
        print(names[key], "<-", message["executable"])
PY
    rm -f "$dir/build.json"
    # Compressed, so the three binaries travel to a GPU machine within a 64 MiB copy.
    (cd "$dir" && tar cJf binaries.tar.xz fixture bench-gpu test-cuda && rm fixture bench-gpu test-cuda)
    ls -la "$dir"
    ;;
--run)
    dir=${2:?--run DIR OUT}
    out=${3:?--run DIR OUT}
    [ -f "$dir/binaries.tar.xz" ] && tar xJf "$dir/binaries.tar.xz" -C "$dir"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.draw --format=csv
    # cudarc looks for libcublas.so (and .so.12 for its CUDA 12.8 bindings); the wheel that
    # CuPy and PyTorch use has libcublas.so.13: point both at the same library.
    cublas=$(python3 -c "import glob, site; print(sorted(p for s in site.getsitepackages() for p in glob.glob(s + '/nvidia/**/libcublas.so.*', recursive=True))[0])" 2>/dev/null)
    [ -n "$cublas" ] || cublas=$(ls /usr/local/cuda/lib64/libcublas.so.* 2>/dev/null | head -1)
    echo "cuBLAS: $cublas"
    python3 -c "import onnxruntime as o; print('onnxruntime', o.__version__, o.get_available_providers())" 2>&1 | tail -1
    mkdir -p /tmp/culib && ln -sf "$cublas" /tmp/culib/libcublas.so
    export LD_LIBRARY_PATH="/tmp/culib:$(dirname "$cublas"):${LD_LIBRARY_PATH:-}"
    echo "== tests/cuda.rs"
    MODEL_BENCH_FIXTURE="$PWD/$dir/fixture" "$dir/test-cuda" --test-threads 1 2>&1 | tee "$out/test-cuda.log"
    echo "== benches/gpu.rs"
    MODEL_BENCH_OUTPUT_DIR=/tmp/model-bench-gpu CRITERION_HOME=/tmp/criterion \
        "$dir/bench-gpu" --bench --warm-up-time 1 --measurement-time 3 >"$out/bench-gpu.log" 2>&1
    echo "bench exit $?"; tail -40 "$out/bench-gpu.log"
    cp /tmp/model-bench-gpu/results.json "$out/gpu-results.json"
    cp /tmp/model-bench-gpu/summary.md "$out/gpu-summary.md"
    echo "== reference"
    PYTHONUNBUFFERED=1 python3 scripts/gpu_reference.py "$out/reference.json" 2>&1 | tail -12
    python3 scripts/gpu_compare.py "$out/gpu-results.json" "$out/reference.json" | tee "$out/comparison.md"
    if [ -n "${GPU_CHECK_REPEAT:-}" ]; then
        # The same bench and reference again: the run-to-run spread a difference must beat.
        echo "== again"
        MODEL_BENCH_OUTPUT_DIR=/tmp/model-bench-gpu2 CRITERION_HOME=/tmp/criterion2 \
            "$dir/bench-gpu" --bench 'sgemm' --warm-up-time 1 --measurement-time 3 >/dev/null 2>&1
        PYTHONUNBUFFERED=1 python3 scripts/gpu_reference.py /tmp/reference2.json >/dev/null 2>&1
        python3 scripts/gpu_compare.py /tmp/model-bench-gpu2/results.json /tmp/reference2.json | tee "$out/comparison2.md"
    fi
    ;;
*)
    echo "usage: $0 --build DIR | --run DIR OUT" >&2
    exit 2
    ;;
esac
