#!/usr/bin/env bash
# Issue 17 on 2 x H200: experiments and plans across the GPUs of one host. Binaries as
# bench/gpu/run-specs.sh expects them ($CARRY/colo, $CARRY/colo-cuda-work built with nvcc,
# libraries in $CARRY/lib); python3 with PyTorch for workloads/torch. Stores go to $RESULTS
# (default a fresh /tmp directory, never under OUTDIR); everything ends up in ONE archive,
# OUTDIR/plan-2gpu-<step>.tgz (stores, logs, plan, check JSON), and the key lines on stdout.
#
#   bench/gpu/plan-2gpu.sh OUTDIR plan         # 8 jobs planned on 2 GPUs, run (< 9 min on 2 x H200)
#   bench/gpu/plan-2gpu.sh OUTDIR concurrent   # one 4-job spec, sequential vs --parallel-gpus (~4 min)
#   SIM=1 bench/gpu/plan-2gpu.sh OUTDIR plan|concurrent   # the same on 2 SIMULATED GPUs (~1 min)
#
# plan: imports the H200 profiles committed in bench/results/2026-11-30-h200-plan-validation/
# (`colo profile --import`; they apply when the driver is the same, 580.159.04; otherwise every
# workload is profiled again, both GPUs at once, ~2 min), plans h200-2gpu-plan8.jobs.yaml on GPUs
# 0 and 1 with the simple rules as alternatives (`colo plan --gpus 0,1 --with-rules -o`), and
# carries the plan out (`colo run --plan`): each GPU's group is one experiment, the two run at the
# same time; each job's solo baseline, the plan's mode and the rules' modes, 2 repetitions of a
# 1 s warm-up + 3 s window (PyTorch jobs spend ~15 s starting per run). Prints predicted vs
# measured per GPU and in total, the oracle (best measured candidate per GPU) and the plan's share.
#
# concurrent: h200-2gpu-concurrent.yaml (r18 + gemm pinned to GPU 0, r50 + triad to GPU 1) run as
# written (one run after another), then again with --parallel-gpus (GPU 0's and GPU 1's runs at
# the same time); prints both wall times and `colo compare` of the two (do the results agree).
set -u
out=${1:?usage: plan-2gpu.sh OUTDIR plan|concurrent}
what=${2:-plan}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
specs=$repo/bench/specs
profiles_committed=$repo/bench/results/2026-11-30-h200-plan-validation/profiles.json
mkdir -p "$out"
out=$(cd "$out" && pwd)
R=${RESULTS:-$(mktemp -d /tmp/colo-2gpu.XXXX)}
mkdir -p "$R/files"
F=$R/files
TOPO=()
if [ "${SIM:-0}" = 1 ]; then
  # Stand-in workloads (builtin sim-gpu) on two simulated GPUs, colo from the build tree.
  sim=$(mktemp -d /tmp/colo-2gpu-sim.XXXX)
  trap 'rm -rf "$sim"' EXIT
  cp "$specs/h200-2gpu-plan8.jobs.yaml" "$specs/h200-plan-sim/h200-2gpu-workloads.yaml" "$sim/"
  sed -e 's/^gpu: nvml/gpu: sim/' -e 's/^warmup: 1s/warmup: 0.1s/' \
    -e 's/^stop: {duration: 3s}/stop: {duration: 0.5s}/' "$specs/h200-2gpu-concurrent.yaml" |
    python3 -c '
import re, sys
# PyTorch and CUDA workloads -> sim-gpu stand-ins with the demands of h200-plan-sim.
demand = {"r18": "{duty: 0.3, sm: 0.3, bw: 0.1, mem: 3G, step-ms: 5, batch: 16}",
          "r50": "{duty: 0.5, sm: 0.5, bw: 0.2, mem: 6G, step-ms: 5, batch: 16}",
          "gemm": "{duty: 1.0, sm: 0.9, bw: 0.3, mem: 1G, step-ms: 5, batch: 16}",
          "triad": "{duty: 1.0, sm: 0.5, bw: 0.9, mem: 3G, step-ms: 5, batch: 16}"}
for line in sys.stdin:
    m = re.match(r"  - \{name: (\w+), gpus: (\[\d\]),", line)
    if m:
        line = "  - {name: %s, gpus: %s, builtin: sim-gpu, args: %s}\n" % (
            m.group(1), m.group(2), demand[m.group(1)])
    sys.stdout.write(line)' > "$sim/h200-2gpu-concurrent.yaml"
  specs=$sim
  C=${COLO:-$repo/build/dev/bin/colo}
  export COLO_WORKLOAD_DIR=${COLO_WORKLOAD_DIR:-$(dirname "$C")}
  TOPO=(--sim-topology "$repo/data/topologies/h100-80gb-x2.yaml")
  devices() { echo "2 x simulated NVIDIA H100 80GB HBM3 (data/topologies/h100-80gb-x2.yaml)"; }
else
  CARRY=${CARRY:-$PWD/.carry}
  export LD_LIBRARY_PATH=$CARRY/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
  export COLO_WORKLOAD_DIR=${COLO_WORKLOAD_DIR:-$CARRY}
  C=${COLO:-$CARRY/colo}
  devices() { nvidia-smi --query-gpu=index,name,driver_version --format=csv,noheader; }
fi
export PYTHONUNBUFFERED=1
# NCCL is not used; should anything load it, no NVLink multicast.
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
{ date -u; devices; } > "$F/devices.txt" 2>&1
cat "$F/devices.txt"
t_start=$(date +%s)

