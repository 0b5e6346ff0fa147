#!/usr/bin/env bash
# Issue 15's scaling benchmark: K = 1, 2, 4, 8 warm workers of colo serve on one GPU, without MPS
# (a whole GPU, time-sliced) and with MPS (colo serve's own MPS control daemon, no per-client
# cap), for (a) a small GPT-style decoder generating 64 tokens per task (PyTorch, TinyGpt of
# workloads/torch/train.py), (b) ResNet-50 inference at batch 1 (PyTorch), (c) the builtin gemm
# function (cuBLAS fp16 GEMM chain, colo-serve-cuda). One daemon per (function, mode); the pool
# is resized live (PUT /v1/functions/F/pool) from K to the next K; per K: warm-up (every worker
# has answered an untimed task), then N tasks in one /v1/batch (bench/gpu/serve-scale.py).
# Records makespan, throughput, mean completion time (queueing included), mean service time,
# p50/p99, and compares each K with K = 1 against the published targets (~60% lower completion
# time, ~2.5x LLM throughput).
#
# Usage: bench/gpu/serve-scale.sh OUTDIR
#   CARRY or COLO_BIN: colo (and lib/), colo-serve-cuda (for gemm); prebuilt
#   (bench/gpu/make-carry.sh BUILD_BIN .carry). The Python files come from this checkout
#   (workloads/python, workloads/torch). PyTorch (+ torchvision for ResNet-50) from the
#   machine's python3, run with the LD_LIBRARY_PATH this script was given (not CARRY/lib).
#   SIM=1: no GPU, no torch: the same procedure on colo's simulated GPU, every function a worker
#          sleeping a fixed time per task (python serve_functions.sleep_task for gpt and resnet50,
#          colo-serve-echo {"sleep_ms": 20} for gemm: a native worker whose result has no pid, as
#          colo-serve-cuda's); every output says SIMULATED.
#   KS ("1 2 4 8"), MODES ("no-mps mps"), FUNCTIONS ("gpt resnet50 gemm"), GPT_N (32),
#   RESNET_N (64), GEMM_N (64), GPT_TOKENS (64), GEMM_SIZE (4096), GEMM_CHAIN (96: about 20 ms
#   per task on an H200), BUDGET_GPT (100 s per mode), BUDGET_RESNET (80), BUDGET_GEMM (40),
#   TOTAL_S (480: sections that would end past it are shortened or cut, and say so).
# Writes OUTDIR/serve-scale.csv, OUTDIR/serve-scale.md (from the csv, by serve-scale.py),
# host.txt, notes.txt (what was cut, skipped or failed), log.txt, tasks/ (every task's view),
# sections/F-MODE/ (config, daemon output, /metrics at the end).
# Exit: 0 every section complete and no MPS process left; 1 otherwise (the outputs hold what was
# measured); 2 no colo; 77 no GPU (without SIM).
set -u
ORIG_LD=${LD_LIBRARY_PATH:-}  # the PyTorch workers' (CARRY/lib is colo's, not theirs)
. "$(dirname "$0")/lib.sh"
gpu_setup "${1:?usage: serve-scale.sh OUTDIR}"
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SIM=${SIM:-0}
KS=${KS:-1 2 4 8}
MODES=${MODES:-no-mps mps}
FUNCTIONS=${FUNCTIONS:-gpt resnet50 gemm}
GPT_N=${GPT_N:-32}
RESNET_N=${RESNET_N:-64}
GEMM_N=${GEMM_N:-64}
GPT_TOKENS=${GPT_TOKENS:-64}
GEMM_SIZE=${GEMM_SIZE:-4096}
GEMM_CHAIN=${GEMM_CHAIN:-96}
BUDGET_GPT=${BUDGET_GPT:-100}
BUDGET_RESNET=${BUDGET_RESNET:-80}
BUDGET_GEMM=${BUDGET_GEMM:-40}
TOTAL_S=${TOTAL_S:-480}
T0=$SECONDS
NOTES=$OUT/notes.txt
rm -rf "$OUT/serve-scale.csv" "$OUT/serve-scale.md" "$OUT/tasks" "$OUT/sections"
: > "$NOTES"
note() { say "  NOTE: $*"; echo "$*" >> "$NOTES"; FAILED=1; }
elapsed() { echo "$((SECONDS - T0)) s"; }

