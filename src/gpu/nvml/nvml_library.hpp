#pragma once
// NVML loaded with dlopen: the function table of nvml_api.hpp and per-device state. Internal to
// gpu/nvml. Thread-safety: NVML calls are thread-safe; GPM buffers are guarded by gpm_mutex.
#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/result.hpp"
#include "gpu/gpu_backend.hpp"
#include "gpu/nvml/nvml_api.hpp"

namespace colo::nvml {

struct Library {
  // dlopens `path` (null: $COLO_NVML_LIBRARY, else libnvidia-ml.so.1), resolves the required
  // entry points (error naming the first missing one) and the optional ones, and initializes
  // NVML. The destructor frees GPM samples, shuts NVML down and unloads it.
  static Result<std::unique_ptr<Library>> load(const char* path = nullptr);
  Library() = default;
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  void* handle = nullptr;
  bool initialized = false;
#define COLO_NVML_PTR(name, ret, params) ret(*name) params = nullptr;
  COLO_NVML_FUNCTIONS(COLO_NVML_PTR)
  COLO_NVML_OPTIONAL_FUNCTIONS(COLO_NVML_PTR)
#undef COLO_NVML_PTR
  std::vector<nvml::Device> devices;
  std::vector<DeviceInfo> infos;
  // GPM: two sample buffers per device, alternated; guarded by gpm_mutex.
  struct Gpm {
    bool supported = false;
    GpmSample a = nullptr;
    GpmSample b = nullptr;
    bool have_previous = false;
  };
  std::vector<Gpm> gpm;
  std::mutex gpm_mutex;

  // Whether device `i`'s energy counter should be read now (at most every k_energy_period; the
  // first call always). Thread-safe.
  static constexpr std::chrono::milliseconds k_energy_period{1000};
  bool energy_due(std::size_t i) {
    std::lock_guard lock(energy_mutex);
    energy_read.resize(std::max(energy_read.size(), i + 1));
    const auto now = std::chrono::steady_clock::now();
    if (energy_read[i] && now - *energy_read[i] < k_energy_period) {
      return false;
    }
    energy_read[i] = now;
    return true;
  }
  std::mutex energy_mutex;
  std::vector<std::optional<std::chrono::steady_clock::time_point>> energy_read;

  [[nodiscard]] std::string err(nvml::Return r) const {
    return nvmlErrorString ? nvmlErrorString(r) : fmt::format("NVML error {}", r);
  }
};

}  // namespace colo::nvml
