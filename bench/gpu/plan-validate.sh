#!/usr/bin/env bash
# colo plan's validation on the H200 (issue 13, docs/plan.md "Validation on the H200"); run on
# 2 x H200 on 2026-11-30 (bench/results/2026-11-30-h200-plan-validation/). Binaries as bench/gpu/run-specs.sh expects them
# ($CARRY/colo, $CARRY/colo-cuda-work built with nvcc, libraries in $CARRY/lib); needs python3
# with PyTorch for workloads/torch.
#
#   bench/gpu/plan-validate.sh OUTDIR profile           # 1. profile every workload (~1.5 min on 8 GPUs)
#     (WORKLOADS="tfm gemm" a subset; SHARES=10,20,30,50,70,100 WORKLOADS_SPEC=h200-plan-workloads-v2.yaml
#      PROFILE_REPEAT=3 for finer, steadier curves than the first validation's 25,50,100 x 1 at 2 s)
#   bench/gpu/plan-validate.sh OUTDIR mixes [N...]      # 2. plan + run each test mix (default 1..9)
#   bench/gpu/plan-validate.sh OUTDIR rightsize         # 3. right-sizing answers measured (~1 min on 4+ GPUs)
#   bench/gpu/plan-validate.sh OUTDIR table             # 4. OUTDIR/validation.md (no GPU needed)
#   bench/gpu/plan-validate.sh OUTDIR all               # 1 + 2 + 3 in one call (the x8 machine)
#   SIM=1 bench/gpu/plan-validate.sh OUTDIR all         # the same on the SIMULATED GPU (~1 min)
#
# Work is spread over every GPU nvidia-smi lists: workload i is profiled on GPU i mod G, mix i runs
# on GPU i mod G, each GPU's share one after another, the GPUs in parallel, each colo with its own
# results directory (a per-GPU spec copy sets `gpus: [g]`). Device time: on `nvidia-h200-x8` about
# 1.5 min of profiles and 5 min of mixes (one call, under 10 min). Measured on 2 GPUs: profiles
# 193 s, a two-job PyTorch mix ~5 min (15 runs of ~19 s, mostly PyTorch start-up), a native mix
# ~1.5 min: split `mixes` over calls of <= 4 mixes on 2 GPUs, <= 2 on one. Set RESULTS outside
# OUTDIR and keep OUTDIR's files few (the device tool returns a limited number of files).
# Every mix: `colo plan MIX --gpus g --with-all -o` (every candidate the planner scored: the plan's
# choice, the simple rules "always time-slice", "always uncapped MPS", "equal MPS caps", the
# knee-proportional MPS caps, green and MIG-equivalent splits, each the same mode once; before
# 2026-12-01 11:00 `--with-rules`, the plan's choice and the rules only), then
# `colo run --plan` (3 repetitions, each job's solo baseline): predicted vs measured per candidate,
# the oracle (the best measured candidate within the mix's slowdown bound) and the plan's share.
set -u
out=${1:?usage: plan-validate.sh OUTDIR profile|mixes|rightsize|table|all [MIX...]}
what=${2:-all}
shift 2 2>/dev/null || shift $#
here=$(cd "$(dirname "$0")" && pwd)
specs=$(cd "$here/../specs" && pwd)
if [ "${SIM:-0}" = 1 ]; then
  # The whole procedure on the SIMULATED GPU (no GPU needed; modelled numbers): the real jobs
  # files beside the stand-in workloads spec, with colo from the build tree.
  sim=$(mktemp -d /tmp/colo-plan-sim.XXXX)
  trap 'rm -rf "$sim"' EXIT
  cp "$specs"/h200-plan-mix*.jobs.yaml "$sim/"
  cp "$specs/h200-plan-sim/h200-plan-workloads.yaml" "$sim/"
  cp "$specs/h200-plan-sim/h200-plan-workloads.yaml" "$sim/h200-plan-workloads-v2.yaml"
  specs=$sim
  COLO=${COLO:-$here/../../build/dev/bin/colo}
  COLO_WORKLOAD_DIR=${COLO_WORKLOAD_DIR:-$(dirname "$COLO")}
  nvidia_smi() { echo "GPU 0: simulated"; }
else
  nvidia_smi() { nvidia-smi "$@"; }
fi
CARRY=${CARRY:-$PWD/.carry}
export LD_LIBRARY_PATH=$CARRY/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export PYTHONUNBUFFERED=1
export COLO_WORKLOAD_DIR=${COLO_WORKLOAD_DIR:-$CARRY}
C=${COLO:-$CARRY/colo}
R=${RESULTS:-$out/stores}
SHARES=${SHARES:-25,50,100}
CANDIDATES=${CANDIDATES:---with-all}  # --with-rules: the plan's choice and the rules only
GREEN_SMS=${GREEN_SMS:-}  # e.g. 32,66: green-context curves too (more device time)
mkdir -p "$out" "$R"
out=$(cd "$out" && pwd)
R=$(cd "$R" && pwd)
G=$(nvidia_smi -L 2>/dev/null | grep -c '^GPU')
[ "$G" -ge 1 ] || G=1
WORKLOADS=${WORKLOADS:-r18 r50 vit tfm r50-infer gpt-infer gemm triad hold80}
# The profile step's workloads spec (h200-plan-workloads-v2.yaml: the same workloads and profile
# keys, 5 s windows) and repetitions per share (the first validation: 2 s windows, 1).
WORKLOADS_SPEC=${WORKLOADS_SPEC:-h200-plan-workloads.yaml}
PROFILE_REPEAT=${PROFILE_REPEAT:-1}

