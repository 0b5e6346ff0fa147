#!/usr/bin/env bash
# colo serve on two GPUs (issue 17): the builtin gemm function (cuBLAS fp16 GEMM chain,
# GPU-bound) served by a pool on GPU 0 only, then by a pool spanning GPUs 0 and 1 (gpus: [0, 1],
# the same workers per GPU), each as a whole GPU and as an MPS share (colo serve's own MPS
# daemons). The load: warm-up, then TASKS tasks submitted as batches through /v1/batch and
# collected through /v1/results (closed: all in flight at once); throughput = tasks / wall time
# from the first submission to the last result. Prints tasks/s for 1 and 2 GPUs and the ratio
# (issue 17's target: >= 1.8x).
# Usage: bench/gpu/serve-2gpu.sh OUTDIR   (CARRY or COLO_BIN: colo, colo-serve-cuda; prebuilt)
#   TASKS (default 800), SIZE (gemm size, default 8192), CHAIN (GEMMs per task, default 16),
#   PER_GPU (workers per GPU, default 2)
# Writes OUTDIR/serve-2gpu.tgz (configs, daemon logs, per-run JSON, /metrics snapshots, summary)
# and prints the summary. Exit 77: fewer than 2 GPUs or no colo-serve-cuda.
set -u
. "$(dirname "$0")/lib.sh"
gpu_setup "${1:?usage: serve-2gpu.sh OUTDIR}"
TASKS=${TASKS:-800}
SIZE=${SIZE:-8192}
CHAIN=${CHAIN:-16}
PER_GPU=${PER_GPU:-2}
W=$(mktemp -d /tmp/colo-serve-2gpu.XXXX)
SUM=$W/summary.txt
trap 'tar czf "$OUT/serve-2gpu.tgz" -C "$W" . 2> /dev/null; rm -rf "$W"' EXIT

ngpu=$(nvidia-smi -L 2> /dev/null | grep -c '^GPU ')
[ "${ngpu:-0}" -ge 2 ] || { echo "SKIP: needs 2 GPUs (found ${ngpu:-0})"; exit 77; }
[ -x "$BIN/colo-serve-cuda" ] || { echo "SKIP: no colo-serve-cuda in $BIN"; exit 77; }
{ host_facts;
  echo "tasks $TASKS, gemm ${SIZE}x${SIZE} fp16 x $CHAIN per task, $PER_GPU worker(s) per GPU"; } \
  | tee "$SUM"

# run NAME GPUS_YAML WORKERS PARTITION_YAML: one daemon, warm-up, timed load; appends to $SUM.
run() {
  local name=$1 gpus=$2 workers=$3 part=$4 d=$W/$1
  mkdir -p "$d"
  cat > "$d/serve.yaml" << EOF
state_dir: $d/state
functions:
  - name: gemm
    kind: builtin
    builtin: gemm
    params: {size: $SIZE, chain: $CHAIN}
    workers: $workers
    queue_capacity: 100000
    timeout_s: 600
    $gpus
    partition: $part
EOF
  start_serve "$d/serve.yaml" "$d"
  local port=$SERVE_PORT
  if [ -z "$port" ]; then
    echo "$name: colo serve did not start: $(tail -3 "$d/serve.err")" | tee -a "$SUM"
    return
  fi
  python3 - "$port" "$TASKS" "$workers" "$name" > "$d/result.json" 2>> "$d/load.err" << 'PY'
import json, sys, time, urllib.request
port, tasks, workers, name = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
url = f"http://127.0.0.1:{port}"
def post(path, body):
    req = urllib.request.Request(url + path, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=900))
def batch(n):
    ids = []
    for i in range(0, n, 1000):
        ids += post("/v1/batch", {"function": "gemm", "inputs": [None] * min(1000, n - i)})["ids"]
    out = []
    for i in range(0, len(ids), 1000):
        chunk = ids[i:i + 1000]
        while True:
            got = post("/v1/results", {"ids": chunk, "wait_s": 60})["tasks"]
            if all(t["state"] not in ("queued", "running") for t in got):
                break
        out += got
    return out
batch(4 * workers)  # warm-up: every worker's cuBLAS handle and first GEMMs
t0 = time.monotonic()
done = batch(tasks)
wall = time.monotonic() - t0
ok = [t for t in done if t["state"] == "succeeded"]
gpu_s = sorted(t["result"]["gpu_s"] for t in ok)
print(json.dumps({"name": name, "tasks": tasks, "succeeded": len(ok), "wall_s": wall,
                  "tasks_per_s": len(ok) / wall,
                  "median_task_gpu_s": gpu_s[len(gpu_s) // 2] if gpu_s else None,
                  "mean_tflops_per_task": sum(t["result"]["tflops"] for t in ok) / max(1, len(ok)),
                  "errors": sorted({t.get("error", "") for t in done if t["state"] != "succeeded"})}))
PY
  python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$port/metrics').read().decode())" \
    > "$d/metrics.txt" 2>> "$d/load.err"
  stop_serve
  echo "exit=$SERVE_RC" >> "$d/serve.out"
  python3 -c "
import json; r = json.load(open('$d/result.json'))
print(f\"{r['name']:<10} {r['succeeded']}/{r['tasks']} ok  {r['wall_s']:.2f} s  {r['tasks_per_s']:.2f} tasks/s  median task {r['median_task_gpu_s']:.4f} s  {r['mean_tflops_per_task']:.0f} TFLOP/s per task  errors {r['errors']}\")" \
    2>&1 | tee -a "$SUM"
  echo "  MPS processes left: $(mps_procs)" | tee -a "$SUM"
}

run gpu-1 "gpu: 0" "$PER_GPU" "{kind: gpu}"
run gpu-2 "gpus: [0, 1]" "$((2 * PER_GPU))" "{kind: gpu}"
run mps-1 "gpu: 0" "$PER_GPU" "{kind: mps, thread_percent: 100}"
run mps-2 "gpus: [0, 1]" "$((2 * PER_GPU))" "{kind: mps, thread_percent: 100}"

python3 - "$W" << 'PY' | tee -a "$SUM"
import json, os, sys
w = sys.argv[1]
def tps(n):
    try:
        return json.load(open(os.path.join(w, n, "result.json")))["tasks_per_s"]
    except Exception:
        return None
for kind in ("gpu", "mps"):
    one, two = tps(kind + "-1"), tps(kind + "-2")
    if one and two:
        print(f"{kind}: 1 GPU {one:.2f} tasks/s, 2 GPUs {two:.2f} tasks/s, ratio {two / one:.2f}x "
              f"(target >= 1.8x: {'met' if two / one >= 1.8 else 'MISSED'})")
    else:
        print(f"{kind}: incomplete (see the logs in the tarball)")
PY
cp "$SUM" "$OUT/summary.txt"
