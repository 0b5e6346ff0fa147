#!/usr/bin/env bash
# clang-tidy-19 over colo's C++ sources (src/, apps/, workloads/; checks in .clang-tidy, every
# warning an error). Needs the compile database of a configured preset (default: asan, the
# clang build). Usage: scripts/tidy.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/asan}
[ -f "$build/compile_commands.json" ] || { echo "tidy: no $build/compile_commands.json (configure a preset first)"; exit 2; }
# The sources this build compiles (those of optional parts, such as the CUDA workers without
# nvcc, are not in its compile database and are not checked here).
root=$(pwd)
find src apps workloads -name '*.cpp' | sort | while read -r f; do
  if grep -qF "\"file\": \"$root/$f\"" "$build/compile_commands.json"; then printf '%s\0' "$f"; fi
done | xargs -0 -P "$(nproc)" -n 4 clang-tidy-19 -p "$build" --quiet 2> /tmp/colo-tidy.$$.err ||
  { grep -E "warning:|error:" /tmp/colo-tidy.$$.err || true; rm -f /tmp/colo-tidy.$$.err; echo "tidy: FAILED"; exit 1; }
rm -f /tmp/colo-tidy.$$.err
echo "tidy: clean"
