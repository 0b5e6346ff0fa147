# Shared by the GPU scripts (sourced): the output directory, colo's binaries, assertions, MPS
# processes and starting colo serve. Before sourcing: set -u; after: OUT, BIN, C, LOG, FAILED.
#   gpu_setup OUTDIR      OUT (absolute), BIN (COLO_BIN, else CARRY, else $PWD/.carry), C (colo),
#                         LD_LIBRARY_PATH, LOG=$OUT/log.txt (emptied), FAILED=0
#   say / skip / check DESCRIPTION COMMAND...   log; exit 77; one assertion (FAILED=1 if false)
#   mps_procs             how many nvidia-cuda-mps-control/-server processes run
#   start_serve CONFIG DIR [ARGS...]   colo serve --config CONFIG [ARGS...] on a free loopback
#                         port, output in DIR/serve.out and DIR/serve.err; sets SERVE_PID and
#                         SERVE_PORT (empty when it did not start); with SERVE_TIMEOUT=S set, the
#                         daemon runs under `timeout S` (SIGTERM at S s, SIGKILL 15 s later)
#   stop_serve            SIGTERM to SERVE_PID, SIGKILL after 30 s; sets SERVE_RC (its exit code)
#   host_facts            date, GPUs (name, driver), colo --version (under timeout)
#   need_gpu_mps PROGRAM  skips without a GPU, the MPS binaries, colo or $BIN/PROGRAM
gpu_setup() {
  OUT=$1
  mkdir -p "$OUT"
  OUT=$(cd "$OUT" && pwd)
  BIN=${COLO_BIN:-${CARRY:-$PWD/.carry}}
  export LD_LIBRARY_PATH=$BIN/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
  C=$BIN/colo
  LOG=$OUT/log.txt
  FAILED=0
  : > "$LOG"
}
say() { echo "$*" | tee -a "$LOG"; }
mps_procs() { pgrep -f '^(/[^ ]*/)?nvidia-cuda-mps-(control|server)' 2> /dev/null | wc -l; }
skip() { say "SKIP: $*"; exit 77; }
check() {  # check DESCRIPTION COMMAND...: one assertion
  local what=$1; shift
  if "$@" >> "$LOG" 2>&1; then say "  ok    $what"; else say "  FAIL  $what"; FAILED=1; fi
}
start_serve() {
  local config=$1 dir=$2
  shift 2
  if [ -n "${SERVE_TIMEOUT:-}" ]; then
    timeout -k 15 "$SERVE_TIMEOUT" "$C" serve --config "$config" --listen 127.0.0.1:0 "$@" \
      > "$dir/serve.out" 2> "$dir/serve.err" &
  else
    "$C" serve --config "$config" --listen 127.0.0.1:0 "$@" > "$dir/serve.out" 2> "$dir/serve.err" &
  fi
  SERVE_PID=$!
  SERVE_PORT=
  for _ in $(seq 1 600); do
    SERVE_PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$dir/serve.out")
    [ -n "$SERVE_PORT" ] && return
    kill -0 $SERVE_PID 2> /dev/null || return
    sleep 0.1
  done
}
stop_serve() {
  kill -TERM "$SERVE_PID" 2> /dev/null
  for _ in $(seq 1 300); do
    kill -0 "$SERVE_PID" 2> /dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVE_PID" 2> /dev/null; then  # under SERVE_TIMEOUT: colo is timeout's child
    pkill -KILL -P "$SERVE_PID" 2> /dev/null
    kill -KILL "$SERVE_PID" 2> /dev/null
  fi
  wait "$SERVE_PID"
  SERVE_RC=$?
}
host_facts() {
  date -u
  if command -v nvidia-smi > /dev/null; then
    timeout 30 nvidia-smi --query-gpu=index,name,driver_version --format=csv,noheader 2>&1
  else
    echo "no nvidia-smi"
  fi
  timeout 30 "$C" --version 2>&1
}
# need_gpu_mps PROGRAM: skips (77) without a GPU, nvidia-cuda-mps-control, colo or $BIN/PROGRAM.
need_gpu_mps() {
  if ! command -v nvidia-smi > /dev/null || ! nvidia-smi -L > /dev/null 2>&1; then
    skip "no NVIDIA GPU"
  fi
  command -v nvidia-cuda-mps-control > /dev/null || skip "nvidia-cuda-mps-control not in PATH"
  [ -x "$C" ] || skip "no colo in $BIN"
  [ -x "$BIN/$1" ] || skip "no $1 in $BIN (built with nvcc)"
}
