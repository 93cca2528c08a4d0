"""Compares benches/gpu.rs's CUDA-event medians (model-bench results.json) with
scripts/gpu_reference.py's torch.cuda.Event (warm) and triton do_bench (cold) medians of the same
GEMMs, as the Markdown table docs/PERFORMANCE.md records.

Usage: python3 scripts/gpu_compare.py RESULTS.json REFERENCE.json
"""

import json
import sys


def medians_ms(results, name):
    """{n: median ms} of the sweep `gpu/<name>`."""
    for bench in results["benches"]:
        if bench["id"] == f"gpu/{name}":
            return {p["batch"]: p["estimates"]["median"]["point"] / 1e6 for p in bench["points"]}
    return {}


def main():
    results = json.load(open(sys.argv[1]))
    reference = json.load(open(sys.argv[2]))
    warm = medians_ms(results, "sgemm")
    cold = medians_ms(results, "sgemm_cold_l2")
    print(f"GPU: {reference['device']}; torch {reference['torch']}; triton {reference.get('triton')}; cupy {reference.get('cupy')}\n")
    print("| n | route | model-bench warm (ms) | torch.cuda.Event warm (ms) | ratio | model-bench cold L2 (ms) | do_bench (ms) | ratio | cold / warm (model-bench) | TFLOP/s warm |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n_text, routes in reference["sizes"].items():
        n = int(n_text)
        for route, figures in routes.items():
            ours_warm, ours_cold = warm.get(n), cold.get(n)
            theirs_warm = figures.get("warm_event_median_ms")
            theirs_cold = figures.get("cold_do_bench_median_ms")
            ratio = lambda a, b: f"{a / b:.3f}" if a and b else "-"
            fmt = lambda v: f"{v:.4f}" if v else "-"
            tflops = f"{2 * n**3 / (ours_warm / 1e3) / 1e12:.1f}" if ours_warm else "-"
            print(f"| {n} | {route} | {fmt(ours_warm)} | {fmt(theirs_warm)} | {ratio(ours_warm, theirs_warm)} | "
                  f"{fmt(ours_cold)} | {fmt(theirs_cold)} | {ratio(ours_cold, theirs_cold)} | {ratio(ours_cold, ours_warm)} | {tflops} |")


if __name__ == "__main__":
    main()
