#!/usr/bin/env bash
# The test command (README): installs the Debian packages it needs, checks formatting, then
# builds and runs every test twice: gcc with -Werror, and clang-19 with ASan+UBSan; then the
# libFuzzer targets for a bounded time (scripts/fuzz.sh); then clang-tidy (scripts/tidy.sh).
# GPU tests (ctest label `gpu`) report "skipped" on machines without an NVIDIA GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/format.sh --check
# nvcc, where installed, builds the native CUDA workloads too (they need a GPU only to run).
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="$PATH:/usr/local/cuda/bin"
jobs=$(nproc)
for preset in ci-gcc asan; do
  echo "=== build + test: $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  ctest --preset "$preset" -j "$jobs" --timeout 300
done
# Fuzzers (fuzz/README.md): the spec, progress-line and trace parsers under libFuzzer with
# ASan+UBSan, side by side for COLO_FUZZ_SECONDS (default 60) each on the committed corpora.
echo "=== fuzz"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
./scripts/fuzz.sh build/fuzz "${COLO_FUZZ_SECONDS:-60}"
./scripts/tidy.sh build/asan
echo "all tests passed (gcc -Werror, clang-19 ASan+UBSan, fuzzers, clang-tidy)"
