#!/usr/bin/env bash
# Runs experiment specs on a GPU machine with colo binaries copied there (the device tool's
# habit: binaries built on Debian 12, shared libraries the machine lacks in $CARRY/lib).
# Usage: bench/gpu/run-specs.sh OUTDIR SPEC...   (specs relative to bench/specs)
# Writes OUTDIR/report.txt (colo's output per spec) and OUTDIR/results.tgz (store + exports).
set -u
CARRY=${CARRY:-$PWD/.carry}
export LD_LIBRARY_PATH=$CARRY/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export PYTHONUNBUFFERED=1
out=$1; shift
C=$CARRY/colo
R=$(mktemp -d /tmp/colo-results.XXXX)
REP=$out/report.txt
cd "$(dirname "$0")/../specs"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; } >> "$REP"
for s in "$@"; do
  echo "=================== $s" >> "$REP"
  timeout 580 "$C" --results "$R" run "$s" >> "$REP" 2>&1; echo "rc=$?" >> "$REP"
  echo "--- MPS processes left: $(ps -eo comm | grep -c nvidia-cuda-mps)" >> "$REP"
done
n=$("$C" --results "$R" ls 2>/dev/null | tail -n +2 | wc -l)
mkdir -p "$R/exports"
for i in $(seq 1 "$n"); do
  "$C" --results "$R" show "$i" >> "$REP" 2>&1
  "$C" --results "$R" export "$i" --format json -o "$R/exports/$i.json" 2>/dev/null
done
tar czf "$out/results.tgz" -C "$R" colo.db exports 2>/dev/null
