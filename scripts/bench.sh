#!/usr/bin/env bash
# Builds the release benchmarks and runs them; output goes to stdout (commit it under
# bench/results/ with the machine and date).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOLO_BUILD_TESTS=OFF >/dev/null
cmake --build build/bench -j "$(nproc)"
echo "machine: $(uname -m), $(nproc) cores, $(date -u +%Y-%m-%d)"
for b in supervisor store monitor report; do ./build/bench/bin/bench_$b; echo; done
if command -v nvidia-smi >/dev/null 2>&1; then  # GPU benchmarks (bench/results/*h100*)
  ./build/bench/bin/bench_nvml; echo
  ./build/bench/bin/bench_monitor --gpu; echo
fi
