#!/usr/bin/env bash
# `colo top` in a real terminal (tmux): shows the running experiment's workloads with progress
# bars and the GPU line, refreshes, and quits cleanly on q, leaving no process behind; `colo run`
# on a terminal shows a progress bar with ETA. Exit 77 (skipped) without tmux.
# Usage: top_in_tmux.sh COLO_BIN_DIR OUT
set -euo pipefail
bin=$1
out=$2
command -v tmux >/dev/null || { echo "SKIPPED: tmux is not installed"; exit 77; }
rm -rf "$out" && mkdir -p "$out" && cd "$out"
sock="$out/tmux.sock"
t() { tmux -S "$sock" "$@"; }
cleanup() { t kill-server 2>/dev/null || true; }
trap cleanup EXIT
cat > spec.yaml <<'Y'
name: top-test
gpu: sim
stop: {duration: 6s}
sample_period: 200ms
workloads:
  - {name: alpha, builtin: sim-gpu, copies: [2]}
Y
t -f /dev/null new-session -d -x 120 -y 40 -s run "$bin/colo --results $out/results run spec.yaml; sleep 30"
for _ in $(seq 1 100); do [ -f results/colo.db ] && break; sleep 0.1; done
sleep 3  # the collocated run (after the solo one) is under way
t new-session -d -x 120 -y 40 -s top "$bin/colo --results $out/results top; echo TOP-EXITED rc=\$?; sleep 30"
fail=0
seen=""
for _ in $(seq 1 40); do
  sleep 0.25
  seen=$(t capture-pane -p -t top)
  echo "$seen" | grep -q 'alpha#' && echo "$seen" | grep -q 'GPU 0:' && break
done
echo "$seen" > top-frame.txt
echo "$seen" | grep -q 'colo top - experiment 1 "top-test" \[SIMULATED GPU\]' || { echo "FAIL: no header"; fail=1; }
echo "$seen" | grep -Eq 'alpha#0 +\[#*\.*\] +[0-9]+%' || { echo "FAIL: no progress bar"; fail=1; }
echo "$seen" | grep -q 'GPU 0:' || { echo "FAIL: no GPU line"; fail=1; }
first=$(echo "$seen" | grep -o '[0-9][0-9]:[0-9][0-9]:[0-9][0-9]' | head -1)
sleep 2.2
second=$(t capture-pane -p -t top | grep -o '[0-9][0-9]:[0-9][0-9]:[0-9][0-9]' | head -1)
[ "$first" != "$second" ] || { echo "FAIL: the view did not refresh ($first)"; fail=1; }
t send-keys -t top q
for _ in $(seq 1 40); do
  sleep 0.1
  t capture-pane -p -t top | grep -q 'TOP-EXITED rc=0' && break
done
t capture-pane -p -t top > top-after-q.txt
grep -q 'TOP-EXITED rc=0' top-after-q.txt || { echo "FAIL: q did not quit cleanly"; fail=1; }
# the run's own terminal output: a progress bar with ETA after each run
for _ in $(seq 1 100); do
  t capture-pane -p -t run | grep -q 'runs done' && break
  sleep 0.1
done
t capture-pane -p -t run > run-pane.txt
grep -Eq '\[#+\.*\] 1/2 runs, .* elapsed, ETA ~' run-pane.txt || { echo "FAIL: no progress bar in colo run"; fail=1; }
cat top-frame.txt
exit $fail