# A copy of the workloads spec (or a jobs file pointing at one) for GPU $1, next to the original so
# that relative commands still resolve; the workload keys (command + args + env) do not change.
spec_for_gpu() {
  local f=$specs/.plan-gpu$1-h200-plan-workloads.yaml
  sed "s/^gpus: \[0\]/gpus: [$1]/" "$specs/$WORKLOADS_SPEC" > "$f"
  echo "$f"
}

# spread FN ITEM...: item i goes to GPU i mod G; `FN GPU ITEM` runs each GPU's items one after
# another, the GPUs in parallel.
spread() {
  local fn=$1 g pids=()
  shift
  for g in $(seq 0 $((G - 1))); do
    (
      k=0
      for it in "$@"; do
        if [ $((k % G)) -eq "$g" ]; then "$fn" "$g" "$it"; fi
        k=$((k + 1))
      done
    ) &
    pids+=($!)
  done
  wait "${pids[@]}"
}

profile_one() {  # GPU, workload
  timeout 560 "$C" --results "$R/profile-gpu$1" profile "$(spec_for_gpu "$1")" --workload "$2" \
    --shares "$SHARES" ${GREEN_SMS:+--green-sms "$GREEN_SMS"} --repeat "$PROFILE_REPEAT" \
    >> "$out/profile-gpu$1.txt" 2>&1
  echo "rc=$? ($2)" >> "$out/profile-gpu$1.txt"
}

profile() {
  local g
  # shellcheck disable=SC2086
  spread profile_one $WORKLOADS
  for g in $(seq 0 $((G - 1))); do
    [ -d "$R/profile-gpu$g" ] || continue
    "$C" --results "$R/profile-gpu$g" profile --show --format json > "$out/profiles-gpu$g.json"
    "$C" --results "$R/profiles" profile --import "$out/profiles-gpu$g.json"
  done
  "$C" --results "$R/profiles" profile --show > "$out/profiles.txt"
  "$C" --results "$R/profiles" profile --show --format json > "$out/profiles.json"
  echo "MPS processes left: $(ps -eo comm | grep -c nvidia-cuda-mps)" >> "$out/profiles.txt"
}

run_mix() {  # GPU, mix number
  # The plan's emitted specs run on the plan's GPU (--gpus g): the jobs file needs no copy.
  local g=$1 m=$2 d="$R/mix$2" jf=$specs/h200-plan-mix$2.jobs.yaml
  "$C" --results "$d" profile --import "$out/profiles.json" > /dev/null
  {
    echo "=================== mix $m on GPU $g: $(sed -n 1p "$specs/h200-plan-mix$m.jobs.yaml")"
    timeout 60 "$C" --results "$d" plan "$jf" --gpus "$g" "$CANDIDATES" -o "$out/mix$m.plan.json"
    echo "rc=$?"
    timeout 560 "$C" --results "$d" run --plan "$out/mix$m.plan.json"
    echo "rc=$?"
    echo "--- MPS processes left: $(ps -eo comm | grep -c nvidia-cuda-mps)"
  } > "$out/mix$m.txt" 2>&1
}

mixes() {
  local list=("$@")
  [ ${#list[@]} -gt 0 ] || list=(1 2 3 4 5 6 7 8 9)
  [ -f "$out/profiles.json" ] || { echo "no $out/profiles.json: run the profile step first"; exit 2; }
  spread run_mix "${list[@]}"
}

# Right-sizing: for each of these workloads, colo plan --right-size's MPS answer (within 10% of
# solo), then the workload measured alone at that share and at 100% (3 repetitions, a scratch
# store): the answer holds when the measured speed is >= 90% of solo.
RIGHTSIZE=${RIGHTSIZE:-r18 r50 tfm gemm}
rightsize_one() {  # GPU, workload
  local g=$1 w=$2 d="$R/rightsize-$2" s t
  s=$(spec_for_gpu "$g")
  "$C" --results "$d" profile --import "$out/profiles.json" > /dev/null
  printf 'workloads: %s\njobs:\n  - {name: %s, workload: %s}\n' "$s" "$w" "$w" \
    > "$out/rightsize-$w.jobs.yaml"
  "$C" --results "$d" plan "$out/rightsize-$w.jobs.yaml" --gpus "$g" --right-size "$w" \
    --within 10% --format json > "$out/rightsize-$w.json" 2> "$out/rightsize-$w.err"
  t=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['mps']['thread_percent'])" \
    "$out/rightsize-$w.json")
  timeout 300 "$C" --results "$d-check" profile "$s" --workload "$w" --shares "$t,100" \
    --repeat 3 >> "$out/rightsize-$w.err" 2>&1
  "$C" --results "$d-check" profile --show --format json > "$out/rightsize-$w.measured.json"
}

rightsize() {
  [ -f "$out/profiles.json" ] || { echo "no $out/profiles.json: run the profile step first"; exit 2; }
  # shellcheck disable=SC2086
  spread rightsize_one $RIGHTSIZE
}

{ date -u; nvidia_smi --query-gpu=index,name,driver_version,mig.mode.current --format=csv,noheader; } \
  >> "$out/devices.txt" 2>&1
case $what in
  profile) profile ;;
  mixes) mixes "$@" ;;
  table) ;;
  rightsize) rightsize ;;
  all) profile; mixes "$@"; rightsize ;;
  *) echo "unknown step '$what'"; exit 2 ;;
esac
rm -f "$specs"/.plan-gpu*-h200-plan-*.yaml
python3 "$here/plan-table.py" "$out" > "$out/validation.md" && cat "$out/validation.md"
tar czf "$out/stores.tgz" -C "$R" . 2>/dev/null
