#!/usr/bin/env bash
# colo serve on a real GPU under MPS (issue 15): builtin functions (colo-serve-cuda) on an MPS
# partition of GPU 0, colo serve's own MPS control daemon, a faulting client, shutdown.
# Asserts (exit 1 when one fails):
#   - colo serve started an MPS control daemon with its pipe under the config's state_dir;
#   - the builtin gemm function answers (tflops > 0) and, when built with colo_cuda_model, the
#     transformer function too;
#   - a task of the fault function ({"fault": true}: an illegal address) fails, and its reason
#     names MPS and the CUDA error;
#   - the gemm function answers again after the fault (its workers restarted when the MPS server
#     tore them down);
#   - /metrics has DCGM telemetry of GPU 0 (DCGM_FI_DEV_GPU_UTIL{gpu="0"...});
#   - SIGTERM: exit 0, no nvidia-cuda-mps-* process and no pipe directory left.
# Usage: bench/gpu/serve-mps.sh OUTDIR   (COLO_BIN: colo and colo-serve-cuda; default .carry)
# Exit: 0 all held, 1 one failed, 77 skipped (no GPU, no MPS binaries, no colo-serve-cuda).
set -u
. "$(dirname "$0")/lib.sh"
gpu_setup "${1:?usage: serve-mps.sh OUTDIR}"

need_gpu_mps colo-serve-cuda
[ "$(mps_procs)" = 0 ] || skip "an MPS daemon already runs on this machine: quit it first"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; } >> "$LOG" 2>&1

STATE=$(mktemp -d /tmp/colo-serve-mps.XXXX)  # short: MPS sockets live under it
cat > "$OUT/serve.yaml" << EOF
state_dir: $STATE
functions:
  - name: gemm
    kind: builtin
    builtin: gemm
    params: {size: 4096, chain: 8}
    workers: 2
    idempotent: true
    gpu: 0
    partition: {kind: mps, thread_percent: 50}
  - name: transformer
    kind: builtin
    builtin: transformer
    params: {hidden: 1024, heads: 16, seq: 128, batch: 4, layers: 1}
    gpu: 0
    partition: {kind: mps, thread_percent: 50}
  - name: fault
    kind: builtin
    builtin: fault
    gpu: 0
    partition: {kind: mps, thread_percent: 25}
EOF
start_serve "$OUT/serve.yaml" "$OUT"
PID=$SERVE_PID
PORT=$SERVE_PORT
if [ -z "$PORT" ]; then
  say "  FAIL  colo serve did not start"; cat "$OUT/serve.err" >> "$LOG"; exit 1
fi
URL=http://127.0.0.1:$PORT
call() { "$C" call --url "$URL" "$@"; }
check "an MPS control daemon with its pipe under state_dir" test -e "$STATE/mps/dev0/pipe/control"
call gemm '{"chain": 4}' > "$OUT/gemm1.json" 2>> "$LOG"
check "gemm answers with tflops > 0" python3 -c "
import json,sys; t=json.load(open('$OUT/gemm1.json')); sys.exit(0 if t['state']=='succeeded' and t['result']['tflops']>0 else 1)"
call transformer '{"batch": 2}' > "$OUT/transformer.json" 2>> "$LOG"
if grep -q "built without colo_cuda_model" "$OUT/transformer.json"; then
  say "  --    transformer: this colo-serve-cuda has no colo_cuda_model (not checked)"
else
  check "transformer answers" grep -q '"succeeded"' "$OUT/transformer.json"
fi
call fault '{"fault": true}' > "$OUT/fault.json" 2>> "$LOG"
check "the faulting task failed" grep -q '"failed"' "$OUT/fault.json"
check "its reason names MPS" grep -q 'MPS' "$OUT/fault.json"
check "its reason names the CUDA error" grep -qi 'illegal' "$OUT/fault.json"
ok=1
for _ in $(seq 1 20); do
  if call gemm '{"chain": 2}' > "$OUT/gemm2.json" 2>> "$LOG"; then ok=0; break; fi
  sleep 0.5
done
check "gemm answers again after the fault" test $ok = 0
curl -s "$URL/metrics" > "$OUT/metrics.txt" 2>> "$LOG" || python3 -c "
import urllib.request; print(urllib.request.urlopen('$URL/metrics').read().decode())" > "$OUT/metrics.txt"
check "DCGM telemetry of GPU 0 in /metrics" grep -q '^DCGM_FI_DEV_GPU_UTIL{.*gpu="0"' "$OUT/metrics.txt"
grep -E '^colo_serve_worker_restarts_total|^colo_serve_tasks_finished' "$OUT/metrics.txt" >> "$LOG"
kill -TERM $PID
wait $PID
check "SIGTERM: exit 0" test $? = 0
check "no MPS process left" test "$(mps_procs)" = 0
check "no pipe directory left" test ! -e "$STATE/mps/dev0/pipe"
cp -r "$STATE/mps/dev0/log" "$OUT/mps-log" 2> /dev/null
rm -rf "$STATE"
say "serve.err:"; cat "$OUT/serve.err" >> "$LOG"
[ $FAILED = 0 ] && say "ALL OK" || say "FAILED"
exit $FAILED
