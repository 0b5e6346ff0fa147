#include "gpu/nvml/nvml_library.hpp"

#include <dlfcn.h>

#include <cstdlib>

namespace colo::nvml {

Library::~Library() {
  if (!handle) {
    return;
  }
  for (auto& g : gpm) {
    if (g.a) {
      nvmlGpmSampleFree(g.a);
    }
    if (g.b) {
      nvmlGpmSampleFree(g.b);
    }
  }
  if (initialized) {
    nvmlShutdown();
  }
  ::dlclose(handle);
}

Result<std::unique_ptr<Library>> Library::load(const char* path) {
  if (!path) {
    const char* env = std::getenv("COLO_NVML_LIBRARY");
    path = env && *env ? env : "libnvidia-ml.so.1";
  }
  auto lib = std::make_unique<Library>();
  lib->handle = ::dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib->handle) {
    const char* e = ::dlerror();
    return fail(ErrorCode::gpu, fmt::format("cannot load {}", path), e ? e : "");
  }
#define COLO_NVML_LOAD(name, ret, params)                                                   \
  lib->name = reinterpret_cast<ret(*) params>(::dlsym(lib->handle, #name));                 \
  if (!lib->name) {                                                                         \
    return fail(ErrorCode::gpu, fmt::format("{} lacks {} (driver too old?)", path, #name)); \
  }
  COLO_NVML_FUNCTIONS(COLO_NVML_LOAD)
#undef COLO_NVML_LOAD
#define COLO_NVML_LOAD_OPTIONAL(name, ret, params) \
  lib->name = reinterpret_cast<ret(*) params>(::dlsym(lib->handle, #name));
  COLO_NVML_OPTIONAL_FUNCTIONS(COLO_NVML_LOAD_OPTIONAL)
#undef COLO_NVML_LOAD_OPTIONAL
  if (auto r = lib->nvmlInit_v2(); r != k_success) {
    return fail(ErrorCode::gpu, "nvmlInit failed", lib->err(r));
  }
  lib->initialized = true;
  return lib;
}

}  // namespace colo::nvml
