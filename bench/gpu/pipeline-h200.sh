#!/usr/bin/env bash
# Issue 14's H200 reproduction (bench/specs/h200-pipeline-native.yaml): an inference pipeline
# (Poisson 200 req/s, batch 1, a native CUDA transformer forward pass) next to a training
# pipeline (closed loop, the same transformer's training step), under time-slicing, MPS, MPS with
# limits and a green-context split, each pipeline also alone. Builds nothing: colo and
# colo-pipeline (built with nvcc, so with the cuda-model stage) come from $CARRY, as for
# bench/gpu/run-specs.sh; about 5 minutes on an H200 (every colo call under `timeout`).
# Usage: bench/gpu/pipeline-h200.sh OUTDIR
#   CARRY: directory with colo, colo-pipeline and lib/ (default: $PWD/.carry); with
#          gpu_cuda_model (tests/gpu of a dev build) there, it runs first (GPU tests of the model)
# Writes OUTDIR/pipeline-h200.tgz (the store colo.db, colo's run log, the report as Markdown and
# JSON, host facts, the GPU tests' output, summary.md) and prints summary.md: per mode, inference p50/p99 and training
# steps/s, against each alone. The store is kept outside OUTDIR until it is packed.
# Exit: 0 done, 77 no GPU (skipped), 2 missing binaries, else colo's exit code.
set -u
out=${1:?usage: pipeline-h200.sh OUTDIR}
CARRY=${CARRY:-$PWD/.carry}
export LD_LIBRARY_PATH=$CARRY/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
COLO=$CARRY/colo
for b in colo colo-pipeline; do
  [ -x "$CARRY/$b" ] || { echo "pipeline-h200: no $CARRY/$b (copy a CUDA build's bin there)"; exit 2; }
done
command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1 || { echo "no GPU: skipped"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
work=$(mktemp -d /tmp/colo-pipeline-h200.XXXX)
mkdir -p "$work/pack"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; "$COLO" --version; } \
  > "$work/pack/host.txt" 2>&1
# The model's own GPU tests first when carried (gpu_cuda_model of a dev build: finite,
# reproducible, the training loss falls, out of memory named), about 10 s.
if [ -x "$CARRY/gpu_cuda_model" ]; then
  COLO_TEST_BIN_DIR=$CARRY timeout 120 "$CARRY/gpu_cuda_model" > "$work/pack/gpu_cuda_model.txt" 2>&1
  echo "gpu_cuda_model rc=$?" >> "$work/pack/gpu_cuda_model.txt"
  tail -n 3 "$work/pack/gpu_cuda_model.txt"
fi
cd "$here/../specs" || exit 2
timeout 440 "$COLO" --results "$work/results" run h200-pipeline-native.yaml > "$work/pack/run.log" 2>&1
rc=$?
echo "rc=$rc" >> "$work/pack/run.log"
"$COLO" --results "$work/results" report --format md -o "$work/pack/report.md" >> "$work/pack/run.log" 2>&1
"$COLO" --results "$work/results" report --format json -o "$work/pack/report.json" >> "$work/pack/run.log" 2>&1
# Per mode: inference p50/p99 and training steps/s (means over repetitions), against alone.
python3 - "$work/pack/report.json" > "$work/pack/summary.md" <<'PY'
import json, sys, collections
try:
    j = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    print(f"no report ({e})"); sys.exit(0)
rows = collections.defaultdict(list)
for r in j.get("pipelines", []):
    rows[(r["mode"], r["workload"].split("#")[0])].append(r)
mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")
p = lambda rs, k: mean([r["latency_ms"][k] for r in rs])
qps = lambda rs: mean([r["achieved_qps"] for r in rs])
alone_p99, alone_tr = p(rows[("solo", "infer")], "p99"), qps(rows[("solo", "train")])
print("Native CUDA transformer pipelines on one GPU (colo, bench/specs/h200-pipeline-native.yaml)")
print()
print("| mode | infer p50 (ms) | infer p99 (ms) | p99 vs alone | infer q/s | dropped | train steps/s | train vs alone | reps |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for mode in sorted({m for m, _ in rows}, key=lambda m: (m != "solo", m)):
    inf, tr = rows.get((mode, "infer"), []), rows.get((mode, "train"), [])
    ratio = lambda a, b: f"{a / b:.2f}x" if inf and b == b and b > 0 and a == a else "-"
    print(f"| {mode} | {p(inf, 'p50'):.2f} | {p(inf, 'p99'):.2f} | {ratio(p(inf, 'p99'), alone_p99)} | "
          f"{qps(inf):.1f} | {sum(r['dropped'] for r in inf)} | {qps(tr):.2f} | "
          f"{(qps(tr) / alone_tr if tr and alone_tr == alone_tr and alone_tr > 0 else float('nan')):.2f} | "
          f"{max(len(inf), len(tr))} |")
PY
cp "$work/results/colo.db" "$work/pack/" 2>/dev/null
tar czf "$out/pipeline-h200.tgz" -C "$work" pack
cat "$work/pack/summary.md"
tail -n 30 "$work/pack/run.log"
rm -rf "$work"
exit $rc
