#!/usr/bin/env bash
# Issue 14's H200 reproduction: an inference pipeline (Poisson 200 req/s, batch 1) next to a
# training pipeline (closed loop) under time-slicing, MPS, MPS with limits and a green-context
# split, each pipeline also alone (bench/specs/h200-pipeline-{a,b}.yaml; PyTorch models in warm
# workers, workloads/torch/pipeline_worker.py).
# Usage: bench/gpu/pipeline-h200.sh OUTDIR [a|b|all]     (a: ~5 min, b: ~5 min on an H200)
#   COLO: the colo binary (default: colo next to this checkout's build/release/bin, else PATH).
# Writes OUTDIR/<part>.log (colo's run log: per-run e2e and per-stage p50/p99), OUTDIR/<part>.md
# and .json (colo report: the pipeline tables and latency CDFs) and OUTDIR/summary.md (inference
# p99 and training throughput per mode, against alone). Exit 77 without a GPU or PyTorch+CUDA.
set -u
out=${1:?usage: pipeline-h200.sh OUTDIR [a|b|all]}
parts=${2:-all}
[ "$parts" = all ] && parts="a b"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
COLO=${COLO:-$root/build/release/bin/colo}
[ -x "$COLO" ] || COLO=$(command -v colo || true)
[ -n "$COLO" ] && [ -x "$COLO" ] || { echo "pipeline-h200: no colo binary (set COLO)"; exit 2; }
command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1 || { echo "no GPU: skipped"; exit 77; }
python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null ||
  { echo "no PyTorch with CUDA: skipped"; exit 77; }
mkdir -p "$out"
results=$(mktemp -d /tmp/colo-pipeline-h200.XXXX)
export PYTHONUNBUFFERED=1
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; "$COLO" --version; } \
  > "$out/host.txt" 2>&1
cd "$root/bench/specs" || exit 2
for p in $parts; do
  timeout 590 "$COLO" --results "$results/$p" run "h200-pipeline-$p.yaml" > "$out/$p.log" 2>&1
  echo "rc=$?" >> "$out/$p.log"
  "$COLO" --results "$results/$p" report --format md -o "$out/$p.md" >> "$out/$p.log" 2>&1
  "$COLO" --results "$results/$p" report --format json -o "$out/$p.json" >> "$out/$p.log" 2>&1
done
# Per mode: inference p99 (mean over repetitions) and training queries/s, against alone.
python3 - "$out" $parts > "$out/summary.md" <<'PY'
import json, sys, collections
out, parts = sys.argv[1], sys.argv[2:]
rows = collections.defaultdict(list)
for p in parts:
    try:
        j = json.load(open(f"{out}/{p}.json"))
    except (OSError, ValueError) as e:
        print(f"part {p}: no report ({e})"); continue
    for r in j.get("pipelines", []):
        name = r["workload"].split("#")[0]
        rows[(r["mode"], name)].append(r)
mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")
print("| mode | inference p99 (ms) | inference p50 (ms) | inference q/s | training steps/s | reps |")
print("|---|---:|---:|---:|---:|---:|")
for mode in sorted({m for m, _ in rows}, key=lambda m: (m != "solo", m)):
    inf, tr = rows.get((mode, "infer"), []), rows.get((mode, "train"), [])
    print(f"| {mode} | {mean([r['latency_ms']['p99'] for r in inf]):.2f} | "
          f"{mean([r['latency_ms']['p50'] for r in inf]):.2f} | "
          f"{mean([r['achieved_qps'] for r in inf]):.1f} | "
          f"{mean([r['achieved_qps'] for r in tr]):.2f} | {max(len(inf), len(tr))} |")
PY
cat "$out/summary.md"
rm -rf "$results"
