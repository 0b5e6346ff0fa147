#pragma once
// GPU backend over NVML, dlopen'd from libnvidia-ml.so.1 (never linked). A missing library, an
// unsupported metric or a lost GPU is an error value, never a crash.
// This version: device discovery, basic telemetry, and the solo/timeslice modes (MPS, MIG and
// green contexts come with the GPU layer). Thread-safety: NVML calls are thread-safe.
#include <memory>

#include "gpu/gpu_backend.hpp"

namespace colo {

class NvmlBackend final : public GpuBackend {
 public:
  // Loads NVML and initializes it; errors when no driver or no device is found.
  static Result<std::unique_ptr<NvmlBackend>> create(const char* library = "libnvidia-ml.so.1");
  ~NvmlBackend() override;
  NvmlBackend(const NvmlBackend&) = delete;
  NvmlBackend& operator=(const NvmlBackend&) = delete;

  [[nodiscard]] std::string name() const override { return "nvml"; }
  [[nodiscard]] bool simulated() const override { return false; }
  Result<std::vector<DeviceInfo>> devices() override;
  Result<std::vector<Metric>> sample(int device) override;
  Status check_mode(const ModeSettings& mode, const std::vector<int>& devices) override;
  Result<std::unique_ptr<ModeSession>> begin_mode(const ModeSettings& mode,
                                                  const std::vector<int>& devices,
                                                  const std::string& run_dir) override;

 private:
  struct Impl;
  explicit NvmlBackend(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace colo
