#!/usr/bin/env bash
# The test command (README): installs the Debian packages it needs, checks formatting, then
# builds and runs every test twice: gcc with -Werror, and clang-19 with ASan+UBSan; then the
# libFuzzer targets for a bounded time (scripts/fuzz.sh); the threaded modules' tests under
# clang-19 TSan; then clang-tidy (scripts/tidy.sh).
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
# ThreadSanitizer over the threaded modules only (monitor's sampler thread, the supervisor,
# the engine's run loop with its sampler, the pipeline runner's stage threads and queues, colo
# serve's task store and worker pool): their test binaries, not the whole tree.
echo "=== build + test: tsan (monitor, launch, engine, pipeline, serve)"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$jobs" --target unit_monitor unit_launch unit_engine unit_pipeline \
  unit_serve
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --preset tsan -j "$jobs" --timeout 300 -L unit -R '^(ProcStats|Sampler|SupervisorTest|ProgressProtocol|ExitClassify|EngineTest|Pipeline[A-Za-z]*|TaskStoreThreads|PoolThreads)\.'
# clang-tidy reads one compile command per source file: a configure-only copy of the asan preset
# without COLO_UNITY (the CI presets compile the module libraries as unity sources).
cmake --preset asan -B build/tidy -DCOLO_UNITY=OFF >/dev/null
./scripts/tidy.sh build/tidy
echo "all tests passed (gcc -Werror, clang-19 ASan+UBSan, fuzzers, clang-19 TSan of the threaded modules, clang-tidy)"
