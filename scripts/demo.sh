#!/usr/bin/env bash
# The main job (README): builds colo and runs a collocation experiment. On a machine with an
# NVIDIA GPU and PyTorch it runs ResNet-18 training time-sliced 1, 2 and 4 ways on the real GPU
# (examples/resnet18-timeslice.yaml); otherwise examples/quickstart.yaml on the SIMULATED GPU.
# Then writes colo-report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="$PATH:/usr/local/cuda/bin"
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
spec=examples/quickstart.yaml
if ./build/release/bin/colo gpus --gpu nvml >/dev/null 2>&1 &&
   python3 -c 'import torch, torchvision; assert torch.cuda.is_available()' 2>/dev/null; then
  spec=examples/resnet18-timeslice.yaml
else
  echo "demo: no NVIDIA GPU with PyTorch here: running on colo's SIMULATED GPU"
fi
rc=0
./build/release/bin/colo run "$spec" "$@" || rc=$?
# The report of what just ran (HTML with charts; says SIMULATED when it was).
./build/release/bin/colo report -o colo-report.html && echo "demo: open colo-report.html"
exit $rc
