#!/usr/bin/env bash
# The test command (README): installs the Debian packages it needs, checks formatting, then
# builds and runs every test twice: gcc with -Werror, and clang-19 with ASan+UBSan; then
# clang-tidy (scripts/tidy.sh) over the sources.
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
./scripts/tidy.sh build/asan
echo "all tests passed (gcc -Werror, clang-19 ASan+UBSan, clang-tidy)"
