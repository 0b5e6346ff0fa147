#pragma once
// The CUDA driver API entry points colo itself uses, dlopen'd from libcuda.so.1 (never linked):
// device attributes by UUID. (Green-context SM partitions are created inside workloads, see
// workloads/include/colo/green_context.hpp.) Errors are values; a machine without the driver
// gets ErrorCode::gpu. Thread-safe after create().
#include <memory>
#include <string>

#include "core/result.hpp"

namespace colo {

struct CudaDeviceAttributes {
  int sm_count = 0;
  int cc_major = 0;
  int cc_minor = 0;
};

class CudaDriver {
 public:
  static Result<std::unique_ptr<CudaDriver>> create(const char* library = "libcuda.so.1");
  ~CudaDriver();
  CudaDriver(const CudaDriver&) = delete;
  CudaDriver& operator=(const CudaDriver&) = delete;

  // Attributes of the device whose UUID is `uuid` ("GPU-xxxxxxxx-...").
  Result<CudaDeviceAttributes> attributes(const std::string& uuid) const;

 private:
  struct Impl;
  explicit CudaDriver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// "GPU-" + canonical 8-4-4-4-12 hex form of a 16-byte CUDA UUID.
std::string format_gpu_uuid(const unsigned char bytes[16]);

}  // namespace colo
