#!/usr/bin/env bash
# A real Prometheus (Debian's `prometheus` package) scrapes colo serve: colo serve on the
# simulated GPU (an MPS pool of colo-serve-echo on GPU 0) and prometheus on loopback with a
# temporary config and storage directory, scraping it every second; then Prometheus's HTTP API
# must answer up{job="colo"} = 1, the task counter colo_serve_tasks_finished_total{state=
# "succeeded"} >= 2 (two tasks called), and the simulated GPU's DCGM_FI_DEV_GPU_UTIL labelled
# simulated="true". Both are stopped on every path (trap). Usage: prometheus_test.sh BIN_DIR
# WORK_DIR. Exit 0 ok, 1 failed, 77 skipped (no prometheus, no python3).
set -u
BIN=${1:?usage: prometheus_test.sh BIN_DIR WORK_DIR}
WORK=${2:?usage: prometheus_test.sh BIN_DIR WORK_DIR}
PROM=$(command -v prometheus || true)
[ -n "$PROM" ] || { echo "SKIP: prometheus is not installed (Debian package prometheus)"; exit 77; }
command -v python3 > /dev/null || { echo "SKIP: no python3"; exit 77; }
rm -rf "$WORK"
mkdir -p "$WORK/tsdb"
SERVE_PID=
PROM_PID=
cleanup() {
  [ -n "$PROM_PID" ] && kill "$PROM_PID" 2> /dev/null && wait "$PROM_PID" 2> /dev/null
  [ -n "$SERVE_PID" ] && kill -TERM "$SERVE_PID" 2> /dev/null && wait "$SERVE_PID" 2> /dev/null
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$WORK"/*.log "$WORK"/*.err; do echo "--- $f"; tail -20 "$f"; done; exit 1; }

cat > "$WORK/serve.yaml" << YAML
functions:
  - name: echo
    argv: [$BIN/colo-serve-echo]
    gpu: 0
    partition: {kind: mps, thread_percent: 50}
YAML
"$BIN/colo" serve --config "$WORK/serve.yaml" --listen 127.0.0.1:0 --gpu sim \
  > "$WORK/serve.log" 2> "$WORK/serve.err" &
SERVE_PID=$!
PORT=
for _ in $(seq 1 100); do
  PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$WORK/serve.log")
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || fail "colo serve did not start"
for i in 1 2; do
  "$BIN/colo" call --url "http://127.0.0.1:$PORT" echo "$i" > /dev/null || fail "colo call failed"
done

# A free loopback port for Prometheus's own listener.
PPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/prometheus.yml" << YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: colo
    static_configs:
      - targets: ["127.0.0.1:$PORT"]
YAML
"$PROM" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PPORT" --log.level=warn > "$WORK/prometheus.log" 2>&1 &
PROM_PID=$!

# query EXPR: the first result's value, or nothing.
query() {
  python3 - "$PPORT" "$1" << 'PY'
import json, sys, urllib.parse, urllib.request
try:
    url = f"http://127.0.0.1:{sys.argv[1]}/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[2]})
    r = json.load(urllib.request.urlopen(url, timeout=5))
    if r.get("status") == "success" and r["data"]["result"]:
        print(r["data"]["result"][0]["value"][1])
except Exception:
    pass
PY
}
ok=
for _ in $(seq 1 60); do
  kill -0 "$PROM_PID" 2> /dev/null || fail "prometheus exited"
  up=$(query 'up{job="colo"}')
  done_=$(query 'colo_serve_tasks_finished_total{job="colo",function="echo",state="succeeded"}')
  util=$(query 'DCGM_FI_DEV_GPU_UTIL{job="colo",gpu="0",simulated="true"}')
  if [ "$up" = 1 ] && [ -n "$done_" ] && [ -n "$util" ]; then ok=1; break; fi
  sleep 0.5
done
[ -n "$ok" ] || fail "Prometheus did not get colo's metrics (up=${up:-none} finished=${done_:-none} util=${util:-none})"
python3 -c "import sys; sys.exit(0 if float('$done_') >= 2 else 1)" \
  || fail "colo_serve_tasks_finished_total is $done_, expected >= 2"
echo "ok: Prometheus scraped colo serve: up=1, colo_serve_tasks_finished_total=$done_, DCGM_FI_DEV_GPU_UTIL(simulated)=$util"
