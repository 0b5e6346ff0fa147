#!/usr/bin/env bash
# bench/gpu/serve-scale.sh in SIM mode (no GPU, no torch: python workers sleeping a fixed time per
# task on colo's simulated GPU): the procedure runs end to end and its outputs hold together.
# Checks: exit 0; a csv row per function x mode x K (3 x 2 x 4), every one labelled SIMULATED
# with all N tasks succeeded; K=8 throughput > 2x K=1 throughput for every function and mode
# (sleeping workers overlap); the table says SIMULATED; no daemon or worker left.
# Usage: serve_scale_sim.sh BIN_DIR OUT_DIR
set -u
bin=${1:?usage: serve_scale_sim.sh BIN_DIR OUT_DIR}
out=${2:?usage: serve_scale_sim.sh BIN_DIR OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out"
SIM=1 COLO_BIN=$bin GPT_N=16 RESNET_N=32 GEMM_N=32 \
  timeout 150 "$here/../../bench/gpu/serve-scale.sh" "$out" > "$out.log" 2>&1
rc=$?
fail() { echo "FAIL: $*"; tail -30 "$out.log"; exit 1; }
[ $rc = 0 ] || fail "serve-scale.sh exited $rc"
python3 - "$out" << 'PY' || fail "the outputs do not hold together"
import csv, sys
rows = list(csv.DictReader(open(f"{sys.argv[1]}/serve-scale.csv")))
want = {(f, m, k) for f in ("gpt", "resnet50", "gemm") for m in ("no-mps", "mps")
        for k in ("1", "2", "4", "8")}
got = {(r["function"], r["mode"], r["K"]) for r in rows}
assert got == want and len(rows) == len(want), f"rows {sorted(got ^ want)} missing or extra"
for r in rows:
    assert r["label"] == "SIMULATED", r
    assert r["succeeded"] == r["N"], r
    assert float(r["mean_service_s"]) <= float(r["mean_completion_s"]) <= float(r["makespan_s"]), r
tp = {(r["function"], r["mode"], r["K"]): float(r["throughput"]) for r in rows}
for f, m, _ in want:
    assert tp[(f, m, "8")] > 2 * tp[(f, m, "1")], (f, m, tp[(f, m, "8")], tp[(f, m, "1")])
md = open(f"{sys.argv[1]}/serve-scale.md").read()
assert "SIMULATED" in md.splitlines()[0] and "| gpt | mps |" in md, md[:300]
print("ok: 24 rows, K=8 > 2x K=1 everywhere")
PY
if pgrep -f "colo-ss\.[A-Za-z0-9]*/bin/colo" > /dev/null || pgrep -f "serve_functions:sleep_task" > /dev/null; then
  fail "a colo serve process was left"
fi
echo "PASS"
