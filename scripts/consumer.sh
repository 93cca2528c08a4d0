#!/usr/bin/env bash
# Builds model-bench as someone else's repository meets it: packs both library crates with
# `cargo package`, unpacks the `.crate` files, and builds a consumer crate (scripts/consumer/)
# against them alone — not the workspace — with features `remote` and `ort` and the dependency
# renamed to `mb`. Runs its two benches (a stage bench and a remote bench on the in-process
# reference server) and checks both were measured. `scripts/test.sh` calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
WORK="$ROOT/target/consumer"

cargo package --workspace --exclude model-bench-suite --no-verify --allow-dirty --quiet
rm -rf "$WORK"
mkdir -p "$WORK/packages" "$WORK/app/benches"
for crate in model-bench model-bench-macros; do
    tar -xzf "target/package/$crate-$VERSION.crate" -C "$WORK/packages"
done
sed "s/@VERSION@/$VERSION/g" scripts/consumer/Cargo.toml.in > "$WORK/app/Cargo.toml"
cp scripts/consumer/consumer.rs "$WORK/app/benches/consumer.rs"
# The workspace's lock file, so the consumer resolves the same dependency versions and reuses
# what the test steps already built in target/ (cargo drops the entries it does not need).
cp Cargo.lock "$WORK/app/Cargo.lock"

cd "$WORK/app"
CARGO_TARGET_DIR="$ROOT/target" CONSUMER_MODEL="$ROOT/assets/mobilenet_v1_050.onnx" \
    MODEL_BENCH_OUTPUT_DIR="$WORK/results" MODEL_BENCH_QUICK=1 \
    cargo bench --bench consumer

python3 - "$WORK/results/results.json" <<'PY'
import json, sys
path = sys.argv[1]
with open(path) as f:
    results = json.load(f)
benches = {b["name"]: b for b in results["benches"]}
for name in ("forward", "served"):
    bench = benches.get(name)
    if bench is None:
        sys.exit(f"consumer.sh: {path} has no bench named {name!r}: {sorted(benches)}")
    if bench.get("status") != "ok":
        sys.exit(f"consumer.sh: bench {name!r} did not run cleanly: {bench.get('status')!r} {bench.get('error')!r}")
print(f"consumer.sh: the consumer crate measured {sorted(benches)} from the packaged crates")
PY
