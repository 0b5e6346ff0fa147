#pragma once
// Green-context SM partitions for colo's native CUDA workloads (CUDA >= 12.4 driver API).
// make_current_green_context(n) restricts every later kernel of this thread's CUDA work (runtime
// API included, default stream too) to about n SMs (rounded up to the device's SM-group size).
// Call before any other CUDA call. Returns the SM count granted, or a negative CUresult.
#include <cuda.h>

namespace colo_green {

inline int make_current_green_context(unsigned int sms, int device = 0) {
  CUresult r = cuInit(0);
  CUdevice dev = 0;
  if (r == CUDA_SUCCESS) {
    r = cuDeviceGet(&dev, device);
  }
  CUdevResource all{};
  if (r == CUDA_SUCCESS) {
    r = cuDeviceGetDevResource(dev, &all, CU_DEV_RESOURCE_TYPE_SM);
  }
  CUdevResource part{};
  CUdevResource rest{};
  unsigned int groups = 1;
  if (r == CUDA_SUCCESS) {
    r = cuDevSmResourceSplitByCount(&part, &groups, &all, &rest, 0, sms);
  }
  CUdevResourceDesc desc{};
  if (r == CUDA_SUCCESS) {
    r = cuDevResourceGenerateDesc(&desc, &part, 1);
  }
  CUgreenCtx green{};
  if (r == CUDA_SUCCESS) {
    r = cuGreenCtxCreate(&green, desc, dev, CU_GREEN_CTX_DEFAULT_STREAM);
  }
  CUcontext ctx{};
  if (r == CUDA_SUCCESS) {
    r = cuCtxFromGreenCtx(&ctx, green);
  }
  if (r == CUDA_SUCCESS) {
    r = cuCtxSetCurrent(ctx);
  }
  if (r != CUDA_SUCCESS) {
    return -static_cast<int>(r);
  }
  return static_cast<int>(part.sm.smCount);
}

}  // namespace colo_green