[ -x "$C" ] || { say "no colo in $BIN (CARRY or COLO_BIN: bench/gpu/make-carry.sh fills one)"; exit 2; }
if ldd "$C" 2> /dev/null | grep -q 'not found'; then
  say "colo cannot load: $(ldd "$C" | grep 'not found' | awk '{print $1}' | tr '\n' ' ')(put them in" \
    "$BIN/lib: bench/gpu/make-carry.sh BUILD_BIN $BIN)"
  exit 2
fi
if [ "$SIM" = 1 ]; then
  LABEL=SIMULATED
  GPU_ARGS=(--gpu sim)
else
  LABEL=measured
  GPU_ARGS=(--gpu nvml)  # never the simulated GPU silently (its MPS runs no daemon)
  if ! command -v nvidia-smi > /dev/null || ! timeout 60 nvidia-smi -L > /dev/null 2>&1; then
    skip "no NVIDIA GPU (SIM=1 runs the procedure on the simulated GPU)"
  fi
fi

# A private prefix: colo finds colo_serve_worker.py in <bin>/../share/colo/python and the
# builtin worker next to itself; CARRY has neither layout. Short path: MPS sockets live under it.
W=$(mktemp -d /tmp/colo-ss.XXXX)
SERVE_PID=
cleanup() {
  [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2> /dev/null && stop_serve
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$W/bin" "$W/share/colo/python" "$OUT/sections"
cp "$C" "$W/bin/colo" || exit 2
[ -x "$BIN/colo-serve-cuda" ] && cp "$BIN/colo-serve-cuda" "$W/bin/"
if [ "$SIM" = 1 ]; then
  cp "$BIN/colo-serve-echo" "$W/bin/" || { say "no colo-serve-echo in $BIN (SIM's gemm)"; exit 2; }
fi
cp "$REPO"/workloads/python/*.py "$W/share/colo/python/"
C=$W/bin/colo

{ host_facts; echo "python3: $(python3 --version 2>&1)"; echo "nproc: $(nproc)"; } > "$OUT/host.txt"
if [ "$SIM" = 1 ]; then
  echo "SIMULATED: colo's simulated GPU (--gpu sim); every function sleeps (sleep_task, colo-serve-echo)" \
    >> "$OUT/host.txt"
else
  LD_LIBRARY_PATH=$ORIG_LD timeout 120 python3 -c "
import torch
print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())
try:
    import torchvision
    print('torchvision', torchvision.__version__)
except ImportError as e:
    print('torchvision: not installed (resnet50 fails):', e)
" >> "$OUT/host.txt" 2>&1 || echo "torch: not usable" >> "$OUT/host.txt"
fi
cat "$OUT/host.txt" | tee -a "$LOG"
say "K: $KS; modes: $MODES; functions: $FUNCTIONS; N: gpt $GPT_N, resnet50 $RESNET_N, gemm $GEMM_N"

# What the machine lacks skips the sections that need it (said in notes.txt), not the script.
HAVE_TORCH=1
HAVE_MPS=1
if [ "$SIM" != 1 ]; then
  grep -q 'available True' "$OUT/host.txt" || HAVE_TORCH=0
  if ! command -v nvidia-cuda-mps-control > /dev/null; then
    HAVE_MPS=0; note "mps: skipped: nvidia-cuda-mps-control is not in PATH"
  elif [ "$(mps_procs)" != 0 ]; then
    HAVE_MPS=0; note "mps: skipped: an MPS daemon already runs on this machine (quit it first)"
  fi
fi

# The python workers' module path: serve_functions.py, and the PYTHONPATH this script was given
# (a colo serve built before python_path_env, src/serve/pool, dropped the daemon's PYTHONPATH).
PY_PATH=$REPO/workloads/torch
IFS=: read -r -a _pp <<< "${PYTHONPATH:-}"
for _p in "${_pp[@]}"; do [ -n "$_p" ] && PY_PATH="$PY_PATH, $_p"; done

# section FUNCTION MODE: one daemon, every K.
section() {
  local fn=$1 mode=$2 d=$OUT/sections/$1-$2 st=$W/$1-$2 budget n input spec part
  mkdir -p "$d" "$st"
  case $fn in
    gpt) budget=$BUDGET_GPT n=$GPT_N input="{\"tokens\": $GPT_TOKENS, \"prompt_len\": 16}"
         spec="kind: python
    entry: serve_functions:gpt_generate
    python_path: [$PY_PATH]
    env: {LD_LIBRARY_PATH: \"$ORIG_LD\"}" ;;
    resnet50) budget=$BUDGET_RESNET n=$RESNET_N input=null
         spec="kind: python
    entry: serve_functions:resnet50_infer
    python_path: [$PY_PATH]
    env: {LD_LIBRARY_PATH: \"$ORIG_LD\"}" ;;
    gemm) budget=$BUDGET_GEMM n=$GEMM_N input=null
         spec="kind: builtin
    builtin: gemm
    params: {size: $GEMM_SIZE, chain: $GEMM_CHAIN}" ;;
    *) note "unknown function '$fn' (gpt, resnet50, gemm)"; return ;;
  esac
  if [ "$SIM" = 1 ]; then  # the same shape of load: gpt's tasks longest, resnet50's shortest
    case $fn in gpt) input='{"seconds": 0.04}' ;; resnet50) input='{"seconds": 0.01}' ;; esac
    spec="kind: python
    entry: serve_functions:sleep_task
    python_path: [$PY_PATH]
    env: {LD_LIBRARY_PATH: \"$ORIG_LD\"}"
    if [ "$fn" = gemm ]; then  # a native worker whose result names no pid, as colo-serve-cuda's
      input='{"sleep_ms": 20}'
      spec="kind: command
    argv: [$W/bin/colo-serve-echo]"
    fi
    budget=$((budget < 30 ? budget : 30))
  elif [ "$fn" = gemm ] && [ ! -x "$W/bin/colo-serve-cuda" ]; then
    note "gemm $mode: skipped: no colo-serve-cuda in $BIN (a build with nvcc)"; return
  elif [ "$fn" = gemm ] && ldd "$W/bin/colo-serve-cuda" | grep -q 'not found'; then
    note "gemm $mode: skipped: colo-serve-cuda cannot load $(ldd "$W/bin/colo-serve-cuda" \
      | grep 'not found' | awk '{print $1}' | tr '\n' ' ')"; return
  elif [ "$fn" != gemm ] && [ $HAVE_TORCH = 0 ]; then
    note "$fn $mode: skipped: PyTorch with CUDA is not usable by python3 (host.txt)"; return
  fi
  case $mode in
    no-mps) part="{kind: gpu}" ;;
    mps) [ $HAVE_MPS = 1 ] || return; part="{kind: mps}" ;;
    *) note "unknown mode '$mode' (no-mps, mps)"; return ;;
  esac
  local left=$((TOTAL_S - (SECONDS - T0) - 15))
  if [ $left -lt 20 ]; then
    note "$fn $mode: cut: $((SECONDS - T0)) s of the script's $TOTAL_S s spent"; return
  fi
  if [ $budget -gt $left ]; then
    note "$fn $mode: budget cut from $budget s to $left s (the script's $TOTAL_S s)"
    budget=$left
  fi
  cat > "$d/serve.yaml" << EOF
state_dir: $st
drain_s: 5
functions:
  - name: $fn
    $spec
    workers: 1
    min_workers: 1
    max_workers: 8
    scale_up_queue_per_worker: 1000000000   # no autoscaling: the benchmark sets K
    scale_down_idle_s: 1000000000
    queue_capacity: 10000
    timeout_s: 600
    gpu: 0
    partition: $part
EOF
  local t=$SECONDS
  say "== $fn $mode: budget $budget s (elapsed $(elapsed))"
  SERVE_TIMEOUT=$((budget + 60)) start_serve "$d/serve.yaml" "$d" "${GPU_ARGS[@]}"
  if [ -z "$SERVE_PORT" ]; then
    note "$fn $mode: colo serve did not start: $(tail -3 "$d/serve.err" | tr '\n' ' ')"
    stop_serve
    return
  fi
  local url=http://127.0.0.1:$SERVE_PORT
  LD_LIBRARY_PATH=$ORIG_LD timeout -k 5 $((budget + 30)) python3 "$HERE/serve-scale.py" measure --url "$url" \
    --function "$fn" --mode "$mode" --ks "${KS// /,}" --n "$n" --input "$input" \
    --budget "$budget" --out "$OUT" --label "$LABEL" 2>&1 | tee -a "$LOG" "$d/driver.txt"
  local rc=${PIPESTATUS[0]}
  local why
  why=$(grep -E '^  (CUT|ERROR): ' "$d/driver.txt" | tail -1 | sed 's/^  //')
  case $rc in
    0) ;;
    3) note "$fn $mode: cut for time: $why" ;;
    124 | 137) note "$fn $mode: the driver was stopped at the section's limit ($((budget + 30)) s)" ;;
    *) note "$fn $mode: the driver failed (exit $rc): $why (sections/$fn-$mode/serve.err)" ;;
  esac
  LD_LIBRARY_PATH=$ORIG_LD timeout 10 python3 -c "import urllib.request,sys; \
sys.stdout.write(urllib.request.urlopen('$url/metrics', timeout=5).read().decode())" \
    > "$d/metrics.txt" 2> /dev/null
  stop_serve
  SERVE_PID=
  [ "$SERVE_RC" = 0 ] || note "$fn $mode: colo serve exited $SERVE_RC (sections/$fn-$mode/serve.err)"
  if [ "$mode" = mps ] && [ "$SIM" != 1 ]; then
    for _ in $(seq 1 50); do [ "$(mps_procs)" = 0 ] && break; sleep 0.1; done
  fi
  if [ "$mode" = mps ] && [ "$SIM" != 1 ] && [ "$(mps_procs)" != 0 ]; then
    note "$fn $mode: an MPS process was left after colo serve stopped: quitting it"
    CUDA_MPS_PIPE_DIRECTORY=$st/mps/dev0/pipe timeout 10 nvidia-cuda-mps-control <<< quit
  fi
  cp -r "$st/mps/dev0/log" "$d/mps-log" 2> /dev/null
  say "   $fn $mode: $((SECONDS - t)) s (elapsed $(elapsed))"
}

for fn in $FUNCTIONS; do
  for mode in $MODES; do
    section "$fn" "$mode"
  done
done

if [ -s "$OUT/serve-scale.csv" ]; then
  LD_LIBRARY_PATH=$ORIG_LD timeout 60 python3 "$HERE/serve-scale.py" table "$OUT" || note "the table failed"
  cat "$OUT/serve-scale.md" >> "$LOG"
  sed -n '/^## Against/,$p' "$OUT/serve-scale.md"
else
  note "no row was measured: no table"
fi
if [ "$SIM" != 1 ] && [ "$(mps_procs)" != 0 ]; then
  note "MPS processes left at the end: $(mps_procs)"
fi
say "done in $(elapsed); outputs in $OUT ($([ $FAILED = 0 ] && echo complete || echo 'incomplete: notes.txt'))"
exit $FAILED
