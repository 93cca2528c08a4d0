"""Reference GPU timings for benches/gpu.rs: the same square FP32 GEMMs timed the way PyTorch and
Triton users time them, for docs/PERFORMANCE.md's comparison with model-bench's CUDA events.

- warm: torch.cuda.Event around `calls` back-to-back calls queued behind a sleep kernel, per-call
  median over repetitions (model-bench's warm regime does the same per criterion sample);
- cold: triton.testing.do_bench, which zeroes a 256 MB buffer before every call and times each
  call between its own events (model-bench's cold-L2 regime: a buffer twice the L2).

Each size is run through two routes: cuBLAS's Sgemm itself (through CuPy, the routine
benches/gpu.rs calls) and torch.mm (TF32 off). Operands are uniform in [-1, 1).

Usage: python3 scripts/gpu_reference.py OUT.json
"""

import json
import statistics
import sys

import torch

SIZES = [512, 1024, 2048, 4096]


def queue_ahead(calls):
    """Keeps the GPU busy while Python queues the start event and `calls` launches: Python takes
    tens of microseconds per launch, longer than a small GEMM runs, so without this the events
    would time Python's launch rate (an idle GPU between calls), not the GEMM."""
    torch.cuda._sleep(int(2e6 + calls * 2e5))  # ~1 ms + ~100 µs per call at ~2 GHz


def warm_ms(fn, min_sample_ms=1.0, samples=50):
    """Per-call median of `samples` event-timed samples, each of enough calls for min_sample_ms."""
    for _ in range(10):
        fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    queue_ahead(1)
    start.record()
    fn()
    stop.record()
    stop.synchronize()
    calls = max(1, int(min_sample_ms / max(start.elapsed_time(stop), 1e-4)))
    per_call = []
    for _ in range(samples):
        queue_ahead(calls)
        start.record()
        for _ in range(calls):
            fn()
        stop.record()
        stop.synchronize()
        per_call.append(start.elapsed_time(stop) / calls)
    return statistics.median(per_call), calls


def main():
    out = sys.argv[1]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    results = {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "l2_bytes": getattr(torch.cuda.get_device_properties(0), "L2_cache_size", None),
        "sizes": {},
    }
    try:
        import triton
        import triton.testing

        results["triton"] = triton.__version__
        do_bench = triton.testing.do_bench
    except Exception as error:  # noqa: BLE001 - recorded, the warm figures still run
        results["triton_error"] = repr(error)
        do_bench = None
    try:
        import cupy
        import cupy.cublas

        results["cupy"] = cupy.__version__
    except Exception as error:  # noqa: BLE001
        results["cupy_error"] = repr(error)
        cupy = None

    generator = torch.Generator(device="cuda").manual_seed(0)
    for n in SIZES:
        a = torch.rand((n, n), device="cuda", generator=generator) * 2 - 1
        b = torch.rand((n, n), device="cuda", generator=generator) * 2 - 1
        c = torch.empty((n, n), device="cuda")
        routes = {"torch_mm": lambda: torch.mm(a, b, out=c)}
        if cupy is not None:
            ca, cb, cc = cupy.asarray(a), cupy.asarray(b), cupy.asarray(c)
            routes["cublas_sgemm"] = lambda: cupy.cublas.gemm("N", "N", ca, cb, out=cc)
        entry = {}
        for route, fn in routes.items():
            figures = {}
            try:
                figures["warm_event_median_ms"], figures["warm_calls_per_sample"] = warm_ms(fn)
                if do_bench is not None:
                    figures["cold_do_bench_median_ms"] = do_bench(
                        fn, warmup=25, rep=200, return_mode="median"
                    )
            except Exception as error:  # noqa: BLE001 - the other route still runs
                figures["error"] = repr(error)
            entry[route] = figures
            print(n, route, figures, flush=True)
        results["sizes"][str(n)] = entry
    with open(out, "w") as file:
        json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()
