#pragma once
// Green-context SM partitions for colo's native CUDA workloads (CUDA >= 13 driver API).
// make_current_green_context(n, offset) restricts every later kernel of this thread's CUDA work
// (runtime API included, default stream too) to n SMs (rounded up to the device's partition
// size) starting at SM group offset/size: processes given disjoint [offset, offset + n) ranges
// (colo's COLO_GREEN_OFFSET) get disjoint SMs, which is what lets them run side by side under
// MPS. A range past the end of the device is moved back to fit (then ranges overlap). Call
// before any other CUDA call. Returns the SM count granted, or a negative CUresult.
// The driver entry points come from a DriverApi: linked_driver_api() for a program linked with
// libcuda (colo-cuda-work), or a table filled through cudaGetDriverEntryPointByVersion by code
// that must not link libcuda (colo_cuda_model: loadable on machines without a driver).
#include <cuda.h>

#include <vector>

namespace colo_green {

// The driver calls a green context needs (types from cuda.h; no link dependency by themselves).
struct DriverApi {
  decltype(&cuInit) init = nullptr;
  decltype(&cuDeviceGet) device_get = nullptr;
  decltype(&cuDeviceGetDevResource) device_get_dev_resource = nullptr;
  decltype(&cuDevSmResourceSplitByCount) dev_sm_resource_split_by_count = nullptr;
  decltype(&cuDevResourceGenerateDesc) dev_resource_generate_desc = nullptr;
  decltype(&cuGreenCtxCreate) green_ctx_create = nullptr;
  decltype(&cuCtxFromGreenCtx) ctx_from_green_ctx = nullptr;
  decltype(&cuCtxSetCurrent) ctx_set_current = nullptr;
};

// The entry points of the libcuda this program links.
inline DriverApi linked_driver_api() {
  return {&cuInit,
          &cuDeviceGet,
          &cuDeviceGetDevResource,
          &cuDevSmResourceSplitByCount,
          &cuDevResourceGenerateDesc,
          &cuGreenCtxCreate,
          &cuCtxFromGreenCtx,
          &cuCtxSetCurrent};
}

inline int make_current_green_context(const DriverApi& api, unsigned int sms,
                                      unsigned int offset = 0, int device = 0) {
  CUresult r = api.init(0);
  CUdevice dev = 0;
  if (r == CUDA_SUCCESS) {
    r = api.device_get(&dev, device);
  }
  CUdevResource all{};
  if (r == CUDA_SUCCESS) {
    r = api.device_get_dev_resource(dev, &all, CU_DEV_RESOURCE_TYPE_SM);
  }
  // Every partition-sized group of the device, in a fixed order, the same in every process.
  const unsigned int granule = all.sm.minSmPartitionSize > 0 ? all.sm.minSmPartitionSize : 8;
  unsigned int n = r == CUDA_SUCCESS ? all.sm.smCount / granule : 0;
  std::vector<CUdevResource> groups(n > 0 ? n : 1);
  if (r == CUDA_SUCCESS) {
    r = api.dev_sm_resource_split_by_count(groups.data(), &n, &all, nullptr, 0, granule);
  }
  unsigned int count = (sms + granule - 1) / granule;
  unsigned int first = offset / granule;
  if (count > n) {
    count = n;
  }
  if (first + count > n) {
    first = n - count;
  }
  CUdevResourceDesc desc{};
  if (r == CUDA_SUCCESS) {
    r = api.dev_resource_generate_desc(&desc, groups.data() + first, count);
  }
  CUgreenCtx green{};
  if (r == CUDA_SUCCESS) {
    r = api.green_ctx_create(&green, desc, dev, CU_GREEN_CTX_DEFAULT_STREAM);
  }
  CUcontext ctx{};
  if (r == CUDA_SUCCESS) {
    r = api.ctx_from_green_ctx(&ctx, green);
  }
  if (r == CUDA_SUCCESS) {
    r = api.ctx_set_current(ctx);
  }
  if (r != CUDA_SUCCESS) {
    return -static_cast<int>(r);
  }
  unsigned int granted = 0;
  for (unsigned int i = first; i < first + count; ++i) {
    granted += groups[i].sm.smCount;
  }
  return static_cast<int>(granted);
}

inline int make_current_green_context(unsigned int sms, unsigned int offset = 0, int device = 0) {
  return make_current_green_context(linked_driver_api(), sms, offset, device);
}

}  // namespace colo_green
