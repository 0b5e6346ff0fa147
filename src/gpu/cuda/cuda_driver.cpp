#include "gpu/cuda/cuda_driver.hpp"

#include <dlfcn.h>

#include <fmt/format.h>

namespace colo {
// CUuuid's layout, named (not in the anonymous namespace): CudaDriver::Impl holds pointers to
// functions taking it, and a member's type must not have internal linkage when this file is
// compiled as part of a unity source.
namespace cuda_abi {
struct CUuuid {
  unsigned char bytes[16];
};
}  // namespace cuda_abi
namespace {
using CUresult = int;
using CUdevice = int;
using cuda_abi::CUuuid;
constexpr int k_attr_sm_count = 16;  // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
constexpr int k_attr_cc_major = 75;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int k_attr_cc_minor = 76;
}  // namespace

#define COLO_CUDA_FUNCTIONS(X)                             \
  X(cuInit, CUresult, (unsigned int))                      \
  X(cuDeviceGetCount, CUresult, (int*))                    \
  X(cuDeviceGet, CUresult, (CUdevice*, int))               \
  X(cuDeviceGetAttribute, CUresult, (int*, int, CUdevice)) \
  X(cuDeviceGetUuid_v2, CUresult, (CUuuid*, CUdevice))

struct CudaDriver::Impl {
  void* handle = nullptr;
#define COLO_CUDA_PTR(name, ret, params) ret(*name) params = nullptr;
  COLO_CUDA_FUNCTIONS(COLO_CUDA_PTR)
#undef COLO_CUDA_PTR
};

std::string format_gpu_uuid(const unsigned char b[16]) {
  std::string hex;
  for (int i = 0; i < 16; ++i) {
    hex += fmt::format("{:02x}", b[i]);
  }
  return fmt::format("GPU-{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4),
                     hex.substr(16, 4), hex.substr(20, 12));
}

CudaDriver::CudaDriver(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

CudaDriver::~CudaDriver() {
  if (m_impl && m_impl->handle) {
    ::dlclose(m_impl->handle);
  }
}

Result<std::unique_ptr<CudaDriver>> CudaDriver::create(const char* library) {
  auto impl = std::make_unique<Impl>();
  impl->handle = ::dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!impl->handle) {
    const char* e = ::dlerror();
    return fail(ErrorCode::gpu, fmt::format("cannot load {}", library), e ? e : "");
  }
#define COLO_CUDA_LOAD(name, ret, params)                                                      \
  impl->name = reinterpret_cast<ret(*) params>(::dlsym(impl->handle, #name));                  \
  if (!impl->name) {                                                                           \
    ::dlclose(impl->handle);                                                                   \
    return fail(ErrorCode::gpu, fmt::format("{} lacks {} (driver too old?)", library, #name)); \
  }
  COLO_CUDA_FUNCTIONS(COLO_CUDA_LOAD)
#undef COLO_CUDA_LOAD
  if (auto r = impl->cuInit(0); r != 0) {
    ::dlclose(impl->handle);
    return fail(ErrorCode::gpu, fmt::format("cuInit failed with CUDA error {}", r));
  }
  return std::unique_ptr<CudaDriver>(new CudaDriver(std::move(impl)));
}

Result<CudaDeviceAttributes> CudaDriver::attributes(const std::string& uuid) const {
  int count = 0;
  if (m_impl->cuDeviceGetCount(&count) != 0) {
    return fail(ErrorCode::gpu, "cuDeviceGetCount failed");
  }
  for (int i = 0; i < count; ++i) {
    CUdevice dev = 0;
    CUuuid u{};
    if (m_impl->cuDeviceGet(&dev, i) != 0 || m_impl->cuDeviceGetUuid_v2(&u, dev) != 0) {
      continue;
    }
    if (format_gpu_uuid(u.bytes) != uuid) {
      continue;
    }
    CudaDeviceAttributes a;
    m_impl->cuDeviceGetAttribute(&a.sm_count, k_attr_sm_count, dev);
    m_impl->cuDeviceGetAttribute(&a.cc_major, k_attr_cc_major, dev);
    m_impl->cuDeviceGetAttribute(&a.cc_minor, k_attr_cc_minor, dev);
    return a;
  }
  return fail(ErrorCode::not_found, fmt::format("CUDA sees no device with UUID {}", uuid));
}

}  // namespace colo