profile_one() {  # GPU, workload: profile on that GPU (a spec copy with gpus: [GPU])
  local f=$F/workloads-gpu$1.yaml
  sed "s/^gpus: \[0, 1\]/gpus: [$1]/" "$specs/h200-2gpu-workloads.yaml" > "$f"
  cp "$f" "$specs/.gpu$1-h200-2gpu-workloads.yaml"  # beside the original: relative commands
  timeout 300 "$C" --results "$R/profile-gpu$1" profile "$specs/.gpu$1-h200-2gpu-workloads.yaml" \
    --workload "$2" --shares 25,50,100 --repeat 1 "${TOPO[@]}" >> "$F/profile-gpu$1.txt" 2>&1
  echo "rc=$? ($2)" >> "$F/profile-gpu$1.txt"
}

profile_all() {  # every workload, GPU 0's half and GPU 1's half at the same time
  # Two PyTorch workloads (~20 s a run) and one native per GPU.
  (for w in r18 r50 gemm; do profile_one 0 "$w"; done) &
  (for w in tfm r50-infer triad; do profile_one 1 "$w"; done) &
  wait
  rm -f "$specs"/.gpu?-h200-2gpu-workloads.yaml
  for g in 0 1; do
    "$C" --results "$R/profile-gpu$g" profile --show --format json > "$F/profiles-gpu$g.json"
    "$C" --results "$R/plan" profile --import "$F/profiles-gpu$g.json" >> "$F/plan.txt" 2>&1
  done
}

plan() {
  local jobs=$specs/h200-2gpu-plan8.jobs.yaml
  if [ "${SIM:-0}" = 1 ]; then
    echo "== profiling the stand-ins on the simulated GPUs"
    profile_all
  else
    "$C" --results "$R/plan" profile --import "$profiles_committed" >> "$F/plan.txt" 2>&1
  fi
  echo "== colo plan (8 jobs on GPUs 0 and 1)"
  if ! timeout 60 "$C" --results "$R/plan" plan "$jobs" --gpus 0,1 --with-rules "${TOPO[@]}" \
    -o "$F/plan8.plan.json" > "$F/plan8.txt" 2>&1; then
    cat "$F/plan8.txt"
    echo "== the committed profiles do not apply here (see above): profiling again (~2 min)"
    profile_all
    timeout 60 "$C" --results "$R/plan" plan "$jobs" --gpus 0,1 --with-rules "${TOPO[@]}" \
      -o "$F/plan8.plan.json" > "$F/plan8.txt" 2>&1 || { cat "$F/plan8.txt"; return 1; }
  fi
  cat "$F/plan8.txt"
  echo "== colo run --plan (each GPU's group an experiment, both at once)"
  local t0 rc left
  t0=$(date +%s)
  # What is left of 9 minutes (less the archive): SIGTERM stops colo cleanly, runs kept.
  left=$((520 - (t0 - t_start)))
  echo "(run --plan limited to ${left} s)"
  timeout "$left" "$C" --results "$R/plan" run --plan "$F/plan8.plan.json" "${TOPO[@]}" \
    > "$F/run-plan.txt" 2> "$F/run-plan.err"
  rc=$?
  echo "rc=$rc, $(($(date +%s) - t0)) s" >> "$F/run-plan.txt"
  cat "$F/run-plan.txt"
  tail -n 5 "$F/run-plan.err"
  echo "MPS processes left: $(ps -eo comm | grep -c nvidia-cuda-mps)" | tee -a "$F/run-plan.txt"
  "$C" --results "$R/plan" ls > "$F/ls.txt" 2>&1
  for id in $("$C" --results "$R/plan" ls 2>/dev/null | awk 'NR>1 {print $1}'); do
    "$C" --results "$R/plan" report "$id" --format html -o "$F/report-$id.html" > /dev/null 2>&1
    "$C" --results "$R/plan" report "$id" --format md -o "$F/report-$id.md" > /dev/null 2>&1
  done
}

concurrent() {
  local spec=$specs/h200-2gpu-concurrent.yaml t0 t_seq t_par
  echo "== sequential (parallel: false)"
  t0=$(date +%s)
  timeout 300 "$C" --results "$R/conc" run "$spec" "${TOPO[@]}" > "$F/seq.txt" 2>&1
  echo "rc=$?" >> "$F/seq.txt"
  t_seq=$(($(date +%s) - t0))
  echo "== concurrent (--parallel-gpus)"
  t0=$(date +%s)
  timeout 300 "$C" --results "$R/conc" run --parallel-gpus "$spec" "${TOPO[@]}" > "$F/par.txt" 2>&1
  echo "rc=$?" >> "$F/par.txt"
  t_par=$(($(date +%s) - t0))
  tail -n 25 "$F/seq.txt"
  tail -n 25 "$F/par.txt"
  "$C" --results "$R/conc" compare 1 2 > "$F/compare.txt" 2>&1
  cat "$F/compare.txt"
  for id in 1 2; do
    "$C" --results "$R/conc" report "$id" --format md -o "$F/conc-report-$id.md" > /dev/null 2>&1
    "$C" --results "$R/conc" report "$id" --format html -o "$F/conc-report-$id.html" > /dev/null 2>&1
  done
  echo "wall time: sequential ${t_seq} s, concurrent ${t_par} s (colo's wall_s per experiment in ls)" |
    tee "$F/walltime.txt"
  "$C" --results "$R/conc" ls | tee -a "$F/walltime.txt"
  echo "MPS processes left: $(ps -eo comm | grep -c nvidia-cuda-mps)" | tee -a "$F/walltime.txt"
}

case $what in
  plan) plan ;;
  concurrent) concurrent ;;
  *) echo "unknown step '$what' (plan or concurrent)"; exit 2 ;;
esac
echo "total $(($(date +%s) - t_start)) s" | tee -a "$F/devices.txt"
tar czf "$out/plan-2gpu-$what.tgz" -C "$R" . 2>/dev/null
echo "wrote $out/plan-2gpu-$what.tgz"
