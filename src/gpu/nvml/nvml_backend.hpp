#pragma once
// GPU backend over NVML, dlopen'd from libnvidia-ml.so.1 (never linked). A missing library, an
// unsupported metric or a lost GPU is an error value, never a crash.
// Modes: solo, timeslice; mps and mig-equivalent (one private MPS daemon per GPU, see
// gpu/mps); green (COLO_GREEN_SMS for workloads using colo's clients); mig on GPUs with MIG
// mode enabled (instances created per run and destroyed after it, see nvml_mig.hpp; needs
// root), refused elsewhere with the mig-equivalent suggestion (colo never changes MIG mode).
// Telemetry: NVML device metrics, GPM (Hopper+), per-process GPU memory. Thread-safety: sample()
// runs on the monitor thread while the main thread begins/ends modes; NVML itself is thread-safe
// and GPM state is guarded.
#include <map>
#include <memory>

#include "gpu/gpu_backend.hpp"
#include "gpu/mig/mig_profiles.hpp"

namespace colo {
namespace nvml {
struct Library;
}

class NvmlBackend final : public GpuBackend {
 public:
  // Loads NVML and initializes it; errors when no driver or no device is found.
  // `library`: a path or soname for dlopen; $COLO_NVML_LIBRARY overrides the default (tests
  // load a fake NVML this way).
  static Result<std::unique_ptr<NvmlBackend>> create(const char* library = nullptr);
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

  // The MIG profile table of `device`: the driver's (nvml::read_mig_profiles) where it reports
  // one, else the shipped table of its model (mig_profiles_for); error for an unknown model on a
  // driver that reports none. Read once per device.
  Result<std::vector<MigProfile>> mig_table(int device);

 private:
  explicit NvmlBackend(std::unique_ptr<nvml::Library> impl);
  std::unique_ptr<nvml::Library> m_impl;
  std::map<int, std::vector<MigProfile>> m_mig_tables;
};

}  // namespace colo
