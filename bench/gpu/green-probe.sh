#!/usr/bin/env bash
# Investigates green-context partitions on a GPU machine (the 7 x 16-SM PyTorch stall of
# bench/results/2026-11-30-h200-mig-layouts): the driver's SM resource layout as cuda.h
# declares it, each 16-SM partition alone, then 7 side by side without and with MPS, PyTorch and
# native. Read-only for the GPU; stops every MPS daemon colo starts (colo does). Writes $OUT.
# Usage: OUT=dir CARRY=.carry bench/gpu/green-probe.sh
set -u
out=${OUT:-/tmp/green-probe}; mkdir -p "$out"
CARRY=${CARRY:-$PWD/.carry}
export LD_LIBRARY_PATH=$CARRY/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export PYTHONUNBUFFERED=1
root=$PWD
log=$out/green-probe.txt
{ date -u; nvidia-smi --query-gpu=name,driver_version,mig.mode.current --format=csv,noheader; } > "$log"
cat > /tmp/probe.c <<'C'
#include <cuda.h>
#include <stddef.h>
#include <stdio.h>
int main(void) {
  printf("sizeof(CUdevResource)=%zu offsetof(sm)=%zu sizeof(CUdevSmResource)=%zu\n",
         sizeof(CUdevResource), offsetof(CUdevResource, sm), sizeof(CUdevSmResource));
  CUdevice d; CUdevResource r; unsigned n = 64; CUdevResource g[64];
  if (cuInit(0) || cuDeviceGet(&d, 0) || cuDeviceGetDevResource(d, &r, CU_DEV_RESOURCE_TYPE_SM)) return 1;
  printf("smCount=%u minSmPartitionSize=%u smCoscheduledAlignment=%u\n", r.sm.smCount,
         r.sm.minSmPartitionSize, r.sm.smCoscheduledAlignment);
  CUresult e = cuDevSmResourceSplitByCount(g, &n, &r, NULL, 0, r.sm.minSmPartitionSize);
  printf("split by %u: rc=%d groups=%u:", r.sm.minSmPartitionSize, (int)e, n);
  for (unsigned i = 0; i < n; i++) printf(" %u", g[i].sm.smCount);
  printf("\n");
  return 0;
}
C
echo "== cuda.h layout (nvcc $(nvcc --version | tail -1))" >> "$log"
nvcc -o /tmp/probe /tmp/probe.c -lcuda >> "$log" 2>&1 && /tmp/probe >> "$log" 2>&1
python3 - >> "$log" 2>&1 <<'PY'
import ctypes
class SmResource(ctypes.Structure):
    _fields_ = [("smCount", ctypes.c_uint), ("minSmPartitionSize", ctypes.c_uint), ("smCoscheduledAlignment", ctypes.c_uint)]
class DevResource(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("_pad", ctypes.c_ubyte * 92), ("sm", SmResource), ("_rest", ctypes.c_ubyte * (48 - ctypes.sizeof(SmResource)))]
print("colo_progress.py ctypes: sizeof(DevResource)=%d offsetof(sm)=%d" % (ctypes.sizeof(DevResource), DevResource.sm.offset))
PY
echo "== each 16-SM partition alone (train.py resnet18 b64, 400 steps, no MPS)" >> "$log"
for off in 0 16 32 48 64 80 96 112; do
  t0=$(date +%s%N)
  COLO_GREEN_SMS=16 COLO_GREEN_OFFSET=$off timeout -s USR1 -k 5 45 python3 workloads/torch/train.py \
    --model resnet18 --batch 64 --steps 400 > "$out/alone-$off.out" 2> "$out/alone-$off.err"
  rc=$?; t1=$(date +%s%N)
  echo "offset $off: rc=$rc $(( (t1 - t0) / 1000000 )) ms; $(grep -m1 'green context' "$out/alone-$off.err")" >> "$log"
done
echo "== 7 partitions side by side, no MPS (offsets 0..96)" >> "$log"
pids=()
for i in 0 1 2 3 4 5 6; do
  COLO_GREEN_SMS=16 COLO_GREEN_OFFSET=$((i*16)) timeout -s USR1 -k 5 60 python3 workloads/torch/train.py \
    --model resnet18 --batch 64 --steps 400 > "$out/seven-$i.out" 2> "$out/seven-$i.err" &
  pids+=($!)
done
for i in 0 1 2 3 4 5 6; do wait "${pids[$i]}"; echo "client $i: rc=$?" >> "$log"; done
echo "== through colo (MPS and time-sliced; PyTorch and native)" >> "$log"
mkdir -p "$out/specs"
for s in green-torch-7x16 green-native-7x16; do cp "bench/specs/$s.yaml" "$out/specs/"; done
sed -i 's/modes: \[{green: {sms: 16}}\]/modes: [{green: {sms: 16}}, {green: {sms: 16, over: timeslice}}]/; s/duration: 12s/duration: 8s/' "$out/specs/green-torch-7x16.yaml"
sed -i "s#\.\./\.\./workloads#$root/workloads#" "$out/specs/green-torch-7x16.yaml"
R=$(mktemp -d /tmp/colo-green.XXXX)
for s in green-torch-7x16 green-native-7x16; do
  echo "-- $s" >> "$log"
  (cd "$out/specs" && PATH=$CARRY:$PATH timeout 200 "$CARRY/colo" --results "$R" run "$s.yaml") >> "$log" 2>&1
  echo "rc=$? MPS processes left: $(ps -eo comm | grep -c nvidia-cuda-mps)" >> "$log"
done
cp -r "$R/logs" "$out/colo-logs" 2>/dev/null
tar czf "$out/results.tgz" -C "$R" colo.db 2>/dev/null
echo "done $(date -u)" >> "$log"
