#!/usr/bin/env bash
# Runs every libFuzzer target (fuzz/) for a bounded time on its committed corpus
# (fuzz/corpus/<target>/), the targets side by side. New inputs go to scratch directories, not
# into the repository; a crash, timeout or leak fails the script and leaves the input in
# BUILD_DIR/artifacts/. Usage: scripts/fuzz.sh [BUILD_DIR] [SECONDS_PER_TARGET]
# (defaults: build/fuzz 60).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/fuzz}
seconds=${2:-60}
targets=(spec progress trace)
mkdir -p "$build/artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
declare -A pids
for target in "${targets[@]}"; do
  bin="$build/fuzz/fuzz_$target"
  [ -x "$bin" ] || { echo "fuzz: no $bin (cmake --preset fuzz && cmake --build --preset fuzz)"; exit 2; }
  mkdir -p "$scratch/$target"
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" \
    "$scratch/$target" "fuzz/corpus/$target" > "$build/fuzz_$target.log" 2>&1 &
  pids[$target]=$!
done
echo "fuzz: ${targets[*]} for ${seconds}s each, side by side"
failed=0
for target in "${targets[@]}"; do
  if wait "${pids[$target]}"; then
    echo "fuzz_$target: $(grep -E '^stat::(number_of_executed_units|new_units_added)' \
      "$build/fuzz_$target.log" | tr -s ' \n' ' ')"
  else
    tail -n 60 "$build/fuzz_$target.log"
    echo "fuzz: fuzz_$target FAILED (input in $build/artifacts/; make it a regression test)"
    failed=1
  fi
done
[ "$failed" = 0 ] && echo "fuzz: no crash in ${seconds}s per target"
exit "$failed"
