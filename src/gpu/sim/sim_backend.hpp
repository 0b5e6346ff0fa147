#pragma once
// The simulated GPU (STYLE.md §6): a real backend chosen at run time. Devices come from a
// SimTopology; simulated workloads (workloads/simgpu) share a SimRegistry directory per device,
// and telemetry is computed from the contention model. Everything it reports is simulated.
// Thread-safety: sample() may run on the monitor thread while the main thread begins/ends modes.
#include <map>
#include <mutex>

#include "core/clock.hpp"
#include "gpu/gpu_backend.hpp"
#include "gpu/sim/sim_topology.hpp"

namespace colo::sim {

class SimBackend final : public GpuBackend {
 public:
  SimBackend(SimTopology topology, const Clock& clock);

  [[nodiscard]] std::string name() const override { return "sim"; }
  [[nodiscard]] bool simulated() const override { return true; }
  Result<std::vector<DeviceInfo>> devices() override;
  Result<std::vector<Metric>> sample(int device) override;
  Status check_mode(const ModeSettings& mode, const std::vector<int>& devices) override;
  Result<std::unique_ptr<ModeSession>> begin_mode(const ModeSettings& mode,
                                                  const std::vector<int>& devices,
                                                  const std::string& run_dir) override;

  [[nodiscard]] const SimTopology& topology() const { return m_topology; }

  // Registry directory of `device` in the mode session now active (empty when none).
  void set_active_dir(int device, std::string dir);

  // The simulated MIG instances that exist now on `device` (their MIG-... UUIDs): a mode mig
  // session creates one per client of the device at begin_mode and destroys them at end(), as
  // NVML's MIG layouts do. begin_mode of mode mig on a device that has instances fails (the
  // simulated GPU keeps one layout per device).
  [[nodiscard]] std::vector<std::string> mig_instances(int device) const;
  // Records (uuids non-empty) or forgets (empty) `device`'s instances.
  void set_mig_instances(int device, std::vector<std::string> uuids);

 private:
  struct EnergyState {
    double last_t = -1;
    double energy_mj = 0;
  };
  SimTopology m_topology;
  const Clock& m_clock;
  mutable std::mutex m_mutex;
  std::map<int, std::vector<std::string>> m_mig_instances;
  int m_mig_serial = 0;  // layouts created, for unique UUIDs
  std::map<int, std::string> m_active_dirs;
  std::map<int, ModeKind> m_active_modes;
  std::map<int, EnergyState> m_energy;
};

}  // namespace colo::sim
